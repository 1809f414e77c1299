//! `atende bench scale`: a hub filled through its webhook with many chats and messages;
//! chat list and search latency at 1,000 chats and at the full size, the time from start
//! to ready over the full store (after SIGKILL and after a clean stop), resident memory,
//! and what the store holds.

use std::time::{Duration, Instant};

use anyhow::bail;
use atende_web::sandbox::payloads::{envelope, signed};
use serde_json::{json, Value};
use tokio::task::JoinSet;

use super::hub::{business, Hub, APP_SECRET};
use super::stats::{ms, verdict, Samples};

/// Chats of the first measurement.
const SMALL: u64 = 1_000;
/// Webhook posts in flight while filling.
const FILLING: usize = 8;
/// Words the messages are made of; searches look for them.
const WORDS: [&str; 12] = [
    "pedido",
    "entrega",
    "boleto",
    "troca",
    "garantia",
    "nota",
    "cancelar",
    "endereço",
    "prazo",
    "pix",
    "cupom",
    "frete",
];

#[derive(clap::Args, Debug, Clone)]
pub struct ScaleArgs {
    /// Chats in the full store (one customer each).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1000..=10000000))]
    pub chats: u64,
    /// Messages per chat.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub messages: u64,
    /// Messages per webhook post while filling (Meta batches them too).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub batch: u64,
    /// Requests per measured query kind.
    #[arg(long, default_value_t = 200, value_parser = super::positive)]
    pub queries: usize,
    /// Fill this new data directory and keep it (for looking into start-up), instead of a
    /// temporary one.
    #[arg(long)]
    pub keep: Option<std::path::PathBuf>,
}

pub async fn run(args: ScaleArgs) -> anyhow::Result<()> {
    if args.chats < SMALL {
        bail!("--chats must be at least {SMALL}");
    }
    let dir = tempfile::tempdir()?;
    let data = match &args.keep {
        Some(keep) if keep.exists() => bail!("{} exists already", keep.display()),
        Some(keep) => keep.clone(),
        None => dir.path().join("hub"),
    };
    let hub = Hub::start(&data, None, &[]).await?;
    println!(
        "Scale: {} chats x {} messages = {} messages, filled through the webhook",
        args.chats,
        args.messages,
        args.chats * args.messages
    );
    let started = Instant::now();
    fill(&hub, 0..SMALL, &args).await?;
    let (mut small_list, mut small_search) = measure(&hub, SMALL, args.queries).await?;
    println!(
        "  {SMALL} chats: list {}; search {}",
        small_list.summary(),
        small_search.summary()
    );
    fill(&hub, SMALL..args.chats, &args).await?;
    let filled = started.elapsed();
    let total = args.chats * args.messages;
    println!(
        "  filled in {:.0} s ({:.0} messages/s through the webhook)",
        filled.as_secs_f64(),
        total as f64 / filled.as_secs_f64()
    );
    let (mut list, mut search) = measure(&hub, args.chats, args.queries).await?;
    let (list_p95, search_p95) = (list.percentile(95.0), search.percentile(95.0));
    let bound = |large: Duration, small: Duration| {
        large <= Duration::from_millis(100) && large <= (small * 2).max(Duration::from_millis(2))
    };
    println!(
        "  {} chats: list {}  [target p95 <= 100 ms and <= 2 x at {SMALL}: {}]",
        args.chats,
        list.summary(),
        verdict(bound(list_p95, small_list.percentile(95.0)))
    );
    println!(
        "  {} chats: search {}  [target p95 <= 100 ms and <= 2 x at {SMALL}: {}]",
        args.chats,
        search.summary(),
        verdict(bound(search_p95, small_search.percentile(95.0)))
    );
    println!(
        "  p95: list {} (at {SMALL}: {}), search {} (at {SMALL}: {})",
        ms(list_p95),
        ms(small_list.percentile(95.0)),
        ms(search_p95),
        ms(small_search.percentile(95.0))
    );
    println!(
        "  resident memory after the queries: {} MB",
        hub.server.rss()? / 1_000_000
    );
    let size = dir_size(&data)?;
    println!(
        "  data directory: {} MB, {} bytes per message (page cache {} MB)",
        size / 1_000_000,
        size / total,
        std::env::var("ATENDE_CACHE_MB")
            .unwrap_or_else(|_| atende_data::DEFAULT_CACHE_MB.to_string())
    );

    // Killed and started again over the full store.
    drop(hub);
    let hub = Hub::start(&data, None, &[]).await?;
    let ready = hub.server.ready_after;
    println!(
        "  start-up to ready over the full store (after SIGKILL): {}  [target <= 2 s: {}]; resident memory then {} MB",
        ms(ready),
        verdict(ready <= Duration::from_secs(2)),
        hub.server.rss()? / 1_000_000
    );
    let (mut list, _) = measure(&hub, args.chats, args.queries.min(50)).await?;
    println!(
        "  after the restart: list {}; resident memory {} MB",
        list.summary(),
        hub.server.rss()? / 1_000_000
    );
    // Stopped cleanly and started again.
    let mut hub = hub;
    hub.server.stop()?;
    let hub = Hub::start(&data, None, &[]).await?;
    println!(
        "  start-up to ready after a clean stop (SIGTERM): {}",
        ms(hub.server.ready_after)
    );
    drop(hub);
    live_data(&data)
}

