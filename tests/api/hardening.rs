//! Sign-in that attackers cannot turn against users (issue 20, item 5): throttling that
//! spares colleagues, sessions that end at once, no common passwords, no queues that do
//! not exist, replays under today's visibility, and the socket's Origin checked.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::*;
use crate::socket::Socket;

#[actix_web::test]
async fn one_persons_typos_never_lock_out_a_colleague_behind_the_same_address() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.user(&admin, "ana@test.local", "agent").await;
    let wrong = json!({"email": "ana@test.local", "password": "not-her-password"});
    let mut refused = 0;
    for _ in 0..12 {
        let status = app.post("/api/v1/auth/login", None, &wrong).await.status();
        assert!(status == 401 || status == 429, "{status}");
        refused += usize::from(status == 429);
    }
    assert!(refused > 0, "Ana's own tries wait");
    // The colleague at the next desk (the same address) signs in at once.
    let right = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    let colleague = app.post("/api/v1/auth/login", None, &right).await;
    assert_eq!(colleague.status(), 200);
}

#[actix_web::test]
async fn signing_out_ends_the_access_token_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let other = app.admin().await;
    let body = json!({"refresh_token": admin.refresh});
    let out = app
        .post("/api/v1/auth/logout", Some(&admin.access), &body)
        .await;
    assert_eq!(out.status(), 204);
    let me = app.get("/api/v1/auth/me", &admin.access).await;
    assert_error(me, 401, "session_ended").await;
    // A socket cannot sign in with it either.
    let mut socket = Socket::open(&app).await;
    socket
        .send(json!({"type": "auth", "token": admin.access, "resume_from": null}))
        .await;
    assert_eq!(socket.next_or_close().await.unwrap_err(), 4401);
    // The user's other sign-in goes on.
    assert_eq!(
        app.get("/api/v1/auth/me", &other.access).await.status(),
        200
    );
}

#[actix_web::test]
async fn a_reused_refresh_token_ends_the_access_tokens_of_its_sign_in() {
    let app = spawn_app().await;
    let first = app.admin().await;
    let other = app.admin().await;
    let refresh = |token: &str| {
        let body = json!({"refresh_token": token});
        let app = &app;
        async move { app.post("/api/v1/auth/refresh", None, &body).await }
    };
    let second: Value = refresh(&first.refresh).await.json().await.unwrap();
    let second_access = second["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/auth/me", second_access).await.status(),
        200
    );
    // The thief presents the spent token: the whole sign-in ends, access tokens included.
    assert_eq!(refresh(&first.refresh).await.status(), 401);
    for access in [first.access.as_str(), second_access] {
        let me = app.get("/api/v1/auth/me", access).await;
        assert_error(me, 401, "session_ended").await;
    }
    assert_eq!(
        app.get("/api/v1/auth/me", &other.access).await.status(),
        200
    );
}

#[actix_web::test]
async fn common_and_trivial_passwords_are_refused_with_a_field_error() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (i, password) in ["12345678", "password", "aaaaaaaa", "Password1"]
        .iter()
        .enumerate()
    {
        let body = json!({"email": format!("weak{i}@test.local"), "name": "W",
            "role": "agent", "password": password});
        let response = app.post("/api/v1/users", Some(&admin.access), &body).await;
        let error = assert_error(response, 400, "validation_failed").await;
        assert_eq!(
            error["error"]["fields"]["password"], "is too common or too easy to guess",
            "{password}"
        );
    }
    let change = json!({"current_password": ADMIN_PASSWORD, "new_password": "qwertyuiop"});
    let response = app
        .post("/api/v1/auth/password", Some(&admin.access), &change)
        .await;
    let error = assert_error(response, 400, "validation_failed").await;
    assert!(error["error"]["fields"]["new_password"].is_string());
    let users: Value = app.get_json("/api/v1/users", &admin.access).await;
    assert_eq!(
        users["items"].as_array().unwrap().len(),
        1,
        "nobody was made"
    );
}

