//! `atende bench outbound`: agent replies posted through the API, sent by the hub to a
//! simulated Cloud API (in this process, so it timestamps each request on the same clock)
//! at the configured rate limit: sustained rate, none lost, none duplicated, and the
//! latency from the 202 to the request at the Cloud API at half the limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use atende_web::sandbox::{CloudApiSim, SimConfig};
use serde_json::json;

use super::hub::{Hub, APP_SECRET, PHONE_NUMBER_ID};
use super::load::{post_webhooks, stamped, Pace};
use super::stats::{verdict, Samples};

const SIM_TOKEN: &str = "bench-cloud-token";

#[derive(clap::Args, Debug, Clone)]
pub struct OutboundArgs {
    /// The business number's rate limit (WHATSAPP_RATE_LIMIT), messages per second.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub rate: u32,
    /// Seconds of sends at the limit: rate x seconds replies are queued.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,
    /// Chats the replies go to, round robin.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10000))]
    pub chats: u64,
}

pub async fn run(args: OutboundArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = SimConfig::local(SIM_TOKEN, APP_SECRET);
    config.phone_number_id = PHONE_NUMBER_ID.into();
    let sim = start_sim(config)?;
    let rate = args.rate.to_string();
    let hub = Hub::start(
        &dir.path().join("hub"),
        Some((&sim.base_url(), SIM_TOKEN)),
        &[("WHATSAPP_RATE_LIMIT", rate)],
    )
    .await?;
    sim.set_webhook_url(hub.url("/api/v1/webhooks/whatsapp"));
    println!(
        "Outbound: rate limit {}/s, {} replies over {} chats",
        args.rate,
        u64::from(args.rate) * args.seconds,
        args.chats
    );

    let chats = claimed_chats(&hub, args.chats).await?;

    // Sustained: everything queued at once; the hub sends at the limit.
    let total = u64::from(args.rate) * args.seconds;
    let sustained = Pace {
        concurrency: 32,
        duration: Duration::from_secs(3600),
        rate: None,
        limit: Some(total),
    };
    let posting = Instant::now();
    let accepted = post_replies(&hub, &chats, "s", sustained).await?;
    let queued = Instant::now();
    let accepted_rate = accepted.len() as f64 / (queued - posting).as_secs_f64();
    let deadline = Duration::from_secs(args.seconds * 3 + 30);
    let sent = wait_sent(&sim, &accepted, deadline).await;
    let lost = accepted.keys().filter(|t| !sent.contains_key(*t)).count();
    let doubled = sent.values().filter(|at| at.len() > 1).count();
    let mut times: Vec<Instant> = sent.values().map(|at| at[0]).collect();
    times.sort();
    // The token bucket starts full (one second's worth): the steady rate is measured after.
    let steady = times
        .first()
        .map(|first| *first + Duration::from_secs(1))
        .filter(|from| times.last().is_some_and(|last| last > from));
    // n sends span n - 1 intervals, from the first after `from` to the last.
    let measured = steady.map_or(0.0, |from| {
        let window: Vec<&Instant> = times.iter().filter(|t| **t >= from).collect();
        match (window.first(), window.last()) {
            (Some(first), Some(last)) if last > first => {
                (window.len() - 1) as f64 / (**last - **first).as_secs_f64()
            }
            _ => 0.0,
        }
    });
    let share = measured / f64::from(args.rate);
    // Above the limit by more than timing jitter would be a failure too: Meta throttles.
    let within = (0.95..=1.005).contains(&share);
    // Whether the sender or the replies' creation was the limit: what was left to send
    // once every reply had been accepted.
    let left = times.iter().filter(|t| **t >= queued).count();
    println!(
        "  sustained: {measured:.0} sends/s = {:.1}% of the limit  [target 95-100%: {}]; {} accepted, {lost} lost, {doubled} sent twice  [{}]",
        share * 100.0,
        verdict(within),
        accepted.len(),
        verdict(lost == 0 && doubled == 0)
    );
    println!(
        "  replies accepted by the API at {accepted_rate:.0}/s; {left} sends were left once the last was accepted"
    );

    // Latency at half the limit: from the 202 to the request at the Cloud API.
    let half = Pace {
        concurrency: 256,
        duration: Duration::from_secs(10),
        rate: Some(f64::from(args.rate) / 2.0),
        limit: None,
    };
    let accepted = post_replies(&hub, &chats, "h", half).await?;
    let sent = wait_sent(&sim, &accepted, Duration::from_secs(60)).await;
    let mut latency = Samples::default();
    for (text, at) in &accepted {
        if let Some(sent) = sent.get(text) {
            latency.push(sent[0].saturating_duration_since(*at));
        }
    }
    println!(
        "  at half the limit ({}/s): reply accepted -> request at the Cloud API {}",
        args.rate / 2,
        latency.summary()
    );
    sim.stop();
    Ok(())
}

