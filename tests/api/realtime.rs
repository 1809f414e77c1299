//! The WebSocket event stream through real sockets: authentication, visibility, resume,
//! tabs, slow clients, typing and viewing, presence, queues and auto-assignment.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;
use crate::socket::Socket;

fn chat_of(event: &Value) -> Option<String> {
    let data = &event["data"];
    data["chat_id"]
        .as_str()
        .or_else(|| data["chat"]["id"].as_str())
        .or_else(|| {
            event["event"]
                .as_str()
                .filter(|e| e.starts_with("chat."))
                .and(data["id"].as_str())
        })
        .map(str::to_string)
}

/// The names of the chat and message events among `events`.
fn chat_events(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .filter(|name| name.starts_with("chat.") || name.starts_with("message."))
        .collect()
}

#[actix_web::test]
async fn a_socket_must_authenticate_first_and_bad_tokens_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut socket = Socket::open(&app).await;
    socket.send_raw(Message::text("not json")).await;
    let error = socket.next().await;
    assert_eq!(
        (error["type"].as_str(), error["code"].as_str()),
        (Some("error"), Some("bad_frame"))
    );
    socket.send(json!({"type": "typing", "chat_id": "1"})).await;
    assert_eq!(socket.closed_with().await, 4401);

    let mut socket = Socket::open(&app).await;
    socket
        .send(json!({"type": "auth", "token": "garbage", "resume_from": null}))
        .await;
    assert_eq!(socket.closed_with().await, 4401);

    let (mut socket, ready) = Socket::signed_in(&app, &admin.access, None).await;
    assert!(ready["seq"].is_u64());
    socket.send(json!({"type": "ping"})).await;
    assert_eq!(socket.events_or_error().await["type"], "pong");
    socket.send(json!({"type": "dance"})).await;
    assert_eq!(socket.events_or_error().await["code"], "bad_frame");
    socket
        .send(json!({"type": "auth", "token": admin.access, "resume_from": null}))
        .await;
    assert_eq!(
        socket.events_or_error().await["code"],
        "already_authenticated"
    );
}

#[actix_web::test]
async fn oversized_frames_and_floods_close_only_that_socket() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (mut big, _) = Socket::signed_in(&app, &admin.access, None).await;
    let (mut flood, _) = Socket::signed_in(&app, &admin.access, None).await;
    let (mut calm, _) = Socket::signed_in(&app, &admin.access, None).await;
    big.send_raw(Message::text("x".repeat(1024 * 1024))).await;
    assert_eq!(big.closed_with().await, 1009);
    for _ in 0..200 {
        flood
            .send_raw(Message::text(json!({"type": "ping"}).to_string()))
            .await;
    }
    assert_eq!(flood.closed_with().await, 4429);
    calm.send(json!({"type": "ping"})).await;
    assert_eq!(calm.events_or_error().await["type"], "pong");
}

#[actix_web::test]
async fn a_webhook_reaches_the_agents_who_may_see_it_in_order() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let (mut socket, _) = Socket::signed_in(&app, &ana.access, None).await;
    app.customer_says("5511900001111", "wamid.RT1", "oi, tudo bem?")
        .await;
    let events = socket.events_until("message.created", |_| true).await;
    let names = chat_events(&events);
    assert!(names.contains(&"chat.created"), "{names:?}");
    let message = &events.last().unwrap()["data"];
    assert_eq!(message["text"], "oi, tudo bem?");
    // Enough to notify without a second request: who wrote, in which chat.
    assert_eq!(
        message["chat"]["contact"]["profile_name"],
        "Cliente 5511900001111"
    );
    assert_eq!(message["chat"]["status"], "pending");

    // A message that changes nothing else about its chat comes alone: its event carries
    // the chat's new state.
    app.customer_says("5511900001111", "wamid.RT2", "alô?")
        .await;
    let events = socket.events_until("message.created", |_| true).await;
    assert_eq!(chat_events(&events), ["message.created"]);
    let chat = &events.last().unwrap()["data"]["chat"];
    assert_eq!(chat["unread_count"], 2);
    assert_eq!(chat["last_message"]["preview"], "alô?");
}

