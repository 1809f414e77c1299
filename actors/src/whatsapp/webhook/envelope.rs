//! The envelope: entries, changes, and the lists inside a `messages` change.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::fields::{cloud_errors, id, string, timestamp, word};
use super::message::{self, Senders};
use super::{
    DeliveryStatus, Identity, InboundMessage, Origin, PreferenceChange, Reason, StatusUpdate,
    UnusedChange, UserIdChange, WebhookBatch,
};

/// The business number and the senders' profiles shared by the items of one change.
pub(super) struct Change<'a> {
    pub phone_number_id: String,
    pub senders: Senders<'a>,
    pub now: DateTime<Utc>,
}

/// Adds what `root` asks for to `batch`.
pub(super) fn read(
    root: &Value,
    now: DateTime<Utc>,
    serves: &dyn Fn(&str) -> bool,
    batch: &mut WebhookBatch,
) {
    if let Some(object) = root.get("object").filter(|o| o.is_string()) {
        if object != "whatsapp_business_account" {
            let object = word(Some(object));
            batch.skipped.push(format!("object {object} ignored"));
            return;
        }
    }
    let Some(entries) = root.get("entry").and_then(Value::as_array) else {
        batch
            .skipped
            .push("body without an entry list ignored".to_owned());
        return;
    };
    for entry in entries {
        let Some(changes) = entry.get("changes").and_then(Value::as_array) else {
            batch
                .skipped
                .push("entry without a changes list skipped".to_owned());
            continue;
        };
        for change in changes {
            let skipped_before = batch.skipped.len();
            let found_before = found(batch);
            let reason = read_change(change, now, serves, batch);
            let detail = batch.skipped[skipped_before..].to_vec();
            let gave_nothing = found(batch) == found_before;
            let reason = match reason {
                Some(reason) => Some(reason),
                None if !detail.is_empty() => Some(Reason::Unparseable),
                None if gave_nothing => Some(Reason::ErrorReport),
                None => None,
            };
            if let Some(reason) = reason {
                let value = change.get("value");
                batch.unused.push(UnusedChange {
                    reason,
                    detail,
                    field: word(change.get("field")).to_owned(),
                    phone_number_id: value
                        .and_then(|v| v.get("metadata"))
                        .and_then(|m| id(m, "phone_number_id")),
                    entry_id: id(entry, "id"),
                    raw: change.clone(),
                });
            }
        }
    }
}

/// How many things `batch` asks the hub to do.
fn found(batch: &WebhookBatch) -> usize {
    batch.messages.len()
        + batch.statuses.len()
        + batch.edits.len()
        + batch.user_id_changes.len()
        + batch.preferences.len()
}

/// Reads one change into `batch`; the reason when some of it (or all) cannot be used.
fn read_change(
    change: &Value,
    now: DateTime<Utc>,
    serves: &dyn Fn(&str) -> bool,
    batch: &mut WebhookBatch,
) -> Option<Reason> {
    let field = change.get("field").and_then(Value::as_str).unwrap_or("");
    if !matches!(
        field,
        "messages" | "smb_message_echoes" | "history" | "user_id_update" | "user_preferences"
    ) {
        let field = word(change.get("field"));
        batch.skipped.push(format!("change field {field} ignored"));
        return Some(Reason::UnhandledField);
    }
    let Some(value) = change.get("value").filter(|v| v.is_object()) else {
        batch.skipped.push(format!(
            "{} change without value skipped",
            word(change.get("field"))
        ));
        return Some(Reason::Unparseable);
    };
    // Webhook-level errors need no business number to be worth reporting.
    let errors = cloud_errors(value, "errors", &mut batch.skipped);
    batch.errors.extend(errors);
    let Some(phone_number_id) = value.get("metadata").and_then(|m| id(m, "phone_number_id")) else {
        let line = "change without metadata.phone_number_id skipped";
        batch.skipped.push(line.to_owned());
        return Some(Reason::Unparseable);
    };
    if !serves(&phone_number_id) {
        let line = "change for a business number the hub does not serve kept";
        batch.skipped.push(line.to_owned());
        return Some(Reason::UnknownNumber);
    }
    let change = Change {
        phone_number_id,
        senders: message::senders(value),
        now,
    };
    let mut reason = None;
    match field {
        "messages" => {
            read_messages(
                value,
                "messages",
                &change,
                Origin::Customer,
                None,
                batch,
                &mut reason,
            );
            for item in list(value, "statuses", &mut batch.skipped) {
                match status(item, &change, &mut batch.skipped) {
                    Ok(status) => batch.statuses.push(status),
                    Err(line) => skip(batch, &mut reason, line),
                }
            }
        }
        "smb_message_echoes" => {
            let origin = Origin::BusinessApp;
            read_messages(
                value,
                "message_echoes",
                &change,
                origin,
                None,
                batch,
                &mut reason,
            );
        }
        "history" => read_history(value, &change, batch, &mut reason),
        "user_preferences" => read_preferences(value, &change, batch, &mut reason),
        _ => read_user_id_updates(value, &change, batch),
    }
    reason
}

