//! `atende bench`: the load tool. Each scenario starts what it measures as child
//! processes of this binary on loopback ports (a hub on a temporary data directory, and
//! the bare servers it is compared with), drives them over real HTTP and WebSockets, and
//! prints throughput, latency percentiles (p50, p99, p99.9) and each figure's ratio to its
//! baseline measured in the same run, with the target it is held to.
//!
//! Load and servers share the machine, as they do in the figures of README.md.

mod campaign;
mod hub;
mod ingest;
mod load;
mod outbound;
mod scale;
mod servers;
mod sockets;
mod stats;

use std::path::PathBuf;

use clap::Subcommand;

/// Measure a hub against the limit of the machine it runs on.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub scenario: Scenario,
}

#[derive(Subcommand, Debug)]
pub enum Scenario {
    /// Webhooks at the maximum rate and at half of it, against a bare sled endpoint.
    Ingest(ingest::IngestArgs),
    /// Agent replies through the API to a simulated Cloud API at its rate limit.
    Outbound(outbound::OutboundArgs),
    /// A campaign to many contacts at the number's rate limit, agents replying meanwhile.
    Campaign(campaign::CampaignArgs),
    /// Idle signed-in agent sockets, against a bare echo WebSocket server.
    Sockets(sockets::SocketsArgs),
    /// Chat list and search with a large store; start-up time and memory.
    Scale(scale::ScaleArgs),
    /// The baseline endpoint (started by `ingest`).
    #[command(hide = true)]
    ServeBaseline {
        #[arg(long)]
        dir: PathBuf,
    },
    /// The echo WebSocket server (started by `sockets`).
    #[command(hide = true)]
    ServeEcho,
}

/// A count of at least one.
fn positive(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{value} is not a whole number of at least 1")),
    }
}

/// Runs one scenario.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let bind = || std::env::var("ATENDE_BIND").unwrap_or_else(|_| "127.0.0.1:0".into());
    // As the hub takes ATENDE_WORKERS: unset or 0, one per core.
    let workers = || {
        std::env::var("ATENDE_WORKERS")
            .ok()
            .and_then(|w| w.parse().ok())
            .filter(|w| *w > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    };
    match args.scenario {
        Scenario::ServeBaseline { dir } => {
            return servers::serve_baseline(&bind(), &dir, workers())
        }
        Scenario::ServeEcho => return servers::serve_echo(&bind(), workers()),
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "atende bench on {} cores; load and servers on the same machine",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    runtime.block_on(async move {
        match args.scenario {
            Scenario::Ingest(a) => ingest::run(a).await,
            Scenario::Outbound(a) => outbound::run(a).await,
            Scenario::Campaign(a) => campaign::run(a).await,
            Scenario::Sockets(a) => sockets::run(a).await,
            Scenario::Scale(a) => scale::run(a).await,
            Scenario::ServeBaseline { .. } | Scenario::ServeEcho => unreachable!(),
        }
    })
}