#[actix_web::test]
async fn an_agent_never_receives_events_of_another_agents_chat() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let bia = app.user(&admin, "bia@test.local", "agent").await;
    let chat = app.customer_says("5511900002222", "wamid.V1", "oi").await;
    let id = chat["id"].as_str().unwrap().to_string();
    let (mut witness, _) = Socket::signed_in(&app, &admin.access, None).await;
    app.claim(&id, &ana).await;
    // The claim took the chat from a queue Bia sees, so she would rightly hear of it had
    // she come before it was announced: she comes after.
    witness
        .events_until("chat.updated", |c| c["change"] == "claimed")
        .await;
    let (mut bia_socket, _) = Socket::signed_in(&app, &bia.access, None).await;
    let (mut ana_socket, _) = Socket::signed_in(&app, &ana.access, None).await;
    // Everything that can happen in Ana's chat.
    app.customer_says("5511900002222", "wamid.V2", "segredo")
        .await;
    let path = format!("/api/v1/chats/{id}");
    app.post(
        &format!("{path}/messages"),
        Some(&ana.access),
        &json!({"client_id": "v", "type": "text", "text": "ok"}),
    )
    .await;
    app.post(
        &format!("{path}/notes"),
        Some(&ana.access),
        &json!({"text": "nota"}),
    )
    .await;
    app.post(&format!("{path}/read"), Some(&ana.access), &json!({}))
        .await;
    app.patch(&path, &ana.access, &json!({"tags": ["x"]})).await;
    ana_socket
        .send(json!({"type": "typing", "chat_id": id}))
        .await;
    ana_socket
        .send(json!({"type": "viewing", "chat_id": id}))
        .await;
    app.sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("sent");
    ana_socket
        .events_until("message.updated", |m| m["status"] == "read")
        .await;
    // A marker Bia may see: a new chat waiting in the queue.
    app.customer_says("5511900003333", "wamid.V3", "marcador")
        .await;
    let seen = bia_socket
        .events_until("message.created", |m| m["text"] == "marcador")
        .await;
    for event in &seen {
        assert_ne!(
            chat_of(event).as_deref(),
            Some(id.as_str()),
            "Bia saw {event}"
        );
    }
}

#[actix_web::test]
async fn a_resume_after_missed_events_replays_exactly_those() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (mut witness, _) = Socket::signed_in(&app, &admin.access, None).await;
    let (socket, ready) = Socket::signed_in(&app, &admin.access, None).await;
    let from = ready["seq"].as_u64().unwrap();
    drop(socket);
    for i in 0..3 {
        app.customer_says(&format!("551190000444{i}"), &format!("wamid.M{i}"), "oi")
            .await;
    }
    let missed: Vec<u64> = witness
        .events_until("message.created", |m| m["wamid"] == "wamid.M2")
        .await
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .filter(|seq| *seq > from)
        .collect();
    assert!(
        missed.len() >= 6,
        "three chats and their messages: {missed:?}"
    );
    let (mut back, _) = Socket::signed_in(&app, &admin.access, Some(from)).await;
    let mut replayed = Vec::new();
    while replayed.len() < missed.len() {
        let frame = back.next().await;
        replayed.push(frame["seq"].as_u64().expect("an event"));
    }
    assert_eq!(replayed, missed, "exactly the missed events, in order");
    // And it goes on live.
    app.customer_says("5511900004449", "wamid.M9", "depois")
        .await;
    let next = back.events_until("message.created", |_| true).await;
    assert!(next.last().unwrap()["seq"].as_u64().unwrap() > *missed.last().unwrap());
}

#[actix_web::test]
async fn a_resume_from_the_future_or_beyond_the_log_is_told_to_resync() {
    let app = spawn_app_with(&["--event-retention", "2"]).await;
    let admin = app.admin().await;
    let (mut socket, _) = Socket::signed_in(&app, &admin.access, Some(1_000_000)).await;
    assert_eq!(socket.next().await["type"], "resync");
    let (mut live, _) = Socket::signed_in(&app, &admin.access, None).await;
    app.customer_says("5511900005555", "wamid.RS", "oi").await;
    live.events_until("message.created", |_| true).await;
    drop(live);
    let (mut fine, _) = Socket::signed_in(&app, &admin.access, Some(0)).await;
    let first = fine.next().await;
    assert!(
        first["type"] == "event" || first["type"] == "resync",
        "{first}"
    );
}

