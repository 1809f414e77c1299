//! The command line and the configuration: every setting is a flag and an environment
//! variable (a `.env` file in the working directory is read first); `.env.example`
//! documents each one. [`Settings`] is the checked result, loaded once at start.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use atende_data::Role;
use atende_web::{Rate, RateLimits, WebConfig};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Meta's Graph API base, with the version Atende is written against.
pub const DEFAULT_WHATSAPP_API_URL: &str = "https://graph.facebook.com/v23.0";
/// Meta's ceiling for one business number.
pub const MAX_WHATSAPP_RATE_LIMIT: u32 = 1000;
/// HS256 wants a key at least as long as its hash.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Atende, a WhatsApp customer-service hub in one binary.
#[derive(Parser, Debug)]
#[command(name = "atende", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings of `serve`, which also runs when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the hub (the default).
    Serve(Box<ServeArgs>),
    /// Manage accounts from the command line; the hub must be stopped.
    #[command(subcommand)]
    User(UserCommand),
    /// Drive a running hub with signed webhooks from simulated customers (demos, load).
    Simulate(crate::simulate::SimulateArgs),
    /// Measure a hub under load against the machine's limit (see README.md).
    Bench(crate::bench::BenchArgs),
    /// Write a backup of the database, media and keys to FILE (also while the hub runs).
    Backup(BackupArgs),
    /// Restore a backup into an empty data directory.
    Restore {
        /// The backup file.
        file: PathBuf,
        #[command(flatten)]
        data: DataDirArg,
    },
}

/// Where a backup goes, and how to reach a running hub.
#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The backup file to write.
    pub file: PathBuf,
    #[command(flatten)]
    pub data: DataDirArg,
    /// The running hub, when it holds the data directory [default: ATENDE_PUBLIC_URL].
    #[arg(long, env = "ATENDE_PUBLIC_URL")]
    pub url: Option<String>,
    /// An admin's email, to sign in to the running hub.
    #[arg(long, env = "ATENDE_ADMIN_EMAIL", default_value = "admin@localhost")]
    pub email: String,
    /// Read the admin's password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin a password is generated and printed, and
    /// the user must change it at first sign-in.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "agent", value_parser = parse_role)]
        role: Role,
        /// Read the password from the first line of standard input (never from argv).
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Set a new password for a user and end their sessions. Without --password-stdin a
    /// password is generated and printed, and must be changed at next sign-in.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Turn off a user's two-factor sign-in (a lost phone and lost recovery codes) and end
    /// their sessions; they sign in with their password and enrol again.
    #[command(name = "reset-2fa")]
    ResetTwoFactor {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        data: DataDirArg,
    },
}

