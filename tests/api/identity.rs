//! Customers in the username era: a contact is found by its phone or its BSUID, both are
//! joined when one message carries them, Brazil's two forms of a mobile number are one
//! customer, each business number keeps its own chats, and no webhook change is dropped
//! (kept raw, listed and replayed). Payloads follow Meta's documentation field by field.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

const BSUID: &str = "US.13491208655302741918";
const PARENT: &str = "US.ENT.11815799212886844830";
const SECOND: &str = atende_web::sandbox::SANDBOX_SECOND_NUMBER_ID;

/// A `messages` webhook to `number` whose sender is named by `from` (phone) and/or
/// `from_user_id` (BSUID), with the matching `contacts[]` entry, as Meta's docs show it.
fn message_to(
    number: &str,
    phone: Option<&str>,
    user_id: Option<&str>,
    wamid: &str,
    body: &str,
) -> Value {
    let mut message = json!({"id": wamid, "timestamp": chrono::Utc::now().timestamp().to_string(),
        "type": "text", "text": {"body": body}});
    let mut contact = json!({"profile": {"name": "Sheena Nelson"}});
    if let Some(phone) = phone {
        message["from"] = json!(phone);
        contact["wa_id"] = json!(phone);
    }
    if let Some(user_id) = user_id {
        message["from_user_id"] = json!(user_id);
        contact["user_id"] = json!(user_id);
        contact["parent_user_id"] = json!(PARENT);
        contact["profile"]["username"] = json!("@realsheenanelson");
    }
    change(
        number,
        "messages",
        json!({"contacts": [contact], "messages": [message]}),
    )
}

fn message_from(phone: Option<&str>, user_id: Option<&str>, wamid: &str, body: &str) -> Value {
    message_to(NUMBER, phone, user_id, wamid, body)
}

/// One change of `field` for `number`, with Meta's metadata.
fn change(number: &str, field: &str, mut value: Value) -> Value {
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": "5511000000000", "phone_number_id": number});
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba", "changes": [{"field": field, "value": value}]}]
    })
}

async fn post(app: &TestApp, body: &Value) -> Value {
    let response = app.webhook(body).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn chats(app: &TestApp, token: &str) -> Vec<Value> {
    let page: Value = app
        .get("/api/v1/chats?limit=200", token)
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

async fn messages(app: &TestApp, token: &str, chat: &Value) -> Vec<Value> {
    let path = format!("/api/v1/chats/{}/messages", chat["id"].as_str().unwrap());
    let page: Value = app.get(&path, token).await.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

/// Claims `chat` and replies `text`; the reply's request body as the Cloud API got it.
async fn reply(
    app: &TestApp,
    admin: &Tokens,
    chat: &Value,
    text: &str,
) -> atende_web::sandbox::SentMessage {
    let id = chat["id"].as_str().unwrap();
    app.claim(id, admin).await;
    let before = app.sim.sent().len();
    let response = app.send_text(id, &format!("c-{text}"), text, admin).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let sent = app
        .sim
        .wait_for_sent(before + 1, Duration::from_secs(20))
        .await
        .expect("the reply reached the Cloud API");
    sent.into_iter()
        .find(|m| m.body["text"]["body"] == text)
        .expect("the reply")
}

#[actix_web::test]
async fn a_username_only_customer_is_stored_shown_and_answered_by_bsuid() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let answer = post(
        &app,
        &message_from(
            None,
            Some(BSUID),
            "wamid.U1",
            "Does it come in another color?",
        ),
    )
    .await;
    assert_eq!(answer["stored"], 1, "{answer}");
    let chats = chats(&app, &admin.access).await;
    assert_eq!(chats.len(), 1);
    let contact = &chats[0]["contact"];
    assert_eq!(contact["wa_id"], Value::Null);
    assert_eq!(contact["user_id"], BSUID);
    assert_eq!(contact["username"], "@realsheenanelson");
    assert_eq!(contact["profile_name"], "Sheena Nelson");
    let key = format!("/api/v1/contacts/{BSUID}");
    let found: Value = app.get_json(&key, &admin.access).await;
    assert_eq!(found["id"], contact["id"]);
    assert_eq!(found["parent_user_id"], PARENT);
    // The same wamid again is stored once.
    let again = post(
        &app,
        &message_from(
            None,
            Some(BSUID),
            "wamid.U1",
            "Does it come in another color?",
        ),
    )
    .await;
    assert_eq!(
        (again["stored"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(1))
    );
    // A reply goes to the BSUID as `recipient`; Meta's statuses name it alike.
    let sent = reply(&app, &admin, &chats[0], "Sim, em azul").await;
    assert_eq!(sent.body["recipient"], BSUID);
    assert!(sent.body.get("to").is_none(), "{}", sent.body);
    let path = format!(
        "/api/v1/chats/{}/messages",
        chats[0]["id"].as_str().unwrap()
    );
    app.eventually(&path, &admin.access, "the reply read", |page| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "Sim, em azul" && m["status"] == "read")
    })
    .await;
}

#[actix_web::test]
async fn phone_then_phone_and_bsuid_then_bsuid_only_land_in_one_chat() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let phone = "16505551234";
    post(&app, &message_from(Some(phone), None, "wamid.J1", "oi")).await;
    post(
        &app,
        &message_from(Some(phone), Some(BSUID), "wamid.J2", "tudo bem?"),
    )
    .await;
    post(&app, &message_from(None, Some(BSUID), "wamid.J3", "alô")).await;
    let chats = chats(&app, &admin.access).await;
    assert_eq!(chats.len(), 1, "{chats:?}");
    assert_eq!(messages(&app, &admin.access, &chats[0]).await.len(), 3);
    assert_eq!(chats[0]["contact"]["wa_id"], phone);
    assert_eq!(chats[0]["contact"]["user_id"], BSUID);
    // A reply to a customer with a phone keeps `to`.
    let sent = reply(&app, &admin, &chats[0], "olá").await;
    assert_eq!(sent.body["to"], phone);
}

