//! Queues, the live view, and auto-assignment by queue, capacity and presence.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::socket::Socket;

async fn turn_on_auto_assign(app: &TestApp, admin: &Tokens) {
    let mut settings: Value = app.get_json("/api/v1/settings", &admin.access).await;
    settings["auto_assign"] = json!(true);
    let saved = app
        .send(
            Method::PUT,
            "/api/v1/settings",
            Some(&admin.access),
            &settings,
        )
        .await;
    assert_eq!(saved.status(), 200);
}

async fn agent_in(
    app: &TestApp,
    admin: &Tokens,
    email: &str,
    queues: Value,
    capacity: u32,
) -> Tokens {
    let body = json!({"email": email, "name": email, "role": "agent", "password": "user-password-1",
        "must_change_password": false, "queue_ids": queues, "max_concurrent_chats": capacity});
    assert_eq!(
        app.post("/api/v1/users", Some(&admin.access), &body)
            .await
            .status(),
        201
    );
    app.login(email, "user-password-1").await
}

#[actix_web::test]
async fn admins_manage_queues_and_agents_read_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.user(&admin, "a@test.local", "agent").await;
    let vendas = json!({"id": "vendas", "name": "Vendas", "color": "#25D366", "greeting": null});
    let created = app
        .post("/api/v1/queues", Some(&admin.access), &vendas)
        .await;
    assert_eq!(created.status(), 201);
    assert_error(
        app.post("/api/v1/queues", Some(&admin.access), &vendas)
            .await,
        409,
        "queue_taken",
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/queues",
            Some(&agent.access),
            &json!({"id": "x", "name": "X", "color": "#000000"}),
        )
        .await,
        403,
        "admin_only",
    )
    .await;
    for (body, field) in [
        (
            json!({"id": "Com Espaço", "name": "X", "color": "#000000"}),
            "id",
        ),
        (json!({"id": "ok", "name": "", "color": "#000000"}), "name"),
        (json!({"id": "ok", "name": "X", "color": "green"}), "color"),
    ] {
        let error = assert_error(
            app.post("/api/v1/queues", Some(&admin.access), &body).await,
            400,
            "validation_failed",
        )
        .await;
        assert!(error["error"]["fields"][field].is_string(), "{field}");
    }
    let patched = app
        .patch(
            "/api/v1/queues/vendas",
            &admin.access,
            &json!({"name": "Vendas online"}),
        )
        .await;
    assert_eq!(
        patched.json::<Value>().await.unwrap()["name"],
        "Vendas online"
    );
    let list: Value = app.get_json("/api/v1/queues", &agent.access).await;
    assert_eq!(list["items"][0]["id"], "vendas");
    assert_eq!(
        app.delete("/api/v1/queues/vendas", &admin.access)
            .await
            .status(),
        204
    );
    assert_error(
        app.delete("/api/v1/queues/vendas", &admin.access).await,
        404,
        "not_found",
    )
    .await;
}

#[actix_web::test]
async fn the_live_view_shows_waiting_chats_and_agent_load() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.post(
        "/api/v1/queues",
        Some(&admin.access),
        &json!({"id": "suporte", "name": "Suporte", "color": "#123456"}),
    )
    .await;
    let ana = agent_in(&app, &admin, "ana@test.local", json!(["suporte"]), 3).await;
    let (_socket, _) = Socket::signed_in(&app, &ana.access, None).await;
    let first = app.customer_says("5511911110000", "wamid.L1", "oi").await;
    app.customer_says("5511911110001", "wamid.L2", "oi").await;
    app.post(
        &format!("/api/v1/chats/{}/transfer", first["id"].as_str().unwrap()),
        Some(&admin.access),
        &json!({"queue_id": "suporte"}),
    )
    .await;
    let (mut staff, _) = Socket::signed_in(&app, &admin.access, None).await;
    let live: Value = app.get_json("/api/v1/queues/live", &admin.access).await;
    let line = |id: Value| {
        live["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["queue_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(line(json!("suporte"))["pending"], 1);
    assert_eq!(line(json!(null))["pending"], 1);
    assert!(line(json!("suporte"))["oldest_since"].is_string());
    let ana_load = live["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user_id"] == ana.id().as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (
            ana_load["presence"].as_str(),
            ana_load["open_chats"].as_u64()
        ),
        (Some("online"), Some(0))
    );
    assert_error(
        app.get("/api/v1/queues/live", &ana.access).await,
        403,
        "staff_only",
    )
    .await;
    let stats = staff.events_until("queue.stats", |_| true).await;
    assert!(stats.last().unwrap()["data"]["queues"].is_array());
}

