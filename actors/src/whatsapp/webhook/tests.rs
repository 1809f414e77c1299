use std::fs;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use super::*;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/whatsapp/pywa/"
);

/// The `(example name, webhook body)` pairs of one fixture file.
pub(super) fn examples(file: &str) -> Vec<(String, Value)> {
    let path = format!("{FIXTURES}{file}");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}")) {
        Value::Object(map) => map.into_iter().collect(),
        _ => panic!("{path} is not an object of examples"),
    }
}

/// The fixture files, sorted.
pub(super) fn fixture_files() -> Vec<String> {
    let mut files: Vec<String> = fs::read_dir(FIXTURES)
        .expect("fixture directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8")
        })
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    files
}

fn batch_of(body: &Value) -> WebhookBatch {
    parse(&serde_json::to_vec(body).expect("serialise")).expect("JSON is accepted")
}

fn example_body(file: &str, name: &str) -> Value {
    let (_, body) = examples(file)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{file} has no example {name}"));
    body
}

fn example(file: &str, name: &str) -> WebhookBatch {
    batch_of(&example_body(file, name))
}

fn message(file: &str, name: &str) -> InboundMessage {
    let batch = example(file, name);
    assert_eq!(
        batch.messages.len(),
        1,
        "{file}/{name}: {:?}",
        batch.skipped
    );
    batch.messages.into_iter().next().expect("one message")
}

fn media(file: &str, name: &str) -> InboundMedia {
    message(file, name).media.expect("media")
}

/// A body with one `messages` change whose value is `value` plus the business metadata.
fn messages_body(mut value: Value) -> Value {
    value["metadata"] = json!({"phone_number_id": "1122334455667"});
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]
    })
}

fn text_message(id: Value, body: &str) -> Value {
    json!({
        "from": "15550001111", "id": id, "timestamp": "1700000000",
        "type": "text", "text": {"body": body}
    })
}

#[test]
fn every_fixture_example_parses() {
    let files = fixture_files();
    assert!(files.len() >= 19, "fixtures missing: {files:?}");
    for file in files {
        let examples = examples(&file);
        assert!(!examples.is_empty(), "{file} has no examples");
        for (name, body) in examples {
            let bytes = serde_json::to_vec(&body).expect("serialise");
            assert!(parse(&bytes).is_ok(), "{file}/{name}");
        }
    }
}

#[test]
fn each_message_example_yields_its_kind() {
    let table = [
        ("message.json", "text", "text"),
        ("message.json", "image", "image"),
        ("message.json", "media_with_url", "image"),
        ("message.json", "video", "video"),
        ("message.json", "document", "document"),
        ("message.json", "audio", "audio"),
        ("message.json", "voice", "audio"),
        ("message.json", "static_sticker", "sticker"),
        ("message.json", "animated_sticker", "sticker"),
        ("message.json", "reaction", "reaction"),
        ("message.json", "unreaction_empty", "reaction"),
        ("message.json", "unreaction_no_emoji", "reaction"),
        ("message.json", "current_location", "location"),
        ("message.json", "chosen_location", "location"),
        ("message.json", "contacts", "contacts"),
        ("message.json", "order", "order"),
        ("message.json", "unsupported", "unsupported"),
        ("message.json", "unsupported_with_type", "unsupported"),
        ("message.json", "reply", "text"),
        ("message.json", "forwarded", "text"),
        ("message.json", "forwarded_many_times", "text"),
        (
            "message.json",
            "interactive_message_with_err",
            "interactive",
        ),
        ("message.json", "referral", "text"),
        ("callback_button.json", "button", "interactive"),
        ("callback_button.json", "quick_reply", "button"),
        (
            "callback_button.json",
            "quick_reply_without_context",
            "button",
        ),
        ("callback_selection.json", "callback", "interactive"),
        ("callback_selection.json", "description", "interactive"),
        ("system.json", "phone_number_change", "system"),
        ("system.json", "identity_change", "system"),
    ];
    for (file, name, kind) in table {
        assert_eq!(message(file, name).kind.as_str(), kind, "{file}/{name}");
    }
    for file in [
        "message.json",
        "callback_button.json",
        "callback_selection.json",
        "system.json",
    ] {
        let covered = table.iter().filter(|(f, _, _)| *f == file).count();
        assert_eq!(covered, examples(file).len(), "{file}: table incomplete");
    }
}