#[actix_web::test]
async fn a_user_may_not_be_put_in_a_queue_that_does_not_exist() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let vendas = app.queue(&admin, "Vendas").await;
    let body = json!({"email": "ana@test.local", "name": "Ana", "role": "agent",
        "password": "ana-password", "queue_ids": [vendas, "nao-existe"]});
    let response = app.post("/api/v1/users", Some(&admin.access), &body).await;
    let error = assert_error(response, 409, "unknown_reference").await;
    assert_eq!(
        error["error"]["fields"]["queue_ids"],
        "names queues that do not exist: nao-existe"
    );
    let body = json!({"email": "ana@test.local", "name": "Ana", "role": "agent",
        "password": "ana-password", "queue_ids": [vendas]});
    let created: Value = app
        .post("/api/v1/users", Some(&admin.access), &body)
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/users/{}", created["id"].as_str().unwrap());
    let response = app
        .patch(&path, &admin.access, &json!({"queue_ids": ["sumiu"]}))
        .await;
    assert_error(response, 409, "unknown_reference").await;
}

#[actix_web::test]
async fn a_socket_from_a_foreign_origin_is_refused() {
    let app = spawn_app().await;
    let url = format!("ws://{}/api/v1/ws", app.address);
    let with_origin = |origin: &str| {
        let mut request = url.as_str().into_client_request().unwrap();
        let origin = HeaderValue::from_str(origin).unwrap();
        request.headers_mut().insert("Origin", origin);
        request
    };
    let foreign = tokio_tungstenite::connect_async(with_origin("https://evil.example")).await;
    match foreign {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN.as_u16());
        }
        other => panic!("a foreign origin was let in: {:?}", other.map(|_| ())),
    }
    let own = format!("http://{}", app.address);
    let opened = tokio_tungstenite::connect_async(with_origin(&own)).await;
    assert!(opened.is_ok(), "the hub's own pages connect");
}

#[actix_web::test]
async fn a_resumed_socket_hears_only_that_a_chat_left_its_view() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let vendas = app.queue(&admin, "Vendas").await;
    let suporte = app.queue(&admin, "Suporte").await;
    let body = json!({"email": "ana@test.local", "name": "Ana", "role": "agent",
        "password": "ana-password", "must_change_password": false, "queue_ids": [vendas]});
    app.post("/api/v1/users", Some(&admin.access), &body).await;
    let ana = app.login("ana@test.local", "ana-password").await;
    let chat = app.customer_says("5511900007777", "wamid.H1", "oi").await;
    let id = chat["id"].as_str().unwrap().to_string();
    let transfer = format!("/api/v1/chats/{id}/transfer");
    let to = |queue: &str| json!({"queue_id": queue});
    app.post(&transfer, Some(&admin.access), &to(&vendas)).await;
    let (mut ana_socket, ready) = Socket::signed_in(&app, &ana.access, None).await;
    let from = ready["seq"].as_u64().unwrap();
    drop(ana_socket);
    // While Ana is away the customer writes something private, then the chat moves on.
    let (mut witness, _) = Socket::signed_in(&app, &admin.access, None).await;
    app.customer_says("5511900007777", "wamid.H2", "meu cartão é 4111")
        .await;
    app.post(&transfer, Some(&admin.access), &to(&suporte))
        .await;
    witness
        .events_until("chat.updated", |c| c["queue_id"] == suporte.as_str())
        .await;
    // A marker after it, that Ana may see.
    let marker = app
        .customer_says("5511900008888", "wamid.H3", "marcador")
        .await;
    let marker_id = marker["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/chats/{marker_id}/transfer"),
        Some(&admin.access),
        &to(&vendas),
    )
    .await;
    witness
        .events_until("chat.updated", |c| {
            c["id"] == marker_id.as_str() && c["queue_id"] == vendas.as_str()
        })
        .await;
    (ana_socket, _) = Socket::signed_in(&app, &ana.access, Some(from)).await;
    let replayed = ana_socket
        .events_until("chat.updated", |c| c["id"] == marker_id.as_str())
        .await;
    let about_chat: Vec<&Value> = replayed
        .iter()
        .filter(|e| e["data"]["id"] == id.as_str() || e["data"]["chat_id"] == id.as_str())
        .collect();
    assert_eq!(about_chat.len(), 1, "{about_chat:?}");
    assert_eq!(about_chat[0]["event"], "chat.hidden");
    assert_eq!(about_chat[0]["data"], json!({"id": id}));
    assert!(
        !replayed.iter().any(|e| e.to_string().contains("4111")),
        "nothing of what was said after the chat left"
    );
}

