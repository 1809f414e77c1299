//! `atende bench ingest`: signed webhooks, first to the bare baseline, then to a hub with
//! agent sockets open: at the maximum rate, then at half of it with latencies. Then, as
//! wrk would measure it, many distinct webhooks signed before the load, to the baseline
//! and to a new hub with no sockets.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::hub::Hub;
use super::load::{post_webhooks, presigned, stamped, Agents, Pace};
use super::servers::Server;
use super::stats::{ms, verdict};

#[derive(clap::Args, Debug, Clone)]
pub struct IngestArgs {
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,
    /// Posts in flight at once at the maximum rate.
    #[arg(long, default_value_t = 64, value_parser = super::positive)]
    pub concurrency: usize,
    /// Agent sockets that receive every message event.
    #[arg(long, default_value_t = 10, value_parser = super::positive)]
    pub agents: usize,
    /// Simulated customers (one chat each).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10000000))]
    pub customers: u64,
    /// Distinct webhooks signed before the last comparison (wrk-style: no sockets, no
    /// signing during the load); 0 leaves it out.
    #[arg(long, default_value_t = 150_000, value_parser = clap::value_parser!(u64).range(0..=10000000))]
    pub distinct: u64,
}

pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let duration = Duration::from_secs(args.seconds);
    let max = Pace {
        concurrency: args.concurrency,
        duration,
        rate: None,
        limit: None,
    };

    println!(
        "Ingest: {} s per phase, {} posts in flight, {} customers, {} agents",
        args.seconds, args.concurrency, args.customers, args.agents
    );
    let baseline_dir = dir.path().join("baseline");
    let baseline_dir = baseline_dir.display().to_string();
    let baseline = Server::start(
        &["bench", "serve-baseline", "--dir", &baseline_dir],
        &[],
        "/healthz",
        Some(dir.path()),
    )
    .await?;
    let mut base =
        post_webhooks(&baseline.url("/webhook"), stamped(0, args.customers), max).await?;
    println!(
        "  baseline (bare actix-web + sled insert + group commit): {:.0} requests/s; {}",
        base.per_second(),
        base.latency.summary()
    );

    // The same server takes the distinct webhooks later: its store then holds more, as
    // the hub's will.
    let baseline = (args.distinct > 0).then_some(baseline);
    let hub = Hub::start(&dir.path().join("hub"), None, &[]).await?;
    let tokens = hub.agents(args.agents).await?;
    let agents = Agents::connect(&hub.url("/api/v1/ws").replacen("http", "ws", 1), &tokens).await?;
    let webhook = hub.url("/api/v1/webhooks/whatsapp");
    // One message per customer first, so that every chat exists.
    let warm = Pace {
        limit: Some(args.customers),
        duration: Duration::from_secs(600),
        ..max
    };
    let mut posted = post_webhooks(&webhook, stamped(0, args.customers), warm)
        .await?
        .ok;
    let mut full = post_webhooks(&webhook, stamped(posted, args.customers), max).await?;
    posted += full.ok + full.failed;
    let ratio = full.per_second() / base.per_second();
    println!(
        "  hub, full path (webhook -> store -> chat actor -> {} agents): {:.0} webhooks/s = {:.2} x baseline  [target >= 0.80: {}]; {}{}",
        args.agents,
        full.per_second(),
        ratio,
        verdict(ratio >= 0.8),
        full.latency.summary(),
        failures(&full)
    );

    // The events of the maximum phase drain before the timed phase begins.
    drain(&agents, 0, Duration::from_secs(60)).await;
    let half_rate = full.per_second() / 2.0;
    let before = agents.events.load(Ordering::Relaxed);
    agents.recording.store(true, Ordering::Relaxed);
    let half = Pace {
        concurrency: 1024,
        duration,
        rate: Some(half_rate),
        limit: None,
    };
    let mut timed = post_webhooks(&webhook, stamped(posted, args.customers), half).await?;
    let expected = timed.ok * args.agents as u64;
    let arrived = drain(&agents, before + expected, Duration::from_secs(30)).await - before;
    agents.recording.store(false, Ordering::Relaxed);
    let mut events = agents.latency.lock().unwrap().clone();
    let ack_p99 = timed.latency.percentile(99.0);
    let ws_p99 = events.percentile(99.0);
    println!(
        "  at half that rate ({half_rate:.0}/s): webhook acknowledged {}  [target p99 <= 200 ms: {}]{}",
        timed.latency.summary(),
        verdict(ack_p99 <= Duration::from_millis(200)),
        failures(&timed)
    );
    println!(
        "  webhook -> event at the agent socket: {}  [target p99 <= 100 ms: {}]; {arrived} of {expected} events arrived",
        events.summary(),
        verdict(ws_p99 <= Duration::from_millis(100) && arrived >= expected)
    );
    println!(
        "  (p99 ack at the maximum rate: {})",
        ms(full.latency.percentile(99.0))
    );
    drop((agents, hub));
    if let Some(baseline) = baseline {
        distinct(&args, &baseline, &dir.path().join("hub-distinct")).await?;
    }
    Ok(())
}