#[actix_web::test]
async fn a_phone_and_a_bsuid_seen_apart_are_joined_by_a_message_with_both() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let phone = "16505551234";
    post(
        &app,
        &message_from(None, Some(BSUID), "wamid.A1", "pelo usuário"),
    )
    .await;
    post(
        &app,
        &message_from(Some(phone), None, "wamid.A2", "pelo telefone"),
    )
    .await;
    assert_eq!(
        chats(&app, &admin.access).await.len(),
        2,
        "two customers so far"
    );
    post(
        &app,
        &message_from(Some(phone), Some(BSUID), "wamid.A3", "os dois"),
    )
    .await;
    let by_phone: Value = app
        .get_json(&format!("/api/v1/contacts/{phone}"), &admin.access)
        .await;
    let by_bsuid: Value = app
        .get_json(&format!("/api/v1/contacts/{BSUID}"), &admin.access)
        .await;
    assert_eq!(by_phone["id"], by_bsuid["id"], "one contact");
    assert_eq!(by_phone["wa_id"], phone);
    assert_eq!(by_phone["user_id"], BSUID);
    let path = format!(
        "/api/v1/contacts/{}/chats",
        by_phone["id"].as_str().unwrap()
    );
    let history: Value = app.get_json(&path, &admin.access).await;
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        2,
        "one chat history: {history}"
    );
    let listed: Value = app.get_json("/api/v1/contacts", &admin.access).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
}

#[actix_web::test]
async fn a_new_bsuid_for_a_known_customer_rekeys_the_contact() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let new = "US.20957718302284419377";
    post(&app, &message_from(None, Some(BSUID), "wamid.K1", "antes")).await;
    let update = change(
        NUMBER,
        "user_id_update",
        json!({
            "contacts": [{"profile": {"name": "Pablo Morales"}}],
            "user_id_update": [{"detail": "User id for Pablo Morales has been updated.",
                "user_id": {"previous": BSUID, "current": new}, "timestamp": "1767225600"}]
        }),
    );
    assert_eq!(post(&app, &update).await["unprocessed"], 0);
    post(&app, &message_from(None, Some(new), "wamid.K2", "depois")).await;
    let chats = chats(&app, &admin.access).await;
    assert_eq!(chats.len(), 1, "{chats:?}");
    assert_eq!(chats[0]["contact"]["user_id"], new);
    // The old BSUID still finds the contact; sends use the new one.
    let old: Value = app
        .get_json(&format!("/api/v1/contacts/{BSUID}"), &admin.access)
        .await;
    assert_eq!(old["user_id"], new);
    let sent = reply(&app, &admin, &chats[0], "oi de novo").await;
    assert_eq!(sent.body["recipient"], new);
}