/// Where the data lives.
#[derive(Args, Debug, Clone)]
pub struct DataDirArg {
    /// The sled database, media files and generated keys.
    #[arg(
        long = "data-dir",
        env = "ATENDE_DATA_DIR",
        default_value = "./atende-data"
    )]
    pub dir: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Every setting of the running hub.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "ATENDE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    #[command(flatten)]
    pub data: DataDirArg,
    /// The URL people and Meta use to reach the hub [default: http://ATENDE_BIND].
    #[arg(long, env = "ATENDE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The first admin, created when no user exists.
    #[arg(long, env = "ATENDE_ADMIN_EMAIL", default_value = "admin@localhost")]
    pub admin_email: String,
    /// The first admin's password; generated and printed once when unset.
    #[arg(long, env = "ATENDE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Signing key of access tokens (32 bytes or more); generated into the data directory
    /// when unset.
    #[arg(long, env = "ATENDE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Comma-separated origins allowed to call the API from other sites.
    #[arg(long, env = "ATENDE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// PEM certificate chain: serve HTTPS directly (with ATENDE_TLS_KEY).
    #[arg(long, env = "ATENDE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, env = "ATENDE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Log filter (tracing's EnvFilter syntax).
    #[arg(long, env = "ATENDE_LOG", default_value = "info")]
    pub log: String,
    #[arg(long, env = "ATENDE_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// API requests per second per client address.
    #[arg(long, env = "ATENDE_RATE_LIMIT", default_value_t = 50)]
    pub rate_limit: u32,
    /// API requests a client address may burst above its rate.
    #[arg(long, env = "ATENDE_RATE_LIMIT_BURST", default_value_t = 200)]
    pub rate_limit_burst: u32,
    /// API requests per second per signed-in user.
    #[arg(long, env = "ATENDE_USER_RATE_LIMIT", default_value_t = 20)]
    pub user_rate_limit: u32,
    /// API requests a user may burst above their rate.
    #[arg(long, env = "ATENDE_USER_RATE_LIMIT_BURST", default_value_t = 100)]
    pub user_rate_limit_burst: u32,
    /// Webhook requests per second per address (kept far above Meta's bursts).
    #[arg(long, env = "ATENDE_WEBHOOK_RATE_LIMIT", default_value_t = 5000)]
    pub webhook_rate_limit: u32,
    /// HTTP worker threads; 0 means one per core.
    #[arg(long, env = "ATENDE_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// Megabytes of the storage engine's page cache: what of the data it keeps in memory.
    #[arg(long, env = "ATENDE_CACHE_MB", default_value_t = atende_data::DEFAULT_CACHE_MB,
        value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    pub cache_mb: u64,
    /// Seconds an agent may stay offline before their open chats return to the queues.
    #[arg(long, env = "ATENDE_REQUEUE_AFTER", default_value_t = 600)]
    pub requeue_after: u64,
    /// Comma-separated addresses of reverse proxies whose X-Forwarded-For is believed.
    #[arg(long, env = "ATENDE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A bearer token that may read /metrics.
    #[arg(long, env = "ATENDE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Comma-separated addresses that may read /metrics without the token.
    #[arg(
        long,
        env = "ATENDE_METRICS_ALLOW",
        value_delimiter = ',',
        default_value = "127.0.0.1,::1"
    )]
    pub metrics_allow: Vec<std::net::IpAddr>,
    /// Seconds a user with no open socket still counts as online (page reloads).
    #[arg(long, env = "ATENDE_OFFLINE_GRACE", default_value_t = 15)]
    pub offline_grace: u64,
    /// Events kept for reconnecting browsers, at most.
    #[arg(long, env = "ATENDE_EVENT_RETENTION", default_value_t = 100_000)]
    pub event_retention: usize,
    /// Hours events are kept for reconnecting browsers, at most.
    #[arg(long, env = "ATENDE_EVENT_RETENTION_HOURS", default_value_t = 24)]
    pub event_retention_hours: u32,
    /// Milliseconds before the first retry of a failed outgoing webhook; each next retry
    /// waits twice as long, up to an hour.
    #[arg(long, env = "ATENDE_HOOK_RETRY_MS", default_value_t = 15_000)]
    pub hook_retry_ms: u64,
    /// Seconds a webhook subscription may fail on every delivery before it is paused.
    #[arg(long, env = "ATENDE_HOOK_PAUSE_AFTER", default_value_t = 86_400)]
    pub hook_pause_after: u64,
    /// Graph API base URL, with version.
    #[arg(long, env = "WHATSAPP_API_URL", default_value = DEFAULT_WHATSAPP_API_URL)]
    pub whatsapp_api_url: String,
    /// Cloud API access token; unset means sandbox mode.
    #[arg(long, env = "WHATSAPP_TOKEN", hide_env_values = true)]
    pub whatsapp_token: Option<String>,
    /// The business number's id.
    #[arg(long, env = "WHATSAPP_PHONE_NUMBER_ID")]
    pub whatsapp_phone_number_id: Option<String>,
    /// The WhatsApp Business Account id, for templates.
    #[arg(long, env = "WHATSAPP_BUSINESS_ACCOUNT_ID")]
    pub whatsapp_business_account_id: Option<String>,
    /// Verifies X-Hub-Signature-256; required outside sandbox mode.
    #[arg(long, env = "WHATSAPP_APP_SECRET", hide_env_values = true)]
    pub whatsapp_app_secret: Option<String>,
    /// Answer to Meta's verification request; generated and printed when unset.
    #[arg(long, env = "WHATSAPP_VERIFY_TOKEN", hide_env_values = true)]
    pub whatsapp_verify_token: Option<String>,
    /// The business number in international digits (e.g. 5511912345678), for the
    /// click-to-chat QR code.
    #[arg(long, env = "WHATSAPP_DISPLAY_NUMBER")]
    pub whatsapp_display_number: Option<String>,
    /// Messages per second per business number (at most 1000).
    #[arg(long, env = "WHATSAPP_RATE_LIMIT", default_value_t = 80)]
    pub whatsapp_rate_limit: u32,
    /// Seconds a send that may have reached the Cloud API (the hub died mid-request, or
    /// the answer was lost) waits for Meta's status webhook before it is sent again.
    #[arg(long, env = "ATENDE_SEND_RECOVERY_WAIT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub send_recovery_wait: u64,
    /// Seconds one Cloud API request may take before it counts as failed.
    #[arg(long, env = "WHATSAPP_TIMEOUT", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub whatsapp_timeout: u64,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

