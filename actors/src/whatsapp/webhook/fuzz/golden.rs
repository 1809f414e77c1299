//! What every unmutated fixture example parses to, recorded in `golden.jsonl` (one line
//! per example, every field of the batch), so that fixing what the fuzzing finds cannot
//! quietly change what real payloads give. After a deliberate change of the parser,
//! rewrite the record with `UPDATE_GOLDEN=1 cargo test -p atende-actors golden` and
//! review its diff.

use std::fs;

use serde_json::{json, Value};

use super::{corpus, Example};
use crate::whatsapp::webhook::{parse, InboundMessage, StatusUpdate, WebhookBatch};

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/whatsapp/webhook/fuzz/golden.jsonl"
);

/// Every field of `batch`, as JSON with a stable layout (timestamps in Unix seconds).
fn canonical(batch: &WebhookBatch) -> Value {
    json!({
        "messages": batch.messages.iter().map(message).collect::<Vec<_>>(),
        "statuses": batch.statuses.iter().map(status).collect::<Vec<_>>(),
        "errors": batch.errors,
        "skipped": batch.skipped,
        "edits": batch.edits.iter().map(|e| json!({
            "wamid": e.wamid, "original": e.original_wamid, "new_text": e.new_text,
        })).collect::<Vec<_>>(),
        "unused": batch.unused.iter().map(|u| json!({
            "reason": u.reason.as_str(), "field": u.field,
        })).collect::<Vec<_>>(),
    })
}

fn message(m: &InboundMessage) -> Value {
    let media = m.media.as_ref().map(|media| {
        json!({
            "id": media.id, "mime_type": media.mime_type, "sha256": media.sha256,
            "filename": media.filename, "voice": media.voice, "animated": media.animated,
        })
    });
    let reaction = m
        .reaction
        .as_ref()
        .map(|r| json!({"message_id": r.message_id, "emoji": r.emoji}));
    json!({
        "phone_number_id": m.phone_number_id, "from": m.identity.wa_id,
        "from_user_id": m.identity.user_id, "username": m.identity.username,
        "profile_name": m.identity.profile_name, "origin": format!("{:?}", m.origin),
        "wamid": m.wamid,
        "timestamp": m.timestamp.map(|t| t.timestamp()), "kind": m.kind.as_str(),
        "text": m.text, "caption": m.caption, "media": media, "location": m.location,
        "reaction": reaction, "reply_to": m.reply_to, "forwarded": m.forwarded,
        "details": m.details, "errors": m.errors,
    })
}

fn status(s: &StatusUpdate) -> Value {
    json!({
        "phone_number_id": s.phone_number_id, "wamid": s.wamid,
        "status": format!("{:?}", s.status), "timestamp": s.timestamp.map(|t| t.timestamp()),
        "recipient_id": s.recipient_id, "errors": s.errors, "callback_data": s.callback_data,
    })
}

fn record_line(example: &Example) -> String {
    let batch = parse(&example.bytes).expect("every fixture example is JSON");
    let label = Value::from(example.label.as_str());
    format!(r#"{{"example":{label},"batch":{}}}"#, canonical(&batch))
}

#[test]
fn unmutated_fixtures_parse_as_recorded() {
    let lines: Vec<String> = corpus().iter().map(record_line).collect();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let text = lines.join("\n") + "\n";
        fs::write(GOLDEN, text).unwrap_or_else(|e| panic!("{GOLDEN}: {e}"));
        return;
    }
    let recorded = fs::read_to_string(GOLDEN).unwrap_or_else(|e| panic!("{GOLDEN}: {e}"));
    let recorded: Vec<&str> = recorded.lines().collect();
    assert_eq!(
        recorded.len(),
        lines.len(),
        "examples were added or removed"
    );
    for (now, before) in lines.iter().zip(recorded) {
        assert_eq!(now, before, "an unmutated fixture parses differently");
    }
}
