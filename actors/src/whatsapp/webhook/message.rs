//! One entry of `value.messages`, read into an [`InboundMessage`].

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::envelope::Change;
use super::fields::{cloud_errors, flag, id, number, string, timestamp, word};
use super::{InboundMedia, InboundMessage, Location, MessageKind, Reaction};

/// The longest profile name taken: WhatsApp's are far shorter, and the name is copied
/// into every message of its sender.
const MAX_NAME_LEN: usize = 256;

/// The profiles listed in a change's `contacts`: who is writing, as far as they tell.
pub(super) struct Senders<'a> {
    /// The first entry's profile name for each `wa_id` (`None`: that entry has none).
    names: HashMap<&'a str, Option<&'a str>>,
    /// The profile name of the only entry, when there is exactly one.
    only: Option<Option<&'a str>>,
}

/// The profiles listed in a change's `contacts`, indexed once for all its messages.
pub(super) fn senders(value: &Value) -> Senders<'_> {
    let contacts = match value.get("contacts") {
        Some(Value::Array(contacts)) => contacts.as_slice(),
        _ => &[],
    };
    let mut names = HashMap::with_capacity(contacts.len());
    for contact in contacts {
        if let Some(wa_id) = contact.get("wa_id").and_then(Value::as_str) {
            names.entry(wa_id).or_insert_with(|| name(contact));
        }
    }
    let only = match contacts {
        [only] => Some(name(only)),
        _ => None,
    };
    Senders { names, only }
}

fn name(contact: &Value) -> Option<&str> {
    let name = contact.get("profile").and_then(|p| p.get("name"));
    name.and_then(Value::as_str)
        .filter(|n| !n.is_empty() && n.len() <= MAX_NAME_LEN)
}

/// One message, or the line that describes why it is not one.
pub(super) fn read(
    item: &Value,
    change: &Change,
    skipped: &mut Vec<String>,
) -> Result<InboundMessage, String> {
    if !item.is_object() {
        return Err("message that is not an object skipped".to_owned());
    }
    let type_name = item.get("type").and_then(Value::as_str).unwrap_or("");
    if let Some(line) = not_a_new_message(item, type_name) {
        return Err(line);
    }
    let wamid = id(item, "id").ok_or("message without id skipped")?;
    let from = id(item, "from").ok_or("message without from skipped")?;
    let mut message = InboundMessage {
        phone_number_id: change.phone_number_id.clone(),
        profile_name: change.senders.name_of(&from),
        from,
        wamid,
        timestamp: timestamp(item, "timestamp", change.now),
        kind: MessageKind::Unsupported,
        text: None,
        caption: None,
        media: None,
        location: None,
        reaction: None,
        reply_to: None,
        forwarded: false,
        details: None,
        errors: cloud_errors(item, "errors", skipped),
    };
    let mut details = Map::new();
    fill(type_name, item, &mut message, &mut details)?;
    read_context(item, &mut message);
    keep(&mut details, "referral", item.get("referral"));
    message.details = (!details.is_empty()).then_some(Value::Object(details));
    Ok(message)
}

/// Edits and deletions arrive in `messages` but change earlier messages; call permission
/// replies answer a call request and say nothing to an agent.
fn not_a_new_message(item: &Value, type_name: &str) -> Option<String> {
    match type_name {
        "edit" | "revoke" => Some(format!("message type {type_name} ignored")),
        "interactive" => {
            let sub_type = item.get("interactive").and_then(|i| i.get("type"));
            (sub_type.and_then(Value::as_str) == Some("call_permission_reply"))
                .then(|| format!("interactive {} ignored", word(sub_type)))
        }
        _ => None,
    }
}

impl Senders<'_> {
    /// The profile name of `from`, or the only profile's when none matches.
    fn name_of(&self, from: &str) -> Option<String> {
        let name = match self.names.get(from) {
            Some(name) => *name,
            None => self.only.flatten(),
        };
        name.map(str::to_owned)
    }
}