/// What the stopped hub's trees hold, beside the data directory's size: keys (sled's
/// pages hold at most 16 each) and the bytes of keys and values.
fn live_data(data: &std::path::Path) -> anyhow::Result<()> {
    let mut sizes = atende_data::Store::open(data)?.tree_sizes()?;
    sizes.sort_by_key(|(_, keys, _)| std::cmp::Reverse(*keys));
    let (keys, bytes) = sizes
        .iter()
        .fold((0, 0), |(k, b), (_, keys, bytes)| (k + keys, b + bytes));
    let largest: Vec<String> = sizes
        .iter()
        .take(6)
        .map(|(name, keys, bytes)| format!("{name} {keys} ({} MB)", bytes / 1_000_000))
        .collect();
    println!(
        "  live data: {keys} keys, {} MB of keys and values; most keys: {}",
        bytes / 1_000_000,
        largest.join(", ")
    );
    Ok(())
}

/// Posts `messages` rounds of one message per chat in `chats`, `batch` per webhook.
async fn fill(hub: &Hub, chats: std::ops::Range<u64>, args: &ScaleArgs) -> anyhow::Result<()> {
    let url = hub.url("/api/v1/webhooks/whatsapp");
    let mut posts = JoinSet::new();
    let span = chats.end - chats.start;
    let mut batch = Vec::new();
    for round in 0..args.messages {
        for i in 0..span {
            let chat = chats.start + i;
            batch.push((chat, round));
            let last = round + 1 == args.messages && i + 1 == span;
            if batch.len() as u64 >= args.batch || last {
                if posts.len() >= FILLING {
                    posts.join_next().await.expect("a post")??;
                }
                let (body, signature) = signed(APP_SECRET, &webhook(&std::mem::take(&mut batch)));
                let (client, url) = (hub.client.clone(), url.clone());
                posts.spawn(async move {
                    let response = client
                        .post(url)
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", signature)
                        .body(body)
                        .send()
                        .await?;
                    if !response.status().is_success() {
                        bail!("a webhook got {}", response.status());
                    }
                    anyhow::Ok(())
                });
            }
        }
    }
    while let Some(result) = posts.join_next().await {
        result??;
    }
    Ok(())
}

fn wa_id(chat: u64) -> String {
    format!("55{:011}", 11_000_000_000 + chat)
}

/// One webhook carrying a message for each (chat, round).
fn webhook(batch: &[(u64, u64)]) -> Value {
    let now = chrono::Utc::now().timestamp().to_string();
    let contacts: Vec<Value> = batch
        .iter()
        .map(|(chat, _)| json!({"profile": {"name": format!("Cliente {chat}")}, "wa_id": wa_id(*chat)}))
        .collect();
    let messages: Vec<Value> = batch
        .iter()
        .map(|(chat, round)| {
            let word = |k: u64| WORDS[((chat * 7 + round * 3 + k) % WORDS.len() as u64) as usize];
            json!({
                "from": wa_id(*chat),
                "id": format!("wamid.scale.{chat}.{round}"),
                "timestamp": now,
                "type": "text",
                "text": {"body": format!("{} do {} sobre {} número {chat}", word(0), word(1), word(2))},
            })
        })
        .collect();
    envelope(
        &business(),
        json!({"contacts": contacts, "messages": messages}),
    )
}

/// Chat list (newest first, and the waiting queue oldest first) and search latencies.
async fn measure(hub: &Hub, chats: u64, queries: usize) -> anyhow::Result<(Samples, Samples)> {
    let mut list = Samples::default();
    let mut search = Samples::default();
    for i in 0..queries {
        let path = if i % 2 == 0 {
            "/api/v1/chats?limit=50".to_string()
        } else {
            "/api/v1/chats?status=pending&limit=50".to_string()
        };
        list.push(timed(hub, &path).await?);
        // A common word, and one customer by the end of their number.
        let q = if i % 2 == 0 {
            WORDS[i % WORDS.len()].to_string()
        } else {
            let number = wa_id((i as u64 * 7919) % chats);
            number[number.len() - 6..].to_string()
        };
        search.push(timed(hub, &format!("/api/v1/chats?limit=50&q={q}")).await?);
    }
    Ok((list, search))
}

async fn timed(hub: &Hub, path: &str) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let page = hub.call(reqwest::Method::GET, path, None).await?;
    let took = start.elapsed();
    if page["items"]
        .as_array()
        .is_none_or(|items| items.is_empty())
    {
        bail!("{path} found nothing");
    }
    Ok(took)
}

fn dir_size(dir: &std::path::Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
