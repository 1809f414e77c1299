//! Integrations: API tokens and their scopes, and outgoing webhooks checked by a real HTTP
//! receiver (signatures, each event once, per-chat order) across a receiver outage and a
//! SIGKILL of the hub.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::*;

/// What a receiver saw.
#[derive(Default)]
struct Seen {
    /// Deliveries it accepted (2xx), in arrival order: (delivery id, body).
    accepted: Vec<(String, Value)>,
    /// Requests whose signature did not check out.
    bad_signatures: usize,
    /// Requests it refused while failing.
    refused: usize,
}

/// A webhook receiver, as an integrator would write one: it checks every signature and
/// answers 503 while `failing`.
struct Receiver {
    url: String,
    secret: Arc<Mutex<String>>,
    failing: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    _server: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let secret = Arc::new(Mutex::new(String::new()));
        let failing = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let state = (secret.clone(), failing.clone(), seen.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/hooks", web::post().to(receive))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Receiver {
            url,
            secret,
            failing,
            seen,
            _server: handle,
        }
    }

    fn accepted(&self) -> Vec<(String, Value)> {
        self.seen.lock().unwrap().accepted.clone()
    }
}

type ReceiverState = (Arc<Mutex<String>>, Arc<AtomicBool>, Arc<Mutex<Seen>>);

async fn receive(
    state: web::Data<ReceiverState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (secret, failing, seen) = state.get_ref();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut seen = seen.lock().unwrap();
    if !verify(
        &secret.lock().unwrap(),
        &header("x-atende-signature"),
        &body,
    ) {
        seen.bad_signatures += 1;
        return HttpResponse::BadRequest().body("bad signature");
    }
    if failing.load(Ordering::SeqCst) {
        seen.refused += 1;
        return HttpResponse::ServiceUnavailable().body("receiver down for maintenance");
    }
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["id"], header("x-atende-delivery").as_str());
    assert_eq!(payload["event"], header("x-atende-event").as_str());
    seen.accepted.push((header("x-atende-delivery"), payload));
    HttpResponse::Ok().body("ok")
}

/// The receiver's check, as README tells it: HMAC-SHA256 of "<t>.<raw body>" with the
/// subscription's secret, compared in constant time, and a timestamp within 5 minutes.
fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some(("v1", value)) => v1 = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let fresh = t
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    fresh && mac.verify_slice(&v1).is_ok()
}

