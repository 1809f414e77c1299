//! The load: signed webhooks posted over keep-alive HTTP connections, either as fast as
//! the server answers (closed loop, `concurrency` posts in flight) or at a fixed rate
//! (open loop: post n is due at start + n/rate, and its latency counts from then, so a
//! server that falls behind is not flattered), and agent WebSockets that time each
//! message event against the moment its webhook left.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use anyhow::{bail, Context};
use atende_web::sandbox::payloads::{inbound_webhook, signed};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::hub::{business, APP_SECRET};
use super::stats::Samples;

/// The clock every timestamp in message texts counts from.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds since [`epoch`].
fn now_micros() -> u64 {
    epoch().elapsed().as_micros() as u64
}

/// The signed webhook of message `n` from one of `customers`, stamped with the time it
/// leaves: its text is "bench <n> <microseconds since epoch>".
pub fn webhook(n: u64, customers: u64) -> (Vec<u8>, String) {
    let wa_id = format!("5511{:09}", n % customers);
    let message = json!({
        "from": wa_id,
        "id": format!("wamid.bench.{n}.{}", now_micros()),
        "timestamp": chrono::Utc::now().timestamp().to_string(),
        "type": "text",
        "text": {"body": format!("bench {n} {}", now_micros())},
    });
    signed(
        APP_SECRET,
        &inbound_webhook(&business(), &wa_id, "Cliente", message),
    )
}

/// Post n's body and `X-Hub-Signature-256`.
pub type Webhooks = Arc<dyn Fn(u64) -> (Bytes, String) + Send + Sync>;

/// Webhooks made as they are posted, numbered from `first`, each stamped with the time it
/// leaves (see [`webhook`]).
pub fn stamped(first: u64, customers: u64) -> Webhooks {
    Arc::new(move |n| {
        let (body, signature) = webhook(first + n, customers);
        (body.into(), signature)
    })
}

/// `count` distinct signed webhooks made before the load starts, as wrk posts prepared
/// bodies: signing and JSON then take no CPU from the server measured. Post n gets
/// webhook `n % count`, so a run posts at most `count` (more would be duplicates).
pub fn presigned(count: u64, customers: u64) -> Webhooks {
    let bodies: Vec<(Bytes, String)> = (0..count)
        .map(|n| {
            let (body, signature) = webhook(n, customers);
            (body.into(), signature)
        })
        .collect();
    Arc::new(move |n| bodies[(n % count) as usize].clone())
}

/// What a load run got.
#[derive(Default)]
pub struct Outcome {
    pub ok: u64,
    pub failed: u64,
    /// Why they failed: a status code, or the client's error, with how many each.
    pub reasons: std::collections::BTreeMap<String, u64>,
    pub elapsed: Duration,
    pub latency: Samples,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How to post.
#[derive(Clone, Copy)]
pub struct Pace {
    pub concurrency: usize,
    pub duration: Duration,
    /// None: as fast as answered.
    pub rate: Option<f64>,
    /// Stop after this many posts.
    pub limit: Option<u64>,
}

/// An error and its causes, "error: cause: cause".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Posts `webhooks` to `url` at `pace`.
pub async fn post_webhooks(url: &str, webhooks: Webhooks, pace: Pace) -> anyhow::Result<Outcome> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(pace.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let start = Instant::now();
    let deadline = start + pace.duration;
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..pace.concurrency {
        let (client, url, next) = (client.clone(), url.to_string(), next.clone());
        let webhooks = webhooks.clone();
        tasks.push(tokio::spawn(async move {
            let mut outcome = Outcome::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let due = match pace.rate {
                    Some(rate) => start + Duration::from_secs_f64(n as f64 / rate),
                    None => Instant::now(),
                };
                if due >= deadline || pace.limit.is_some_and(|limit| n >= limit) {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let (body, signature) = webhooks(n);
                let sent = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => {
                        outcome.ok += 1;
                        outcome.latency.push(due.elapsed());
                    }
                    failed => {
                        outcome.failed += 1;
                        let reason = match failed {
                            Ok(response) => response.status().to_string(),
                            Err(error) => error_chain(&error),
                        };
                        *outcome.reasons.entry(reason).or_default() += 1;
                    }
                }
            }
            outcome
        }));
    }
    let mut total = Outcome::default();
    for task in tasks {
        let outcome = task.await?;
        total.ok += outcome.ok;
        total.failed += outcome.failed;
        for (reason, n) in outcome.reasons {
            *total.reasons.entry(reason).or_default() += n;
        }
        total.latency.extend(outcome.latency);
    }
    total.elapsed = start.elapsed();
    Ok(total)
}