#[actix_web::test]
async fn the_ninth_digit_pair_is_one_chat_and_replies_use_the_form_meta_sent_last() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    post(
        &app,
        &message_from(Some("551187654321"), None, "wamid.N1", "sem o nove"),
    )
    .await;
    post(
        &app,
        &message_from(Some("5511987654321"), None, "wamid.N2", "com o nove"),
    )
    .await;
    let chats = chats(&app, &admin.access).await;
    assert_eq!(chats.len(), 1, "{chats:?}");
    let sent = reply(&app, &admin, &chats[0], "um só").await;
    assert_eq!(sent.body["to"], "5511987654321");
    // Either form, or a formatted one, finds the contact.
    for key in ["551187654321", "5511987654321", "+55%20(11)%2098765-4321"] {
        let found = app
            .get(&format!("/api/v1/contacts/{key}"), &admin.access)
            .await;
        assert_eq!(found.status(), 200, "{key}");
    }
}

#[actix_web::test]
async fn two_numbers_keep_two_chats_with_one_customer_and_send_through_their_own() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let phone = "5511955550000";
    post(
        &app,
        &message_to(NUMBER, Some(phone), None, "wamid.T1", "no primeiro"),
    )
    .await;
    post(
        &app,
        &message_to(SECOND, Some(phone), None, "wamid.T2", "no segundo"),
    )
    .await;
    let chats = chats(&app, &admin.access).await;
    assert_eq!(chats.len(), 2);
    for chat in &chats {
        let number = chat["phone_number_id"].as_str().unwrap();
        let text = format!("resposta de {number}");
        let sent = reply(&app, &admin, chat, &text).await;
        assert_eq!(sent.number, number);
        assert_eq!(sent.body["to"], phone);
    }
    let numbers: Value = app.get_json("/api/v1/numbers", &admin.access).await;
    let ids: Vec<&str> = numbers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [NUMBER, SECOND]);
}

#[actix_web::test]
async fn numbers_are_managed_by_admins_and_checked() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.user(&admin, "ana@test.local", "agent").await;
    let new = json!({"id": "106540352242922", "name": "Vendas", "display_number": "+55 (11) 3333-4444", "rate_limit": 20});
    assert_error(
        app.post("/api/v1/numbers", Some(&agent.access), &new).await,
        403,
        "admin_only",
    )
    .await;
    let listed = app.get("/api/v1/numbers", &agent.access).await;
    assert_eq!(listed.status(), 200, "agents read the numbers' names");
    let created = app.post("/api/v1/numbers", Some(&admin.access), &new).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["display_number"], "551133334444");
    assert_error(
        app.post("/api/v1/numbers", Some(&admin.access), &new).await,
        409,
        "number_taken",
    )
    .await;
    let bad = json!({"id": "a b", "name": "", "rate_limit": 5000});
    let refused = assert_error(
        app.post("/api/v1/numbers", Some(&admin.access), &bad).await,
        400,
        "validation_failed",
    )
    .await;
    for field in ["id", "name", "rate_limit"] {
        assert!(
            refused["error"]["fields"][field].is_string(),
            "{field}: {refused}"
        );
    }
    let path = "/api/v1/numbers/106540352242922";
    let patched = app
        .patch(
            path,
            &admin.access,
            &json!({"enabled": false, "rate_limit": null}),
        )
        .await;
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(
        (
            patched["enabled"].as_bool(),
            patched["rate_limit"].is_null()
        ),
        (Some(false), true)
    );
    let gone = app.delete(path, &admin.access).await;
    assert_eq!(gone.status(), 204);
    let missing = app.delete(path, &admin.access).await;
    assert_error(missing, 404, "not_found").await;
    let second = format!("/api/v1/numbers/{SECOND}");
    assert_eq!(app.delete(&second, &admin.access).await.status(), 204);
    let last = format!("/api/v1/numbers/{NUMBER}");
    assert_error(app.delete(&last, &admin.access).await, 409, "last_number").await;
}

