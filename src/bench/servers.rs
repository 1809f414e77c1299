//! What the bench measures runs in child processes of this binary, on loopback ports: a
//! hub on a temporary data directory, and the two bare servers it is compared with, which
//! live here: an actix-web endpoint that only makes the posted bytes durable in sled with
//! the hub's group commit, and an actix-web-actors echo WebSocket.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, StreamHandler};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_web_actors::ws;
use anyhow::{bail, Context};
use atende_data::RawDb;

/// How long a child may take to answer its health check.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// A child process serving on `addr`; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// From spawn to the first healthy answer.
    pub ready_after: Duration,
}

impl Server {
    /// Starts this binary with `args` and `env`, listening on a free port (given as
    /// ATENDE_BIND), and waits until GET `health` answers 200.
    /// The child sees only PATH and `env`, and runs in `cwd` (a `.env` file there is read).
    pub async fn start(
        args: &[&str],
        env: &[(&str, String)],
        health: &str,
        cwd: Option<&Path>,
    ) -> anyhow::Result<Server> {
        let addr = free_port()?;
        let started = Instant::now();
        let mut command = Command::new(std::env::current_exe()?);
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let child = command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ATENDE_BIND", addr.to_string())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start a child process")?;
        let mut server = Server {
            child,
            addr,
            ready_after: Duration::ZERO,
        };
        server.ready_after = server.wait_healthy(health, started).await?;
        Ok(server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits until `health` answers 200; the time since `since`.
    pub async fn wait_healthy(&mut self, health: &str, since: Instant) -> anyhow::Result<Duration> {
        let client = reqwest::Client::new();
        loop {
            if let Ok(response) = client.get(self.url(health)).send().await {
                if response.status().is_success() {
                    return Ok(since.elapsed());
                }
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the child process ended at start: {status}");
            }
            if since.elapsed() > START_DEADLINE {
                bail!("the child process did not become ready");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Resident memory of the child now, in bytes.
    pub fn rss(&self) -> anyhow::Result<u64> {
        rss(self.child.id())
    }

    /// SIGTERM, and waits until the process has exited (a clean stop).
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed: {status}");
        }
        self.child.wait()?;
        Ok(())
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback address nobody listens on now.
fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// VmRSS of a process, in bytes.
pub fn rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .context("no VmRSS in /proc")?;
    Ok(kb * 1024)
}

/// The baseline: POST /webhook stores the body under a fresh key in sled and answers 200
/// once a group commit has made it durable; nothing else.
pub fn serve_baseline(bind: &str, dir: &Path, workers: usize) -> anyhow::Result<()> {
    let db = Arc::new(RawDb::open(dir)?);
    let next = Arc::new(AtomicU64::new(0));
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            let (db, next) = (db.clone(), next.clone());
            App::new()
                .route("/healthz", web::get().to(HttpResponse::Ok))
                .route(
                    "/webhook",
                    web::post().to(move |body: web::Bytes| {
                        let (db, next) = (db.clone(), next.clone());
                        async move {
                            let key = next.fetch_add(1, Ordering::Relaxed).to_be_bytes();
                            let stored = db.db.insert(key, body.as_ref());
                            match (stored, db.durable().await) {
                                (Ok(_), Ok(())) => HttpResponse::Ok().finish(),
                                _ => HttpResponse::InternalServerError().finish(),
                            }
                        }
                    }),
                )
        });
        server.workers(workers).bind(bind)?.run().await?;
        Ok(())
    })
}

/// The socket baseline: an actix-web-actors WebSocket that echoes text frames.
pub fn serve_echo(bind: &str, workers: usize) -> anyhow::Result<()> {
    struct Echo;
    impl Actor for Echo {
        type Context = ws::WebsocketContext<Self>;
    }
    impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for Echo {
        fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
            match msg {
                Ok(ws::Message::Text(text)) => ctx.text(text),
                Ok(ws::Message::Ping(bytes)) => ctx.pong(&bytes),
                Ok(ws::Message::Close(reason)) => ctx.close(reason),
                _ => {}
            }
        }
    }
    async fn socket(req: HttpRequest, stream: web::Payload) -> actix_web::Result<HttpResponse> {
        ws::start(Echo, &req, stream)
    }
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| {
            App::new()
                .route("/healthz", web::get().to(HttpResponse::Ok))
                .route("/ws", web::get().to(socket))
                // A webhook receiver for `bench ingest`'s subscribed phase.
                .route("/hooks", web::post().to(HttpResponse::Ok))
        })
        .max_connections(100_000);
        server.workers(workers).bind(bind)?.run().await?;
        Ok(())
    })
}