/// The wrk-style comparison: `args.distinct` webhooks signed before the load, posted
/// once each with `args.concurrency` in flight, to the baseline and then to a new hub
/// with no agent sockets.
async fn distinct(args: &IngestArgs, baseline: &Server, dir: &Path) -> anyhow::Result<()> {
    let webhooks = presigned(args.distinct, args.customers);
    let once = Pace {
        concurrency: args.concurrency,
        duration: Duration::from_secs(3600),
        rate: None,
        limit: Some(args.distinct),
    };
    let mut base = post_webhooks(&baseline.url("/webhook"), webhooks.clone(), once).await?;
    let hub = Hub::start(dir, None, &[]).await?;
    let webhook = hub.url("/api/v1/webhooks/whatsapp");
    let mut full = post_webhooks(&webhook, webhooks.clone(), once).await?;
    drop(hub);
    let ratio = full.per_second() / base.per_second();
    let p99 = |o: &mut super::load::Outcome| o.latency.percentile(99.0).as_secs_f64();
    let p99_ratio = p99(&mut full) / p99(&mut base).max(1e-9);
    println!(
        "  {} distinct pre-signed webhooks, no sockets: baseline {:.0}/s ({}); hub {:.0}/s = {ratio:.2} x  [target >= 0.80: {}]; {}; p99 {p99_ratio:.2} x baseline  [target <= 1.5: {}]{}",
        args.distinct,
        base.per_second(),
        base.latency.summary(),
        full.per_second(),
        verdict(ratio >= 0.8),
        full.latency.summary(),
        verdict(p99_ratio <= 1.5),
        failures(&full)
    );
    subscribed(
        webhooks,
        once,
        full.per_second(),
        &dir.with_file_name("hub-subscribed"),
    )
    .await
}

/// The same webhooks to a hub with a webhook subscription to `message.created`: each
/// message's event is then promised in its write (an intent) and delivered to a receiver
/// (the echo server's `/hooks`). Against the hub without one: what the promise costs.
async fn subscribed(
    webhooks: super::load::Webhooks,
    once: Pace,
    unsubscribed: f64,
    dir: &Path,
) -> anyhow::Result<()> {
    let receiver = Server::start(&["bench", "serve-echo"], &[], "/healthz", None).await?;
    let hub = Hub::start(dir, None, &[]).await?;
    let url = format!("http://localhost:{}/hooks", receiver.addr.port());
    let subscription = json!({"url": url, "events": ["message.created"]});
    hub.call(
        Method::POST,
        "/api/v1/integrations/webhooks",
        Some(subscription),
    )
    .await?;
    let webhook = hub.url("/api/v1/webhooks/whatsapp");
    let mut hooked = post_webhooks(&webhook, webhooks, once).await?;
    let load_ended = Instant::now();
    let pending = deliveries_pending(&hub, Duration::from_secs(300)).await?;
    println!(
        "  the same with a webhook subscription (message.created promised and delivered): hub {:.0}/s = {:.2} x the hub without one; {}; deliveries all made {:.1} s after the load{}{}",
        hooked.per_second(),
        hooked.per_second() / unsubscribed,
        hooked.latency.summary(),
        load_ended.elapsed().as_secs_f64(),
        if pending > 0 { format!(" ({pending} STILL PENDING)") } else { String::new() },
        failures(&hooked)
    );
    Ok(())
}

/// Waits until the subscription has no delivery pending, or `deadline` passes; how many
/// are pending then.
async fn deliveries_pending(hub: &Hub, deadline: Duration) -> anyhow::Result<u64> {
    let until = Instant::now() + deadline;
    loop {
        let page = hub
            .call(Method::GET, "/api/v1/integrations/webhooks", None)
            .await?;
        let pending = page["items"][0]["pending"].as_u64().unwrap_or(u64::MAX);
        if pending == 0 || Instant::now() > until {
            return Ok(pending);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn failures(outcome: &super::load::Outcome) -> String {
    if outcome.failed == 0 {
        return String::new();
    }
    let reasons: Vec<String> = outcome
        .reasons
        .iter()
        .map(|(reason, n)| format!("{n} x {reason}"))
        .collect();
    format!("; {} FAILED ({})", outcome.failed, reasons.join("; "))
}

/// Waits until the agents have seen `at_least` bench events, or the event count stops
/// moving; the count then.
async fn drain(agents: &Agents, at_least: u64, deadline: Duration) -> u64 {
    let until = Instant::now() + deadline;
    let mut last = u64::MAX;
    loop {
        let seen = agents.events.load(Ordering::Relaxed);
        if (at_least > 0 && seen >= at_least) || Instant::now() > until || seen == last {
            return seen;
        }
        last = seen;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