#[actix_web::test]
async fn an_unknown_number_is_kept_counted_listed_and_replayed_once_it_is_added() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = message_to(
        "106540352242922",
        Some("16505551234"),
        None,
        "wamid.R1",
        "para outro número",
    );
    let answer = post(&app, &body).await;
    assert_eq!(
        (answer["stored"].as_u64(), answer["unprocessed"].as_u64()),
        (Some(0), Some(1)),
        "{answer}"
    );
    assert!(chats(&app, &admin.access).await.is_empty());
    let kept: Value = app
        .get_json("/api/v1/webhooks/unprocessed", &admin.access)
        .await;
    let entry = &kept["items"][0];
    assert_eq!(entry["reason"], "unknown_number");
    assert_eq!(entry["raw"], body["entry"][0]["changes"][0]);
    let metrics = app.metrics().await;
    assert_eq!(
        metric_value(
            &metrics,
            "atende_webhook_unprocessed_total{reason=\"unknown_number\"}"
        ),
        1.0
    );
    assert_eq!(
        metric_value(&metrics, "atende_webhook_unprocessed_kept"),
        1.0
    );
    let agent = app.user(&admin, "ana@test.local", "agent").await;
    assert_error(
        app.get("/api/v1/webhooks/unprocessed", &agent.access).await,
        403,
        "admin_only",
    )
    .await;
    let replay = format!(
        "/api/v1/webhooks/unprocessed/{}/replay",
        entry["id"].as_str().unwrap()
    );
    // Still unknown: the replay says so and stores nothing.
    let first: Value = app
        .post(&replay, Some(&admin.access), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        first["replay_outcome"]
            .as_str()
            .unwrap()
            .contains("unknown_number"),
        "{first}"
    );
    let number = json!({"id": "106540352242922", "name": "Vendas"});
    assert_eq!(
        app.post("/api/v1/numbers", Some(&admin.access), &number)
            .await
            .status(),
        201
    );
    let second: Value = app
        .post(&replay, Some(&admin.access), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        second["replay_outcome"], "1 stored, 0 already stored",
        "{second}"
    );
    let chats = chats(&app, &admin.access).await;
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0]["phone_number_id"], "106540352242922");
    let third: Value = app
        .post(&replay, Some(&admin.access), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(third["replay_outcome"], "0 stored, 1 already stored");
    let missing = app
        .post(
            "/api/v1/webhooks/unprocessed/12345/replay",
            Some(&admin.access),
            &json!({}),
        )
        .await;
    assert_error(missing, 404, "not_found").await;
}

#[actix_web::test]
async fn other_change_kinds_and_messages_without_identity_are_kept_not_dropped() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let template = change(
        NUMBER,
        "message_template_status_update",
        json!({"event": "APPROVED", "message_template_id": 1}),
    );
    assert_eq!(post(&app, &template).await["unprocessed"], 1);
    let nobody = change(
        NUMBER,
        "messages",
        json!({"messages": [{"id": "wamid.X", "type": "text", "text": {"body": "?"}}]}),
    );
    assert_eq!(post(&app, &nobody).await["unprocessed"], 1);
    let kept: Value = app
        .get_json("/api/v1/webhooks/unprocessed", &admin.access)
        .await;
    let reasons: Vec<&str> = kept["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["missing_identity", "unhandled_field"]);
}

#[actix_web::test]
async fn edits_and_deletions_change_the_message_and_keep_the_history() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    post(
        &app,
        &message_from(Some("16505551234"), None, "wamid.E1", "pedido 123"),
    )
    .await;
    let edit = |kind: &str, id: &str, content: Value| {
        let mut item =
            json!({"from": "16505551234", "id": id, "timestamp": "1749854575", "type": kind});
        item[kind] = content;
        change(
            NUMBER,
            "messages",
            json!({"contacts": [{"profile": {"name": "Sheena"}, "wa_id": "16505551234"}], "messages": [item]}),
        )
    };
    let edited = edit(
        "edit",
        "wamid.E2",
        json!({"original_message_id": "wamid.E1",
        "message": {"type": "text", "text": {"body": "pedido 1234"}}}),
    );
    assert_eq!(post(&app, &edited).await["unprocessed"], 0);
    let chat = chats(&app, &admin.access).await.remove(0);
    let message = messages(&app, &admin.access, &chat).await.remove(0);
    assert_eq!(message["text"], "pedido 1234");
    assert_eq!(message["details"]["edits"][0]["text"], "pedido 123");
    assert!(message["details"]["edited_at"].is_string());
    let revoked = edit(
        "revoke",
        "wamid.E3",
        json!({"original_message_id": "wamid.E1"}),
    );
    post(&app, &revoked).await;
    let message = messages(&app, &admin.access, &chat).await.remove(0);
    assert_eq!(message["text"], Value::Null);
    assert!(message["details"]["deleted_at"].is_string(), "{message}");
    assert!(
        message["details"].get("edits").is_none(),
        "a deleted message keeps no text"
    );
}

