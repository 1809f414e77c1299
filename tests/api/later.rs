//! Scheduled messages and snoozed chats: a message goes out at its time inside the
//! window, as its template outside it, never as free text outside it; a cancelled one
//! never; a snoozed chat comes back at its time or with the customer's message.

use chrono::Utc;
use serde_json::{json, Value};

use crate::helpers::*;

const CUSTOMER: &str = "5511987654321";

/// A chat whose customer wrote `hours_ago`, claimed by the admin.
async fn claimed_chat(app: &TestApp, admin: &Tokens, customer: &str, hours_ago: i64) -> String {
    let at = Utc::now().timestamp() - hours_ago * 3600;
    let body = inbound_at(
        customer,
        &format!("wamid.{customer}.{hours_ago}"),
        text("oi"),
        at,
    );
    assert_eq!(app.webhook(&body).await.status(), 200);
    let chats = app
        .get_json(&format!("/api/v1/chats?q={customer}"), &admin.access)
        .await;
    let id = chats["items"][0]["id"].as_str().unwrap().to_string();
    app.claim(&id, admin).await;
    id
}

fn in_seconds(s: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(s)).to_rfc3339()
}

async fn schedule(app: &TestApp, token: &str, chat: &str, body: Value) -> reqwest::Response {
    app.post(
        &format!("/api/v1/chats/{chat}/scheduled"),
        Some(token),
        &body,
    )
    .await
}