/// Notes a skipped item; the change's reason is its first item's.
fn skip(batch: &mut WebhookBatch, reason: &mut Option<Reason>, (why, line): (Reason, String)) {
    reason.get_or_insert(why);
    batch.skipped.push(line);
}

/// The messages (or echoes) listed at `key`: new ones, edits and deletions.
fn read_messages(
    value: &Value,
    key: &str,
    change: &Change,
    origin: Origin,
    fallback: Option<&Identity>,
    batch: &mut WebhookBatch,
    reason: &mut Option<Reason>,
) {
    for item in list(value, key, &mut batch.skipped) {
        if let Some(edit) = message::edit(item, change, origin.outgoing()) {
            match edit {
                Ok(edit) => batch.edits.push(edit),
                Err(skipped) => skip(batch, reason, skipped),
            }
            continue;
        }
        // A history message the business wrote names its recipient (`to`).
        let origin = match origin {
            Origin::History { .. } => Origin::History {
                from_business: item.get("to").is_some(),
            },
            other => other,
        };
        match message::read(item, change, origin, fallback, &mut batch.skipped) {
            Ok(message) => {
                if let Some(changed) = user_id_changed(item, &message) {
                    batch.user_id_changes.push(changed);
                }
                batch.messages.push(message);
            }
            Err(skipped) => skip(batch, reason, skipped),
        }
    }
}

/// A `user_changed_user_id` (or `user_changed_number`) system message with the BSUID
/// the customer had before.
fn user_id_changed(item: &Value, message: &InboundMessage) -> Option<UserIdChange> {
    let system = item.get("system")?;
    Some(UserIdChange {
        phone_number_id: message.phone_number_id.clone(),
        previous: id(system, "previous_user_id")?,
        current: id(system, "user_id")?,
        wa_id: id(system, "wa_id").or_else(|| message.identity.wa_id.clone()),
    })
}

/// Earlier messages of the Business app: `history[].threads[].messages[]`, or (for
/// media) `messages` and `message_echoes` of the change itself.
fn read_history(
    value: &Value,
    change: &Change,
    batch: &mut WebhookBatch,
    reason: &mut Option<Reason>,
) {
    let history = Origin::History {
        from_business: false,
    };
    read_messages(value, "messages", change, history, None, batch, reason);
    let echoes = Origin::History {
        from_business: true,
    };
    read_messages(value, "message_echoes", change, echoes, None, batch, reason);
    for chunk in list(value, "history", &mut batch.skipped) {
        for thread in list(chunk, "threads", &mut batch.skipped) {
            let context = thread.get("context").unwrap_or(&Value::Null);
            let fallback = Identity {
                wa_id: id(context, "wa_id").or_else(|| id(thread, "id")),
                user_id: id(context, "user_id"),
                parent_user_id: id(context, "parent_user_id"),
                username: id(context, "username"),
                profile_name: None,
            };
            read_messages(
                thread,
                "messages",
                change,
                history,
                Some(&fallback),
                batch,
                reason,
            );
        }
    }
}