#[actix_web::test]
async fn business_app_echoes_show_as_sent_from_the_phone_and_history_imports_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let phone = "16505551234";
    let history = change(
        NUMBER,
        "history",
        json!({"history": [{
            "metadata": {"phase": 0, "chunk_order": 1, "progress": 100},
            "threads": [{"id": phone, "context": {"wa_id": phone, "user_id": BSUID}, "messages": [
                {"from": phone, "from_user_id": BSUID, "id": "wamid.H1", "timestamp": "1739230955",
                 "type": "text", "text": {"body": "Abre domingo?"}, "history_context": {"status": "READ"}},
                {"from": "5511000000000", "to": phone, "id": "wamid.H2", "timestamp": "1739231012",
                 "type": "text", "text": {"body": "Sim, das 10h às 16h."}, "history_context": {"status": "DELIVERED"}}
            ]}]
        }]}),
    );
    assert_eq!(post(&app, &history).await["stored"], 2);
    assert_eq!(post(&app, &history).await["duplicates"], 2, "imported once");
    let chats_now = chats(&app, &admin.access).await;
    assert_eq!(chats_now.len(), 1);
    assert_eq!(
        chats_now[0]["status"], "closed",
        "old history waits in no queue"
    );
    let imported = messages(&app, &admin.access, &chats_now[0]).await;
    let directions: Vec<&str> = imported
        .iter()
        .map(|m| m["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, ["in", "out"]);
    let echo = change(
        NUMBER,
        "smb_message_echoes",
        json!({
            "contacts": [{"profile": {"name": "Pablo"}, "wa_id": phone, "user_id": BSUID}],
            "message_echoes": [{"from": "5511000000000", "to": phone, "to_user_id": BSUID,
                "id": "wamid.H3", "timestamp": "1739321024", "type": "text",
                "text": {"body": "Respondi pelo celular"}}]
        }),
    );
    assert_eq!(post(&app, &echo).await["stored"], 1);
    let all = messages(&app, &admin.access, &chats_now[0]).await;
    let echoed = all
        .iter()
        .find(|m| m["wamid"] == "wamid.H3")
        .expect("the echo");
    assert_eq!(echoed["direction"], "out");
    assert_eq!(echoed["status"], "sent");
    assert_eq!(echoed["details"]["from_business_app"], true);
    assert!(
        app.sim.sent().is_empty(),
        "nothing the phone sent is sent again"
    );
}

#[actix_web::test]
async fn a_type_that_cannot_go_to_a_bsuid_fails_for_good_with_a_reason() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    post(&app, &message_from(None, Some(BSUID), "wamid.F1", "oi")).await;
    let chat = chats(&app, &admin.access).await.remove(0);
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
    app.sim.script([atende_web::sandbox::Failure::CloudError {
        http_status: 400,
        code: 131062,
        title: "Business-scoped User ID (BSUID) recipients are not supported for this message."
            .into(),
    }]);
    assert_eq!(
        app.send_text(id, "f1", "não vai", &admin).await.status(),
        202
    );
    let path = format!("/api/v1/chats/{id}/messages");
    let page = app
        .eventually(&path, &admin.access, "the send failed", |page| {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["status"] == "failed")
        })
        .await;
    let failed = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["status"] == "failed")
        .unwrap()
        .clone();
    assert_eq!(failed["error"]["code"], 131062);
    assert!(
        failed["error"]["title"]
            .as_str()
            .unwrap()
            .contains("username"),
        "{failed}"
    );
}

#[actix_web::test]
async fn a_username_only_message_survives_kill_9_right_after_its_200() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("WHATSAPP_APP_SECRET", APP_SECRET)];
    let hub = spawn_hub(&data, &env);
    let body = message_from(None, Some(BSUID), "wamid.KILL", "não me perca");
    let response = signed_post(&hub, APP_SECRET, &body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["stored"], 1);
    hub.kill_9();
    let hub = spawn_hub(&data, &env);
    let token = admin_token(&hub).await;
    let chats = all_chats(&hub, &token).await;
    let stored = stored_inbound(&hub, &token, &chats).await;
    assert_eq!(stored.get("wamid.KILL"), Some(&1));
    let contact = hub
        .get_json(&format!("/api/v1/contacts/{BSUID}"), &token)
        .await;
    assert_eq!(contact["username"], "@realsheenanelson");
}