/// A value that must not appear in `Debug` output or logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The WhatsApp Cloud API side; without a token the hub runs in sandbox mode.
#[derive(Clone, Debug)]
pub struct WhatsAppSettings {
    pub api_url: String,
    pub token: Option<Secret>,
    pub phone_number_id: Option<String>,
    pub business_account_id: Option<String>,
    pub app_secret: Option<Secret>,
    pub verify_token: Option<Secret>,
    pub rate_limit: u32,
    pub send_recovery_wait: std::time::Duration,
    pub timeout: std::time::Duration,
}

impl WhatsAppSettings {
    /// No Cloud API credentials: the simulated Cloud API stands in.
    pub fn sandbox(&self) -> bool {
        self.token.is_none()
    }
}

/// The checked configuration of a running hub.
#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// Megabytes of sled's page cache.
    pub cache_mb: u64,
    pub public_url: Option<String>,
    pub admin_email: String,
    pub admin_password: Option<Secret>,
    pub jwt_secret: Option<Secret>,
    /// Loaded certificate and key, when serving HTTPS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub web: WebConfig,
    pub whatsapp: WhatsAppSettings,
    /// An agent offline this long loses their open chats back to the queues.
    pub requeue_after: std::time::Duration,
    /// How long events are kept for resuming sockets.
    pub retention: atende_actors::events::Retention,
    pub presence: atende_actors::events::PresenceRules,
    /// How outgoing webhooks are retried and paused.
    pub hooks: atende_actors::hooks::HookRules,
    /// Stop gracefully on SIGINT/SIGTERM (off in tests that run many hubs in a process).
    pub handle_signals: bool,
}

