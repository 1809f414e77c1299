//! Inbound messages, the chat lifecycle and replies through the simulated Cloud API.

use std::time::Duration;

use atende_web::sandbox::Failure;
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
async fn pending_chats_are_listed_oldest_first_and_others_newest_first() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (i, from) in ["5511900000001", "5511900000002", "5511900000003"]
        .iter()
        .enumerate()
    {
        app.customer_says(from, &format!("wamid.P{i}"), "oi").await;
    }
    let pending: Value = app
        .get_json("/api/v1/chats?status=pending", &admin.access)
        .await;
    let order: Vec<&str> = pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contact"]["wa_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["5511900000001", "5511900000002", "5511900000003"]);
    let all: Value = app.get_json("/api/v1/chats", &admin.access).await;
    let order: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contact"]["wa_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["5511900000003", "5511900000002", "5511900000001"]);
    let page: Value = app
        .get_json("/api/v1/chats?status=pending&limit=2", &admin.access)
        .await;
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let rest: Value = app
        .get_json(
            &format!("/api/v1/chats?status=pending&limit=2&cursor={cursor}"),
            &admin.access,
        )
        .await;
    assert_eq!(rest["items"][0]["contact"]["wa_id"], "5511900000003");
    assert_eq!(rest["next_cursor"], Value::Null);
}

#[actix_web::test]
async fn claiming_is_first_come_and_a_second_agent_gets_a_conflict() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let bia = app.user(&admin, "bia@test.local", "agent").await;
    let chat = app.customer_says(CUSTOMER, "wamid.C", "oi").await;
    let path = format!("/api/v1/chats/{}/claim", chat["id"].as_str().unwrap());
    let empty = json!({});
    let (a, b) = tokio::join!(
        app.post(&path, Some(&ana.access), &empty),
        app.post(&path, Some(&bia.access), &empty)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "exactly one winner");
    let winner = if a.status() == 200 { &ana } else { &bia };
    let loser = if a.status() == 200 { b } else { a };
    assert_error(loser, 409, "claim_taken").await;
    let chat: Value = app
        .get_json(
            &format!("/api/v1/chats/{}", chat["id"].as_str().unwrap()),
            &admin.access,
        )
        .await;
    assert_eq!(chat["status"], "open");
    assert_eq!(chat["assignee_id"], winner.id());
    // Claiming your own chat again is fine.
    assert_eq!(
        app.post(&path, Some(&winner.access), &json!({}))
            .await
            .status(),
        200
    );
}

