//! `atende simulate`: drives a running hub with signed webhooks from simulated customers,
//! for demos and load tests.
//!
//! One loop on the caller's runtime ticks at the asked rate (a fixed schedule: a slow tick
//! is caught up, never shifts the ones after it), builds the next customer message and
//! posts it as a task, so a slow hub never holds the schedule back; at most
//! [`MAX_IN_FLIGHT`] posts wait at once. Every second it prints a line of counts, and a
//! summary at the end (after `--count` messages, or Ctrl-C).

mod crowd;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use atende_web::sandbox::{BusinessNumber, SANDBOX_DISPLAY_PHONE_NUMBER, SANDBOX_WABA_ID};
use tokio::task::JoinSet;
use tokio::time::{interval, interval_at, MissedTickBehavior};

use crate::config::DataDirArg;

pub use crowd::{build_webhook, signed_webhook, Content, Crowd, Customer, SimulatedMessage};

/// Where the hub takes WhatsApp webhooks.
pub const WEBHOOK_PATH: &str = "/api/v1/webhooks/whatsapp";
/// The file in the data directory where a sandbox hub keeps its app secret.
pub const SANDBOX_SECRET_FILE: &str = "sandbox-app-secret";
/// Highest rate taken: beyond this the simulator, not the hub, is what gets measured.
pub const MAX_RATE: f64 = 10_000.0;
/// Posts allowed to wait for the hub at once; bounds memory when the hub stalls.
pub const MAX_IN_FLIGHT: usize = 256;
/// How long one post may take; a hub answers a webhook in milliseconds.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Drive a running hub with signed webhooks from simulated customers.
#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The hub to drive.
    #[arg(
        long,
        env = "ATENDE_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,
    /// How many customers write.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub customers: u32,
    /// Messages per second, all customers together.
    #[arg(long, default_value_t = 1.0, value_parser = parse_rate)]
    pub rate: f64,
    /// Stop after this many messages [default: run until Ctrl-C].
    #[arg(long)]
    pub count: Option<u64>,
    /// Signs the webhooks [default: the hub's DATA_DIR/sandbox-app-secret].
    #[arg(long, env = "WHATSAPP_APP_SECRET", hide_env_values = true)]
    pub app_secret: Option<String>,
    /// Where a sandbox hub keeps its app secret.
    #[command(flatten)]
    pub data: DataDirArg,
    /// The business number the customers write to.
    #[arg(long, env = "WHATSAPP_PHONE_NUMBER_ID", default_value = "sandbox")]
    pub phone_number_id: String,
}

impl fmt::Debug for SimulateArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulateArgs")
            .field("url", &self.url)
            .field("customers", &self.customers)
            .field("rate", &self.rate)
            .field("count", &self.count)
            .field(
                "app_secret",
                &self.app_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("data", &self.data)
            .field("phone_number_id", &self.phone_number_id)
            .finish()
    }
}

fn parse_rate(value: &str) -> Result<f64, String> {
    let rate: f64 = value
        .parse()
        .map_err(|_| format!("{value} is not a number"))?;
    if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE) {
        return Err(format!("the rate must be above 0 and at most {MAX_RATE}"));
    }
    Ok(rate)
}

/// Posts simulated customer messages to the hub until `--count` or Ctrl-C, then prints a
/// summary. Fails only when it cannot start, or when the hub took none of the messages.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let app_secret = app_secret(&args).await?;
    let hub = args.url.trim_end_matches('/');
    if !(hub.starts_with("http://") || hub.starts_with("https://")) {
        bail!("--url must start with http:// or https://");
    }
    let target = Target {
        url: format!("{hub}{WEBHOOK_PATH}"),
        app_secret,
        business: BusinessNumber {
            waba_id: SANDBOX_WABA_ID.to_string(),
            phone_number_id: args.phone_number_id.clone(),
            display_phone_number: SANDBOX_DISPLAY_PHONE_NUMBER.to_string(),
        },
        client: reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("cannot set up the HTTP client")?,
    };
    let count = args
        .count
        .map_or("until Ctrl-C".to_string(), |n| format!("{n} messages"));
    println!(
        "Simulating {} customers writing to {} at {}/s, {count}",
        args.customers, target.url, args.rate
    );
    let crowd = Crowd::new(args.customers as usize);
    let stats = drive(&target, crowd, args.rate, args.count).await;
    println!("{}", stats.summary());
    if stats.launched > 0 && stats.sent == 0 {
        let why = stats.first_failure.as_deref().unwrap_or("no answer");
        bail!(
            "the hub took none of the {} webhooks ({why})",
            stats.launched
        );
    }
    Ok(())
}

/// The app secret from the flag or environment, else from the data directory's file.
async fn app_secret(args: &SimulateArgs) -> anyhow::Result<String> {
    if let Some(secret) = args.app_secret.as_ref().filter(|s| !s.is_empty()) {
        return Ok(secret.clone());
    }
    let path: PathBuf = args.data.dir.join(SANDBOX_SECRET_FILE);
    let read_path = path.clone();
    let read = tokio::task::spawn_blocking(move || std::fs::read_to_string(read_path))
        .await
        .map_err(|e| anyhow!("reading the app secret stopped: {e}"))?;
    let secret = read.with_context(|| {
        format!(
            "no app secret: set WHATSAPP_APP_SECRET, or point ATENDE_DATA_DIR at a sandbox hub's \
             data directory (cannot read {})",
            path.display()
        )
    })?;
    let secret = secret.trim();
    if secret.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(secret.to_string())
}