#[test]
fn a_text_message_carries_body_sender_profile_and_time() {
    let m = message("message.json", "text");
    assert_eq!(m.text.as_deref(), Some("Body Text"));
    assert_eq!(m.identity.wa_id.as_deref(), Some("972987654321"));
    assert_eq!(m.wamid, "wamid.xyzxyz");
    assert_eq!(m.phone_number_id, "1122334455667");
    assert_eq!(m.identity.profile_name.as_deref(), Some("Test Name"));
    assert_eq!(m.timestamp, Utc.timestamp_opt(1_697_043_223, 0).single());
    assert_eq!((m.reply_to, m.forwarded, m.details), (None, false, None));
}

#[test]
fn image_video_and_document_carry_media_and_captions() {
    let image = media("message.json", "image");
    assert_eq!(image.id, "65463453");
    assert_eq!(image.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(image.sha256.as_deref(), Some("4654+8g="));
    let video = message("message.json", "video");
    assert_eq!(video.caption.as_deref(), Some("caption"));
    assert_eq!(
        video.media.expect("media").mime_type.as_deref(),
        Some("video/mp4")
    );
    let document = message("message.json", "document");
    assert_eq!(document.caption.as_deref(), Some("caption"));
    let file = document.media.expect("media");
    assert_eq!(file.id, "1234567890987654321");
    assert_eq!(file.filename.as_deref(), Some("filename.pdf"));
    assert_eq!(file.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(document.text, None);
}

#[test]
fn voice_and_animation_flags_tell_media_apart() {
    assert!(!media("message.json", "audio").voice);
    let voice = media("message.json", "voice");
    assert!(voice.voice);
    assert_eq!(voice.mime_type.as_deref(), Some("audio/ogg; codecs=opus"));
    assert!(!media("message.json", "static_sticker").animated);
    assert!(media("message.json", "animated_sticker").animated);
}

#[test]
fn locations_carry_coordinates_and_the_chosen_place() {
    let current = message("message.json", "current_location").location;
    let current = current.expect("location");
    assert_eq!((current.latitude, current.longitude), (12.25089, 43.90539));
    assert_eq!((current.name, current.address), (None, None));
    let chosen = message("message.json", "chosen_location").location;
    let chosen = chosen.expect("location");
    assert_eq!(
        (chosen.latitude, chosen.longitude),
        (37.4611978, -122.2164385)
    );
    assert_eq!(chosen.name.as_deref(), Some("Facebook HQ"));
    assert_eq!(
        chosen.address.as_deref(),
        Some("1 Hacker Way, Menlo Park, CA 94025")
    );
    assert!(chosen.url.is_some());
}

#[test]
fn a_reaction_names_its_target_and_an_empty_emoji_is_a_removal() {
    let reaction = message("message.json", "reaction");
    assert_eq!(reaction.text.as_deref(), Some("😮"));
    let expected = Reaction {
        message_id: "wamid.yzxyzx=".to_owned(),
        emoji: Some("😮".to_owned()),
    };
    assert_eq!(reaction.reaction, Some(expected));
    for removal in ["unreaction_empty", "unreaction_no_emoji"] {
        let m = message("message.json", removal);
        let r = m.reaction.expect(removal);
        assert_eq!((r.message_id.as_str(), r.emoji), ("wamid.yzxyzx=", None));
        assert_eq!(m.text, None, "{removal}");
    }
}

#[test]
fn context_gives_reply_target_and_forwarding() {
    let reply = message("message.json", "reply");
    assert_eq!(reply.reply_to.as_deref(), Some("wamid.xyzxyz=="));
    assert!(!reply.forwarded);
    assert!(message("message.json", "forwarded").forwarded);
    assert!(message("message.json", "forwarded_many_times").forwarded);
    assert!(!message("message.json", "text").forwarded);
}

#[test]
fn a_contact_card_shows_the_first_name_and_keeps_all_cards() {
    let m = message("message.json", "contacts");
    assert_eq!(m.text.as_deref(), Some("Chandler Bing"));
    let details = m.details.expect("details");
    assert_eq!(details["contacts"].as_array().map(Vec::len), Some(3));
}

#[test]
fn an_order_keeps_its_items_and_an_empty_note_is_no_text() {
    let m = message("message.json", "order");
    assert_eq!(m.text, None);
    let details = m.details.expect("details");
    assert_eq!(details["order"]["catalog_id"], "354160437058781");
    assert_eq!(details["order"]["product_items"][0]["quantity"], 3);
}

#[test]
fn an_ad_referral_is_kept_in_details() {
    let m = message("message.json", "referral");
    assert_eq!(m.text.as_deref(), Some("BODY"));
    let details = m.details.expect("details");
    assert_eq!(details["referral"]["ctwa_clid"], "CTWA_CLID");
}

#[test]
fn an_unsupported_message_keeps_its_type_and_errors() {
    let plain = message("message.json", "unsupported");
    assert_eq!(plain.details, Some(json!({"type": "unsupported"})));
    assert_eq!(plain.errors.len(), 1);
    assert_eq!(plain.errors[0].code, 131051);
    assert_eq!(plain.errors[0].title, "Message type unknown");
    let details = plain.errors[0].details.as_deref();
    assert_eq!(details, Some("Message type is currently not supported."));
    let typed = message("message.json", "unsupported_with_type");
    assert_eq!(typed.details, Some(json!({"type": "pool"})));
}

#[test]
fn an_unknown_message_type_is_unsupported_with_its_name() {
    let poll = json!({"from": "1555", "id": "wamid.p", "type": "poll", "poll": {"q": 1}});
    let batch = batch_of(&messages_body(json!({"messages": [poll]})));
    assert_eq!(batch.messages[0].kind, MessageKind::Unsupported);
    assert_eq!(batch.messages[0].details, Some(json!({"type": "poll"})));
}

#[test]
fn button_and_list_replies_show_their_title() {
    for (file, name) in [
        ("callback_button.json", "button"),
        ("callback_button.json", "quick_reply"),
        ("callback_selection.json", "callback"),
        ("callback_selection.json", "description"),
    ] {
        let m = message(file, name);
        assert_eq!(m.text.as_deref(), Some("title"), "{file}/{name}");
        assert!(m.details.is_some(), "{file}/{name}");
    }
    let button = message("callback_button.json", "quick_reply");
    assert_eq!(
        button.details.expect("details")["button"]["payload"],
        "callback_data"
    );
    let list = message("callback_selection.json", "description");
    let details = list.details.expect("details");
    assert_eq!(details["interactive"]["list_reply"]["id"], "callback_data");
    assert_eq!(list.reply_to.as_deref(), Some("wamid.xyzxyz"));
}

#[test]
fn a_flow_reply_shows_its_label_and_keeps_the_response() {
    let m = message("flow_completion.json", "completion");
    assert_eq!(m.kind, MessageKind::Interactive);
    assert_eq!(m.text.as_deref(), Some("Sent"));
    let details = m.details.expect("details");
    let response = details["interactive"]["nfm_reply"]["response_json"].as_str();
    assert!(response.is_some_and(|r| r.contains("flow_token")));
}

#[test]
fn a_system_message_shows_its_body() {
    let change = message("system.json", "phone_number_change");
    let body = "User A changed from 972987654321 to 972912345678";
    assert_eq!(change.text.as_deref(), Some(body));
    assert_eq!(change.identity.profile_name, None);
    let details = change.details.expect("details");
    assert_eq!(details["system"]["type"], "user_changed_number");
    let identity = message("system.json", "identity_change");
    assert_eq!(identity.text.as_deref(), Some("User identity changed"));
    assert_eq!(identity.identity.profile_name.as_deref(), Some("User A"));
}

#[test]
fn webhook_level_errors_are_reported_beside_the_message() {
    let batch = example("message.json", "interactive_message_with_err");
    assert_eq!(batch.messages.len(), 1);
    assert_eq!(batch.errors.len(), 1);
    assert_eq!(batch.errors[0].code, 131000);
    let details = batch.errors[0].details.as_deref();
    assert_eq!(details, Some("Unsupported webhook payload"));
}

#[test]
fn every_status_example_gives_its_delivery_status() {
    let table = [
        ("sent", DeliveryStatus::Sent),
        ("delivered", DeliveryStatus::Delivered),
        ("read", DeliveryStatus::Read),
        ("played", DeliveryStatus::Played),
        ("failed", DeliveryStatus::Failed),
        ("with_tracker", DeliveryStatus::Sent),
        ("group", DeliveryStatus::Read),
    ];
    assert_eq!(table.len(), examples("message_status.json").len());
    for (name, status) in table {
        let batch = example("message_status.json", name);
        assert_eq!(batch.statuses.len(), 1, "{name}");
        assert!(
            batch.messages.is_empty() && batch.skipped.is_empty(),
            "{name}"
        );
        assert_eq!(batch.statuses[0].status, status, "{name}");
    }
    let sent = example("message_status.json", "sent").statuses.remove(0);
    assert_eq!(sent.wamid, "wamid.xyzxyz");
    assert_eq!(sent.recipient_id.as_deref(), Some("972987654321"));
    assert_eq!(sent.timestamp, Utc.timestamp_opt(1_698_266_945, 0).single());
}

#[test]
fn a_failed_status_carries_metas_error() {
    let failed = example("message_status.json", "failed").statuses.remove(0);
    assert_eq!(failed.errors.len(), 1);
    assert_eq!(failed.errors[0].code, 130472);
    assert_eq!(
        failed.errors[0].title,
        "User's number is part of an experiment"
    );
    assert!(failed.errors[0].details.is_some());
}

#[test]
fn edits_and_deletions_name_their_message_and_other_changes_are_kept_unused() {
    let files = fixture_files().into_iter().filter(|f| {
        ["template_", "account_", "call_"]
            .iter()
            .any(|prefix| f.starts_with(prefix))
    });
    let mut checked = 0;
    for file in files {
        for (name, body) in examples(&file) {
            let batch = batch_of(&body);
            assert!(batch.messages.is_empty(), "{file}/{name}");
            assert!(batch.statuses.is_empty(), "{file}/{name}");
            assert!(!batch.skipped.is_empty(), "{file}/{name}");
            assert_eq!(batch.unused.len(), 1, "{file}/{name}");
            assert_eq!(
                batch.unused[0].raw, body["entry"][0]["changes"][0],
                "{file}/{name}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 26, "only {checked} examples checked");
    let edit = example("edited_message.json", "image");
    assert!(
        edit.messages.is_empty() && edit.unused.is_empty(),
        "{:?}",
        edit.skipped
    );
    assert_eq!(edit.edits.len(), 1);
    assert!(edit.edits[0].original_wamid.len() > 8);
    assert!(matches!(&edit.edits[0].new_text, Some(Some(caption)) if !caption.is_empty()));
    assert_eq!(
        edit.edits[0].identity.user_id.as_deref(),
        Some("US.13491208655302741918")
    );
    let revoke = example("deleted_message.json", "revoke");
    assert_eq!(revoke.edits.len(), 1);
    assert_eq!(revoke.edits[0].new_text, None);
    assert_eq!(
        revoke.edits[0].original_wamid,
        "<ORIGINAL_WHATSAPP_MESSAGE_ID>"
    );
}

/// The documentation's username-only message: no `from`, no `wa_id` (Meta's own example).
fn username_only() -> Value {
    messages_body(json!({
        "contacts": [{
            "profile": {"name": "Sheena Nelson", "username": "@realsheenanelson"},
            "user_id": "US.13491208655302741918",
            "parent_user_id": "US.ENT.11815799212886844830"
        }],
        "messages": [{
            "from_user_id": "US.13491208655302741918",
            "from_parent_user_id": "US.ENT.11815799212886844830",
            "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
            "timestamp": "1749416383",
            "type": "text",
            "text": {"body": "Does it come in another color?"}
        }]
    }))
}

#[test]
fn a_message_with_only_a_bsuid_names_its_customer_by_it() {
    let batch = batch_of(&username_only());
    assert!(batch.unused.is_empty(), "{:?}", batch.skipped);
    let id = &batch.messages[0].identity;
    assert_eq!(id.wa_id, None);
    assert_eq!(id.user_id.as_deref(), Some("US.13491208655302741918"));
    assert_eq!(
        id.parent_user_id.as_deref(),
        Some("US.ENT.11815799212886844830")
    );
    assert_eq!(id.username.as_deref(), Some("@realsheenanelson"));
    assert_eq!(id.profile_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(batch.messages[0].sender(), "US.13491208655302741918");
}

#[test]
fn a_message_without_any_identity_is_kept_unused_with_its_reason() {
    let mut body = username_only();
    let value = &mut body["entry"][0]["changes"][0]["value"];
    value["messages"][0]
        .as_object_mut()
        .unwrap()
        .remove("from_user_id");
    value.as_object_mut().unwrap().remove("contacts");
    let batch = batch_of(&body);
    assert!(batch.messages.is_empty());
    assert_eq!(batch.unused.len(), 1);
    assert_eq!(batch.unused[0].reason, Reason::MissingIdentity);
    assert_eq!(batch.unused[0].field, "messages");
    assert_eq!(
        batch.unused[0].phone_number_id.as_deref(),
        Some("1122334455667")
    );
}

#[test]
fn a_change_for_a_number_not_served_is_kept_whole() {
    let bytes = serde_json::to_vec(&username_only()).unwrap();
    let batch = parse_for(&bytes, &|number| number == "another").unwrap();
    assert!(batch.messages.is_empty());
    assert_eq!(batch.unused[0].reason, Reason::UnknownNumber);
}

#[test]
fn statuses_name_a_bsuid_recipient_and_failures_come_without_contacts() {
    let body = messages_body(json!({
        "statuses": [
            {"id": "wamid.a", "status": "delivered", "timestamp": "1750030073",
             "recipient_user_id": "US.13491208655302741918",
             "recipient_parent_user_id": "US.ENT.11815799212886844830"},
            {"id": "wamid.b", "status": "failed", "timestamp": "1750030073",
             "recipient_id": "16505551234",
             "errors": [{"code": 131049, "title": "This message was not delivered to maintain healthy ecosystem engagement."}]},
        ]
    }));
    let batch = batch_of(&body);
    assert!(batch.unused.is_empty(), "{:?}", batch.skipped);
    assert_eq!(batch.statuses[0].recipient_id, None);
    assert_eq!(
        batch.statuses[0].recipient_user_id.as_deref(),
        Some("US.13491208655302741918")
    );
    assert_eq!(batch.statuses[1].status, DeliveryStatus::Failed);
    assert_eq!(batch.statuses[1].errors[0].code, 131049);
}

#[test]
fn bsuid_changes_come_as_their_own_field_or_as_a_system_message() {
    let field = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "user_id_update", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Pablo Morales"}, "wa_id": "16505551234"}],
            "user_id_update": [{
                "wa_id": "16505551234",
                "detail": "User id for Pablo Morales has been updated.",
                "user_id": {"previous": "US.13491208655302741918", "current": "US.20957718302284419377"},
                "timestamp": "1767225600"
            }]
        }}]}]
    });
    let batch = batch_of(&field);
    assert_eq!(batch.user_id_changes.len(), 1, "{:?}", batch.skipped);
    assert_eq!(batch.user_id_changes[0].previous, "US.13491208655302741918");
    assert_eq!(batch.user_id_changes[0].current, "US.20957718302284419377");
    assert_eq!(
        batch.user_id_changes[0].wa_id.as_deref(),
        Some("16505551234")
    );
    let system = messages_body(json!({"messages": [{
        "id": "wamid.sys", "timestamp": "1767225600", "type": "system",
        "system": {
            "body": "User Pablo Morales changed from US.13491208655302741918 to US.20957718302284419377",
            "user_id": "US.20957718302284419377",
            "previous_user_id": "US.13491208655302741918",
            "type": "user_changed_user_id"
        }
    }]}));
    let batch = batch_of(&system);
    assert_eq!(batch.user_id_changes[0].current, "US.20957718302284419377");
    assert_eq!(
        batch.messages[0].identity.user_id.as_deref(),
        Some("US.20957718302284419377")
    );
}

