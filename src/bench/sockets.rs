//! `atende bench sockets`: idle WebSockets held open, first on a bare actix-web-actors echo
//! server, then on a hub as signed-in agents; the resident memory each one adds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use super::hub::Hub;
use super::load::signed_in;
use super::servers::Server;
use super::stats::verdict;

/// Sockets opened at once while connecting.
const CONNECTING: usize = 64;

#[derive(clap::Args, Debug, Clone)]
pub struct SocketsArgs {
    /// Sockets to hold (each side of one needs a file descriptor in its process).
    #[arg(long, default_value_t = 10_000, value_parser = super::positive)]
    pub count: usize,
    /// Agents the hub's sockets are signed in as (count / agents tabs each).
    #[arg(long, default_value_t = 100, value_parser = super::positive)]
    pub agents: usize,
    /// Seconds the hub's sockets are held idle before they are counted (past the hub's
    /// 30 s silence limit, so the keep-alive is part of what is measured).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub hold: u64,
}

pub async fn run(args: SocketsArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    println!("Sockets: {} idle connections", args.count);

    let echo = Server::start(&["bench", "serve-echo"], &[], "/healthz", Some(dir.path())).await?;
    let url = echo.url("/ws").replacen("http", "ws", 1);
    let before = echo.rss()?;
    let open = open_all(args.count, move |_| {
        let url = url.clone();
        async move {
            let (mut socket, _) = tokio_tungstenite::connect_async(&url).await?;
            socket.send(Message::text("hello")).await?;
            socket.next().await.context("no echo")??;
            Ok(socket)
        }
    })
    .await?;
    let echo_per = (echo.rss()?.saturating_sub(before)) as f64 / args.count as f64;
    println!(
        "  baseline (bare actix-web-actors echo server): {:.1} KB per connection",
        echo_per / 1024.0
    );
    drop(open);
    drop(echo);

    let hub = Hub::start(&dir.path().join("hub"), None, &[]).await?;
    let tokens = Arc::new(hub.agents(args.agents).await?);
    let url = hub.url("/api/v1/ws").replacen("http", "ws", 1);
    let before = hub.server.rss()?;
    let sockets = open_all(args.count, move |i| {
        let (url, tokens) = (url.clone(), tokens.clone());
        async move { signed_in(&url, &tokens[i % tokens.len()]).await }
    })
    .await?;
    // Each socket is read (answering the hub's pings) until it closes.
    let closed = Arc::new(AtomicUsize::new(0));
    let mut readers = JoinSet::new();
    for mut socket in sockets {
        let closed = closed.clone();
        readers.spawn(async move {
            while let Some(Ok(_)) = socket.next().await {}
            closed.fetch_add(1, Ordering::Relaxed);
        });
    }
    tokio::time::sleep(Duration::from_secs(args.hold)).await;
    let hub_per = (hub.server.rss()?.saturating_sub(before)) as f64 / args.count as f64;
    let closed = closed.load(Ordering::Relaxed);
    let ratio = hub_per / echo_per;
    println!(
        "  hub (signed-in agent sockets, held {} s): {:.1} KB per connection = {ratio:.2} x baseline  [target <= 1.5: {}]; {} of {} still open  [{}]",
        args.hold,
        hub_per / 1024.0,
        verdict(ratio <= 1.5),
        args.count - closed,
        args.count,
        verdict(closed == 0)
    );
    readers.abort_all();
    Ok(())
}

/// Opens `count` sockets with `open`, [`CONNECTING`] at a time.
async fn open_all<S, F, Fut>(count: usize, open: F) -> anyhow::Result<Vec<S>>
where
    S: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<S>> + Send + 'static,
{
    let mut sockets = Vec::with_capacity(count);
    let mut opening = JoinSet::new();
    for i in 0..count {
        if opening.len() >= CONNECTING {
            sockets.push(opening.join_next().await.context("a connect task")???);
        }
        opening.spawn(open(i));
    }
    while let Some(result) = opening.join_next().await {
        sockets.push(result??);
    }
    Ok(sockets)
}