#[actix_web::test]
async fn every_tab_of_a_user_receives_the_events() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (mut one, _) = Socket::signed_in(&app, &admin.access, None).await;
    let (mut two, ready) = Socket::signed_in(&app, &admin.access, None).await;
    let both_open = ready["seq"].as_u64().unwrap();
    app.customer_says("5511900006666", "wamid.T", "oi").await;
    let a = one.events_until("message.created", |_| true).await;
    let b = two.events_until("message.created", |_| true).await;
    let seqs = |events: &[Value]| {
        events
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .filter(|s| *s > both_open)
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(&a), seqs(&b));
}

#[actix_web::test]
async fn a_stalled_client_does_not_hold_up_the_others() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (stalled, _) = Socket::signed_in(&app, &admin.access, None).await;
    let (mut reader, _) = Socket::signed_in(&app, &admin.access, None).await;
    // Many customers at once, in few webhooks: thousands of events.
    for batch in 0..30 {
        let mut body = inbound(
            "5511900000000",
            "x",
            json!({"type": "text", "text": {"body": "x"}}),
        );
        let value = &mut body["entry"][0]["changes"][0]["value"];
        let mut messages = Vec::new();
        let mut contacts = Vec::new();
        for i in 0..60 {
            let from = format!("55118{batch:03}{i:05}");
            let text = "mensagem ".repeat(40);
            messages.push(json!({"from": from, "id": format!("wamid.S{batch}.{i}"), "timestamp": chrono::Utc::now().timestamp().to_string(), "type": "text", "text": {"body": text}}));
            contacts.push(json!({"profile": {"name": "Cliente"}, "wa_id": from}));
        }
        value["messages"] = json!(messages);
        value["contacts"] = json!(contacts);
        assert_eq!(app.webhook(&body).await.status(), 200);
    }
    // The reader gets every message, resuming from the log when the server closed it for
    // falling behind (4409) or for going quiet while this test was busy posting (4408).
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 30 * 60 {
        match reader.next_or_close().await {
            Ok(frame) if frame["event"] == "message.created" => {
                seen.insert(
                    frame["data"]["wamid"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            Ok(_) => {}
            Err(4408 | 4409) => {
                let last = reader.last_seq;
                reader = Socket::signed_in(&app, &admin.access, Some(last)).await.0;
            }
            Err(code) => panic!("the reader was closed with {code}"),
        }
    }
    // The stalled socket is simply dropped: it held nobody up.
    drop(stalled);
}

#[actix_web::test]
async fn concurrent_claims_from_two_agents_have_one_winner_the_other_sees_go() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let bia = app.user(&admin, "bia@test.local", "agent").await;
    let (ana_socket, _) = Socket::signed_in(&app, &ana.access, None).await;
    let (bia_socket, _) = Socket::signed_in(&app, &bia.access, None).await;
    let chat = app.customer_says("5511900007777", "wamid.CL", "oi").await;
    let path = format!("/api/v1/chats/{}/claim", chat["id"].as_str().unwrap());
    let empty = json!({});
    let (a, b) = tokio::join!(
        app.post(&path, Some(&ana.access), &empty),
        app.post(&path, Some(&bia.access), &empty)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let (winner, mut won, mut lost) = if a.status() == 200 {
        (ana.id(), ana_socket, bia_socket)
    } else {
        (bia.id(), bia_socket, ana_socket)
    };
    let events = won
        .events_until("chat.updated", |c| c["change"] == "claimed")
        .await;
    assert_eq!(
        events.last().unwrap()["data"]["assignee_id"],
        winner.as_str()
    );
    // The other hears only that the chat left its view, not who took it.
    let id = chat["id"].as_str().unwrap();
    let events = lost.events_until("chat.hidden", |c| c["id"] == id).await;
    assert!(
        events.iter().all(|e| e["data"]["change"] != "claimed"),
        "{events:?}"
    );
}

#[actix_web::test]
async fn typing_and_viewing_reach_colleagues_who_see_the_chat() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let chat = app.customer_says("5511900008888", "wamid.TY", "oi").await;
    let id = chat["id"].as_str().unwrap().to_string();
    app.claim(&id, &ana).await;
    let (mut sup, _) = Socket::signed_in(&app, &admin.access, None).await;
    let (mut agent, _) = Socket::signed_in(&app, &ana.access, None).await;
    agent.send(json!({"type": "viewing", "chat_id": id})).await;
    agent.send(json!({"type": "typing", "chat_id": id})).await;
    let viewing = sup.events_until("viewing", |_| true).await;
    assert_eq!(
        viewing.last().unwrap()["data"]["user_id"],
        ana.id().as_str()
    );
    let typing = sup.events_until("typing", |_| true).await;
    assert_eq!(typing.last().unwrap()["data"]["chat_id"], id.as_str());
    agent
        .send(json!({"type": "typing", "chat_id": "999999"}))
        .await;
    assert_eq!(agent.events_or_error().await["code"], "not_found");
}

#[actix_web::test]
async fn presence_follows_sockets_and_requests() {
    let app = spawn_app_with(&["--offline-grace", "0"]).await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let (mut watcher, _) = Socket::signed_in(&app, &admin.access, None).await;
    let (mut socket, _) = Socket::signed_in(&app, &ana.access, None).await;
    // Ana's presence (the watcher's own comes too, and may come first).
    let ana_id = ana.id();
    let is = |presence: &'static str| {
        let ana_id = ana_id.clone();
        move |d: &Value| d["presence"] == presence && d["user_id"] == ana_id.as_str()
    };
    watcher.events_until("presence", is("online")).await;
    let user: Value = app
        .get_json(&format!("/api/v1/users/{}", ana.id()), &admin.access)
        .await;
    assert_eq!(user["presence"], "online");
    socket
        .send(json!({"type": "presence", "presence": "away"}))
        .await;
    watcher.events_until("presence", is("away")).await;
    drop(socket);
    watcher.events_until("presence", is("offline")).await;
}

