//! One entry of `value.messages`, read into an [`InboundMessage`].

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::envelope::Change;
use super::fields::{cloud_errors, flag, id, number, string, timestamp, word};
use super::{
    Identity, InboundMedia, InboundMessage, Location, MessageEdit, MessageKind, Origin, Reaction,
    Reason,
};

/// The longest profile name taken: WhatsApp's are far shorter, and the name is copied
/// into every message of its sender.
const MAX_NAME_LEN: usize = 256;

/// One `contacts[]` entry: who is writing, as far as they tell.
#[derive(Clone, Copy, Default)]
pub(super) struct Profile<'a> {
    name: Option<&'a str>,
    username: Option<&'a str>,
    wa_id: Option<&'a str>,
    user_id: Option<&'a str>,
    parent_user_id: Option<&'a str>,
}

/// The profiles listed in a change's `contacts`, by phone and by BSUID.
pub(super) struct Senders<'a> {
    /// The first entry for each `wa_id` and each `user_id`.
    by_key: HashMap<&'a str, Profile<'a>>,
    /// The only entry, when there is exactly one.
    only: Option<Profile<'a>>,
}

/// The profiles listed in a change's `contacts`, indexed once for all its messages.
pub(super) fn senders(value: &Value) -> Senders<'_> {
    let contacts = match value.get("contacts") {
        Some(Value::Array(contacts)) => contacts.as_slice(),
        _ => &[],
    };
    let mut by_key = HashMap::with_capacity(contacts.len());
    for contact in contacts {
        let profile = profile(contact);
        for key in [profile.wa_id, profile.user_id].into_iter().flatten() {
            by_key.entry(key).or_insert(profile);
        }
    }
    let only = match contacts {
        [only] => Some(profile(only)),
        _ => None,
    };
    Senders { by_key, only }
}

fn short(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
        .filter(|n| !n.is_empty() && n.len() <= MAX_NAME_LEN)
}

fn profile(contact: &Value) -> Profile<'_> {
    let profile = contact.get("profile");
    Profile {
        name: short(profile.and_then(|p| p.get("name"))),
        username: short(profile.and_then(|p| p.get("username"))),
        wa_id: short(contact.get("wa_id")),
        user_id: short(contact.get("user_id")),
        parent_user_id: short(contact.get("parent_user_id")),
    }
}

impl Senders<'_> {
    /// `identity` completed from the `contacts[]` entry that names one of its keys (not
    /// from a lone entry naming someone else).
    pub(super) fn complete(&self, identity: Identity) -> Identity {
        let keyed = [&identity.user_id, &identity.wa_id]
            .into_iter()
            .flatten()
            .find_map(|key| self.by_key.get(key.as_str()));
        let Some(profile) = keyed else {
            return identity;
        };
        let owned = |v: Option<&str>| v.map(str::to_owned);
        Identity {
            wa_id: identity.wa_id.or(owned(profile.wa_id)),
            user_id: identity.user_id.or(owned(profile.user_id)),
            parent_user_id: identity.parent_user_id.or(owned(profile.parent_user_id)),
            username: identity.username.or(owned(profile.username)),
            profile_name: identity.profile_name.or(owned(profile.name)),
        }
    }

    /// Who `item` is about: the sender of a customer's message (`from`, `from_user_id`),
    /// the recipient of the business's own (`to`, `to_user_id`), completed from the
    /// matching `contacts[]` entry (or the only one), else from `fallback` (a history
    /// thread's context).
    pub(super) fn identity(
        &self,
        item: &Value,
        outgoing: bool,
        fallback: Option<&Identity>,
    ) -> Identity {
        let (phone_key, user_key) = if outgoing {
            ("to", "to_user_id")
        } else {
            ("from", "from_user_id")
        };
        let phone = id(item, phone_key);
        let user_id = id(item, user_key);
        let keyed = [&user_id, &phone]
            .into_iter()
            .flatten()
            .find_map(|key| self.by_key.get(key.as_str()));
        let profile = keyed.copied().or(self.only).unwrap_or_default();
        let owned = |v: Option<&str>| v.map(str::to_owned);
        let fallback = fallback.cloned().unwrap_or_default();
        Identity {
            wa_id: phone.or(owned(profile.wa_id)).or(fallback.wa_id),
            user_id: user_id.or(owned(profile.user_id)).or(fallback.user_id),
            parent_user_id: owned(profile.parent_user_id)
                .or_else(|| id(item, "from_parent_user_id"))
                .or(fallback.parent_user_id),
            username: owned(profile.username).or(fallback.username),
            profile_name: owned(profile.name).or(fallback.profile_name),
        }
    }
}

