//! The chat lifecycle and lists: claiming, visibility, close, reopen, transfer, reading, search, contacts.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

const CUSTOMER: &str = "5511987654321";

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
    // A chat of a queue held by someone: a conflict for the queue's agents, who saw it
    // waiting; to an agent of another queue it is not there.
    let vendas = app.queue(&admin, "Vendas").await;
    let body = json!({"email": "caio@test.local", "name": "Caio", "role": "agent",
        "password": "caio-password", "must_change_password": false, "queue_ids": [vendas]});
    app.post("/api/v1/users", Some(&admin.access), &body).await;
    let caio = app.login("caio@test.local", "caio-password").await;
    let transfer = path.replace("/claim", "/transfer");
    let moved = app
        .post(&transfer, Some(&admin.access), &json!({"queue_id": vendas}))
        .await;
    assert_eq!(moved.status(), 200);
    assert_eq!(
        app.post(&path, Some(&admin.access), &empty).await.status(),
        200
    );
    let in_queue = app.post(&path, Some(&caio.access), &empty).await;
    assert_error(in_queue, 409, "claim_taken").await;
    let elsewhere = app.post(&path, Some(&winner.access), &empty).await;
    assert_error(elsewhere, 404, "not_found").await;
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
    let nowhere = app
        .post(
            &at("transfer"),
            Some(&admin.access),
            &json!({"queue_id": "nao-existe"}),
        )
        .await;
    let error = assert_error(nowhere, 409, "unknown_reference").await;
    assert_eq!(error["error"]["fields"]["queue_id"], "is not a queue");
    let suporte = app.queue(&admin, "Suporte").await;
    let queued: Value = app
        .post(
            &at("transfer"),
            Some(&admin.access),
            &json!({"queue_id": suporte}),
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
async fn labels_are_the_admins_with_their_colours_and_filter_the_chats() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.user(&admin, "agent@test.local", "agent").await;
    let labels = json!({"items": [{"name": "Urgente", "color": "#E53935"}, {"name": "Boleto", "color": "#25d366"}, {"name": " urgente", "color": "#000000"}]});
    assert_error(
        app.put("/api/v1/labels", &agent.access, &labels).await,
        403,
        "admin_only",
    )
    .await;
    let bad = json!({"items": [{"name": "x", "color": "red"}, {"name": "X", "color": "#000000"}, {"name": " ", "color": "#000000"}]});
    let body = assert_error(
        app.put("/api/v1/labels", &admin.access, &bad).await,
        400,
        "validation_failed",
    )
    .await;
    for field in ["items[0].color", "items[2].name"] {
        assert!(
            body["error"]["fields"][field].is_string(),
            "{field}: {body}"
        );
    }
    assert!(
        body["error"]["fields"]["items[1].name"].is_null(),
        "a name given twice is no error: {body}"
    );
    let saved = app.put("/api/v1/labels", &admin.access, &labels).await;
    assert_eq!(saved.status(), 200);
    let listed = app.get_json("/api/v1/labels", &agent.access).await;
    assert_eq!(
        listed["items"][0],
        json!({"name": "Urgente", "color": "#e53935"})
    );
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        2,
        "a name given twice is one label, the first"
    );

    let tagged = app
        .customer_says(CUSTOMER, "wamid.l1", "meu boleto venceu")
        .await;
    app.customer_says("5511911110000", "wamid.l2", "oi").await;
    let id = tagged["id"].as_str().unwrap();
    app.claim(id, &admin).await;
    let patched = app
        .patch(
            &format!("/api/v1/chats/{id}"),
            &admin.access,
            &json!({"tags": ["Boleto"]}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let found = app
        .get_json("/api/v1/chats?tag=Boleto", &admin.access)
        .await;
    let ids: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id]);
}

#[actix_web::test]
async fn a_search_inside_a_chat_finds_texts_captions_and_file_names() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let chat = app
        .customer_says(CUSTOMER, "wamid.f1", "Meu boleto está vencido")
        .await;
    let id = chat["id"].as_str().unwrap();
    app.customer_says(CUSTOMER, "wamid.f2", "outra coisa").await;
    let document = inbound(
        CUSTOMER,
        "wamid.f3",
        json!({"type": "document", "document": {"id": "media-1", "mime_type": "application/pdf", "filename": "Comprovante-Pix.pdf"}}),
    );
    assert_eq!(app.webhook(&document).await.status(), 200);
    let path = |q: &str| format!("/api/v1/chats/{id}/messages?q={q}");
    let found = app.get_json(&path("VENCIDO"), &admin.access).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["text"], "Meu boleto está vencido");
    let accents = app.get_json(&path("esta%20bol"), &admin.access).await;
    assert_eq!(
        accents["items"].as_array().unwrap().len(),
        1,
        "accents ignored, a word's start"
    );
    let file = app.get_json(&path("comprovante"), &admin.access).await;
    assert_eq!(file["items"][0]["type"], "document");
    let none = app.get_json(&path("nada%20disso"), &admin.access).await;
    assert!(none["items"].as_array().unwrap().is_empty());
    // The chat list finds the chat by the file's name too.
    let chats = app
        .get_json("/api/v1/chats?q=comprovante", &admin.access)
        .await;
    assert_eq!(chats["items"][0]["id"], id);
}
