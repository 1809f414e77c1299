//! Replies through the simulated Cloud API: exactly once, statuses, failures, the window.

use std::time::Duration;

use atende_web::sandbox::Failure;
use serde_json::{json, Value};

use crate::helpers::*;

const CUSTOMER: &str = "5511987654321";

/// Waits until the Cloud API has had `n` requests, taken or refused.
async fn requests_at_the_cloud_api(app: &TestApp, n: usize) {
    wait_until(
        "requests at the Cloud API",
        Duration::from_secs(20),
        || async {
            match app.sim.received_requests() {
                got if got >= n => Ok(()),
                got => Err(got),
            }
        },
    )
    .await;
}

#[actix_web::test]
async fn a_reply_reaches_the_cloud_api_once_and_follows_its_statuses() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let chat = app.customer_says(CUSTOMER, "wamid.R", "oi").await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &ana).await;
    let body = json!({"client_id": "c-1", "type": "text", "text": "Olá! Como posso ajudar?"});
    let path = format!("/api/v1/chats/{id}/messages");
    let first = app.post(&path, Some(&ana.access), &body).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "queued");
    assert_eq!(first["author_id"], ana.id());
    let again = app.post(&path, Some(&ana.access), &body).await;
    assert_eq!(again.status(), 200, "same client_id: the first message");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);

    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("sent");
    assert_eq!(sent[0].body["to"], CUSTOMER);
    assert_eq!(sent[0].body["type"], "text");
    assert_eq!(sent[0].body["text"]["body"], "Olá! Como posso ajudar?");
    let messages = app
        .eventually(&path, &ana.access, "the read status", |b| {
            b["items"][1]["status"] == "read"
        })
        .await;
    assert_eq!(messages["items"][1]["wamid"], sent[0].wamid.as_str());
    assert_eq!(app.sim.sent().len(), 1, "nothing sent twice");
}

#[actix_web::test]
async fn a_reply_to_a_message_carries_its_context() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app
        .claimed_chat(&admin, CUSTOMER, "wamid.Q", "qual o prazo?")
        .await;
    let messages: Value = app
        .get_json(&format!("/api/v1/chats/{id}/messages"), &admin.access)
        .await;
    let quoted = messages["items"][0]["id"].as_str().unwrap();
    let body = json!({"client_id": "r-1", "type": "text", "text": "3 dias", "reply_to": quoted});
    assert_eq!(
        app.post(
            &format!("/api/v1/chats/{id}/messages"),
            Some(&admin.access),
            &body
        )
        .await
        .status(),
        202
    );
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("sent");
    assert_eq!(sent[0].body["context"]["message_id"], "wamid.Q");
}

#[actix_web::test]
async fn temporary_failures_are_retried_and_permanent_ones_mark_the_message_failed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app.claimed_chat(&admin, CUSTOMER, "wamid.F", "oi").await;
    app.sim.script([
        Failure::Status(500),
        Failure::CloudError {
            http_status: 400,
            code: 130429,
            title: "Rate limit hit".into(),
        },
        Failure::CloudError {
            http_status: 400,
            code: 131047,
            title: "Re-engagement message".into(),
        },
    ]);
    let path = format!("/api/v1/chats/{id}/messages");
    let send = |client_id: &str| json!({"client_id": client_id, "type": "text", "text": client_id});
    assert_eq!(
        app.post(&path, Some(&admin.access), &send("m-1"))
            .await
            .status(),
        202
    );
    let failed = app
        .eventually(&path, &admin.access, "the failure", |b| {
            b["items"][1]["status"] == "failed"
        })
        .await;
    assert_eq!(failed["items"][1]["error"]["code"], 131047);
    assert_eq!(
        failed["items"][1]["error"]["title"],
        "Re-engagement message"
    );
    assert_eq!(
        app.post(&path, Some(&admin.access), &send("m-2"))
            .await
            .status(),
        202
    );
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("the next one goes out");
    assert_eq!(sent[0].body["text"]["body"], "m-2");
    assert_eq!(app.sim.received_requests(), 4);
}