/// `user_id_update[]`: `{wa_id?, user_id: {previous, current}}`.
fn read_user_id_updates(value: &Value, change: &Change, batch: &mut WebhookBatch) {
    for item in list(value, "user_id_update", &mut batch.skipped) {
        let ids = item.get("user_id").unwrap_or(&Value::Null);
        match (id(ids, "previous"), id(ids, "current")) {
            (Some(previous), Some(current)) => batch.user_id_changes.push(UserIdChange {
                phone_number_id: change.phone_number_id.clone(),
                previous,
                current,
                wa_id: id(item, "wa_id"),
            }),
            _ => batch
                .skipped
                .push("user_id_update without previous and current skipped".to_owned()),
        }
    }
}

/// `user_preferences[]`: `{wa_id?, user_id?, category, value: stop|resume|signup,
/// timestamp}`; the customer's other keys come from the matching `contacts[]` entry.
fn read_preferences(
    value: &Value,
    change: &Change,
    batch: &mut WebhookBatch,
    reason: &mut Option<Reason>,
) {
    for item in list(value, "user_preferences", &mut batch.skipped) {
        let wants = match (word(item.get("category")), word(item.get("value"))) {
            ("marketing_messages", "stop") => false,
            ("marketing_messages", "resume" | "signup") => true,
            (category, choice) => {
                let line = format!("user_preferences {category} {choice} skipped");
                skip(batch, reason, (Reason::UnknownType, line));
                continue;
            }
        };
        let identity = Identity {
            wa_id: id(item, "wa_id"),
            user_id: id(item, "user_id"),
            ..Default::default()
        };
        if identity.wa_id.is_none() && identity.user_id.is_none() {
            let line = "user_preferences without wa_id or user_id skipped".to_owned();
            skip(batch, reason, (Reason::MissingIdentity, line));
            continue;
        }
        batch.preferences.push(PreferenceChange {
            phone_number_id: change.phone_number_id.clone(),
            identity: change.senders.complete(identity),
            wants_marketing: wants,
            at: timestamp(item, "timestamp", change.now).unwrap_or(change.now),
        });
    }
}

/// The array at `key`; absent reads as empty, another type is described in `skipped`.
fn list<'v>(value: &'v Value, key: &str, skipped: &mut Vec<String>) -> &'v [Value] {
    match value.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(_) => {
            skipped.push(format!("{key} that are not a list skipped"));
            &[]
        }
    }
}

/// One status, or the line that describes why it was skipped.
fn status(
    item: &Value,
    change: &Change,
    skipped: &mut Vec<String>,
) -> Result<StatusUpdate, (Reason, String)> {
    let unparseable = |line: &str| (Reason::Unparseable, line.to_owned());
    if !item.is_object() {
        return Err(unparseable("status that is not an object skipped"));
    }
    let Some(wamid) = id(item, "id") else {
        return Err(unparseable("status without id skipped"));
    };
    let word_value = item.get("status");
    let Some(status) = word_value
        .and_then(Value::as_str)
        .and_then(DeliveryStatus::parse)
    else {
        let line = format!("status word {} skipped", word(word_value));
        return Err((Reason::UnknownType, line));
    };
    Ok(StatusUpdate {
        phone_number_id: change.phone_number_id.clone(),
        wamid,
        status,
        timestamp: timestamp(item, "timestamp", change.now),
        recipient_id: string(item, "recipient_id"),
        recipient_user_id: string(item, "recipient_user_id"),
        errors: cloud_errors(item, "errors", skipped),
        callback_data: string(item, "biz_opaque_callback_data"),
    })
}