/// Where and how the webhooks are posted.
struct Target {
    url: String,
    app_secret: String,
    business: BusinessNumber,
    client: reqwest::Client,
}

/// How one post ended.
enum Outcome {
    /// The hub answered with this status.
    Answered { status: u16, latency: Duration },
    /// No answer: the reason.
    Unreachable(String),
}

/// The tick loop: posts one message per tick until `count` (or Ctrl-C), printing a line
/// each second; returns the counts once every post has ended.
async fn drive(target: &Target, mut crowd: Crowd, rate: f64, count: Option<u64>) -> Stats {
    let mut ticker = interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let second = Duration::from_secs(1);
    let mut report = interval_at(tokio::time::Instant::now() + second, second);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut in_flight = JoinSet::new();
    let mut stats = Stats::new();
    loop {
        let done = count.is_some_and(|n| stats.launched >= n);
        if done && in_flight.is_empty() {
            break;
        }
        tokio::select! {
            _ = ticker.tick(), if !done && in_flight.len() < MAX_IN_FLIGHT => {
                let message = crowd.next_message();
                let (body, signature) =
                    signed_webhook(&target.app_secret, &target.business, &message);
                in_flight.spawn(post(target.client.clone(), target.url.clone(), body, signature));
                stats.launched += 1;
            }
            Some(ended) = in_flight.join_next() => stats.record(ended),
            _ = report.tick() => println!("{}", stats.line()),
            _ = &mut ctrl_c => {
                println!("Stopping: waiting for {} posts in flight", in_flight.len());
                break;
            }
        }
    }
    while let Some(ended) = in_flight.join_next().await {
        stats.record(ended);
    }
    stats
}

/// Posts one signed webhook body.
async fn post(client: reqwest::Client, url: String, body: Vec<u8>, signature: String) -> Outcome {
    let started = Instant::now();
    let sent = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) => Outcome::Answered {
            status: response.status().as_u16(),
            latency: started.elapsed(),
        },
        // Without the URL: it says nothing new, and the error chain is what helps.
        Err(error) => Outcome::Unreachable(error.without_url().to_string()),
    }
}

/// The counts of a run.
struct Stats {
    started: Instant,
    launched: u64,
    sent: u64,
    failed: u64,
    statuses: BTreeMap<u16, u64>,
    unreachable: u64,
    first_failure: Option<String>,
    latency_total: Duration,
    latency_max: Duration,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            started: Instant::now(),
            launched: 0,
            sent: 0,
            failed: 0,
            statuses: BTreeMap::new(),
            unreachable: 0,
            first_failure: None,
            latency_total: Duration::ZERO,
            latency_max: Duration::ZERO,
        }
    }

    fn record(&mut self, ended: Result<Outcome, tokio::task::JoinError>) {
        let failure = match ended {
            Ok(Outcome::Answered { status, latency }) => {
                *self.statuses.entry(status).or_default() += 1;
                self.latency_total += latency;
                self.latency_max = self.latency_max.max(latency);
                if status == 200 {
                    self.sent += 1;
                    return;
                }
                format!("HTTP {status}{}", hint(status))
            }
            Ok(Outcome::Unreachable(reason)) => {
                self.unreachable += 1;
                reason
            }
            Err(error) => format!("the post task ended: {error}"),
        };
        self.failed += 1;
        self.first_failure.get_or_insert(failure);
    }

    /// The one-line report printed every second.
    fn line(&self) -> String {
        format!(
            "{:>5}s  sent {}  failed {}  in flight {}  statuses {}",
            self.started.elapsed().as_secs(),
            self.sent,
            self.failed,
            self.launched - self.sent - self.failed,
            self.statuses_text(),
        )
    }

    /// The report printed at the end.
    fn summary(&self) -> String {
        let seconds = self.started.elapsed().as_secs_f64();
        let answered: u64 = self.statuses.values().sum();
        let average = self.latency_total.as_secs_f64() * 1000.0 / answered.max(1) as f64;
        let mut text = format!(
            "Done in {seconds:.1}s: {} webhooks posted ({:.1}/s), {} taken, {} failed \
             ({} unreachable); statuses {}; latency avg {average:.1} ms, max {} ms",
            self.launched,
            self.launched as f64 / seconds.max(f64::EPSILON),
            self.sent,
            self.failed,
            self.unreachable,
            self.statuses_text(),
            self.latency_max.as_millis(),
        );
        if let Some(failure) = &self.first_failure {
            text.push_str(&format!("\nFirst failure: {failure}"));
        }
        text
    }

    fn statuses_text(&self) -> String {
        if self.statuses.is_empty() {
            return "none".to_string();
        }
        let parts: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, n)| format!("{status}×{n}"))
            .collect();
        parts.join(" ")
    }
}

/// What a refusal most likely means, for the first-failure line.
fn hint(status: u16) -> &'static str {
    match status {
        401 => " (is the app secret the hub's?)",
        404 => " (is --url the hub?)",
        429 => " (the hub is rate limiting: lower --rate)",
        _ => "",
    }
}

#[cfg(test)]
mod tests;