/// `n` customers write once, and the admin takes every chat; their ids.
pub(super) async fn claimed_chats(hub: &Hub, n: u64) -> anyhow::Result<Vec<String>> {
    let once = Pace {
        concurrency: 16,
        duration: Duration::from_secs(600),
        rate: None,
        limit: Some(n),
    };
    post_webhooks(&hub.url("/api/v1/webhooks/whatsapp"), stamped(0, n), once).await?;
    let page = hub
        .call(reqwest::Method::GET, "/api/v1/chats?limit=200", None)
        .await?;
    let chats: Vec<String> = page["items"]
        .as_array()
        .context("no chats")?
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect();
    for chat in &chats {
        let path = format!("/api/v1/chats/{chat}/claim");
        hub.call(reqwest::Method::POST, &path, Some(json!({})))
            .await?;
    }
    Ok(chats)
}

/// Starts the simulated Cloud API on a thread of its own (its own actix System).
pub(super) fn start_sim(config: SimConfig) -> anyhow::Result<CloudApiSim> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let started = CloudApiSim::start(config).await;
            let ok = started.is_ok();
            let _ = tx.send(started);
            if ok {
                std::future::pending::<()>().await;
            }
        })
    });
    Ok(rx.recv()??)
}

/// Posts replies "<prefix><n>" round robin over `chats` at `pace`; when each was accepted.
pub(super) async fn post_replies(
    hub: &Hub,
    chats: &[String],
    prefix: &str,
    pace: Pace,
) -> anyhow::Result<HashMap<String, Instant>> {
    let accepted = Arc::new(Mutex::new(HashMap::new()));
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..pace.concurrency {
        let (client, token) = (hub.client.clone(), hub.admin.clone());
        let (accepted, next, chats) = (accepted.clone(), next.clone(), chats.to_vec());
        let (base, prefix) = (hub.url("/api/v1/chats"), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let due = match pace.rate {
                    Some(rate) => start + Duration::from_secs_f64(n as f64 / rate),
                    None => Instant::now(),
                };
                if due >= start + pace.duration || pace.limit.is_some_and(|l| n >= l) {
                    return;
                }
                tokio::time::sleep_until(due.into()).await;
                let text = format!("{prefix}{n}");
                let chat = &chats[n as usize % chats.len()];
                let response = client
                    .post(format!("{base}/{chat}/messages"))
                    .bearer_auth(&token)
                    .json(&json!({"client_id": text, "type": "text", "text": text}))
                    .send()
                    .await;
                if response.is_ok_and(|r| r.status() == 202) {
                    accepted.lock().unwrap().insert(text, Instant::now());
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let accepted = std::mem::take(&mut *accepted.lock().unwrap());
    if accepted.is_empty() {
        bail!("the hub accepted no reply");
    }
    Ok(accepted)
}

/// Waits until every accepted reply reached the Cloud API (or the deadline); when each
/// request with one of these texts arrived there.
pub(super) async fn wait_sent(
    sim: &CloudApiSim,
    accepted: &HashMap<String, Instant>,
    deadline: Duration,
) -> HashMap<String, Vec<Instant>> {
    let until = Instant::now() + deadline;
    loop {
        let mut sent: HashMap<String, Vec<Instant>> = HashMap::new();
        for message in sim.sent() {
            if let Some(text) = message.body["text"]["body"].as_str() {
                if accepted.contains_key(text) {
                    sent.entry(text.to_string()).or_default().push(message.at);
                }
            }
        }
        if sent.len() == accepted.len() || Instant::now() > until {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
