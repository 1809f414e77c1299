//! The envelope: entries, changes, and the lists inside a `messages` change.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::fields::{cloud_errors, id, string, timestamp, word};
use super::message::{self, Senders};
use super::{DeliveryStatus, StatusUpdate, WebhookBatch};

/// The business number and the senders' profiles shared by the items of one change.
pub(super) struct Change<'a> {
    pub phone_number_id: String,
    pub senders: Senders<'a>,
    pub now: DateTime<Utc>,
}

/// Adds what `root` asks for to `batch`.
pub(super) fn read(root: &Value, now: DateTime<Utc>, batch: &mut WebhookBatch) {
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
            read_change(change, now, batch);
        }
    }
}

fn read_change(change: &Value, now: DateTime<Utc>, batch: &mut WebhookBatch) {
    let field = change.get("field");
    if field.and_then(Value::as_str) != Some("messages") {
        let field = word(field);
        batch.skipped.push(format!("change field {field} ignored"));
        return;
    }
    let Some(value) = change.get("value").filter(|v| v.is_object()) else {
        batch
            .skipped
            .push("messages change without value skipped".to_owned());
        return;
    };
    // Webhook-level errors need no business number to be worth reporting.
    let errors = cloud_errors(value, "errors", &mut batch.skipped);
    batch.errors.extend(errors);
    let Some(phone_number_id) = value.get("metadata").and_then(|m| id(m, "phone_number_id")) else {
        if value.get("messages").is_some() || value.get("statuses").is_some() {
            let line = "messages change without metadata.phone_number_id skipped";
            batch.skipped.push(line.to_owned());
        }
        return;
    };
    let change = Change {
        phone_number_id,
        senders: message::senders(value),
        now,
    };
    for item in list(value, "messages", &mut batch.skipped) {
        match message::read(item, &change, &mut batch.skipped) {
            Ok(message) => batch.messages.push(message),
            Err(line) => batch.skipped.push(line),
        }
    }
    for item in list(value, "statuses", &mut batch.skipped) {
        match status(item, &change, &mut batch.skipped) {
            Ok(status) => batch.statuses.push(status),
            Err(line) => batch.skipped.push(line),
        }
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
) -> Result<StatusUpdate, String> {
    if !item.is_object() {
        return Err("status that is not an object skipped".to_owned());
    }
    let Some(wamid) = id(item, "id") else {
        return Err("status without id skipped".to_owned());
    };
    let word_value = item.get("status");
    let Some(status) = word_value
        .and_then(Value::as_str)
        .and_then(DeliveryStatus::parse)
    else {
        return Err(format!("status word {} skipped", word(word_value)));
    };
    Ok(StatusUpdate {
        phone_number_id: change.phone_number_id.clone(),
        wamid,
        status,
        timestamp: timestamp(item, "timestamp", change.now),
        recipient_id: string(item, "recipient_id"),
        errors: cloud_errors(item, "errors", skipped),
        callback_data: string(item, "biz_opaque_callback_data"),
    })
}
