//! What every request handler can reach.

use std::sync::Arc;

use atende_actors::Hub;
use atende_data::Store;

use crate::auth::Tokens;
use crate::limits::{Limiters, RateLimits};

/// The HTTP side's settings, given by the binary (only it reads env and files).
#[derive(Clone, Debug, Default)]
pub struct WebConfig {
    /// Origins allowed to call the API from another site (CORS); same-origin is always on.
    pub cors_origins: Vec<String>,
    /// Request rates per address, per user and for the webhook.
    pub rate_limits: RateLimits,
    /// Served over TLS, so browsers may be told to insist on it (HSTS).
    pub tls: bool,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Checks `X-Hub-Signature-256` on webhooks when set.
    pub app_secret: Option<String>,
    /// Meta's verification request must present this.
    pub verify_token: String,
    /// Sandbox mode: the customer simulator page is served.
    pub sandbox: bool,
    /// The business's WhatsApp number in international digits, for click-to-chat links.
    pub display_number: Option<String>,
    /// A bearer token that may read `/metrics`.
    pub metrics_token: Option<String>,
    /// Addresses that may read `/metrics` without a token.
    pub metrics_allow: Vec<std::net::IpAddr>,
    /// Reverse proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Shared state of the HTTP layer; one per hub, behind `web::Data`.
pub struct AppState {
    pub store: Store,
    pub hub: Arc<Hub>,
    pub tokens: Tokens,
    pub limits: Limiters,
    pub config: WebConfig,
    /// Files held whole in memory at once (an upload read, a forward's copy): each may be
    /// 100 MB, so they take turns beyond [`FILES_IN_MEMORY`].
    pub files: tokio::sync::Semaphore,
}

/// How many uploads or copies may hold their file in memory at once.
pub const FILES_IN_MEMORY: usize = 4;

impl AppState {
    /// State for a hub over `store`, signing tokens with `jwt_secret`.
    pub fn new(hub: Arc<Hub>, jwt_secret: &[u8], config: WebConfig) -> AppState {
        AppState {
            store: hub.store.clone(),
            hub,
            tokens: Tokens::new(jwt_secret),
            limits: Limiters::new(config.rate_limits),
            config,
            files: tokio::sync::Semaphore::new(FILES_IN_MEMORY),
        }
    }
}