#[actix_web::test]
async fn a_send_whose_answer_was_lost_is_settled_by_its_status_and_never_sent_twice() {
    let app = spawn_app_with(&["--send-recovery-wait", "2"]).await;
    let admin = app.admin().await;
    let chat = app.customer_says(CUSTOMER, "wamid.L", "oi").await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
    // The Cloud API takes the first reply, but its answer never reaches the hub.
    app.sim.script([Failure::AnswerLost]);
    let path = format!("/api/v1/chats/{id}/messages");
    let send = |client_id: &str| json!({"client_id": client_id, "type": "text", "text": client_id});
    for client_id in ["lost", "next"] {
        let sent = app.post(&path, Some(&admin.access), &send(client_id)).await;
        assert_eq!(sent.status(), 202);
    }
    // A chat's sends leave in order: "next" goes only once "lost" is settled, here by the
    // status webhook that names it, so it is not sent again.
    let sent = app
        .sim
        .wait_for_sent(2, Duration::from_secs(30))
        .await
        .expect("both replies");
    let texts: Vec<&str> = sent
        .iter()
        .map(|s| s.body["text"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["lost", "next"]);
    let messages = app
        .eventually(&path, &admin.access, "both wamids", |b| {
            b["items"][2]["wamid"].is_string()
        })
        .await;
    assert_eq!(messages["items"][1]["wamid"], sent[0].wamid.as_str());
    assert_eq!(messages["items"][2]["wamid"], sent[1].wamid.as_str());
}

#[actix_web::test]
async fn a_send_in_doubt_that_no_status_names_is_sent_again_after_the_recovery_wait() {
    let app = spawn_app_with(&["--send-recovery-wait", "1"]).await;
    let admin = app.admin().await;
    let id = app.claimed_chat(&admin, CUSTOMER, "wamid.T", "oi").await;
    // The answer is lost and no status webhook ever names the send: the hub cannot tell it
    // went out, and sends it again rather than risk losing it.
    app.sim.script([Failure::AnswerLost]);
    app.sim
        .set_webhook_url("http://127.0.0.1:9/unreachable".into());
    let path = format!("/api/v1/chats/{id}/messages");
    let body = json!({"client_id": "t-1", "type": "text", "text": "de novo"});
    assert_eq!(
        app.post(&path, Some(&admin.access), &body).await.status(),
        202
    );
    let sent = app
        .sim
        .wait_for_sent(2, Duration::from_secs(30))
        .await
        .expect("sent again once the wait is over");
    assert_eq!(sent[1].body["text"]["body"], "de novo");
    app.eventually(&path, &admin.access, "the second wamid", |b| {
        b["items"][1]["wamid"] == sent[1].wamid.as_str()
    })
    .await;
}

#[actix_web::test]
async fn replies_queued_while_the_cloud_api_is_down_go_out_once_in_order() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app.claimed_chat(&admin, CUSTOMER, "wamid.D", "oi").await;
    app.sim.set_down(true);
    let path = format!("/api/v1/chats/{id}/messages");
    for i in 0..5 {
        let body =
            json!({"client_id": format!("d-{i}"), "type": "text", "text": format!("parte {i}")});
        assert_eq!(
            app.post(&path, Some(&admin.access), &body).await.status(),
            202
        );
    }
    requests_at_the_cloud_api(&app, 2).await;
    app.sim.set_down(false);
    let sent = app
        .sim
        .wait_for_sent(5, Duration::from_secs(30))
        .await
        .expect("all five");
    let texts: Vec<&str> = sent
        .iter()
        .map(|s| s.body["text"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["parte 0", "parte 1", "parte 2", "parte 3", "parte 4"]
    );
}

#[actix_web::test]
async fn outside_the_window_only_templates_may_be_sent() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let old = chrono::Utc::now().timestamp() - 25 * 3600;
    let body = inbound_at(
        CUSTOMER,
        "wamid.OLD",
        json!({"type": "text", "text": {"body": "oi"}}),
        old,
    );
    assert_eq!(app.webhook(&body).await.status(), 200);
    let chats: Value = app.get_json("/api/v1/chats", &admin.access).await;
    let id = chats["items"][0]["id"].as_str().unwrap().to_string();
    app.claim(&id, &admin).await;
    let path = format!("/api/v1/chats/{id}/messages");
    let text = json!({"client_id": "w-1", "type": "text", "text": "oi"});
    assert_error(
        app.post(&path, Some(&admin.access), &text).await,
        422,
        "window_closed",
    )
    .await;
    let template = json!({"client_id": "w-2", "type": "template", "template": {"name": "boas_vindas", "language": "pt_BR",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]}});
    assert_eq!(
        app.post(&path, Some(&admin.access), &template)
            .await
            .status(),
        202
    );
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("sent");
    assert_eq!(sent[0].body["template"]["name"], "boas_vindas");
    assert_eq!(sent[0].body["template"]["language"]["code"], "pt_BR");
}