/// A customer writes and an admin puts the chat in the "vendas" queue.
async fn to_vendas(app: &TestApp, admin: &Tokens, number: &str) -> String {
    let chat = app
        .customer_says(number, &format!("wamid.{number}"), "quero comprar")
        .await;
    let path = format!("/api/v1/chats/{}/transfer", chat["id"].as_str().unwrap());
    app.post(&path, Some(&admin.access), &json!({"queue_id": "vendas"}))
        .await;
    chat["id"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn auto_assignment_respects_queues_capacity_and_presence() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for id in ["vendas", "suporte"] {
        let body = json!({"id": id, "name": id, "color": "#000000"});
        app.post("/api/v1/queues", Some(&admin.access), &body).await;
    }
    let ana = agent_in(&app, &admin, "ana@test.local", json!(["vendas"]), 1).await;
    let bia = agent_in(&app, &admin, "bia@test.local", json!(["suporte"]), 5).await;
    let _caio = agent_in(&app, &admin, "caio@test.local", json!(["vendas"]), 5).await; // never online
    let (mut ana_socket, _) = Socket::signed_in(&app, &ana.access, None).await;
    let (_bia_socket, _) = Socket::signed_in(&app, &bia.access, None).await;
    // Two chats wait in "vendas" before assignment is switched on.
    let first = to_vendas(&app, &admin, "5511933330001").await;
    let second = to_vendas(&app, &admin, "5511933330002").await;
    turn_on_auto_assign(&app, &admin).await;
    let to_ana = |id: String, ana: String| {
        move |c: &Value| {
            c["id"] == id.as_str() && c["change"] == "assigned" && c["assignee_id"] == ana.as_str()
        }
    };
    ana_socket
        .events_until("chat.updated", to_ana(first.clone(), ana.id()))
        .await;
    // Ana is full, Bia serves another queue, Caio is offline: the second one waits.
    let waiting: Value = app
        .get_json(&format!("/api/v1/chats/{second}"), &admin.access)
        .await;
    assert_eq!(
        (waiting["status"].as_str(), waiting["assignee_id"].as_str()),
        (Some("pending"), None)
    );
    app.chat_action(&first, "close", &ana.access, &json!({}))
        .await;
    ana_socket
        .events_until("chat.updated", to_ana(second.clone(), ana.id()))
        .await;
    // A chat in no queue goes to any online agent with room: Bia.
    let loose = app
        .customer_says("5511933330003", "wamid.loose", "oi")
        .await;
    let path = format!("/api/v1/chats/{}", loose["id"].as_str().unwrap());
    let loose = app
        .eventually(&path, &admin.access, "assigned", |c| c["status"] == "open")
        .await;
    assert_eq!(loose["assignee_id"], bia.id().as_str());
}

#[actix_web::test]
async fn chats_of_an_agent_who_stays_offline_return_to_the_queue() {
    let app = spawn_app_with(&["--offline-grace", "0", "--requeue-after", "1"]).await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let (socket, _) = Socket::signed_in(&app, &ana.access, None).await;
    let chat = app.customer_says("5511944440000", "wamid.OFF", "oi").await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &ana).await;
    drop(socket);
    let back = app
        .eventually(
            &format!("/api/v1/chats/{id}"),
            &admin.access,
            "requeued",
            |c| c["status"] == "pending",
        )
        .await;
    assert_eq!(back["assignee_id"], Value::Null);
}

#[actix_web::test]
async fn the_thread_tells_who_took_transferred_closed_and_reopened_the_chat() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let created = app
        .post(
            "/api/v1/queues",
            Some(&admin.access),
            &json!({"name": "Vendas", "color": "#25d366"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let chat = app.customer_says("5511911112222", "wamid.A1", "oi").await;
    let id = chat["id"].as_str().unwrap();
    assert_eq!(app.claim(id, &admin).await.status(), 200);
    let to_ana = json!({"user_id": ana.id()});
    let transfer = app
        .chat_action(id, "transfer", &admin.access, &to_ana)
        .await;
    assert_eq!(transfer.status(), 200);
    let to_queue = json!({"queue_id": "vendas"});
    let transfer = app
        .chat_action(id, "transfer", &ana.access, &to_queue)
        .await;
    assert_eq!(transfer.status(), 200);
    assert_eq!(app.claim(id, &admin).await.status(), 200);
    let note = json!({"note": "Pedido 123 resolvido"});
    let close = app.chat_action(id, "close", &admin.access, &note).await;
    assert_eq!(close.status(), 200);
    let reopen = app
        .chat_action(id, "reopen", &admin.access, &json!({}))
        .await;
    assert_eq!(reopen.status(), 200);

    let path = format!("/api/v1/chats/{id}/messages?activity=true");
    let page = app.get_json(&path, &admin.access).await;
    let lines: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == "activity")
        .collect();
    let what: Vec<&str> = lines
        .iter()
        .map(|m| m["details"]["activity"].as_str().unwrap())
        .collect();
    assert_eq!(
        what,
        [
            "claimed",
            "transferred",
            "transferred",
            "claimed",
            "closed",
            "reopened"
        ]
    );
    assert_eq!(lines[1]["details"]["user_id"], ana.id().as_str());
    assert_eq!(lines[1]["author_id"], admin.user["id"]);
    assert_eq!(lines[2]["details"]["queue_id"], "vendas");
    assert_eq!(lines[2]["details"]["from_user_id"], ana.id().as_str());
    assert_eq!(lines[4]["details"]["note"], "Pedido 123 resolvido");
    // Without asking, the API lists the conversation only, as before.
    let plain = app
        .get_json(&format!("/api/v1/chats/{id}/messages"), &admin.access)
        .await;
    assert!(plain["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["type"] != "activity"));
}
