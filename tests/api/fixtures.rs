//! The public corpus of real Cloud API webhook payloads: every example is accepted, stored
//! with the right type or deliberately ignored, and never duplicated.

use serde_json::Value;

use crate::helpers::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/whatsapp/pywa");

/// Gives every message and status of an example its own ids, so examples that share
/// Meta's sample wamid do not dedupe each other.
fn with_unique_ids(body: &mut Value, tag: &str) {
    let Some(entries) = body["entry"].as_array_mut() else {
        return;
    };
    for entry in entries {
        let Some(changes) = entry["changes"].as_array_mut() else {
            continue;
        };
        for change in changes {
            // Sent to the hub's own number (the examples name Meta's sample numbers).
            if change["value"]["metadata"]["phone_number_id"].is_string() {
                change["value"]["metadata"]["phone_number_id"] = Value::from(NUMBER);
            }
            for list in ["messages", "statuses"] {
                if let Some(items) = change["value"][list].as_array_mut() {
                    for (i, item) in items.iter_mut().enumerate() {
                        if item["id"].is_string() {
                            item["id"] = Value::String(format!("wamid.{tag}.{i}"));
                        }
                    }
                }
            }
        }
    }
}

fn examples() -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for file in std::fs::read_dir(FIXTURES).expect("fixture folder") {
        let path = file.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let examples: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for (name, body) in examples.as_object().unwrap() {
            all.push((format!("{stem}.{name}"), body.clone()));
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[actix_web::test]
async fn every_fixture_example_is_accepted_stored_once_with_its_type() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let expected_types = [
        ("message.text", "text"),
        ("message.image", "image"),
        ("message.video", "video"),
        ("message.document", "document"),
        ("message.audio", "audio"),
        ("message.voice", "audio"),
        ("message.static_sticker", "sticker"),
        ("message.reaction", "reaction"),
        ("message.current_location", "location"),
        ("message.contacts", "contacts"),
        ("message.order", "order"),
        ("message.unsupported", "unsupported"),
        ("message.reply", "text"),
        ("callback_button.button", "interactive"),
        ("callback_button.quick_reply", "button"),
        ("callback_selection.callback", "interactive"),
    ];
    let mut stored_total = 0;
    for (name, mut body) in examples() {
        let tag = name.replace('.', "-");
        with_unique_ids(&mut body, &tag);
        let first = app.webhook(&body).await;
        assert_eq!(first.status(), 200, "{name}");
        let first: Value = first.json().await.unwrap();
        let again: Value = app.webhook(&body).await.json().await.unwrap();
        assert_eq!(again["stored"], 0, "{name} stored twice");
        assert_eq!(again["duplicates"], first["stored"], "{name}");
        stored_total += first["stored"].as_u64().unwrap();
        if let Some((_, kind)) = expected_types.iter().find(|(n, _)| *n == name) {
            assert_eq!(first["stored"], 1, "{name} stored");
            let chats: Value = app.get_json("/api/v1/chats?limit=200", &admin.access).await;
            let wamid = format!("wamid.{tag}.0");
            let mut found = None;
            for chat in chats["items"].as_array().unwrap() {
                let path = format!(
                    "/api/v1/chats/{}/messages?limit=200",
                    chat["id"].as_str().unwrap()
                );
                let messages: Value = app.get_json(&path, &admin.access).await;
                found = found.or(messages["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|m| m["wamid"] == wamid.as_str())
                    .cloned());
            }
            let message = found.unwrap_or_else(|| panic!("{name} not found"));
            assert_eq!(message["type"], *kind, "{name}");
        }
    }
    assert!(stored_total >= 25, "stored {stored_total}");
}
