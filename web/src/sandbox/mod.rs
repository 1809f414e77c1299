//! The simulated WhatsApp Cloud API: a real HTTP server that answers like Meta's Graph API.
//!
//! Sandbox mode (a hub without a WhatsApp account) points the hub's Cloud API client at
//! it, and so do the tests, so the hub's real reqwest client talks real HTTP. It accepts
//! messages (a `wamid` back, then signed `sent`, `delivered` and `read` status webhooks to
//! the hub), takes and serves media, lists templates and records read receipts. Tests steer
//! it: scripted failures, an outage switch, and a record of what was sent.
//!
//! It speaks Meta's error format (`{"error":{"message","type","code","fbtrace_id"}}`), not
//! the hub's, so its responses are built here rather than through `crate::error`.
//!
//! Threads and lifecycle: [`CloudApiSim::start`] binds and spawns one actix-web worker on
//! the current actix System; the status webhooks of each accepted message run as a task on
//! that worker. The state sits behind one std `Mutex`, never held across an `.await`.
//! [`CloudApiSim::stop`], or the end of the System, ends it.

mod delivery;
mod graph;
pub mod payloads;
mod placeholders;
mod routes;
mod state;
mod templates;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};

pub use delivery::{WEBHOOK_ATTEMPTS, WEBHOOK_FIRST_BACKOFF, WEBHOOK_TIMEOUT};
pub use payloads::BusinessNumber;
pub use placeholders::placeholder_media;

use state::Shared;

/// The Graph API version in [`CloudApiSim::base_url`]; the routes take any `vN.N`.
pub const GRAPH_API_VERSION: &str = "v23.0";
/// The sandbox business number's id (what `atende simulate` posts by default).
pub const SANDBOX_PHONE_NUMBER_ID: &str = "sandbox";
/// The sandbox business number as people see it (a São Paulo mobile number).
pub const SANDBOX_DISPLAY_PHONE_NUMBER: &str = "5511999990000";
/// The sandbox's second business number, so that several numbers can be tried.
pub const SANDBOX_SECOND_NUMBER_ID: &str = "sandbox-2";
/// How the second number shows in webhooks' `metadata`.
pub const SANDBOX_SECOND_DISPLAY_NUMBER: &str = "5521999990000";
/// The sandbox WhatsApp Business Account id, under which templates are listed.
pub const SANDBOX_WABA_ID: &str = "sandbox-waba";
/// Pause before each status webhook in sandbox mode: long enough for a person watching
/// the conversation to see the ticks change one by one.
pub const DEFAULT_STATUS_DELAY: Duration = Duration::from_secs(1);
/// Seconds in-flight requests get when the simulator stops: it holds nothing durable.
const SHUTDOWN_GRACE_SECONDS: u64 = 1;

/// How the simulator is bound and which account it pretends to be.
#[derive(Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// The Bearer token every request but nothing else must carry.
    pub access_token: String,
    /// Signs the status webhooks (`X-Hub-Signature-256`).
    pub app_secret: String,
    /// The business number's id, the only one `/{id}/messages` and `/{id}/media` accept.
    pub phone_number_id: String,
    /// The business number as shown in webhooks' `metadata`.
    pub display_phone_number: String,
    /// More business numbers of the same account, accepted like the first.
    pub other_numbers: Vec<String>,
    /// The WhatsApp Business Account id, the only one `/{id}/message_templates` accepts.
    pub waba_id: String,
    /// Where status webhooks go; [`CloudApiSim::set_webhook_url`] changes it later.
    pub webhook_url: Option<String>,
    /// Pause before each of the `sent`, `delivered` and `read` webhooks.
    pub status_delay: Duration,
}

impl SimConfig {
    /// A simulator on a free local port with the sandbox's ids and status pace.
    pub fn local(access_token: impl Into<String>, app_secret: impl Into<String>) -> SimConfig {
        SimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            access_token: access_token.into(),
            app_secret: app_secret.into(),
            phone_number_id: SANDBOX_PHONE_NUMBER_ID.to_string(),
            display_phone_number: SANDBOX_DISPLAY_PHONE_NUMBER.to_string(),
            other_numbers: vec![SANDBOX_SECOND_NUMBER_ID.to_string()],
            waba_id: SANDBOX_WABA_ID.to_string(),
            webhook_url: None,
            status_delay: DEFAULT_STATUS_DELAY,
        }
    }

    /// Whether `id` is one of its business numbers.
    pub fn serves(&self, id: &str) -> bool {
        self.phone_number_id == id || self.other_numbers.iter().any(|n| n == id)
    }

    /// The number and account its webhooks speak for.
    pub fn business(&self) -> BusinessNumber {
        BusinessNumber {
            waba_id: self.waba_id.clone(),
            phone_number_id: self.phone_number_id.clone(),
            display_phone_number: self.display_phone_number.clone(),
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("bind", &self.bind)
            .field("access_token", &"[redacted]")
            .field("app_secret", &"[redacted]")
            .field("phone_number_id", &self.phone_number_id)
            .field("display_phone_number", &self.display_phone_number)
            .field("other_numbers", &self.other_numbers)
            .field("waba_id", &self.waba_id)
            .field("webhook_url", &self.webhook_url)
            .field("status_delay", &self.status_delay)
            .finish()
    }
}