#[actix_web::test]
async fn bad_sends_are_clear_4xx_and_send_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let chat = app.customer_says(CUSTOMER, "wamid.B", "oi").await;
    let id = chat["id"].as_str().unwrap();
    let path = format!("/api/v1/chats/{id}/messages");
    app.claim(id, &admin).await;
    for (body, field) in [
        (
            json!({"client_id": "b1", "type": "text", "text": ""}),
            "text",
        ),
        (
            json!({"client_id": "b2", "type": "text", "text": "x".repeat(70_000)}),
            "text",
        ),
        (
            json!({"client_id": "b3", "type": "image", "media_id": "424242"}),
            "media_id",
        ),
        (
            json!({"client_id": "b4", "type": "carrier-pigeon", "text": "x"}),
            "type",
        ),
        (
            json!({"client_id": "", "type": "text", "text": "x"}),
            "client_id",
        ),
        (
            json!({"client_id": "b5", "type": "text", "text": "x", "reply_to": "999"}),
            "reply_to",
        ),
    ] {
        let response = app.post(&path, Some(&admin.access), &body).await;
        let status = response.status().as_u16();
        let error: Value = response.json().await.unwrap();
        // A field naming what the chat lacks (an unknown file or message) is the state's
        // refusal: 409 `unknown_reference`, with the field all the same.
        assert!(
            [400, 409, 413].contains(&status),
            "{field}: {status} {error}"
        );
        if status != 413 {
            assert!(
                error["error"]["fields"][field].is_string(),
                "{field}: {error}"
            );
        }
    }
    app.post(
        &format!("/api/v1/chats/{id}/close"),
        Some(&admin.access),
        &json!({}),
    )
    .await;
    let closed = app
        .post(
            &path,
            Some(&admin.access),
            &json!({"client_id": "b6", "type": "text", "text": "x"}),
        )
        .await;
    assert_error(closed, 409, "chat_closed_write").await;
    assert_error(
        app.post(
            "/api/v1/chats/999999/messages",
            Some(&admin.access),
            &json!({"client_id": "b7", "type": "text", "text": "x"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(app.sim.received_requests(), 0);
}

#[actix_web::test]
async fn statuses_that_overtake_the_send_answer_are_applied_when_it_lands() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app.claimed_chat(&admin, CUSTOMER, "wamid.E", "oi").await;
    app.sim.set_statuses_first(true);
    let path = format!("/api/v1/chats/{id}/messages");
    let body = json!({"client_id": "early", "type": "text", "text": "rápido"});
    assert_eq!(
        app.post(&path, Some(&admin.access), &body).await.status(),
        202
    );
    let messages = app
        .eventually(&path, &admin.access, "the early read status", |b| {
            b["items"][1]["status"] == "read"
        })
        .await;
    assert!(messages["items"][1]["wamid"].is_string());
}

#[actix_web::test]
async fn a_status_never_moves_a_message_backwards() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app.claimed_chat(&admin, CUSTOMER, "wamid.BK", "oi").await;
    let path = format!("/api/v1/chats/{id}/messages");
    let body = json!({"client_id": "bk", "type": "text", "text": "oi"});
    app.post(&path, Some(&admin.access), &body).await;
    let read = app
        .eventually(&path, &admin.access, "read", |b| {
            b["items"][1]["status"] == "read"
        })
        .await;
    let wamid = read["items"][1]["wamid"].as_str().unwrap();
    for status in ["delivered", "sent", "delivered"] {
        let webhook = json!({"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "5511000000000", "phone_number_id": NUMBER},
            "statuses": [{"id": wamid, "status": status, "timestamp": "1700000000", "recipient_id": CUSTOMER}]}}]}]});
        assert_eq!(app.webhook(&webhook).await.status(), 200);
    }
    let after: Value = app.get_json(&path, &admin.access).await;
    assert_eq!(after["items"][1]["status"], "read");
}

#[actix_web::test]
async fn a_reaction_goes_out_on_the_customers_message() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app
        .claimed_chat(&admin, CUSTOMER, "wamid.RX", "obrigado!")
        .await;
    let path = format!("/api/v1/chats/{id}/messages");
    let messages: Value = app.get_json(&path, &admin.access).await;
    let target = messages["items"][0]["id"].as_str().unwrap();
    let body = json!({"client_id": "rx", "type": "reaction", "reaction": {"message_id": target, "emoji": "❤️"}});
    assert_eq!(
        app.post(&path, Some(&admin.access), &body).await.status(),
        202
    );
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("sent");
    assert_eq!(
        sent[0].body["reaction"],
        json!({"message_id": "wamid.RX", "emoji": "❤️"})
    );
}