#[actix_web::test]
async fn inputs_are_read_as_a_person_obviously_means_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // A queue without an id gets one made from its name.
    let queue: Value = app
        .post(
            "/api/v1/queues",
            Some(&admin.access),
            &json!({"name": "Pós-venda"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["id"], "pos-venda");
    // A shortcut written with its slash.
    let canned = json!({"shortcut": "/ola", "text": "Olá! Como posso ajudar?"});
    let created = app
        .post("/api/v1/canned-responses", Some(&admin.access), &canned)
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.json::<Value>().await.unwrap()["shortcut"], "ola");
    // Supervisors read the quick replies; only admins write them.
    let sup = app.user(&admin, "sup@test.local", "supervisor").await;
    let read = app.get("/api/v1/canned-responses", &sup.access).await;
    assert_eq!(read.status(), 200);
    let write = app
        .post("/api/v1/canned-responses", Some(&sup.access), &canned)
        .await;
    assert_error(write, 403, "admin_only").await;
    // An empty greeting turns the greeting off.
    let settings: Value = app
        .put(
            "/api/v1/settings",
            &admin.access,
            &json!({"greeting_message": ""}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(settings["greeting_message"], Value::Null);
    // A role in any case, with spaces.
    let body = json!({"email": " Bia@Test.local ", "name": "Bia", "role": " Supervisor",
        "password": "bia-password-1", "queue_ids": ["pos-venda"]});
    let bia = app.post("/api/v1/users", Some(&admin.access), &body).await;
    assert_eq!(bia.status(), 201);
    let bia: Value = bia.json().await.unwrap();
    assert_eq!(
        (bia["role"].as_str(), bia["email"].as_str()),
        (Some("supervisor"), Some("bia@test.local"))
    );
    // A contact named by its phone as people write it.
    app.customer_says("5511987654321", "wamid.F1", "oi").await;
    let contact = app
        .get("/api/v1/contacts/+55%20(11)%2098765-4321", &admin.access)
        .await;
    assert_eq!(contact.status(), 200);
    // What cannot be meant is refused, naming the field.
    let body = json!({"email": "c@test.local", "name": "C", "role": "chefe",
        "password": "chefe-password-1"});
    let response = app.post("/api/v1/users", Some(&admin.access), &body).await;
    let error = assert_error(response, 400, "validation_failed").await;
    assert!(error["error"]["fields"]["role"].is_string(), "{error}");
    // A whole number written with a decimal point is that number; an array is no body.
    let change = json!({"sla_wait_seconds": 600.0});
    let queue = app
        .send(
            Method::PATCH,
            "/api/v1/queues/pos-venda",
            Some(&admin.access),
            &change,
        )
        .await;
    assert_eq!(queue.status(), 200);
    assert_eq!(
        queue.json::<Value>().await.unwrap()["sla_wait_seconds"],
        600
    );
    let array = app
        .send(
            Method::PATCH,
            "/api/v1/queues/pos-venda",
            Some(&admin.access),
            &json!([null, null]),
        )
        .await;
    let error = assert_error(array, 400, "validation_failed").await;
    assert!(error["error"]["fields"]["body"].is_string(), "{error}");
}