/// Sets `kind` and the type's own fields from the object named after the type.
fn fill(
    type_name: &str,
    item: &Value,
    message: &mut InboundMessage,
    details: &mut Map<String, Value>,
) -> Result<(), String> {
    let body = item.get(type_name).unwrap_or(&Value::Null);
    message.kind = match type_name {
        "text" => {
            message.text = string(body, "body");
            MessageKind::Text
        }
        "image" | "video" | "document" | "audio" | "sticker" => {
            media_kind(type_name, body, message)
        }
        "location" => {
            message.location = location(body);
            MessageKind::Location
        }
        "reaction" => {
            let reaction = reaction(body)?;
            message.text = reaction.emoji.clone();
            message.reaction = Some(reaction);
            MessageKind::Reaction
        }
        _ => detailed_kind(type_name, item, body, message, details),
    };
    Ok(())
}

/// The types whose content the hub keeps as Meta sent it, in `details`.
fn detailed_kind(
    type_name: &str,
    item: &Value,
    body: &Value,
    message: &mut InboundMessage,
    details: &mut Map<String, Value>,
) -> MessageKind {
    let (kind, text) = match type_name {
        "contacts" => (MessageKind::Contacts, contact_name(body)),
        "interactive" => (MessageKind::Interactive, interactive_text(body)),
        "button" => (MessageKind::Button, string(body, "text")),
        "order" => (MessageKind::Order, string(body, "text")),
        "system" => (MessageKind::System, string(body, "body")),
        _ => {
            // `unsupported.type` names what the customer really sent (a poll ...).
            let original = item.get("unsupported").and_then(|u| string(u, "type"));
            let original =
                original.or_else(|| Some(type_name.to_owned()).filter(|t| !t.is_empty()));
            keep(details, "type", original.map(Value::String).as_ref());
            return MessageKind::Unsupported;
        }
    };
    message.text = text;
    keep(details, type_name, Some(body));
    kind
}

fn media_kind(type_name: &str, body: &Value, message: &mut InboundMessage) -> MessageKind {
    message.media = media(body);
    match type_name {
        "image" | "video" | "document" => message.caption = string(body, "caption"),
        _ => {}
    }
    match type_name {
        "image" => MessageKind::Image,
        "video" => MessageKind::Video,
        "document" => MessageKind::Document,
        "audio" => MessageKind::Audio,
        _ => MessageKind::Sticker,
    }
}

/// Without an id there is nothing to download, so no media.
fn media(body: &Value) -> Option<InboundMedia> {
    Some(InboundMedia {
        id: string(body, "id")?,
        mime_type: string(body, "mime_type"),
        sha256: string(body, "sha256"),
        filename: string(body, "filename"),
        voice: flag(body, "voice"),
        animated: flag(body, "animated"),
    })
}

/// Coordinates off the globe read as no location at all.
fn location(body: &Value) -> Option<Location> {
    Some(Location {
        latitude: number(body, "latitude").filter(|l| (-90.0..=90.0).contains(l))?,
        longitude: number(body, "longitude").filter(|l| (-180.0..=180.0).contains(l))?,
        name: string(body, "name"),
        address: string(body, "address"),
        url: string(body, "url"),
    })
}

/// A reaction names its target; without one it cannot be shown anywhere.
fn reaction(body: &Value) -> Result<Reaction, String> {
    let message_id = string(body, "message_id").ok_or("reaction without message_id skipped")?;
    Ok(Reaction {
        message_id,
        emoji: string(body, "emoji"),
    })
}

fn contact_name(contacts: &Value) -> Option<String> {
    let name = contacts.get(0)?.get("name")?;
    string(name, "formatted_name")
}

/// Button and list replies show their title; a flow's reply shows its `body`.
fn interactive_text(interactive: &Value) -> Option<String> {
    let sub_type = interactive.get("type")?.as_str()?;
    let reply = interactive.get(sub_type)?;
    match sub_type {
        "button_reply" | "list_reply" => string(reply, "title"),
        "nfm_reply" => string(reply, "body"),
        _ => None,
    }
}

fn read_context(item: &Value, message: &mut InboundMessage) {
    let Some(context) = item.get("context") else {
        return;
    };
    message.reply_to = string(context, "id");
    message.forwarded = flag(context, "forwarded") || flag(context, "frequently_forwarded");
}

fn keep(details: &mut Map<String, Value>, key: &str, value: Option<&Value>) {
    if let Some(value) = value.filter(|v| !v.is_null()) {
        details.insert(key.to_owned(), value.clone());
    }
}