#[actix_web::test]
async fn templates_are_listed_from_the_business_account() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let list: Value = app.get_json("/api/v1/templates", &admin.access).await;
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items
        .iter()
        .all(|t| t["name"].is_string() && t["language"].is_string()));
}

#[actix_web::test]
async fn a_status_naming_a_send_that_never_left_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app.claimed_chat(&admin, CUSTOMER, "wamid.N", "oi").await;
    // The Cloud API refuses the first try outright, so the reply surely has not left.
    app.sim.set_down(true);
    let path = format!("/api/v1/chats/{id}/messages");
    let reply = json!({"client_id": "n-1", "type": "text", "text": "ainda não"});
    let queued: Value = app
        .post(&path, Some(&admin.access), &reply)
        .await
        .json()
        .await
        .unwrap();
    let message_id = queued["id"].as_str().unwrap();
    requests_at_the_cloud_api(&app, 2).await;
    // A status that names it (forged, or meant for another hub) is no proof it went out.
    for outbox in 0..64u64 {
        let status = json!({"id": format!("wamid.FORGED{outbox}"), "status": "delivered",
            "timestamp": "1700000000", "recipient_id": CUSTOMER,
            "biz_opaque_callback_data": format!("atende:{id}:{message_id}:{outbox}")});
        let mut body = inbound(CUSTOMER, "unused", json!({}));
        let value = &mut body["entry"][0]["changes"][0]["value"];
        value["messages"] = json!([]);
        value["statuses"] = json!([status]);
        assert_eq!(app.webhook(&body).await.status(), 200);
    }
    let messages: Value = app.get_json(&path, &admin.access).await;
    assert_eq!(messages["items"][1]["status"], "queued");
    assert!(messages["items"][1]["wamid"].is_null());
    // Once the API is back, it goes out as usual, once.
    app.sim.set_down(false);
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(30))
        .await
        .expect("sent");
    assert_eq!(sent[0].body["text"]["body"], "ainda não");
    app.eventually(&path, &admin.access, "its real wamid", |b| {
        b["items"][1]["wamid"] == sent[0].wamid.as_str()
    })
    .await;
}

#[actix_web::test]
async fn an_erased_contacts_waiting_reply_and_read_receipt_never_go_out() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let erased = "5511955556666";
    let id = app.claimed_chat(&admin, erased, "wamid.E", "oi").await;
    app.sim.set_down(true);
    let reply = json!({"client_id": "e-1", "type": "text", "text": "já volto"});
    let path = format!("/api/v1/chats/{id}/messages");
    let queued = app.post(&path, Some(&admin.access), &reply).await;
    assert_eq!(queued.status(), 202);
    let read = app
        .chat_action(&id, "read", &admin.access, &json!({}))
        .await;
    assert_eq!(read.status(), 200);
    let closed = app
        .chat_action(&id, "close", &admin.access, &json!({}))
        .await;
    assert_eq!(closed.status(), 200);
    // Four failed tries: the next one is seconds away.
    requests_at_the_cloud_api(&app, 4).await;
    let gone = app
        .delete(&format!("/api/v1/contacts/{erased}"), &admin.access)
        .await;
    assert_eq!(gone.status(), 204);
    let depth = format!("atende_outbox_depth{{number=\"{NUMBER}\"}}");
    // The queue lets go of them with the erasure, not at their next try.
    wait_until(
        "the queue to drop the erased chat's entries",
        Duration::from_secs(2),
        || async {
            let waiting = metric_value(&app.metrics().await, &depth);
            if waiting == 0.0 {
                Ok(())
            } else {
                Err(waiting)
            }
        },
    )
    .await;
    app.sim.set_down(false);
    let other = app.claimed_chat(&admin, CUSTOMER, "wamid.O", "oi").await;
    let reply = json!({"client_id": "o-1", "type": "text", "text": "olá"});
    app.post(
        &format!("/api/v1/chats/{other}/messages"),
        Some(&admin.access),
        &reply,
    )
    .await;
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(30))
        .await
        .expect("the other customer's reply");
    assert!(sent.iter().all(|s| s.body["to"] == CUSTOMER), "{sent:?}");
    assert!(!app.sim.read_receipts().contains(&"wamid.E".to_string()));
}