/// One message, or why it is not one. `outgoing`: the business sent it (an echo or a
/// history message of the business), so the customer is its recipient.
pub(super) fn read(
    item: &Value,
    change: &Change,
    origin: Origin,
    fallback: Option<&Identity>,
    skipped: &mut Vec<String>,
) -> Result<InboundMessage, (Reason, String)> {
    let unparseable = |line: &str| (Reason::Unparseable, line.to_owned());
    if !item.is_object() {
        return Err(unparseable("message that is not an object skipped"));
    }
    let type_name = item.get("type").and_then(Value::as_str).unwrap_or("");
    if let Some(line) = not_a_new_message(item, type_name) {
        return Err((Reason::UnknownType, line));
    }
    let wamid = id(item, "id").ok_or_else(|| unparseable("message without id skipped"))?;
    let mut identity = change.senders.identity(item, origin.outgoing(), fallback);
    if identity.is_empty() && type_name == "system" {
        // A BSUID change names the customer by their new BSUID only.
        identity.user_id = item.get("system").and_then(|s| id(s, "user_id"));
    }
    if identity.is_empty() {
        let line = "message without from or from_user_id skipped";
        return Err((Reason::MissingIdentity, line.to_owned()));
    }
    let mut message = InboundMessage {
        phone_number_id: change.phone_number_id.clone(),
        identity,
        origin,
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
    fill(type_name, item, &mut message, &mut details).map_err(|line| unparseable(&line))?;
    read_context(item, &mut message);
    keep(&mut details, "referral", item.get("referral"));
    keep(&mut details, "history_context", item.get("history_context"));
    message.details = (!details.is_empty()).then_some(Value::Object(details));
    Ok(message)
}

/// An edit (`type: "edit"`) or deletion (`type: "revoke"`) of an earlier message; `None`
/// for any other type.
pub(super) fn edit(
    item: &Value,
    change: &Change,
    outgoing: bool,
) -> Option<Result<MessageEdit, (Reason, String)>> {
    let type_name = item.get("type").and_then(Value::as_str)?;
    if type_name != "edit" && type_name != "revoke" {
        return None;
    }
    let body = item.get(type_name).unwrap_or(&Value::Null);
    let unparseable = |what: &str| {
        Some(Err((
            Reason::Unparseable,
            format!("{type_name} {what} skipped"),
        )))
    };
    let Some(original_wamid) = id(body, "original_message_id") else {
        return unparseable("without original_message_id");
    };
    let Some(wamid) = id(item, "id") else {
        return unparseable("without id");
    };
    let new_text = match type_name {
        "revoke" => None,
        _ => {
            let new = body.get("message").unwrap_or(&Value::Null);
            let kind = new.get("type").and_then(Value::as_str).unwrap_or("");
            let content = new.get(kind).unwrap_or(&Value::Null);
            Some(string(content, "body").or_else(|| string(content, "caption")))
        }
    };
    Some(Ok(MessageEdit {
        phone_number_id: change.phone_number_id.clone(),
        identity: change.senders.identity(item, outgoing, None),
        wamid,
        original_wamid,
        timestamp: timestamp(item, "timestamp", change.now),
        new_text,
    }))
}

/// Edits and deletions arrive in `messages` but change earlier messages; call permission
/// replies answer a call request and say nothing to an agent.
fn not_a_new_message(item: &Value, type_name: &str) -> Option<String> {
    match type_name {
        "interactive" => {
            let sub_type = item.get("interactive").and_then(|i| i.get("type"));
            (sub_type.and_then(Value::as_str) == Some("call_permission_reply"))
                .then(|| format!("interactive {} ignored", word(sub_type)))
        }
        _ => None,
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