/// Makes a token with `scopes`; (its secret, its view).
async fn make_token(app: &TestApp, admin: &Tokens, scopes: &[&str]) -> (String, Value) {
    let response = app
        .post(
            "/api/v1/tokens",
            Some(&admin.access),
            &json!({"name": "Integração", "scopes": scopes}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    (body["token"].as_str().unwrap().to_string(), body)
}

/// Subscribes `receiver` to every event, and gives it the secret.
async fn subscribe(app: &TestApp, admin: &Tokens, receiver: &Receiver) -> Value {
    let response = app
        .post(
            "/api/v1/integrations/webhooks",
            Some(&admin.access),
            &json!({"url": receiver.url, "events": ["*"], "description": "CRM"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    *receiver.secret.lock().unwrap() = body["secret"].as_str().unwrap().to_string();
    body
}

#[actix_web::test]
async fn a_token_is_shown_once_used_within_its_scopes_and_refused_once_revoked() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let chat = app.customer_says("5511987654321", "wamid.t1", "oi").await;
    let chat_id = chat["id"].as_str().unwrap();

    let (secret, view) = make_token(&app, &admin, &["chats:read", "CHATS:READ "]).await;
    assert!(secret.starts_with("atd_"), "{secret}");
    assert_eq!(view["scopes"], json!(["chats:read"]));
    let list: Value = app.get_json("/api/v1/tokens", &admin.access).await;
    assert!(
        !list.to_string().contains(&secret),
        "the list never shows a secret"
    );
    assert_eq!(list["items"][0]["last_used_at"], Value::Null);

    let chats = app.get("/api/v1/chats", &secret).await;
    assert_eq!(chats.status(), 200);
    let me: Value = app.get_json("/api/v1/auth/me", &secret).await;
    assert_eq!(me["name"], "Integração");
    let send = app
        .chat_action(
            chat_id,
            "messages",
            &secret,
            &json!({"type": "text", "text": "oi"}),
        )
        .await;
    let refused = assert_error(send, 403, "scope_missing").await;
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("messages:send"));
    assert_error(
        app.get("/api/v1/users", &secret).await,
        403,
        "scope_missing",
    )
    .await;
    let claim = app.chat_action(chat_id, "claim", &secret, &json!({})).await;
    assert_error(claim, 403, "scope_missing").await;
    let list: Value = app.get_json("/api/v1/tokens", &admin.access).await;
    assert!(
        list["items"][0]["last_used_at"].is_string(),
        "its use is shown"
    );

    // A wrong secret with a real id, and a token that never was.
    let forged = format!("{}x", &secret[..secret.len() - 1]);
    assert_error(
        app.get("/api/v1/chats", &forged).await,
        401,
        "invalid_token",
    )
    .await;
    assert_error(
        app.get("/api/v1/chats", "atd_1_nothing").await,
        401,
        "invalid_token",
    )
    .await;

    let id = view["id"].as_str().unwrap();
    let revoke = app
        .delete(&format!("/api/v1/tokens/{id}"), &admin.access)
        .await;
    assert_eq!(revoke.status(), 204);
    assert_error(
        app.get("/api/v1/chats", &secret).await,
        401,
        "invalid_token",
    )
    .await;

    // Only admins make tokens, and only with scopes that exist.
    let agent = app.user(&admin, "agent@test.local", "agent").await;
    let by_agent = app
        .post(
            "/api/v1/tokens",
            Some(&agent.access),
            &json!({"name": "x", "scopes": ["chats:read"]}),
        )
        .await;
    assert_error(by_agent, 403, "admin_only").await;
    let bad = app
        .post(
            "/api/v1/tokens",
            Some(&admin.access),
            &json!({"name": "x", "scopes": ["chats:delete"]}),
        )
        .await;
    let body = assert_error(bad, 400, "validation_failed").await;
    assert!(body["error"]["fields"]["scopes"].is_string());
}

#[actix_web::test]
async fn every_use_of_an_admin_token_is_audited_and_tokens_are_rate_limited() {
    let app = spawn_app_with(&["--user-rate-limit", "1", "--user-rate-limit-burst", "3"]).await;
    let admin = app.admin().await;
    let (secret, view) = make_token(&app, &admin, &["admin"]).await;
    assert_eq!(app.get("/api/v1/settings", &secret).await.status(), 200);
    let audit: Value = app
        .get_json("/api/v1/audit?action=token.used", &admin.access)
        .await;
    let entry = &audit["items"][0];
    assert_eq!(entry["actor_id"], view["id"], "{audit}");
    assert!(entry["detail"]
        .as_str()
        .unwrap()
        .contains("GET /api/v1/settings"));

    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.get("/api/v1/settings", &secret).await.status().as_u16());
    }
    assert!(statuses.contains(&429), "a token has a rate: {statuses:?}");
}

/// Routes that no token may use, whatever its scopes.
const PEOPLE_ONLY: &[(&str, &str)] = &[
    ("post", "/api/v1/chats/{id}/claim"),
    ("post", "/api/v1/auth/password"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/2fa"),
    ("post", "/api/v1/auth/2fa/setup"),
    ("post", "/api/v1/auth/2fa/enable"),
    ("post", "/api/v1/auth/2fa/recovery-codes"),
    ("post", "/api/v1/auth/2fa/disable"),
    ("get", "/api/v1/sandbox/customers/{wa_id}/messages"),
    ("post", "/api/v1/sandbox/customers/{wa_id}/messages"),
];

#[actix_web::test]
async fn each_scope_admits_exactly_its_routes() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let doc: Value = json_of(app.client.get(app.url("/api/v1/openapi.json"))).await;
    // (method, path) of every operation that takes a bearer token.
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("security").is_some() {
                operations.push((method.clone(), path.clone()));
            }
        }
    }
    assert!(operations.len() > 50, "{}", operations.len());

    // What each scope must admit: the table an integrator reads in README.
    let expected = |scope: &str, method: &str, path: &str| -> bool {
        let p = path.trim_start_matches("/api/v1");
        let read = method == "get";
        if PEOPLE_ONLY.contains(&(method, path)) {
            return false;
        }
        if p == "/auth/me" || scope == "admin" {
            return true;
        }
        match scope {
            "chats:read" => {
                read && (p.starts_with("/chats")
                    || p == "/scheduled"
                    || p == "/labels"
                    || p == "/media/{id}"
                    || p == "/queues"
                    || p == "/numbers"
                    || p == "/templates"
                    || p == "/canned-responses")
            }
            "chats:write" => {
                (method == "patch"
                    && (p == "/chats/{id}" || p == "/chats/{id}/messages/{message_id}"))
                    || ((method == "post" || method == "delete") && p == "/chats/{id}/snooze")
                    || (method == "post"
                        && ["transfer", "close", "reopen", "notes", "read", "handoff"]
                            .iter()
                            .any(|a| p == format!("/chats/{{id}}/{a}")))
            }
            "messages:send" => {
                (method == "post"
                    && (p == "/chats/{id}/messages"
                        || p == "/media"
                        || p == "/chats/{id}/scheduled"
                        || p == "/chats/{id}/messages/{message_id}/forward"))
                    || (method == "delete" && p == "/chats/{id}/scheduled/{scheduled_id}")
            }
            "contacts:read" => {
                read && (p == "/contacts"
                    || p == "/contacts/{key}"
                    || p == "/contacts/{key}/chats"
                    || p == "/contacts/export"
                    || p == "/contact-fields")
            }
            "contacts:write" => {
                (method == "patch" && p == "/contacts/{key}")
                    || (method == "post" && p == "/contacts/import")
            }
            "campaigns" => p.starts_with("/campaigns"),
            _ => unreachable!(),
        }
    };

    let scopes = [
        "chats:read",
        "chats:write",
        "messages:send",
        "contacts:read",
        "contacts:write",
        "campaigns",
        "admin",
    ];
    let mut wrong = Vec::new();
    for scope in scopes {
        let (secret, _) = make_token(&app, &admin, &[scope]).await;
        for (method, path) in &operations {
            let concrete = path
                .replace("{id}", "999999")
                .replace("{key}", "999999")
                .replace("{scheduled_id}", "999999")
                .replace("{message_id}", "999999")
                .replace("{delivery}", "1-1")
                .replace("{wa_id}", "5511900000000");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .send(method.clone(), &concrete, Some(&secret), &json!({}))
                .await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let refused =
                status == 401 || (status == 403 && body["error"]["code"] == "scope_missing");
            let admitted = expected(scope, method.as_str().to_lowercase().as_str(), path);
            if admitted == refused {
                wrong.push(format!("{scope} {method} {path}: {status} {body}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "scopes admit the wrong routes:\n{}",
        wrong.join("\n")
    );
}

/// The accepted deliveries' event numbers per chat, in arrival order.
fn order_per_chat(accepted: &[(String, Value)]) -> HashMap<String, Vec<u64>> {
    let mut per_chat: HashMap<String, Vec<u64>> = HashMap::new();
    for (id, payload) in accepted {
        let data = &payload["data"];
        let chat = match payload["event"].as_str().unwrap() {
            e if e.starts_with("chat.") => data["id"].as_str(),
            e if e.starts_with("message.") => data["chat_id"].as_str(),
            _ => None,
        };
        if let Some(chat) = chat {
            let seq = id.split('-').nth(1).unwrap().parse().unwrap();
            per_chat.entry(chat.to_string()).or_default().push(seq);
        }
    }
    per_chat
}

fn assert_in_order(accepted: &[(String, Value)]) {
    for (chat, seqs) in order_per_chat(accepted) {
        let mut sorted = seqs.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(seqs, sorted, "chat {chat}'s deliveries came out of order");
    }
}

/// The wamids of the customer messages the receiver accepted, with how many distinct
/// deliveries carried each.
fn delivered_messages(accepted: &[(String, Value)]) -> BTreeMap<String, usize> {
    let mut ids_per_wamid: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for (id, payload) in accepted {
        if payload["event"] == "message.created" {
            if let Some(wamid) = payload["data"]["wamid"].as_str() {
                ids_per_wamid
                    .entry(wamid.to_string())
                    .or_default()
                    .insert(id.clone());
            }
        }
    }
    ids_per_wamid
        .into_iter()
        .map(|(w, ids)| (w, ids.len()))
        .collect()
}

#[actix_web::test]
async fn webhooks_are_signed_and_each_event_arrives_once_in_chat_order_across_an_outage() {
    let app = spawn_app_with(&["--hook-retry-ms", "40"]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start().await;
    let subscription = subscribe(&app, &admin, &receiver).await;
    assert_eq!(subscription["events"], json!(["*"]));
    let sub_id = subscription["id"].as_str().unwrap().to_string();
    let list: Value = app
        .get_json("/api/v1/integrations/webhooks", &admin.access)
        .await;
    assert!(
        list["items"][0].get("secret").is_none(),
        "the secret is shown once"
    );

    let chat = app.customer_says("5511911110000", "wamid.h1", "olá").await;
    let chat_id = chat["id"].as_str().unwrap().to_string();
    app.claim(&chat_id, &admin).await;
    wait_until("the first events", Duration::from_secs(20), || async {
        let events: Vec<String> = receiver
            .accepted()
            .iter()
            .map(|(_, p)| p["event"].as_str().unwrap().to_string())
            .collect();
        let want = [
            "chat.created",
            "message.created",
            "contact.updated",
            "chat.assigned",
        ];
        if want.iter().all(|w| events.iter().any(|e| e == w)) {
            Ok(())
        } else {
            Err(format!("{events:?}"))
        }
    })
    .await;

    // The receiver goes down; the customers keep writing, the agent answers and closes.
    receiver.failing.store(true, Ordering::SeqCst);
    for i in 0..4 {
        app.customer_says("5511911110000", &format!("wamid.h2.{i}"), "mais")
            .await;
        app.customer_says("5511922220000", &format!("wamid.h3.{i}"), "outro")
            .await;
    }
    let reply = app.send_text(&chat_id, "c-1", "Já vejo", &admin).await;
    assert_eq!(reply.status(), 202);
    let close = app
        .chat_action(&chat_id, "close", &admin.access, &json!({}))
        .await;
    assert_eq!(close.status(), 200);
    let path = format!("/api/v1/integrations/webhooks/{sub_id}/deliveries");
    let log = app
        .eventually(&path, &admin.access, "failed attempts in the log", |page| {
            page["items"].as_array().unwrap().iter().any(|d| {
                d["state"] == "pending"
                    && d["log"][0]["status"] == 503
                    && d["log"][0]["response_excerpt"] == "receiver down for maintenance"
            })
        })
        .await;
    let tried = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["attempts"].as_u64() > Some(0));
    assert!(tried.unwrap()["log"][0]["latency_ms"].is_u64(), "{log}");
    receiver.failing.store(false, Ordering::SeqCst);

    let accepted = wait_until(
        "every message delivered",
        Duration::from_secs(30),
        || async {
            let accepted = receiver.accepted();
            let messages = delivered_messages(&accepted);
            let closed = accepted.iter().any(|(_, p)| p["event"] == "chat.closed");
            if messages.len() == 9 && closed {
                Ok(accepted)
            } else {
                Err(format!("{} messages, closed: {closed}", messages.len()))
            }
        },
    )
    .await;
    assert!(
        receiver.seen.lock().unwrap().refused > 0,
        "the outage was felt"
    );
    assert_eq!(receiver.seen.lock().unwrap().bad_signatures, 0);
    assert!(delivered_messages(&accepted).values().all(|n| *n == 1));
    let mut ids: Vec<&String> = accepted.iter().map(|(id, _)| id).collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "no delivery accepted twice");
    assert_in_order(&accepted);
    let agent_reply = accepted
        .iter()
        .find(|(_, p)| p["event"] == "message.created" && p["data"]["direction"] == "out");
    assert!(agent_reply.is_some(), "the agent's reply is an event too");
    let log: Value = app.get_json(&path, &admin.access).await;
    assert!(log["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["state"] == "delivered" || d["state"] == "pending"));

    // Redelivery sends the same delivery, with the same id, again.
    let first = &accepted[0].0;
    let again = app
        .post(
            &format!("{path}/{first}/redeliver"),
            Some(&admin.access),
            &json!({}),
        )
        .await;
    assert_eq!(again.status(), 202);
    wait_until("the redelivery", Duration::from_secs(20), || async {
        let n = receiver
            .accepted()
            .iter()
            .filter(|(id, _)| id == first)
            .count();
        if n == 2 {
            Ok(())
        } else {
            Err(n)
        }
    })
    .await;
}

#[actix_web::test]
async fn a_subscription_failing_too_long_is_paused_told_and_resumed() {
    let app = spawn_app_with(&["--hook-retry-ms", "40", "--hook-pause-after", "1"]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start().await;
    receiver.failing.store(true, Ordering::SeqCst);
    let subscription = subscribe(&app, &admin, &receiver).await;
    let id = subscription["id"].as_str().unwrap();
    app.customer_says("5511933330000", "wamid.p1", "oi").await;
    app.eventually(
        "/api/v1/integrations/webhooks",
        &admin.access,
        "the pause",
        |list| {
            list["items"][0]["active"] == false && list["items"][0]["paused_reason"] == "failing"
        },
    )
    .await;
    app.eventually(
        "/api/v1/audit?action=webhook.paused",
        &admin.access,
        "the audit entry",
        |a| a["items"][0]["target"] == id,
    )
    .await;
    // Paused, it still gathers what happens.
    app.customer_says("5511933330000", "wamid.p2", "ainda aqui")
        .await;

    receiver.failing.store(false, Ordering::SeqCst);
    let resume = app
        .patch(
            &format!("/api/v1/integrations/webhooks/{id}"),
            &admin.access,
            &json!({"active": true}),
        )
        .await;
    assert_eq!(resume.status(), 200);
    wait_until(
        "both messages after the resume",
        Duration::from_secs(20),
        || async {
            let messages = delivered_messages(&receiver.accepted());
            if messages.len() == 2 {
                Ok(())
            } else {
                Err(format!("{messages:?}"))
            }
        },
    )
    .await;
}

#[actix_web::test]
async fn bad_subscriptions_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for body in [
        json!({"url": "ftp://example.com/x", "events": ["*"]}),
        json!({"url": "not a url", "events": ["*"]}),
        json!({"url": "http://example.com/x", "events": []}),
        json!({"url": "http://example.com/x", "events": ["message.deleted"]}),
    ] {
        let response = app
            .post("/api/v1/integrations/webhooks", Some(&admin.access), &body)
            .await;
        assert_error(response, 400, "validation_failed").await;
    }
    let list: Value = app
        .get_json("/api/v1/integrations/webhooks", &admin.access)
        .await;
    assert_eq!(list["items"], json!([]));
}

#[actix_web::test]
async fn a_customer_opting_out_or_back_in_by_keyword_is_a_contact_updated_delivery() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let receiver = Receiver::start().await;
    subscribe(&app, &admin, &receiver).await;
    // The opt-out of each contact.updated delivered, in order.
    let opt_outs = || {
        receiver
            .accepted()
            .iter()
            .filter(|(_, p)| p["event"] == "contact.updated")
            .map(|(_, p)| p["data"]["marketing_opt_out"]["source"].clone())
            .collect::<Vec<Value>>()
    };

    app.customer_says("5511933330000", "wamid.k1", "STOP").await;
    wait_until("the opt-out delivered", Duration::from_secs(20), || async {
        let seen = opt_outs();
        match seen.iter().any(|source| source == "keyword") {
            true => Ok(()),
            false => Err(format!("{seen:?}")),
        }
    })
    .await;

    app.customer_says("5511933330000", "wamid.k2", "VOLTAR")
        .await;
    wait_until("the opt-in delivered", Duration::from_secs(20), || async {
        let seen = opt_outs();
        let out = seen.iter().position(|source| source == "keyword");
        match out.is_some_and(|at| seen[at + 1..].iter().any(Value::is_null)) {
            true => Ok(()),
            false => Err(format!("{seen:?}")),
        }
    })
    .await;
}

#[actix_web::test]
async fn a_sigkill_loses_no_delivery() {
    let receiver = Receiver::start().await;
    receiver.failing.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [
        ("WHATSAPP_APP_SECRET", APP_SECRET),
        ("ATENDE_HOOK_RETRY_MS", "40"),
        ("ATENDE_USER_RATE_LIMIT", "100000"),
        ("ATENDE_USER_RATE_LIMIT_BURST", "100000"),
    ];
    let hub = spawn_hub(&data, &env);
    let token = admin_token(&hub).await;
    let client = http_client();
    let subscription: Value = json_of(
        client
            .post(hub.url("/api/v1/integrations/webhooks"))
            .bearer_auth(&token)
            .json(&json!({"url": receiver.url, "events": ["message.created", "chat.created"]})),
    )
    .await;
    *receiver.secret.lock().unwrap() = subscription["secret"].as_str().unwrap().to_string();
    let sent = 30;
    for i in 0..sent {
        let from = format!("55119444{:05}", i % 3);
        let body = inbound(&from, &format!("wamid.k.{i}"), text("oi"));
        let response = signed_post(&hub, APP_SECRET, &body).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    // At once, while deliveries are pending (the receiver is down) or not yet made.
    hub.kill_9();

    let hub = spawn_hub(&data, &env);
    receiver.failing.store(false, Ordering::SeqCst);
    let accepted = wait_until(
        "every message delivered after the kill",
        Duration::from_secs(30),
        || async {
            let accepted = receiver.accepted();
            let messages = delivered_messages(&accepted);
            if messages.len() == sent {
                Ok(accepted)
            } else {
                Err(format!("{} of {sent}", messages.len()))
            }
        },
    )
    .await;
    assert!(
        delivered_messages(&accepted).values().all(|n| *n == 1),
        "one delivery id per event"
    );
    // Each chat's chat.created goes before its messages, so it has arrived by now.
    let mut created: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, payload) in accepted
        .iter()
        .filter(|(_, p)| p["event"] == "chat.created")
    {
        let ids = created
            .entry(payload["data"]["id"].as_str().unwrap())
            .or_default();
        if !ids.contains(&id.as_str()) {
            ids.push(id);
        }
    }
    assert_eq!(created.len(), 3, "{created:?}");
    assert!(created.values().all(|ids| ids.len() == 1), "{created:?}");
    assert_in_order(&accepted);
    assert_eq!(receiver.seen.lock().unwrap().bad_signatures, 0);
    drop(hub);
}

#[actix_web::test]
async fn the_events_a_crash_kept_from_the_webhooks_are_delivered_once_after_the_restart() {
    // A SIGKILL can fall after a change is durable and before its events are logged. The
    // test leaves the store as such a crash does: a chat closed with a message, both in
    // the stopped hub's store with the intents their write carries, the events nowhere.
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("WHATSAPP_APP_SECRET", APP_SECRET)];
    let hub = spawn_hub(&data, &env);
    let token = admin_token(&hub).await;
    let subscription: Value = json_of(
        http_client()
            .post(hub.url("/api/v1/integrations/webhooks"))
            .bearer_auth(&token)
            .json(&json!({"url": receiver.url, "events": ["message.created", "chat.closed"]})),
    )
    .await;
    *receiver.secret.lock().unwrap() = subscription["secret"].as_str().unwrap().to_string();
    let body = inbound("5511944400001", "wamid.logged", text("oi"));
    let response = signed_post(&hub, APP_SECRET, &body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let closed = |accepted: &[(String, Value)]| {
        accepted
            .iter()
            .filter(|(_, p)| p["event"] == "chat.closed")
            .map(|(id, p)| (id.clone(), p["data"]["id"].as_str().unwrap().to_string()))
            .collect::<Vec<_>>()
    };
    let delivered = |wamids: &'static [&'static str], closings: usize| {
        let receiver = &receiver;
        move || async move {
            let accepted = receiver.accepted();
            let messages = delivered_messages(&accepted);
            let closings_seen = closed(&accepted).len();
            if wamids.iter().all(|w| messages.contains_key(*w)) && closings_seen >= closings {
                Ok(accepted)
            } else {
                Err(format!("{messages:?}, {closings_seen} closings"))
            }
        }
    };
    wait_until(
        "the first delivery",
        Duration::from_secs(10),
        delivered(&["wamid.logged"], 0),
    )
    .await;
    hub.kill_9();

    let chat = {
        let store = atende_data::Store::open(&data).unwrap();
        let filter = atende_data::ChatFilter {
            limit: 1,
            ..Default::default()
        };
        let before = store.chats(&filter).unwrap().chats.remove(0);
        let now = chrono::Utc::now();
        let id = atende_data::MessageId(store.new_id().unwrap());
        let message = atende_data::Message {
            wamid: Some("wamid.unlogged".into()),
            text: Some("a crash kept my event out".into()),
            ..atende_data::Message::new(
                id,
                before.id,
                atende_data::Direction::In,
                "text",
                atende_data::MessageStatus::Received,
                now,
            )
        };
        let mut after = before.clone();
        after.status = atende_data::ChatStatus::Closed;
        after.closed_at = Some(now);
        after.pending_since = None;
        after.updated_at = now;
        let intent = |name: &str| atende_data::Intent {
            name: name.into(),
            change: None,
            chat_id: Some(before.id),
            message_id: None,
            contact_id: None,
            data: None,
        };
        let mut write = atende_data::Write::default();
        write
            .chat(Some(&before), &after)
            .message(&message)
            .intent(
                store.new_id().unwrap(),
                &atende_data::Intent {
                    change: Some("closed".into()),
                    ..intent("chat.updated")
                },
            )
            .intent(
                store.new_id().unwrap(),
                &atende_data::Intent {
                    message_id: Some(id),
                    ..intent("message.created")
                },
            );
        store.commit(write).unwrap();
        store.flush_blocking().unwrap();
        before.id.to_string()
    };

    let mut hub = spawn_hub(&data, &env);
    let accepted = wait_until(
        "the events of the unlogged change delivered",
        Duration::from_secs(30),
        delivered(&["wamid.logged", "wamid.unlogged"], 1),
    )
    .await;
    let messages = delivered_messages(&accepted);
    assert_eq!(messages["wamid.unlogged"], 1);
    assert_eq!(
        messages["wamid.logged"], 1,
        "a logged message is not announced again"
    );
    let closings = closed(&accepted);
    assert_eq!(closings.len(), 1, "{closings:?}");
    assert_eq!(closings[0].1, chat);
    let thread = hub
        .get_json(&format!("/api/v1/chats/{chat}/messages"), &token)
        .await;
    let texts: Vec<&str> = thread["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["oi", "a crash kept my event out"]);
    // Their deliveries made, the intents are gone: the next start publishes nothing again.
    assert!(hub.terminate().success());
    let store = atende_data::Store::open(&data).unwrap();
    assert_eq!(store.intents_before(u64::MAX).unwrap(), []);
}

/// Gives token `id` these bot rules.
async fn set_bot(app: &TestApp, admin: &Tokens, id: &str, bot: Value) -> reqwest::Response {
    let path = format!("/api/v1/tokens/{id}");
    app.patch(
        &path,
        &admin.access,
        &json!({"name": "Typebot", "bot": bot}),
    )
    .await
}

/// Makes a token a bot of the sandbox number with these rules; returns its secret and id.
async fn make_bot(app: &TestApp, admin: &Tokens, bot: Value) -> (String, String) {
    let (secret, view) =
        make_token(app, admin, &["chats:read", "chats:write", "messages:send"]).await;
    let id = view["id"].as_str().unwrap().to_string();
    let response = set_bot(app, admin, &id, bot).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["bot"]["numbers"], json!([NUMBER]));
    (secret, id)
}

#[actix_web::test]
async fn a_bot_answers_with_buttons_and_hands_over_with_its_transcript() {
    let app = spawn_app_with(&["--hook-retry-ms", "40"]).await;
    let admin = app.admin().await;
    let queue = app.queue(&admin, "Vendas").await;
    let (bot, bot_id) = make_bot(
        &app,
        &admin,
        json!({"numbers": [NUMBER], "timeout_seconds": 600}),
    )
    .await;
    let receiver = Receiver::start().await;
    let response = app
        .post(
            "/api/v1/integrations/webhooks",
            Some(&admin.access),
            &json!({"url": receiver.url, "events": ["message.created"], "bot_id": bot_id}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    *receiver.secret.lock().unwrap() = body["secret"].as_str().unwrap().to_string();
    let agent = app.user(&admin, "vendas@test.local", "agent").await;
    let agent_id = agent.id();
    let set_queues = app
        .patch(
            &format!("/api/v1/users/{agent_id}"),
            &admin.access,
            &json!({"queue_ids": [queue]}),
        )
        .await;
    assert_eq!(set_queues.status(), 200);

    // The customer writes: the bot holds the chat, the people's queues do not see it.
    let chat = app.customer_says("5511955550000", "wamid.b1", "oi").await;
    let chat_id = chat["id"].as_str().unwrap().to_string();
    assert_eq!(chat["status"], "bot");
    assert_eq!(chat["bot_id"], bot_id.as_str());
    let seen: Value = app.get_json("/api/v1/chats", &agent.access).await;
    assert_eq!(seen["items"], json!([]), "no agent sees a bot's chat");
    let heard = wait_until(
        "the bot hears the customer",
        Duration::from_secs(20),
        || async {
            let accepted = receiver.accepted();
            match accepted
                .iter()
                .find(|(_, p)| p["data"]["wamid"] == "wamid.b1")
            {
                Some((_, p)) => Ok(p.clone()),
                None => Err(accepted.len()),
            }
        },
    )
    .await;
    assert_eq!(heard["data"]["chat"]["status"], "bot");

    // It answers with buttons, through the API.
    let question = app.chat_action(&chat_id, "messages", &bot, &json!({"client_id": "q1", "type": "interactive", "interactive": {
                "kind": "buttons", "body": "Olá! Como posso ajudar?",
                "buttons": [{"id": "pedido", "title": "Meu pedido"}, {"id": "humano", "title": "Falar com vendas"}]}})).await;
    assert_eq!(question.status(), 202);
    let question: Value = question.json().await.unwrap();
    let question_id = question["id"].as_str().unwrap().to_string();
    let sent = app.sent_of_type("interactive").await;
    assert_eq!(sent["interactive"]["type"], "button");
    assert_eq!(
        sent["interactive"]["action"]["buttons"][1]["reply"]["id"],
        "humano"
    );
    let messages_path = format!("/api/v1/chats/{chat_id}/messages");
    app.eventually(&messages_path, &admin.access, "the question sent", |page| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == question_id.as_str() && m["wamid"].is_string())
    })
    .await;

    // The customer taps "Falar com vendas"; the bot hears which button.
    app.customer_taps(&admin, "5511955550000", &json!(question_id), "humano")
        .await;
    wait_until("the bot hears the tap", Duration::from_secs(20), || async {
        let accepted = receiver.accepted();
        let tapped = accepted.iter().any(|(_, p)| {
            p["data"]["details"]["interactive"]["button_reply"]["id"] == "humano"
                && p["data"]["reply_to"]["message_id"] == question_id.as_str()
        });
        if tapped {
            Ok(())
        } else {
            Err(accepted.len())
        }
    })
    .await;

    // It hands over; the chat waits in the queue, and the agent reads the transcript.
    let handoff = app
        .chat_action(
            &chat_id,
            "handoff",
            &bot,
            &json!({"queue_id": queue, "note": "Cliente quer falar com vendas"}),
        )
        .await;
    assert_eq!(handoff.status(), 200);
    let handed: Value = handoff.json().await.unwrap();
    assert_eq!(handed["status"], "pending");
    assert_eq!(handed["queue_id"], queue.as_str());
    let waiting: Value = app
        .get_json("/api/v1/chats?status=pending", &agent.access)
        .await;
    assert_eq!(
        waiting["items"][0]["id"],
        chat_id.as_str(),
        "the chat waits in the queue"
    );
    let thread: Value = app.get_json(&messages_path, &agent.access).await;
    let items = thread["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["text", "interactive", "interactive", "note"],
        "{thread}"
    );
    assert_eq!(items[1]["author_name"], "Typebot");
    assert_eq!(items[2]["text"], "Falar com vendas");
    assert_eq!(items[3]["text"], "Cliente quer falar com vendas");
    let again = app
        .chat_action(&chat_id, "handoff", &bot, &json!({"queue_id": queue}))
        .await;
    assert_error(again, 409, "chat_not_with_bot").await;
    // Nor may the bot go on talking: the chat is the people's now.
    let requests = app.sim.sent().len();
    let late = json!({"client_id": "bot-late", "type": "text", "text": "Posso ajudar?"});
    let talking = app.chat_action(&chat_id, "messages", &bot, &late).await;
    assert_error(talking, 409, "chat_not_with_bot").await;
    assert_eq!(app.sim.sent().len(), requests, "nothing went out");
    // Only the people hear of it now: the bot's subscription got nothing after the hand-off.
    let after_handoff = app
        .send_text(&chat_id, "c-2", "Oi, sou da equipe de vendas", &admin)
        .await;
    assert_eq!(after_handoff.status(), 202);
    let bot_heard = receiver.accepted().len();
    app.customer_says("5511955550000", "wamid.b2", "obrigado")
        .await;
    let log: Value = app
        .get_json("/api/v1/integrations/webhooks", &admin.access)
        .await;
    assert_eq!(log["items"][0]["pending"], 0);
    assert_eq!(receiver.accepted().len(), bot_heard);
}

#[actix_web::test]
async fn a_silent_bot_hands_over_by_itself() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let queue = app.queue(&admin, "Suporte").await;
    make_bot(
        &app,
        &admin,
        json!({"numbers": [NUMBER], "timeout_seconds": 1, "fallback_queue_id": queue}),
    )
    .await;
    let chat = app
        .customer_says("5511966660000", "wamid.s1", "alguém?")
        .await;
    assert_eq!(chat["status"], "bot");
    let path = format!("/api/v1/chats/{}", chat["id"].as_str().unwrap());
    let chat = app
        .eventually(&path, &admin.access, "the hand-off", |c| {
            c["status"] == "pending"
        })
        .await;
    assert_eq!(chat["queue_id"], queue.as_str());
}

#[actix_web::test]
async fn bots_are_refused_what_they_may_not_do() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (reader, view) = make_token(&app, &admin, &["chats:read"]).await;
    let id = view["id"].as_str().unwrap();
    let not_a_bot = set_bot(&app, &admin, id, json!({"numbers": [NUMBER]})).await;
    let body = assert_error(not_a_bot, 409, "bot_scopes_missing").await;
    assert!(body["error"]["fields"]["bot"].is_string());
    make_bot(&app, &admin, json!({"numbers": [NUMBER]})).await;
    let (_, other) = make_token(&app, &admin, &["chats:write", "messages:send"]).await;
    let other = other["id"].as_str().unwrap();
    let taken = set_bot(&app, &admin, other, json!({"numbers": [NUMBER]})).await;
    assert_error(taken, 409, "number_has_bot").await;
    // A chat no bot holds is not handed off, and a read-only token may not try.
    let chat = app.customer_says("5511977770000", "wamid.r1", "oi").await;
    let chat_id = chat["id"].as_str().unwrap();
    let path = format!("/api/v1/chats/{chat_id}/handoff");
    assert_error(
        app.post(&path, Some(&reader), &json!({"queue_id": null}))
            .await,
        403,
        "scope_missing",
    )
    .await;
    let handoff = app
        .post(&path, Some(&admin.access), &json!({"queue_id": null}))
        .await;
    assert_eq!(handoff.status(), 200, "staff may take a chat from a bot");
    let again = app
        .post(&path, Some(&admin.access), &json!({"queue_id": null}))
        .await;
    assert_error(again, 409, "chat_not_with_bot").await;
}