#[actix_web::test]
async fn signing_out_closes_that_sign_ins_sockets_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Ana signed in twice (two browsers), a socket on each.
    let first = app.user(&admin, "ana@test.local", "agent").await;
    let second = app.login("ana@test.local", "user-password-1").await;
    let (mut closing, _) = Socket::signed_in(&app, &first.access, None).await;
    let (mut staying, _) = Socket::signed_in(&app, &second.access, None).await;
    let out = app
        .post(
            "/api/v1/auth/logout",
            Some(&first.access),
            &json!({"refresh_token": first.refresh}),
        )
        .await;
    assert_eq!(out.status(), 204);
    // At once, not at the access token's expiry: a stolen token's socket ends with it.
    assert_eq!(closing.closed_with().await, 4401);
    staying.send(json!({"type": "ping"})).await;
    assert_eq!(staying.events_or_error().await["type"], "pong");
    // A replayed refresh token revokes its sign-in, and that closes its sockets too.
    let refresh = json!({"refresh_token": second.refresh});
    let mut answers = Vec::new();
    for _ in 0..2 {
        let answer = app.post("/api/v1/auth/refresh", None, &refresh).await;
        answers.push(answer.status().as_u16());
    }
    assert_eq!(answers, [200, 401], "the second use is a replay");
    assert_eq!(staying.closed_with().await, 4401);
}

#[actix_web::test]
async fn deactivating_a_user_closes_their_sockets() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let (mut socket, _) = Socket::signed_in(&app, &ana.access, None).await;
    app.send(
        Method::DELETE,
        &format!("/api/v1/users/{}", ana.id()),
        Some(&admin.access),
        &json!({}),
    )
    .await;
    assert_eq!(socket.closed_with().await, 4401);
    let mut again = Socket::open(&app).await;
    again
        .send(json!({"type": "auth", "token": ana.access, "resume_from": null}))
        .await;
    assert_eq!(again.closed_with().await, 4401);
}