#[actix_web::test]
async fn an_authentication_template_to_a_username_only_customer_is_refused_before_sending() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    post(
        &app,
        &message_from(None, Some(BSUID), "wamid.AT1", "meu código?"),
    )
    .await;
    let chat = chats(&app, &admin.access).await.remove(0);
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
    let path = format!("/api/v1/chats/{id}/messages");
    let template = |client_id: &str, name: &str| {
        json!({"client_id": client_id, "type": "template",
            "template": {"name": name, "language": "pt_BR"}})
    };
    let refused = app
        .post(&path, Some(&admin.access), &template("t1", "codigo_acesso"))
        .await;
    assert_error(refused, 422, "recipient_needs_phone").await;
    assert_eq!(
        messages(&app, &admin.access, &chat).await.len(),
        1,
        "nothing queued"
    );
    // Other templates go to the BSUID.
    let utility = app
        .post(&path, Some(&admin.access), &template("t2", "boas_vindas"))
        .await;
    assert_eq!(utility.status(), 202);
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("sent");
    assert_eq!(sent[0].body["recipient"], BSUID);
    assert!(app
        .sim
        .sent()
        .iter()
        .all(|m| m.body["template"]["name"] != "codigo_acesso"));
}

#[actix_web::test]
async fn queues_bound_to_a_number_are_offered_only_to_its_customers() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let queues = [
        json!({"name": "Suporte Técnico", "color": "#000000"}),
        json!({"name": "Vendas Rio", "color": "#111111", "number_ids": [SECOND]}),
    ];
    let mut ids = Vec::new();
    for body in queues {
        let created = app.post("/api/v1/queues", Some(&admin.access), &body).await;
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        ids,
        ["suporte-tecnico", "vendas-rio"],
        "ids made from the names"
    );
    let unknown = json!({"name": "X", "color": "#000000", "number_ids": ["nope"]});
    let refused = app
        .post("/api/v1/queues", Some(&admin.access), &unknown)
        .await;
    assert_error(refused, 409, "unknown_reference").await;
    let settings = json!({
        "greeting_message": "Olá! Escolha:", "away_message": null,
        "business_hours": {"timezone": "America/Sao_Paulo", "days": []},
        "auto_assign": false, "default_max_concurrent_chats": 5, "reopen_window_minutes": 0,
        "retention_media_days": null, "retention_message_days": null
    });
    let saved = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/settings",
            Some(&admin.access),
            &settings,
        )
        .await;
    assert_eq!(saved.status(), 200);
    post(
        &app,
        &message_to(NUMBER, Some("5511900010001"), None, "wamid.Q1", "oi"),
    )
    .await;
    let first = app
        .sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("greeting");
    assert_eq!(
        first[0].body["text"]["body"],
        "Olá! Escolha:\n\n1 - Suporte Técnico"
    );
    post(
        &app,
        &message_to(SECOND, Some("5511900010002"), None, "wamid.Q2", "oi"),
    )
    .await;
    let both = app
        .sim
        .wait_for_sent(2, Duration::from_secs(20))
        .await
        .expect("greeting");
    assert_eq!(
        both[1].body["text"]["body"],
        "Olá! Escolha:\n\n1 - Suporte Técnico\n2 - Vendas Rio"
    );
    assert_eq!(both[1].number, SECOND);
}

#[actix_web::test]
async fn a_numbers_new_rate_limit_paces_its_next_sends() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    post(
        &app,
        &message_from(Some("5511900040004"), None, "wamid.P1", "oi"),
    )
    .await;
    let chat = chats(&app, &admin.access).await.remove(0);
    // The queue runs (one send), then the admin slows the number to one a second.
    reply(&app, &admin, &chat, "primeira").await;
    let path = format!("/api/v1/numbers/{NUMBER}");
    let slowed = app
        .patch(&path, &admin.access, &json!({"rate_limit": 1}))
        .await;
    assert_eq!(slowed.status(), 200);
    let id = chat["id"].as_str().unwrap();
    let started = std::time::Instant::now();
    for n in 0..3 {
        let response = app
            .send_text(id, &format!("r{n}"), &format!("lenta {n}"), &admin)
            .await;
        assert_eq!(response.status(), 202);
    }
    app.sim
        .wait_for_sent(4, Duration::from_secs(20))
        .await
        .expect("the three sends");
    // One a second with a burst of one: the third waits for two more seconds at least.
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
}