#[actix_web::test]
async fn an_agent_sees_only_their_chats_and_the_queue() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let bia = app.user(&admin, "bia@test.local", "agent").await;
    let chat = app.customer_says(CUSTOMER, "wamid.V", "oi").await;
    let id = chat["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/chats/{id}"), &bia.access)
            .await
            .status(),
        200,
        "pending: visible"
    );
    app.claim(id, &ana).await;
    assert_error(
        app.get(&format!("/api/v1/chats/{id}"), &bia.access).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&format!("/api/v1/chats/{id}/messages"), &bia.access)
            .await,
        404,
        "not_found",
    )
    .await;
    let send = json!({"client_id": "x1", "type": "text", "text": "intrusa"});
    assert_error(
        app.post(
            &format!("/api/v1/chats/{id}/messages"),
            Some(&bia.access),
            &send,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let list: Value = app.get_json("/api/v1/chats", &bia.access).await;
    assert_eq!(list["items"], json!([]));
    let list: Value = app.get_json("/api/v1/chats?assignee=me", &ana.access).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
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
    let chat = app
        .customer_says(CUSTOMER, "wamid.Q", "qual o prazo?")
        .await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
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
    let chat = app.customer_says(CUSTOMER, "wamid.F", "oi").await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
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
    let chat = app.customer_says(CUSTOMER, "wamid.T", "oi").await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
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
    let chat = app.customer_says(CUSTOMER, "wamid.D", "oi").await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
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
    wait_until(
        "two requests at the Cloud API",
        Duration::from_secs(20),
        || async {
            match app.sim.received_requests() {
                n if n >= 2 => Ok(()),
                n => Err(n),
            }
        },
    )
    .await;
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
        assert!(status == 400 || status == 413, "{field}: {status} {error}");
        if status == 400 {
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
async fn close_reopen_transfer_and_notes_follow_the_lifecycle() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let chat = app.customer_says(CUSTOMER, "wamid.L", "oi").await;
    let id = chat["id"].as_str().unwrap();
    let at = |action: &str| format!("/api/v1/chats/{id}/{action}");
    let transfer = app
        .post(
            &at("transfer"),
            Some(&admin.access),
            &json!({"user_id": ana.id()}),
        )
        .await;
    let transferred: Value = transfer.json().await.unwrap();
    assert_eq!(
        (
            transferred["status"].as_str(),
            transferred["assignee_id"].as_str()
        ),
        (Some("open"), Some(ana.id().as_str()))
    );
    let note = app
        .post(
            &at("notes"),
            Some(&ana.access),
            &json!({"text": "cliente VIP"}),
        )
        .await;
    assert_eq!(note.status(), 201);
    let note: Value = note.json().await.unwrap();
    assert_eq!(
        (note["type"].as_str(), note["direction"].as_str()),
        (Some("note"), Some("out"))
    );
    let closed: Value = app
        .post(
            &at("close"),
            Some(&ana.access),
            &json!({"note": "resolvido"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (closed["status"].as_str(), closed["close_note"].as_str()),
        (Some("closed"), Some("resolvido"))
    );
    assert!(closed["closed_at"].is_string());
    assert_error(
        app.post(&at("close"), Some(&ana.access), &json!({})).await,
        409,
        "chat_already_closed",
    )
    .await;
    let reopened: Value = app
        .post(&at("reopen"), Some(&admin.access), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            reopened["status"].as_str(),
            reopened["assignee_id"].as_str()
        ),
        (Some("open"), Some(admin.id().as_str()))
    );
    let queued: Value = app
        .post(
            &at("transfer"),
            Some(&admin.access),
            &json!({"queue_id": "suporte"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (queued["status"].as_str(), queued["queue_id"].as_str()),
        (Some("pending"), Some("suporte"))
    );
    assert_eq!(queued["assignee_id"], Value::Null);
    let tagged = app
        .patch(
            &format!("/api/v1/chats/{id}"),
            &admin.access,
            &json!({"tags": ["vip", "vip", "pedido"]}),
        )
        .await;
    assert_eq!(
        tagged.json::<Value>().await.unwrap()["tags"],
        json!(["pedido", "vip"])
    );
    assert_eq!(app.sim.received_requests(), 0, "notes are never sent");
}

#[actix_web::test]
async fn a_new_message_after_a_close_opens_a_new_chat() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let chat = app.customer_says(CUSTOMER, "wamid.N1", "oi").await;
    let id = chat["id"].as_str().unwrap().to_string();
    app.claim(&id, &admin).await;
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
async fn reading_a_chat_clears_unread_and_sends_one_read_receipt() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let chat = app.customer_says(CUSTOMER, "wamid.RR1", "oi").await;
    app.customer_says(CUSTOMER, "wamid.RR2", "tem alguém?")
        .await;
    let id = chat["id"].as_str().unwrap();
    let read: Value = app
        .post(
            &format!("/api/v1/chats/{id}/read"),
            Some(&admin.access),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["unread_count"], 0);
    app.post(
        &format!("/api/v1/chats/{id}/read"),
        Some(&admin.access),
        &json!({}),
    )
    .await;
    wait_until("a read receipt", Duration::from_secs(20), || async {
        let receipts = app.sim.read_receipts();
        if receipts.is_empty() {
            Err("none")
        } else {
            Ok(())
        }
    })
    .await;
    assert_eq!(app.sim.read_receipts(), ["wamid.RR2"]);
}

#[actix_web::test]
async fn search_finds_chats_by_name_number_end_and_message_text() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.customer_says("5511911112222", "wamid.S1", "Meu pedido número 778 atrasou")
        .await;
    app.customer_says("5521933334444", "wamid.S2", "Quero cancelar a assinatura")
        .await;
    for (q, expected) in [
        ("pedido", "5511911112222"),
        ("ATRASOU", "5511911112222"),
        ("assin", "5521933334444"),
        ("4444", "5521933334444"),
        ("Cliente 5521", "5521933334444"),
    ] {
        let found: Value = app
            .get_json(
                &format!("/api/v1/chats?q={}", q.replace(' ', "%20")),
                &admin.access,
            )
            .await;
        let numbers: Vec<&str> = found["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["contact"]["wa_id"].as_str().unwrap())
            .collect();
        assert_eq!(numbers, [expected], "{q}");
    }
    let none: Value = app
        .get_json("/api/v1/chats?q=inexistente", &admin.access)
        .await;
    assert_eq!(none["items"], json!([]));
}

#[actix_web::test]
async fn statuses_that_overtake_the_send_answer_are_applied_when_it_lands() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let chat = app.customer_says(CUSTOMER, "wamid.E", "oi").await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
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
    let chat = app.customer_says(CUSTOMER, "wamid.BK", "oi").await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
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
    let chat = app.customer_says(CUSTOMER, "wamid.RX", "obrigado!").await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
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
async fn contacts_are_named_noted_and_tagged() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let bia = app.user(&admin, "bia@test.local", "agent").await;
    let chat = app.customer_says(CUSTOMER, "wamid.CT", "oi").await;
    let path = format!("/api/v1/contacts/{CUSTOMER}");
    let changed = app
        .patch(
            &path,
            &admin.access,
            &json!({"name": "Dona Maria", "notes": "prefere manhã", "tags": ["vip"]}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let contact: Value = app.get_json(&path, &admin.access).await;
    assert_eq!(
        (contact["name"].as_str(), contact["notes"].as_str()),
        (Some("Dona Maria"), Some("prefere manhã"))
    );
    assert_eq!(contact["profile_name"], format!("Cliente {CUSTOMER}"));
    // A later message moves the time of the last message, and leaves the record alone.
    let later = chrono::Utc::now().timestamp() + 60;
    let body = inbound_at(CUSTOMER, "wamid.CT2", text("de novo"), later);
    assert_eq!(app.webhook(&body).await.status(), 200);
    let again: Value = app.get_json(&path, &admin.access).await;
    assert_eq!(again["name"], "Dona Maria");
    assert_eq!(again["updated_at"], contact["updated_at"]);
    let last: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(again["last_inbound_at"].clone()).unwrap();
    assert_eq!(last.timestamp(), later);
    let found: Value = app
        .get_json("/api/v1/contacts?q=maria", &admin.access)
        .await;
    assert_eq!(found["items"][0]["wa_id"], CUSTOMER);
    let chats: Value = app.get_json("/api/v1/chats?q=maria", &admin.access).await;
    assert_eq!(chats["items"][0]["contact"]["name"], "Dona Maria");
    // Once another agent holds the chat, its contact is not Bia's to see.
    app.post(
        &format!("/api/v1/chats/{}/claim", chat["id"].as_str().unwrap()),
        Some(&admin.access),
        &json!({}),
    )
    .await;
    assert_error(app.get(&path, &bia.access).await, 404, "not_found").await;
    let cleared = app
        .patch(&path, &admin.access, &json!({"notes": null}))
        .await;
    assert_eq!(cleared.json::<Value>().await.unwrap()["notes"], Value::Null);
    let bad = app
        .patch(&path, &admin.access, &json!({"tags": [""]}))
        .await;
    assert_error(bad, 400, "validation_failed").await;
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

#[actix_web::test]
async fn a_common_word_is_searched_newest_first_across_pages() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // 250 customers write the same word in one webhook (Meta batches too).
    let customers: Vec<String> = (0..250).map(|i| format!("5511977{i:06}")).collect();
    let messages: Vec<Value> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"from": c, "id": format!("wamid.P{i}"), "timestamp": chrono::Utc::now().timestamp().to_string(),
                "type": "text", "text": {"body": "promoção de hoje"}})
        })
        .collect();
    let mut body = inbound(&customers[0], "unused", json!({}));
    body["entry"][0]["changes"][0]["value"]["messages"] = Value::Array(messages);
    assert_eq!(app.webhook(&body).await.status(), 200);
    // The first customer writes again: their chat is now the most recent.
    app.customer_says(&customers[0], "wamid.P-again", "e a promoção?")
        .await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/api/v1/chats?q=promocao&limit=50{cursor}");
        let page: Value = app.get_json(&path, &admin.access).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 50);
        seen.extend(
            items
                .iter()
                .map(|c| c["contact"]["wa_id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen[0], customers[0], "the newest activity first");
    let distinct: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), distinct.len()), (250, 250), "every chat once");
}

#[actix_web::test]
async fn a_status_naming_a_send_that_never_left_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let chat = app.customer_says(CUSTOMER, "wamid.N", "oi").await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
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
    wait_until(
        "two requests at the Cloud API",
        Duration::from_secs(20),
        || async {
            match app.sim.received_requests() {
                n if n >= 2 => Ok(()),
                n => Err(n),
            }
        },
    )
    .await;
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