impl Settings {
    /// Checks `args`; fails with one plain sentence naming the setting at fault.
    pub fn from_args(args: ServeArgs) -> anyhow::Result<Settings> {
        let bind = resolve(&args.bind)?;
        if let Some(secret) = &args.jwt_secret {
            if secret.len() < MIN_JWT_SECRET_BYTES {
                bail!("ATENDE_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes long");
            }
        }
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(Arc::new(load_tls(cert, key)?)),
            (None, None) => None,
            _ => bail!("ATENDE_TLS_CERT and ATENDE_TLS_KEY must be given together"),
        };
        if !(1..=MAX_WHATSAPP_RATE_LIMIT).contains(&args.whatsapp_rate_limit) {
            bail!("WHATSAPP_RATE_LIMIT must be between 1 and {MAX_WHATSAPP_RATE_LIMIT}");
        }
        if args.whatsapp_token.is_some() {
            if args.whatsapp_app_secret.is_none() {
                bail!("WHATSAPP_APP_SECRET is required when WHATSAPP_TOKEN is set: without it anyone could post fake webhooks");
            }
            if args.whatsapp_phone_number_id.is_none() {
                bail!("WHATSAPP_PHONE_NUMBER_ID is required when WHATSAPP_TOKEN is set");
            }
        }
        if let Some(number) = &args.whatsapp_display_number {
            if !(8..=15).contains(&number.len()) || !number.chars().all(|c| c.is_ascii_digit()) {
                bail!("WHATSAPP_DISPLAY_NUMBER must be the number in international digits, such as 5511912345678");
            }
        }
        if let Some(url) = &args.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("ATENDE_PUBLIC_URL must start with http:// or https://");
            }
        }
        let secret = |value: Option<String>| value.filter(|v| !v.is_empty()).map(Secret);
        let web = WebConfig {
            cors_origins: args
                .cors_origins
                .iter()
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect(),
            rate_limits: RateLimits {
                per_address: Rate {
                    per_second: args.rate_limit,
                    burst: args.rate_limit_burst,
                },
                per_user: Rate {
                    per_second: args.user_rate_limit,
                    burst: args.user_rate_limit_burst,
                },
                webhook_per_address: Rate {
                    per_second: args.webhook_rate_limit,
                    burst: args.webhook_rate_limit.saturating_mul(4),
                },
            },
            tls: tls.is_some(),
            workers: args.workers,
            display_number: args.whatsapp_display_number.clone(),
            metrics_token: args.metrics_token.clone().filter(|t| !t.is_empty()),
            metrics_allow: args.metrics_allow.clone(),
            trusted_proxies: args.trusted_proxies.clone(),
            ..WebConfig::default()
        };
        Ok(Settings {
            bind,
            data_dir: args.data.dir,
            cache_mb: args.cache_mb,
            public_url: args.public_url,
            admin_email: args.admin_email,
            admin_password: secret(args.admin_password),
            jwt_secret: secret(args.jwt_secret),
            tls,
            web,
            whatsapp: WhatsAppSettings {
                api_url: args.whatsapp_api_url.trim_end_matches('/').to_string(),
                token: secret(args.whatsapp_token),
                phone_number_id: args.whatsapp_phone_number_id,
                business_account_id: args.whatsapp_business_account_id,
                app_secret: secret(args.whatsapp_app_secret),
                verify_token: secret(args.whatsapp_verify_token),
                rate_limit: args.whatsapp_rate_limit,
                send_recovery_wait: std::time::Duration::from_secs(args.send_recovery_wait),
                timeout: std::time::Duration::from_secs(args.whatsapp_timeout),
            },
            requeue_after: std::time::Duration::from_secs(args.requeue_after),
            retention: atende_actors::events::Retention {
                max_events: args.event_retention.max(1),
                max_age: chrono::Duration::hours(i64::from(args.event_retention_hours.max(1))),
            },
            presence: atende_actors::events::PresenceRules {
                offline_grace: std::time::Duration::from_secs(args.offline_grace),
            },
            hooks: atende_actors::hooks::HookRules {
                retry_base: std::time::Duration::from_millis(args.hook_retry_ms.max(1)),
                pause_after: chrono::Duration::seconds(
                    args.hook_pause_after.clamp(1, 1 << 40) as i64
                ),
                ..Default::default()
            },
            handle_signals: true,
        })
    }
}

fn resolve(bind: &str) -> anyhow::Result<SocketAddr> {
    bind.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| {
            anyhow!(
                "ATENDE_BIND must be an address with a port, such as 127.0.0.1:8080 (got {bind:?})"
            )
        })
}

fn load_tls(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let read = |path: &Path| {
        std::fs::read(path).with_context(|| format!("cannot read the TLS file {}", path.display()))
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| anyhow!("{} holds no PEM certificate", cert.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|_| anyhow!("{} holds no PEM private key", key.display()))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| anyhow!("the TLS certificate and key do not work together: {e}"))
}
