//! Inputs that broke the webhook parser, kept as plain tests. These were found while
//! writing the time and size properties, by building the inputs those properties imply
//! (thousands of items sharing one huge string or one long contact list): random edits
//! of the fixtures rarely make such bodies in a few hundred cases.

use std::time::Instant;

use serde_json::{json, Value};

use super::checks::assert_not_multiplied;
use super::PARSE_BUDGET;
use crate::whatsapp::webhook::parse;

/// A body with one `messages` change carrying `value` for the business number `number`.
fn change_body(number: &str, mut value: Value) -> Vec<u8> {
    value["metadata"] = json!({ "phone_number_id": number });
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    });
    serde_json::to_vec(&body).expect("a value serialises")
}

/// `count` one-line text messages, the i-th from `from(i)`.
fn text_messages(count: usize, from: impl Fn(usize) -> String) -> Vec<Value> {
    let message = |i| json!({"id": format!("wamid.{i}"), "from": from(i), "type": "text"});
    (0..count).map(message).collect()
}

#[test]
fn many_senders_and_their_messages_parse_in_linear_time() {
    // Each message searched the whole `contacts` list for its sender: 20,000 of each took
    // 4 to 6 s in a debug build, and an 8 MB body (the webhook's limit) minutes.
    const SENDERS: usize = 20_000;
    let contacts: Vec<Value> = (0..SENDERS)
        .map(|i| json!({"wa_id": format!("1555{i}"), "profile": {"name": format!("N{i}")}}))
        .collect();
    let messages = text_messages(SENDERS, |i| format!("1555{}", SENDERS - 1 - i));
    let body = change_body("1", json!({"contacts": contacts, "messages": messages}));
    let started = Instant::now();
    let batch = parse(&body).expect("JSON is accepted");
    let took = started.elapsed();
    assert!(took < PARSE_BUDGET, "{took:?}");
    assert_eq!(batch.messages.len(), SENDERS);
    let name = batch.messages[0].identity.profile_name.as_deref();
    assert_eq!(name, Some(format!("N{}", SENDERS - 1).as_str()));
}

#[test]
fn a_huge_business_number_id_is_not_copied_into_every_item() {
    // Every message and status carried its own copy of `metadata.phone_number_id`: a
    // 64 KB id with 2,000 one-line messages made 128 MB of a 150 KB body.
    let number = "1".repeat(64 * 1024);
    let statuses = [json!({"id": "wamid.s", "status": "read"})];
    let value = json!({"messages": text_messages(2000, |_| "1555".into()), "statuses": statuses});
    let body = change_body(&number, value);
    let batch = parse(&body).expect("JSON is accepted");
    assert_not_multiplied(&batch, body.len());
    assert!(batch.messages.is_empty() && batch.statuses.is_empty());
    let skipped = "change without metadata.phone_number_id skipped";
    assert_eq!(batch.skipped, [skipped]);
}

#[test]
fn a_huge_profile_name_is_not_copied_into_every_message() {
    // Every message from a sender carried its own copy of the sender's profile name, so
    // this body too made 128 MB.
    let contacts = [json!({"wa_id": "1555", "profile": {"name": "N".repeat(64 * 1024)}})];
    let value = json!({"contacts": contacts, "messages": text_messages(2000, |_| "1555".into())});
    let body = change_body("1", value);
    let batch = parse(&body).expect("JSON is accepted");
    assert_not_multiplied(&batch, body.len());
    assert_eq!(batch.messages.len(), 2000, "the messages are kept");
    assert!(batch
        .messages
        .iter()
        .all(|m| m.identity.profile_name.is_none()));
}

#[test]
fn ids_longer_than_metas_drop_their_item() {
    // The fix for the copies above: ids (and names) have a length limit, 256 bytes.
    let long = "w".repeat(257);
    let messages = [
        json!({"id": long, "from": "1555", "type": "text"}),
        json!({"id": "wamid.ok", "from": long, "type": "text"}),
        json!({"id": "w".repeat(256), "from": "1".repeat(256), "type": "text"}),
    ];
    let statuses = [json!({"id": long, "status": "read"})];
    let body = change_body("1", json!({"messages": messages, "statuses": statuses}));
    let batch = parse(&body).expect("JSON is accepted");
    assert_eq!(batch.messages.len(), 1, "{:?}", batch.skipped);
    assert_eq!(batch.messages[0].wamid.len(), 256);
    let skipped = [
        "message without id skipped",
        "message without from or from_user_id skipped",
        "status without id skipped",
    ];
    assert_eq!(batch.skipped, skipped);
}