/// A message the simulator accepted.
#[derive(Debug, Clone)]
pub struct SentMessage {
    /// The id it answered with.
    pub wamid: String,
    /// The business number (phone number id) it was sent from.
    pub number: String,
    /// The request body as the hub sent it.
    pub body: serde_json::Value,
    /// When it arrived.
    pub at: Instant,
}

/// How one scripted request to `/messages` fails.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Answer with this HTTP status and a fitting Graph error body (5xx: code 2, transient;
    /// 429: code 130429; 400: code 100; 401: code 190; others: code 1).
    Status(u16),
    /// Answer as the Cloud API reports its own errors (e.g. 400 with code 131047).
    CloudError {
        /// The HTTP status of the answer.
        http_status: u16,
        /// Meta's error code (`error.code`).
        code: i64,
        /// Meta's error title (`error.message` and `error_data.details`).
        title: String,
    },
    /// Answer only after this long, and then with 504: the client's timeout should fire
    /// first. The message is not accepted.
    Delay(Duration),
    /// Accept the message (its status webhooks follow) but answer 200 without its id, as
    /// when the answer is lost on the way back.
    AnswerLost,
}

/// A running simulator; clones are cheap handles to the same server.
#[derive(Clone)]
pub struct CloudApiSim {
    shared: Arc<Shared>,
    server: ServerHandle,
}

impl fmt::Debug for CloudApiSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudApiSim")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl CloudApiSim {
    /// Binds `config.bind` and serves on the current actix System; returns at once.
    pub async fn start(config: SimConfig) -> std::io::Result<CloudApiSim> {
        let listener = TcpListener::bind(config.bind)?;
        let root_url = format!("http://{}", listener.local_addr()?);
        let http = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared::new(config, root_url, http));
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .configure(routes::configure)
                .default_service(web::to(routes::unknown_path))
        })
        // One worker is plenty for a test double and keeps many simulators cheap.
        .workers(1)
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE_SECONDS)
        .listen(listener)?
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Ok(CloudApiSim {
            shared,
            server: handle,
        })
    }

    /// The Graph API base with version, what `WHATSAPP_API_URL` is set to.
    pub fn base_url(&self) -> String {
        format!("{}/{GRAPH_API_VERSION}", self.shared.root_url)
    }

    /// Where signed status webhooks go from now on.
    pub fn set_webhook_url(&self, url: String) {
        self.shared.lock().webhook_url = Some(url);
    }

    /// Every accepted message, in arrival order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared.lock().sent.clone()
    }

    /// How many requests reached `/messages`, failed ones and read receipts included.
    pub fn received_requests(&self) -> usize {
        self.shared.lock().received
    }

    /// Waits until at least `count` messages were accepted: `Ok` with all of them, or
    /// `Err` with those accepted when `deadline` passed.
    pub async fn wait_for_sent(
        &self,
        count: usize,
        deadline: Duration,
    ) -> Result<Vec<SentMessage>, Vec<SentMessage>> {
        let mut accepted = self.shared.sent_count.subscribe();
        let reached = tokio::time::timeout(deadline, accepted.wait_for(|n| *n >= count)).await;
        let sent = self.sent();
        match reached {
            Ok(Ok(_)) => Ok(sent),
            _ => Err(sent),
        }
    }

    /// The next requests to `/messages` fail in this order, one failure each.
    pub fn script(&self, failures: impl IntoIterator<Item = Failure>) {
        self.shared.lock().script.extend(failures);
    }

    /// While down, every `/messages` request answers 503 and scripted failures wait.
    pub fn set_down(&self, down: bool) {
        self.shared.lock().down = down;
    }

    /// Stores media as if uploaded; returns the id the hub can download it by.
    pub fn add_media(&self, bytes: Vec<u8>, mime_type: &str) -> String {
        self.shared.lock().store_media(bytes, mime_type.to_string())
    }

    /// While on, the status webhooks of a send are delivered before the send is answered,
    /// as when Meta's webhook overtakes its API answer.
    pub fn set_statuses_first(&self, first: bool) {
        self.shared.lock().statuses_first = first;
    }

    /// The bytes and MIME type of a media stored under `media_id` (uploaded by the hub
    /// or added with [`CloudApiSim::add_media`]).
    pub fn uploaded(&self, media_id: &str) -> Option<(Vec<u8>, String)> {
        let state = self.shared.lock();
        let media = state.media.get(media_id)?;
        Some((media.bytes.clone(), media.mime_type.clone()))
    }

    /// The wamids the hub marked read, in order.
    pub fn read_receipts(&self) -> Vec<String> {
        self.shared.lock().read_receipts.clone()
    }

    /// Stops serving and posting webhooks; returns at once.
    pub fn stop(&self) {
        self.shared.lock().stopped = true;
        // The stop command is sent when `stop` is called; awaiting would only wait for
        // the worker to finish, which nobody needs.
        let _finished = self.server.stop(false);
    }
}