#[actix_web::test]
async fn an_entry_an_older_hub_could_not_use_replays_once_this_one_can() {
    // An older hub kept a username-only customer's message it could not read (no `from`)
    // as unprocessed; this version knows BSUIDs, and the replay stores it.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let body = message_from(None, Some(BSUID), "wamid.OLD", "guardada desde antes");
    let change = body["entry"][0]["changes"][0].clone();
    {
        let store = atende_data::Store::open(&data).unwrap();
        let entry = atende_data::Unprocessed {
            id: store.new_id().unwrap(),
            received_at: chrono::Utc::now(),
            reason: "missing_identity".into(),
            detail: vec!["message without from skipped".into()],
            field: "messages".into(),
            phone_number_id: Some(NUMBER.into()),
            entry_id: Some("waba".into()),
            raw: change.to_string(),
            replayed_at: None,
            replay_outcome: None,
        };
        store.put_unprocessed(&entry).unwrap();
        store.flush_blocking().unwrap();
    }
    let env = [("WHATSAPP_APP_SECRET", APP_SECRET)];
    let hub = spawn_hub(&data, &env);
    let token = admin_token(&hub).await;
    let kept = hub.get_json("/api/v1/webhooks/unprocessed", &token).await;
    let entry = &kept["items"][0];
    assert_eq!(entry["reason"], "missing_identity");
    let replay = format!(
        "/api/v1/webhooks/unprocessed/{}/replay",
        entry["id"].as_str().unwrap()
    );
    let replayed: Value = json_of(
        http_client()
            .post(hub.url(&replay))
            .bearer_auth(&token)
            .json(&json!({})),
    )
    .await;
    assert_eq!(
        replayed["replay_outcome"], "1 stored, 0 already stored",
        "{replayed}"
    );
    let chats = all_chats(&hub, &token).await;
    let stored = stored_inbound(&hub, &token, &chats).await;
    assert_eq!(stored.get("wamid.OLD"), Some(&1));
}

#[actix_web::test]
async fn a_customer_who_says_stop_is_out_of_marketing_at_once_however_they_say_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Meta's user_preferences (the pywa fixture's shape, for the sandbox number).
    let preference = |choice: &str| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": [{
            "field": "user_preferences",
            "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "5511999990000", "phone_number_id": NUMBER},
                "contacts": [{"profile": {"name": "Test Name"}, "wa_id": "5511933334444"}],
                "user_preferences": [{"wa_id": "5511933334444", "detail": "x",
                    "category": "marketing_messages", "value": choice, "timestamp": 1731705721}]}}]}]})
    };
    let answer: Value = app.webhook(&preference("stop")).await.json().await.unwrap();
    assert_eq!(answer["unprocessed"], 0, "{answer}");
    let contact = app
        .get_json("/api/v1/contacts/5511933334444", &admin.access)
        .await;
    assert_eq!(
        contact["marketing_opt_out"]["source"], "whatsapp",
        "{contact}"
    );
    app.webhook(&preference("resume")).await;
    let contact = app
        .get_json("/api/v1/contacts/5511933334444", &admin.access)
        .await;
    assert_eq!(contact["marketing_opt_out"], Value::Null);

    // A keyword, any case and accents, opts out and is confirmed; VOLTAR opts back in.
    app.customer_says("5511955556666", "wamid.OPT1", "oi").await;
    app.customer_says("5511955556666", "wamid.OPT2", " Sáir! ")
        .await;
    let contact = app
        .get_json("/api/v1/contacts/5511955556666", &admin.access)
        .await;
    assert_eq!(contact["marketing_opt_out"]["source"], "keyword");
    let confirmation = app.sent_of_type("text").await;
    assert!(
        confirmation["text"]["body"]
            .as_str()
            .unwrap()
            .contains("VOLTAR"),
        "{confirmation}"
    );
    app.customer_says("5511955556666", "wamid.OPT3", "voltar")
        .await;
    let contact = app
        .get_json("/api/v1/contacts/5511955556666", &admin.access)
        .await;
    assert_eq!(contact["marketing_opt_out"], Value::Null);

    // The team can set it too.
    let set = app
        .patch(
            "/api/v1/contacts/5511955556666",
            &admin.access,
            &json!({"marketing_opt_out": true}),
        )
        .await;
    assert_eq!(set.status(), 200);
    let contact: Value = set.json().await.unwrap();
    assert_eq!(contact["marketing_opt_out"]["source"], "team");
}
