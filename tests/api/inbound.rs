//! The webhook (verification, signatures) and inbound messages opening chats, also from the
//! sandbox's simulated customers.

use serde_json::{json, Value};

use crate::helpers::*;

const CUSTOMER: &str = "5511987654321";

#[actix_web::test]
async fn the_verification_handshake_answers_the_challenge_only_with_the_token() {
    let app = spawn_app().await;
    let url = |token: &str| {
        app.url(&format!("/api/v1/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"))
    };
    let ok = app.client.get(url(VERIFY_TOKEN)).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong = app.client.get(url("guess")).send().await.unwrap();
    assert_error(wrong, 403, "verify_token_mismatch").await;
}

#[actix_web::test]
async fn unsigned_wrongly_signed_and_non_json_webhooks_store_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = serde_json::to_vec(&inbound(
        CUSTOMER,
        "wamid.A",
        json!({"type": "text", "text": {"body": "oi"}}),
    ))
    .unwrap();
    let post = |signature: Option<&str>, bytes: Vec<u8>| {
        let mut request = app
            .client
            .post(app.url("/api/v1/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .body(bytes);
        if let Some(s) = signature {
            request = request.header("x-hub-signature-256", s.to_string());
        }
        request.send()
    };
    assert_error(
        post(None, body.clone()).await.unwrap(),
        401,
        "invalid_signature",
    )
    .await;
    assert_error(
        post(Some("sha256=00"), body.clone()).await.unwrap(),
        401,
        "invalid_signature",
    )
    .await;
    let forged = atende_actors::whatsapp::signature::sign(b"other-secret", &body);
    assert_error(
        post(Some(&forged), body).await.unwrap(),
        401,
        "invalid_signature",
    )
    .await;
    assert_error(
        app.webhook_bytes(b"{not json".to_vec()).await,
        400,
        "validation_failed",
    )
    .await;
    let chats: Value = app.get_json("/api/v1/chats", &admin.access).await;
    assert_eq!(chats["items"], json!([]));
}

#[actix_web::test]
async fn an_inbound_text_opens_a_pending_chat_and_a_repeat_is_not_stored_again() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = inbound(
        CUSTOMER,
        "wamid.ONE",
        json!({"type": "text", "text": {"body": "Olá, quero saber do meu pedido"}}),
    );
    for _ in 0..3 {
        assert_eq!(app.webhook(&body).await.status(), 200);
    }
    let chats: Value = app
        .get_json("/api/v1/chats?status=pending", &admin.access)
        .await;
    let items = chats["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let chat = &items[0];
    assert_eq!(chat["status"], "pending");
    assert_eq!(chat["contact"]["wa_id"], CUSTOMER);
    assert_eq!(
        chat["contact"]["profile_name"],
        format!("Cliente {CUSTOMER}")
    );
    assert_eq!(chat["unread_count"], 1);
    assert_eq!(
        chat["last_message"]["preview"],
        "Olá, quero saber do meu pedido"
    );
    assert_eq!(chat["last_message"]["direction"], "in");
    assert!(chat["window_expires_at"].is_string());
    let id = chat["id"].as_str().unwrap();
    let messages: Value = app
        .get_json(&format!("/api/v1/chats/{id}/messages"), &admin.access)
        .await;
    let messages = messages["items"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "stored once");
    assert_eq!(messages[0]["type"], "text");
    assert_eq!(messages[0]["status"], "received");
    assert_eq!(messages[0]["wamid"], "wamid.ONE");
}

#[actix_web::test]
async fn a_new_message_after_a_close_opens_a_new_chat() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app.claimed_chat(&admin, CUSTOMER, "wamid.N1", "oi").await;
    app.post(
        &format!("/api/v1/chats/{id}/close"),
        Some(&admin.access),
        &json!({}),
    )
    .await;
    let next = app.customer_says(CUSTOMER, "wamid.N2", "oi de novo").await;
    assert_ne!(next["id"], id.as_str());
    assert_eq!(next["status"], "pending");
    let history: Value = app
        .get_json(&format!("/api/v1/contacts/{CUSTOMER}/chats"), &admin.access)
        .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn a_sandbox_customer_writes_from_the_browser_and_sees_the_replies() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let path = "/api/v1/sandbox/customers/5511955550000/messages";
    let sent = app
        .post(
            path,
            Some(&admin.access),
            &json!({"type": "text", "text": "oi, sou um teste", "profile_name": "Dona Rosa"}),
        )
        .await;
    assert_eq!(sent.status(), 201);
    let picture = app
        .post(
            path,
            Some(&admin.access),
            &json!({"type": "image", "text": "olha"}),
        )
        .await;
    assert_eq!(picture.json::<Value>().await.unwrap()["type"], "image");
    let chats: Value = app.get_json("/api/v1/chats?q=rosa", &admin.access).await;
    let id = chats["items"][0]["id"]
        .as_str()
        .expect("the chat")
        .to_string();
    app.claim(&id, &admin).await;
    app.post(
        &format!("/api/v1/chats/{id}/messages"),
        Some(&admin.access),
        &json!({"client_id": "sb", "type": "text", "text": "Olá, Dona Rosa"}),
    )
    .await;
    let view = app
        .eventually(path, &admin.access, "the reply read", |v| {
            v["items"][2]["status"] == "read"
        })
        .await;
    assert_eq!(view["items"][2]["text"], "Olá, Dona Rosa");
    for (body, field) in [
        (json!({"type": "text", "text": ""}), "text"),
        (json!({"type": "audio"}), "type"),
    ] {
        assert_error(
            app.post(path, Some(&admin.access), &body).await,
            400,
            "validation_failed",
        )
        .await["error"]["fields"][field]
            .as_str()
            .expect(field);
    }
    assert_error(
        app.post(
            "/api/v1/sandbox/customers/abc/messages",
            Some(&admin.access),
            &json!({"type": "text", "text": "x"}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
}