async fn scheduled_state(app: &TestApp, token: &str, chat: &str, want: &str) -> Value {
    app.eventually(
        &format!("/api/v1/chats/{chat}/scheduled"),
        token,
        &format!("a scheduled message {want}"),
        |page| {
            page["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|m| m["state"] == want))
        },
    )
    .await
}

#[actix_web::test]
async fn a_scheduled_message_goes_out_once_at_its_time_and_never_as_free_text_outside_the_window() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let open = claimed_chat(&app, &admin, CUSTOMER, 0).await;
    let made = schedule(
        &app,
        &admin.access,
        &open,
        json!({"text": "Seu boleto vence hoje.", "send_at": in_seconds(1)}),
    )
    .await;
    assert_eq!(made.status(), 201);
    let page = scheduled_state(&app, &admin.access, &open, "sent").await;
    let message_id = page["items"][0]["message_id"].as_str().unwrap();
    let body = app.sent_of_type("text").await;
    assert_eq!(body["text"]["body"], "Seu boleto vence hoje.");
    let thread = app
        .get_json(&format!("/api/v1/chats/{open}/messages"), &admin.access)
        .await;
    assert!(thread["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == message_id));

    // The window closed 1 hour ago (the customer wrote 25 hours ago).
    let closed = claimed_chat(&app, &admin, "5511911112222", 25).await;
    let no_template = schedule(
        &app,
        &admin.access,
        &closed,
        json!({"text": "Oi de novo", "send_at": in_seconds(1)}),
    )
    .await;
    assert_eq!(no_template.status(), 201);
    let page = scheduled_state(&app, &admin.access, &closed, "failed").await;
    assert_eq!(page["items"][0]["reason"], "window_closed");
    let with_template = schedule(
        &app,
        &admin.access,
        &closed,
        json!({"text": "Oi de novo", "send_at": in_seconds(1),
               "template": {"name": "retomar_atendimento", "language": "pt_BR"}}),
    )
    .await;
    assert_eq!(with_template.status(), 201);
    app.eventually(
        &format!("/api/v1/chats/{closed}/scheduled"),
        &admin.access,
        "the template sent",
        |p| p["items"][1]["state"] == "sent",
    )
    .await;
    // Sent means queued: the request reaches the Cloud API a moment later.
    app.sent_of_type("template").await;
    let sent = app.sim.sent();
    let to_closed: Vec<&Value> = sent
        .iter()
        .map(|m| &m.body)
        .filter(|b| b["to"] == "5511911112222")
        .collect();
    assert_eq!(
        to_closed.len(),
        1,
        "only the template went to the customer outside the window"
    );
    assert_eq!(to_closed[0]["type"], "template");
    let thread = app
        .get_json(
            &format!("/api/v1/chats/{closed}/messages?activity=true"),
            &admin.access,
        )
        .await;
    let told = thread["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["type"] == "activity" && m["details"]["activity"] == "scheduled_failed");
    assert!(
        told,
        "the thread says why the first did not go out: {thread}"
    );

    // Cancelled, it never goes; cancelled twice, the second is refused.
    let later = schedule(
        &app,
        &admin.access,
        &open,
        json!({"text": "amanhã", "send_at": in_seconds(3600)}),
    )
    .await;
    let later: Value = later.json().await.unwrap();
    let path = format!(
        "/api/v1/chats/{open}/scheduled/{}",
        later["id"].as_str().unwrap()
    );
    let cancelled = app.delete(&path, &admin.access).await;
    assert_eq!(cancelled.status(), 200);
    assert_error(
        app.delete(&path, &admin.access).await,
        409,
        "scheduled_not_pending",
    )
    .await;

    // Bad input changes nothing.
    let agent = app.user(&admin, "agent@test.local", "agent").await;
    for body in [
        json!({"text": "x", "send_at": "2020-01-01T10:00"}),
        json!({"text": "", "send_at": in_seconds(60)}),
        json!({"text": "x", "send_at": "logo"}),
    ] {
        assert_error(
            schedule(&app, &admin.access, &open, body).await,
            400,
            "validation_failed",
        )
        .await;
    }
    assert_error(
        schedule(
            &app,
            &agent.access,
            &open,
            json!({"text": "x", "send_at": in_seconds(60)}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let listed = app
        .get_json(&format!("/api/v1/chats/{open}/scheduled"), &admin.access)
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn a_snoozed_chat_comes_back_at_its_time_or_when_the_customer_writes() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let chat = claimed_chat(&app, &admin, CUSTOMER, 0).await;
    let mine = "/api/v1/chats?assignee=me&status=open&snoozed=false";
    let snoozed = app
        .post(
            &format!("/api/v1/chats/{chat}/snooze"),
            Some(&admin.access),
            &json!({"until": in_seconds(2)}),
        )
        .await;
    assert_eq!(snoozed.status(), 200);
    let view: Value = snoozed.json().await.unwrap();
    assert_eq!(view["snoozed"], true);
    assert!(app.get_json(mine, &admin.access).await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let aside = app
        .get_json("/api/v1/chats?snoozed=true", &admin.access)
        .await;
    assert_eq!(aside["items"][0]["id"], chat);
    app.eventually(mine, &admin.access, "the chat back in the list", |p| {
        p["items"][0]["id"] == chat
    })
    .await;

    // Until the customer writes.
    let until_reply = app
        .post(
            &format!("/api/v1/chats/{chat}/snooze"),
            Some(&admin.access),
            &json!({}),
        )
        .await;
    assert_eq!(
        until_reply.json::<Value>().await.unwrap()["snoozed_until"],
        Value::Null
    );
    assert!(app.get_json(mine, &admin.access).await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    app.customer_says(CUSTOMER, "wamid.back", "voltei").await;
    let back = app.get_json(mine, &admin.access).await;
    assert_eq!(back["items"][0]["id"], chat);
    assert_eq!(back["items"][0]["snoozed"], false);

    // Only open chats; a bad time is refused.
    let bad = app
        .post(
            &format!("/api/v1/chats/{chat}/snooze"),
            Some(&admin.access),
            &json!({"until": "ontem"}),
        )
        .await;
    assert_error(bad, 400, "validation_failed").await;
    app.chat_action(&chat, "close", &admin.access, &json!({}))
        .await;
    let closed = app
        .post(
            &format!("/api/v1/chats/{chat}/snooze"),
            Some(&admin.access),
            &json!({}),
        )
        .await;
    assert_error(closed, 409, "chat_not_open").await;
}