#[test]
fn business_app_echoes_and_history_name_the_customer_they_were_sent_to() {
    let echo = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "smb_message_echoes", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Pablo Morales"}, "wa_id": "16505551234", "user_id": "US.13491208655302741918"}],
            "message_echoes": [{
                "from": "15550783881", "to": "16505551234", "to_user_id": "US.13491208655302741918",
                "id": "wamid.echo", "timestamp": "1739321024", "type": "text",
                "text": {"body": "Here's the info you requested!"}
            }]
        }}]}]
    });
    let batch = batch_of(&echo);
    let m = &batch.messages[0];
    assert_eq!(m.origin, Origin::BusinessApp);
    assert_eq!(m.identity.wa_id.as_deref(), Some("16505551234"));
    assert_eq!(m.text.as_deref(), Some("Here's the info you requested!"));
    let history = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "history", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "history": [{"metadata": {"phase": 0, "chunk_order": 1, "progress": 55}, "threads": [{
                "id": "16505551234",
                "context": {"wa_id": "16505551234", "user_id": "US.13491208655302741918"},
                "messages": [
                    {"from": "16505551234", "from_user_id": "US.13491208655302741918",
                     "id": "wamid.h1", "timestamp": "1739230955", "type": "text",
                     "text": {"body": "Is the store open on Sunday?"},
                     "history_context": {"status": "READ"}},
                    {"from": "15550783881", "to": "16505551234",
                     "id": "wamid.h2", "timestamp": "1739231012", "type": "text",
                     "text": {"body": "Yes, 10am to 4pm."},
                     "history_context": {"status": "DELIVERED"}}
                ]
            }]}]
        }}]}]
    });
    let batch = batch_of(&history);
    assert!(batch.unused.is_empty(), "{:?}", batch.skipped);
    let origins: Vec<_> = batch.messages.iter().map(|m| m.origin).collect();
    assert_eq!(
        origins,
        [
            Origin::History {
                from_business: false
            },
            Origin::History {
                from_business: true
            }
        ]
    );
    for m in &batch.messages {
        assert_eq!(
            m.identity.user_id.as_deref(),
            Some("US.13491208655302741918")
        );
        assert_eq!(m.identity.wa_id.as_deref(), Some("16505551234"));
    }
}