/// Signed-in agent sockets that time `message.created` events while `recording`.
pub struct Agents {
    pub recording: Arc<AtomicBool>,
    pub latency: Arc<Mutex<Samples>>,
    pub events: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Agents {
    /// One socket per token, each signed in and ready.
    pub async fn connect(ws_url: &str, tokens: &[String]) -> anyhow::Result<Agents> {
        let mut agents = Agents {
            recording: Arc::new(AtomicBool::new(false)),
            latency: Arc::new(Mutex::new(Samples::default())),
            events: Arc::new(AtomicU64::new(0)),
            tasks: Vec::new(),
        };
        for token in tokens {
            let mut socket = signed_in(ws_url, token).await?;
            let (recording, latency, events) = (
                agents.recording.clone(),
                agents.latency.clone(),
                agents.events.clone(),
            );
            agents.tasks.push(tokio::spawn(async move {
                while let Some(Ok(frame)) = socket.next().await {
                    let Message::Text(text) = frame else { continue };
                    let Some(sent_at) = bench_stamp(&text) else {
                        continue;
                    };
                    events.fetch_add(1, Ordering::Relaxed);
                    if recording.load(Ordering::Relaxed) {
                        let micros = now_micros().saturating_sub(sent_at);
                        latency.lock().unwrap().push(Duration::from_micros(micros));
                    }
                }
            }));
        }
        Ok(agents)
    }
}

impl Drop for Agents {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

/// The send time in a `message.created` event of a bench message. Read off the text
/// without parsing the JSON: at tens of thousands of frames a second, the load's own CPU
/// is taken from the hub it measures.
fn bench_stamp(frame: &str) -> Option<u64> {
    if !frame.contains(r#""event":"message.created""#) {
        return None;
    }
    let text = frame.split(r#""text":"bench "#).nth(1)?;
    let stamp = text.split(' ').nth(1)?;
    stamp.split('"').next()?.parse().ok()
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket that sent its auth frame and got `ready`.
pub async fn signed_in(ws_url: &str, token: &str) -> anyhow::Result<Socket> {
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .context("cannot open the WebSocket")?;
    let auth = json!({"type": "auth", "token": token, "resume_from": null});
    socket.send(Message::text(auth.to_string())).await?;
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(frame) = socket.next().await {
            match frame? {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text)?;
                    if value["type"] == "ready" {
                        return Ok(());
                    }
                }
                Message::Close(reason) => bail!("the socket closed before ready: {reason:?}"),
                _ => {}
            }
        }
        bail!("the socket closed before ready")
    })
    .await;
    match ready {
        Ok(result) => result.map(|()| socket),
        Err(_) => bail!("no ready frame within 30 s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_is_read_back_from_a_message_event() {
        let frame = json!({"type": "event", "seq": 3, "event": "message.created",
            "data": {"text": "bench 7 123456"}});
        assert_eq!(bench_stamp(&frame.to_string()), Some(123456));
        let other =
            json!({"type": "event", "event": "chat.updated", "data": {"text": "bench 7 1"}});
        assert_eq!(bench_stamp(&other.to_string()), None);
    }
}