/// Turns the survey on (with `template` for chats whose window has closed).
async fn survey_on(app: &TestApp, admin: &Tokens, template: Value) {
    let mut settings: Value = app.get_json("/api/v1/settings", &admin.access).await;
    settings["csat"] =
        json!({"enabled": true, "question": "Como foi o atendimento?", "template": template});
    let response = app
        .send(
            Method::PUT,
            "/api/v1/settings",
            Some(&admin.access),
            &settings,
        )
        .await;
    assert_eq!(response.status(), 200);
}

/// The admin takes and finishes chat `id`.
async fn claim_and_close(app: &TestApp, admin: &Tokens, id: &str) {
    assert_eq!(app.claim(id, admin).await.status(), 200);
    let close = app
        .chat_action(id, "close", &admin.access, &json!({}))
        .await;
    assert_eq!(close.status(), 200);
}

#[actix_web::test]
async fn csat_inside_the_window_is_a_list_and_its_answer_is_kept_told_and_reported() {
    let app = spawn_app_with(&["--hook-retry-ms", "40"]).await;
    let admin = app.admin().await;
    survey_on(
        &app,
        &admin,
        json!({"name": "pesquisa_satisfacao", "language": "pt_BR"}),
    )
    .await;
    let receiver = Receiver::start().await;
    let response = app
        .post(
            "/api/v1/integrations/webhooks",
            Some(&admin.access),
            &json!({"url": receiver.url, "events": ["csat.answered"]}),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    *receiver.secret.lock().unwrap() = body["secret"].as_str().unwrap().to_string();

    let chat = app.customer_says("5511988880000", "wamid.c1", "oi").await;
    let chat_id = chat["id"].as_str().unwrap().to_string();
    let queue = app.queue(&admin, "Suporte").await;
    let transfer = app
        .chat_action(
            &chat_id,
            "transfer",
            &admin.access,
            &json!({"queue_id": queue}),
        )
        .await;
    assert_eq!(transfer.status(), 200);
    claim_and_close(&app, &admin, &chat_id).await;
    let sent = app.sent_of_type("interactive").await;
    assert_eq!(
        sent["interactive"]["type"], "list",
        "a list: reply buttons hold only three"
    );
    let rows = sent["interactive"]["action"]["sections"][0]["rows"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 5);
    assert!(app.sim.sent().iter().all(|m| m.body["type"] != "template"));
    let path = format!("/api/v1/chats/{chat_id}/messages");
    let thread = app
        .eventually(&path, &admin.access, "the survey sent", |page| {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["type"] == "interactive" && m["wamid"].is_string())
        })
        .await;
    let survey = thread["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["type"] == "interactive")
        .unwrap()
        .clone();

    app.customer_taps(&admin, "5511988880000", &json!(survey["id"]), "csat:4")
        .await;
    let chat: Value = app
        .get_json(&format!("/api/v1/chats/{chat_id}"), &admin.access)
        .await;
    assert_eq!(
        chat["status"], "closed",
        "answering the survey reopens nothing"
    );
    assert_eq!(chat["csat"]["rating"], 4);
    assert_eq!(chat["csat"]["agent_id"], admin.user["id"]);
    let thread = app
        .get_json(
            &format!("/api/v1/chats/{chat_id}/messages?activity=true"),
            &admin.access,
        )
        .await;
    let line = thread["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["details"]["activity"] == "csat");
    assert_eq!(
        line.expect("the answer is a line of the thread")["details"]["rating"],
        4
    );
    let chats: Value = app.get_json("/api/v1/chats", &admin.access).await;
    assert_eq!(
        chats["items"].as_array().unwrap().len(),
        1,
        "no new chat either"
    );
    let told = wait_until("csat.answered", Duration::from_secs(20), || async {
        let accepted = receiver.accepted();
        match accepted.iter().find(|(_, p)| p["event"] == "csat.answered") {
            Some((_, p)) => Ok(p.clone()),
            None => Err(accepted.len()),
        }
    })
    .await;
    assert_eq!(told["data"]["rating"], 4);
    assert_eq!(told["data"]["chat_id"], chat_id.as_str());
    let report: Value = app.get_json("/api/v1/reports/summary", &admin.access).await;
    assert_eq!(report["csat_responses"], 1);
    assert_eq!(report["csat_average"], 4.0);
    assert_eq!(report["per_agent"][0]["csat_average"], 4.0);
    assert_eq!(report["per_queue"][0]["queue_id"], queue.as_str());
    assert_eq!(report["per_queue"][0]["csat_average"], 4.0);

    // The hub thanks them; a reply to the thanks is the comment.
    let thread = app
        .eventually(&path, &admin.access, "the thanks sent", |page| {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["details"]["automatic"] == "csat_thanks" && m["wamid"].is_string())
        })
        .await;
    let thanks = thread["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["details"]["automatic"] == "csat_thanks")
        .unwrap()["id"]
        .clone();
    let comment = app
        .post(
            "/api/v1/sandbox/customers/5511988880000/messages",
            Some(&admin.access),
            &json!({"type": "text", "text": "Atendente muito atenciosa", "reply_to": thanks}),
        )
        .await;
    assert_eq!(comment.status(), 201);
    let chat: Value = app
        .get_json(&format!("/api/v1/chats/{chat_id}"), &admin.access)
        .await;
    assert_eq!(chat["csat"]["comment"], "Atendente muito atenciosa");
    assert_eq!(chat["status"], "closed");
    wait_until(
        "csat.answered with the comment",
        Duration::from_secs(20),
        || async {
            let accepted = receiver.accepted();
            let commented = accepted
                .iter()
                .any(|(_, p)| p["data"]["comment"] == "Atendente muito atenciosa");
            if commented {
                Ok(())
            } else {
                Err(accepted.len())
            }
        },
    )
    .await;
    // A second answer to the same survey changes nothing.
    app.customer_taps(&admin, "5511988880000", &json!(survey["id"]), "csat:1")
        .await;
    let chat: Value = app
        .get_json(&format!("/api/v1/chats/{chat_id}"), &admin.access)
        .await;
    assert_eq!(chat["csat"]["rating"], 4);
    let chats: Value = app.get_json("/api/v1/chats", &admin.access).await;
    assert_eq!(
        chats["items"].as_array().unwrap().len(),
        1,
        "a second tap opens nothing"
    );
    let report: Value = app.get_json("/api/v1/reports/summary", &admin.access).await;
    assert_eq!(report["csat_responses"], 1, "nor counts twice");
}

#[actix_web::test]
async fn csat_outside_the_window_is_the_template_and_never_free_text() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    survey_on(
        &app,
        &admin,
        json!({"name": "pesquisa_satisfacao", "language": "pt_BR"}),
    )
    .await;
    let yesterday = chrono::Utc::now().timestamp() - 25 * 3600;
    let body = inbound_at("5511999990001", "wamid.o1", text("oi, ontem"), yesterday);
    assert_eq!(app.webhook(&body).await.status(), 200);
    let chats: Value = app.get_json("/api/v1/chats", &admin.access).await;
    let chat_id = chats["items"][0]["id"].as_str().unwrap().to_string();
    claim_and_close(&app, &admin, &chat_id).await;
    let sent = app.sent_of_type("template").await;
    assert_eq!(sent["template"]["name"], "pesquisa_satisfacao");
    assert!(app
        .sim
        .sent()
        .iter()
        .all(|m| m.body["type"] != "interactive" && m.body["type"] != "text"));

    // Without a template, a chat outside the window is not asked at all.
    survey_on(&app, &admin, Value::Null).await;
    let body = inbound_at("5511999990002", "wamid.o2", text("oi"), yesterday);
    assert_eq!(app.webhook(&body).await.status(), 200);
    let chats: Value = app
        .get_json("/api/v1/chats?q=5511999990002", &admin.access)
        .await;
    let second = chats["items"][0]["id"].as_str().unwrap().to_string();
    claim_and_close(&app, &admin, &second).await;
    let thread: Value = app
        .get_json(&format!("/api/v1/chats/{second}/messages"), &admin.access)
        .await;
    assert_eq!(thread["items"].as_array().unwrap().len(), 1, "{thread}");
}