#[test]
fn a_body_that_is_not_json_is_refused() {
    let bodies: [&[u8]; 6] = [
        b"",
        b"{",
        b"hello",
        b"\xff\xfe",
        b"{\"entry\": []} x",
        b"[1,]",
    ];
    for body in bodies {
        assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn any_json_is_accepted_even_without_an_envelope() {
    let bodies = [
        "[]",
        "{}",
        "null",
        "42",
        "\"text\"",
        r#"{"entry": 5}"#,
        r#"{"entry": [5, {"changes": "x"}, {"changes": [7, {"field": "messages", "value": 5}]}]}"#,
        r#"{"entry": [{"changes": [{"field": "messages", "value": {"messages": [{}]}}]}]}"#,
        r#"{"object": "page", "entry": []}"#,
    ];
    for body in bodies {
        let batch = parse(body.as_bytes()).unwrap_or_else(|_| panic!("{body}"));
        assert!(
            batch.messages.is_empty() && batch.statuses.is_empty(),
            "{body}"
        );
        assert!(!batch.skipped.is_empty(), "{body}");
    }
}

#[test]
fn malformed_items_are_skipped_and_good_ones_kept() {
    let value = json!({
        "messages": [
            text_message(json!(7), "numeric id"),
            text_message(json!("wamid.good"), "kept"),
            {"id": "wamid.nofrom", "type": "text", "text": {"body": "x"}},
            "not an object",
            {"from": "1555", "id": "wamid.r", "type": "reaction", "reaction": {"emoji": "👍"}},
        ],
        "statuses": [
            {"id": "wamid.s1", "status": "weird", "timestamp": "1700000000"},
            {"id": "wamid.s2", "status": "delivered", "errors": [{"title": "no code"}]},
            {"status": "read"},
        ],
        "errors": "not a list",
    });
    let batch = batch_of(&messages_body(value));
    assert_eq!(batch.messages.len(), 1);
    assert_eq!(batch.messages[0].text.as_deref(), Some("kept"));
    assert_eq!(batch.statuses.len(), 1);
    assert_eq!(batch.statuses[0].status, DeliveryStatus::Delivered);
    let expected = [
        "errors that are not a list skipped",
        "message without id skipped",
        "message without from or from_user_id skipped",
        "message that is not an object skipped",
        "reaction without message_id skipped",
        "status word weird skipped",
        "error without code skipped",
        "status without id skipped",
    ];
    assert_eq!(batch.skipped, expected);
}

#[test]
fn coordinates_given_as_strings_are_accepted() {
    let location = |lat: Value, long: Value| {
        let m = json!({"from": "1555", "id": "wamid.l", "type": "location",
            "location": {"latitude": lat, "longitude": long}});
        let batch = batch_of(&messages_body(json!({"messages": [m]})));
        assert_eq!(batch.messages[0].kind, MessageKind::Location);
        batch.messages[0].location.clone()
    };
    let read = location(json!("-23.55"), json!(" -46.63 ")).expect("location");
    assert_eq!((read.latitude, read.longitude), (-23.55, -46.63));
    assert_eq!(location(json!("north"), json!(1.0)), None);
    assert_eq!(location(json!(91.0), json!(1.0)), None);
    assert_eq!(location(json!(null), json!({})), None);
}

#[test]
fn a_three_megabyte_text_is_kept_whole() {
    let long = "a".repeat(3 * 1024 * 1024);
    let value = json!({"messages": [text_message(json!("wamid.big"), &long)]});
    let batch = batch_of(&messages_body(value));
    assert_eq!(
        batch.messages[0].text.as_ref().map(String::len),
        Some(long.len())
    );
}

#[test]
fn absurd_or_missing_timestamps_give_none() {
    let now: DateTime<Utc> = Utc.timestamp_opt(1_750_000_000, 0).single().expect("now");
    let soon = (now + Duration::hours(23)).timestamp();
    let later = (now + Duration::hours(25)).timestamp();
    let table = [
        (json!("1700000000"), Some(1_700_000_000)),
        (json!(" 1700000000 "), Some(1_700_000_000)),
        (json!(1_700_000_000), Some(1_700_000_000)),
        (json!(soon.to_string()), Some(soon)),
        (json!(later.to_string()), None),
        (json!("1230767999"), None),
        (json!("0"), None),
        (json!("-5"), None),
        (json!("soon"), None),
        (json!(""), None),
        (json!(null), None),
        (json!({"s": 1}), None),
        (json!("99999999999999999999"), None),
    ];
    for (raw, expected) in table {
        let at = super::fields::timestamp(&json!({ "t": raw }), "t", now);
        assert_eq!(at.map(|t| t.timestamp()), expected, "{raw}");
    }
    assert_eq!(super::fields::timestamp(&json!({}), "t", now), None);
}

#[test]
fn the_profile_name_is_the_senders_or_the_only_one() {
    let contacts = json!([
        {"profile": {"name": "Ana"}, "wa_id": "111"},
        {"profile": {"name": "Bia"}, "wa_id": "222"},
    ]);
    let msg = |from: &str| json!({"from": from, "id": "wamid.x", "type": "text"});
    let value = json!({"contacts": contacts, "messages": [msg("222"), msg("333")]});
    let names: Vec<_> = batch_of(&messages_body(value))
        .messages
        .into_iter()
        .map(|m| m.identity.profile_name)
        .collect();
    assert_eq!(names, [Some("Bia".to_owned()), None]);
    let only = json!({"contacts": [{"profile": {"name": "Ana"}}], "messages": [msg("111")]});
    let batch = batch_of(&messages_body(only));
    assert_eq!(
        batch.messages[0].identity.profile_name.as_deref(),
        Some("Ana")
    );
}

/// Strings under keys that hold text, names or numbers in the fixtures.
fn private_strings(value: &Value, out: &mut Vec<String>) {
    const PRIVATE: [&str; 16] = [
        "body",
        "caption",
        "name",
        "formatted_name",
        "first_name",
        "last_name",
        "from",
        "to",
        "wa_id",
        "phone",
        "display_phone_number",
        "recipient_id",
        "text",
        "title",
        "address",
        "filename",
    ];
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match item.as_str() {
                    Some(s) if s.len() >= 4 && PRIVATE.contains(&key.as_str()) => {
                        out.push(s.to_owned())
                    }
                    _ => private_strings(item, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| private_strings(item, out)),
        _ => {}
    }
}

#[test]
fn skipped_lines_never_hold_texts_numbers_or_names() {
    let mut lines = 0;
    for file in fixture_files() {
        for (name, body) in examples(&file) {
            let mut private = Vec::new();
            private_strings(&body, &mut private);
            for line in batch_of(&body).skipped {
                lines += 1;
                for secret in &private {
                    assert!(!line.contains(secret.as_str()), "{file}/{name}: {line}");
                }
            }
        }
    }
    assert!(lines > 0);
    let hostile = json!({
        "messages": [
            {"from": "15559876543", "type": "text", "text": {"body": "my secret"}},
            {"from": "15559876543", "id": "w", "type": "15559876543"},
            {"from": "15559876543", "id": "w", "type": "Chandler Bing"},
        ],
        "statuses": [{"id": "w", "status": "15559876543"}, {"id": "w", "status": "my secret"}],
    });
    let mut body = messages_body(hostile);
    let changes = body["entry"][0]["changes"].as_array_mut().expect("changes");
    changes.push(json!({"field": "call 15559876543", "value": {}}));
    for line in batch_of(&body).skipped {
        for secret in ["5559876543", "secret", "Chandler"] {
            assert!(!line.contains(secret), "{line}");
        }
    }
}

#[test]
fn marketing_preferences_stop_and_resume_a_customer() {
    for (name, wants) in [("resume", true), ("signup", true)] {
        let batch = example("user_marketing_preferences.json", name);
        assert!(batch.unused.is_empty(), "{:?}", batch.unused);
        assert_eq!(batch.preferences.len(), 1);
        let change = &batch.preferences[0];
        assert_eq!(change.wants_marketing, wants);
        assert_eq!(change.identity.wa_id.as_deref(), Some("16505551234"));
        // The lone contacts[] entry names someone else: nothing of theirs is mixed in.
        assert_eq!(change.identity.user_id, None);
        assert_eq!(change.at.timestamp(), 1_731_705_721);
    }
    let mut stop = example_body("user_marketing_preferences.json", "resume");
    stop["entry"][0]["changes"][0]["value"]["user_preferences"][0]["value"] = json!("stop");
    let batch = batch_of(&stop);
    assert!(!batch.preferences[0].wants_marketing);
    let mut odd = stop.clone();
    odd["entry"][0]["changes"][0]["value"]["user_preferences"][0]["category"] = json!("surveys");
    let batch = batch_of(&odd);
    assert!(batch.preferences.is_empty());
    assert_eq!(batch.unused.len(), 1, "kept, never dropped");
}
