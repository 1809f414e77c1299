//! Crash safety: the real binary under webhook and reply load, killed with SIGKILL at
//! random moments and started again, round after round. Then every webhook answered 200
//! is stored exactly once, every reply answered 202 reached the Cloud API exactly once,
//! and the database opened every time.
//!
//! `ATENDE_CRASH_ROUNDS` sets the number of kills (8 by default, for CI); the full proof
//! is `ATENDE_CRASH_ROUNDS=100 cargo test --release --test api crash -- --nocapture`.
//! `ATENDE_CRASH_SEED` replays a run (the seed is printed).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::helpers::*;

const CUSTOMERS: usize = 6;
const WEBHOOK_SENDERS: usize = 4;
const REPLY_SENDERS: usize = 2;
/// Seconds a send in doubt waits for its status webhook before it is sent again.
const RECOVERY_WAIT: &str = "3";

/// A small deterministic generator, so that a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What the load got answered: these must all survive.
#[derive(Default)]
struct Answered {
    webhooks: Mutex<BTreeSet<String>>,
    replies: Mutex<BTreeSet<String>>,
}

#[actix_web::test]
async fn sigkill_under_load_loses_and_duplicates_nothing() {
    let rounds: usize = env_number("ATENDE_CRASH_ROUNDS", 8);
    let seed: u64 = env_number(
        "ATENDE_CRASH_SEED",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1,
    );
    println!("crash test: {rounds} rounds, ATENDE_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cloud = ExternalCloud::start(RECOVERY_WAIT).await;
    let sim = &cloud.sim;
    let env = cloud.env();

    // The customers write first, and the admin takes every chat, so replies may go out.
    let hub = spawn_hub(&data, &env);
    let token = admin_token(&hub).await;
    let customers: Vec<String> = (0..CUSTOMERS).map(|i| format!("55119{i:08}")).collect();
    for (i, customer) in customers.iter().enumerate() {
        let body = inbound(customer, &format!("wamid.first.{i}"), text("oi"));
        let response = signed_post(&hub, APP_SECRET, &body).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let chats = all_chats(&hub, &token).await;
    assert_eq!(chats.len(), CUSTOMERS);
    let client = http_client();
    for id in &chats {
        let claim = hub.url(&format!("/api/v1/chats/{id}/claim"));
        let response = client.post(claim).bearer_auth(&token).send().await.unwrap();
        assert!(response.status().is_success());
    }
    hub.kill_9();

    let answered = Arc::new(Answered::default());
    let counter = Arc::new(AtomicU64::new(0));
    for round in 0..rounds {
        // spawn_hub fails the test if the hub does not come up: the database must open.
        let hub = spawn_hub(&data, &env);
        let stop = Arc::new(AtomicBool::new(false));
        let mut load = Vec::new();
        for _ in 0..WEBHOOK_SENDERS {
            let (stop, answered, counter) = (stop.clone(), answered.clone(), counter.clone());
            let (url, customers) = (hub.url("/api/v1/webhooks/whatsapp"), customers.clone());
            load.push(actix_web::rt::spawn(async move {
                let client = http_client();
                while !stop.load(Ordering::Relaxed) {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let wamid = format!("wamid.crash.{n}");
                    let customer = &customers[n as usize % customers.len()];
                    let body = inbound(customer, &wamid, text(&wamid));
                    if post_signed(&client, &url, &body).await == Some(200) {
                        answered.webhooks.lock().unwrap().insert(wamid);
                    }
                }
            }));
        }
        for _ in 0..REPLY_SENDERS {
            let (stop, answered, counter) = (stop.clone(), answered.clone(), counter.clone());
            let (chats, token) = (chats.clone(), token.clone());
            let base = hub.url("/api/v1/chats");
            load.push(actix_web::rt::spawn(async move {
                let client = http_client();
                while !stop.load(Ordering::Relaxed) {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let text = format!("reply-{n}");
                    let chat = &chats[n as usize % chats.len()];
                    let body = json!({"client_id": text, "type": "text", "text": text});
                    let sent = client
                        .post(format!("{base}/{chat}/messages"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await;
                    if sent.is_ok_and(|r| r.status() == 202) {
                        answered.replies.lock().unwrap().insert(text);
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(100 + rng.below(600))).await;
        hub.kill_9();
        stop.store(true, Ordering::Relaxed);
        for task in load {
            task.await.unwrap();
        }
        println!(
            "round {round}: {} webhooks and {} replies answered so far",
            answered.webhooks.lock().unwrap().len(),
            answered.replies.lock().unwrap().len()
        );
    }

    // The last life: nothing is killed, so everything left in the outbox goes out.
    let hub = spawn_hub(&data, &env);
    let webhooks = answered.webhooks.lock().unwrap().clone();
    let replies = answered.replies.lock().unwrap().clone();
    assert!(!webhooks.is_empty() && !replies.is_empty(), "the load ran");

    let deadline = Instant::now() + Duration::from_secs(120);
    let sent = loop {
        let sent = sent_replies(sim);
        if replies.iter().all(|r| sent.contains_key(r)) {
            break sent;
        }
        let missing = replies.iter().filter(|r| !sent.contains_key(*r)).count();
        assert!(
            Instant::now() < deadline,
            "{missing} replies answered 202 never reached the Cloud API (seed {seed})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let twice: Vec<_> = sent.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "sent more than once: {twice:?} (seed {seed})"
    );

    let stored = stored_inbound(&hub, &token, &chats).await;
    let missing: Vec<_> = webhooks
        .iter()
        .filter(|w| !stored.contains_key(*w))
        .collect();
    assert!(
        missing.is_empty(),
        "webhooks answered 200 but lost: {missing:?} (seed {seed})"
    );
    let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "stored more than once: {twice:?} (seed {seed})"
    );
    println!(
        "crash test: {rounds} kills; {} webhooks and {} replies answered, none lost or doubled",
        webhooks.len(),
        replies.len()
    );
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Posts a signed webhook; the status, or None when the hub did not answer.
async fn post_signed(client: &reqwest::Client, url: &str, body: &Value) -> Option<u16> {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = atende_actors::whatsapp::signature::sign(APP_SECRET.as_bytes(), &bytes);
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(bytes)
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}
