//! Wiring a hub together: open the store, make the first admin, bind the listener, start
//! the server. Tests build the same [`Application`] on port 0 with a temporary directory.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use std::sync::Arc;

use actix_web::dev::Server;
use anyhow::Context;
use atende_actors::{Hub, HubConfig};
use atende_data::{Role, Store};
use atende_web::sandbox::{CloudApiSim, SimConfig, SANDBOX_WABA_ID};
use atende_web::AppState;

use crate::config::Settings;

/// How often expired refresh tokens are swept from the store.
const SESSION_PRUNE_INTERVAL: Duration = Duration::from_secs(3600);
/// Name of the file that keeps a generated first-admin password.
pub const INITIAL_PASSWORD_FILE: &str = "initial-admin-password";
/// Characters of a generated password (base64 of 18 random bytes: 144 bits).
const GENERATED_PASSWORD_BYTES: usize = 18;
/// Pause between the simulated sent / delivered / read statuses.
const SANDBOX_STATUS_DELAY: Duration = Duration::from_millis(700);

/// A built hub, listening, not yet serving until [`Application::run_until_stopped`].
pub struct Application {
    server: Server,
    address: SocketAddr,
    store: Store,
    public_url: String,
    sandbox: Option<CloudApiSim>,
    verify_token: String,
}

impl Application {
    /// Opens the data directory, bootstraps the first admin, binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let store = Store::open_with_cache(&settings.data_dir, settings.cache_mb)?;
        let scheme = if settings.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let listener = TcpListener::bind(settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {}", settings.bind, plain_io(&e)))?;
        let address = listener.local_addr()?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{address}"));
        bootstrap_admin(&store, &settings, &public_url)?;
        let jwt_secret = match &settings.jwt_secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => store.jwt_key()?,
        };
        let webhook_url = format!("http://{address}/api/v1/webhooks/whatsapp");
        let (hub_config, app_secret, sandbox) =
            whatsapp_side(&store, &settings, webhook_url).await?;
        let mut web = settings.web.clone();
        web.app_secret = app_secret;
        web.sandbox = sandbox.is_some();
        if web.sandbox && web.display_number.is_none() {
            web.display_number =
                Some(atende_web::sandbox::SANDBOX_DISPLAY_PHONE_NUMBER.to_string());
        }
        web.verify_token = match &settings.whatsapp.verify_token {
            Some(token) => token.expose().to_string(),
            None => store.secret("verify_token")?,
        };
        let verify_token = web.verify_token.clone();
        seed_numbers(
            &store,
            &settings,
            &hub_config,
            web.display_number.as_deref(),
        )?;
        let hub = Arc::new(Hub::start(
            store.clone(),
            hub_config,
            atende_web::views::render_event,
        ));
        let state = AppState::new(hub, &jwt_secret, web);
        let tls = settings.tls.as_deref().cloned();
        let server = atende_web::serve(state, listener, tls, settings.handle_signals)?;
        spawn_session_pruner(store.clone());
        if settings.handle_signals {
            spawn_storage_watch(store.clone())?;
        }
        let mode = if sandbox.is_some() { "sandbox" } else { "live" };
        tracing::info!(mode, "listening on {scheme}://{address}");
        Ok(Application {
            server,
            address,
            store,
            public_url,
            sandbox,
            verify_token,
        })
    }

    /// The address the listener got (the real port when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where people reach the hub.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Serves until SIGINT/SIGTERM (or the server handle stops it), lets in-flight
    /// requests finish, then flushes the database.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.await.context("the HTTP server failed")?;
        let store = self.store;
        tokio::task::spawn_blocking(move || store.flush_blocking())
            .await
            .context("flushing on shutdown")??;
        tracing::info!("stopped; the database is flushed");
        Ok(())
    }

    /// What Meta's webhook verification must present.
    pub fn verify_token(&self) -> &str {
        &self.verify_token
    }

    /// The simulated Cloud API, in sandbox mode.
    pub fn sandbox(&self) -> Option<&CloudApiSim> {
        self.sandbox.as_ref()
    }

    /// A handle to stop the server from elsewhere (tests, signals).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// The Cloud API the hub talks to, and the secret that signs its webhooks: the configured
/// account, or in sandbox mode a simulated Cloud API on a free local port whose credentials
/// are generated once into the data directory.
async fn whatsapp_side(
    store: &Store,
    settings: &Settings,
    webhook_url: String,
) -> anyhow::Result<(HubConfig, Option<String>, Option<CloudApiSim>)> {
    let wa = &settings.whatsapp;
    if let Some(token) = &wa.token {
        let config = hub_config(
            settings,
            wa.api_url.clone(),
            token.expose().to_string(),
            wa.business_account_id.clone(),
            None,
        );
        return Ok((
            config,
            wa.app_secret.as_ref().map(|s| s.expose().to_string()),
            None,
        ));
    }
    let app_secret = match &wa.app_secret {
        Some(secret) => secret.expose().to_string(),
        None => store.secret("sandbox_app_secret")?,
    };
    let token = store.secret("sandbox_token")?;
    let secret_file = settings.data_dir.join(crate::simulate::SANDBOX_SECRET_FILE);
    write_private(&secret_file, &format!("{app_secret}\n"))?;
    let mut config = SimConfig::local(token.clone(), app_secret.clone());
    if let Some(number) = &wa.phone_number_id {
        config.phone_number_id = number.clone();
    }
    let number = config.phone_number_id.clone();
    config.webhook_url = Some(webhook_url);
    config.status_delay = SANDBOX_STATUS_DELAY;
    let sim = CloudApiSim::start(config)
        .await
        .context("cannot start the simulated Cloud API")?;
    let config = hub_config(
        settings,
        sim.base_url(),
        token,
        Some(SANDBOX_WABA_ID.into()),
        Some(number),
    );
    Ok((config, Some(app_secret), Some(sim)))
}

/// The hub's settings for a Cloud API at `api_url` (in sandbox mode, the simulated one and
/// its number).
fn hub_config(
    settings: &Settings,
    api_url: String,
    token: String,
    business_account_id: Option<String>,
    sandbox_number: Option<String>,
) -> HubConfig {
    let wa = &settings.whatsapp;
    HubConfig {
        api_url,
        token,
        business_account_id,
        rate_limit: wa.rate_limit,
        send_recovery_wait: wa.send_recovery_wait,
        api_timeout: wa.timeout,
        requeue_after: settings.requeue_after,
        retention: settings.retention,
        presence: settings.presence,
        sandbox_number,
        hooks: settings.hooks,
    }
}

/// Makes the environment's business number (and the sandbox's two) the first configured
/// numbers, once: after that the admin's list is what counts.
fn seed_numbers(
    store: &Store,
    settings: &Settings,
    hub: &HubConfig,
    display_number: Option<&str>,
) -> anyhow::Result<()> {
    let mut seeds = Vec::new();
    match (&hub.sandbox_number, &settings.whatsapp.phone_number_id) {
        (Some(first), _) => {
            seeds.push((first.clone(), "Sandbox", display_number.map(str::to_owned)));
            seeds.push((
                atende_web::sandbox::SANDBOX_SECOND_NUMBER_ID.to_string(),
                "Sandbox 2",
                Some(atende_web::sandbox::SANDBOX_SECOND_DISPLAY_NUMBER.to_string()),
            ));
        }
        (None, Some(id)) => seeds.push((id.clone(), "WhatsApp", display_number.map(str::to_owned))),
        (None, None) => {}
    }
    for (id, name, display) in seeds {
        if store.number(&id)?.is_some() {
            continue;
        }
        let number = atende_data::BusinessNumber {
            id,
            name: name.to_string(),
            display_number: display,
            business_account_id: hub.business_account_id.clone(),
            rate_limit: None,
            messaging_limit: None,
            enabled: true,
            created_at: chrono::Utc::now(),
        };
        match store.create_number(&number) {
            Ok(()) | Err(atende_data::Error::Conflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// Creates the first admin when no user exists. A generated password is printed once and
/// written, readable by the owner only, to the data directory.
fn bootstrap_admin(store: &Store, settings: &Settings, url: &str) -> anyhow::Result<()> {
    if !store.has_no_users()? {
        return Ok(());
    }
    let (plain, generated) = match &settings.admin_password {
        Some(secret) => (secret.expose().to_string(), false),
        None => (generate_password(), true),
    };
    let email = settings.admin_email.clone();
    crate::users::create(store, email, "Admin", Role::Admin, &plain, generated)?;
    if generated {
        let path = settings.data_dir.join(INITIAL_PASSWORD_FILE);
        write_private(&path, &format!("{plain}\n"))?;
        println!(
            "First start: sign in at {url} as {} with the password {plain}\n\
             (also written to {}; you will be asked to change it)",
            settings.admin_email,
            path.display()
        );
    }
    tracing::info!("first admin created");
    Ok(())
}

/// A random password for a new account.
pub fn generate_password() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(atende_data::random_bytes(GENERATED_PASSWORD_BYTES))
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// How often a failing database looks whether its disk takes writes again.
const STORAGE_WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);
/// What the disk must take before the database is opened again.
const STORAGE_PROBE_BYTES: usize = 8 * 1024 * 1024;
/// The probe file, in the data directory.
const STORAGE_PROBE: &str = ".storage-probe";
/// How many times the hub restarted itself over a failing disk.
const STORAGE_RESTARTS: &str = "ATENDE_STORAGE_RESTARTS";
/// A disk that fails again after this long since the last restart starts the backoff over.
const STORAGE_BACKOFF_RESET: std::time::Duration = std::time::Duration::from_secs(3600);

/// sled keeps the error of a failed write (a full disk) until the database is opened
/// again; meanwhile the hub answers 503 and /readyz says why. This thread looks every
/// few seconds whether the data directory takes writes again, and then starts the binary
/// over in place (same process id, arguments and environment), which opens the database
/// anew. Everything acknowledged was on disk before the failure, so nothing is lost.
///
/// Should the disk keep failing although the probe passes, each restart waits twice as
/// long as the one before (up to ten minutes), counted in ATENDE_STORAGE_RESTARTS; a
/// failure an hour or more after the last restart is a new incident and starts over.
fn spawn_storage_watch(store: Store) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(store.dir().join(STORAGE_PROBE));
    let started = std::time::Instant::now();
    let restarts: u32 = std::env::var(STORAGE_RESTARTS)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    std::thread::Builder::new()
        .name("atende-storage-watch".into())
        .spawn(move || loop {
            std::thread::sleep(STORAGE_WATCH_INTERVAL);
            if !store.storage_failing() || !takes_writes(store.dir()) {
                continue;
            }
            let (hold, restarts) = storage_backoff(restarts, started.elapsed());
            std::thread::sleep(hold);
            tracing::warn!("the disk takes writes again: restarting to open the database anew");
            let error = std::env::current_exe().map(|exe| {
                use std::os::unix::process::CommandExt as _;
                std::process::Command::new(exe)
                    .args(std::env::args_os().skip(1))
                    .env(STORAGE_RESTARTS, (restarts + 1).to_string())
                    .exec()
            });
            let error = match error {
                Ok(error) | Err(error) => error,
            };
            tracing::error!(%error, "cannot restart in place; exiting for the service manager to");
            std::process::exit(75);
        })?;
    Ok(())
}

/// How long to wait before restarting over a disk that failed `up` after this process
/// started, the `restarts`-th time in a row, and which restart that one counts as.
fn storage_backoff(restarts: u32, up: std::time::Duration) -> (std::time::Duration, u32) {
    let restarts = if up < STORAGE_BACKOFF_RESET {
        restarts
    } else {
        0
    };
    let hold = std::time::Duration::from_secs((1u64 << restarts.min(10)).min(600));
    (hold, restarts)
}

/// Whether `dir` takes a synced file of [`STORAGE_PROBE_BYTES`] (removed again).
fn takes_writes(dir: &std::path::Path) -> bool {
    use std::io::Write as _;
    let probe = dir.join(STORAGE_PROBE);
    let written = std::fs::File::create(&probe).and_then(|mut file| {
        file.write_all(&vec![0u8; STORAGE_PROBE_BYTES])?;
        file.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    written.is_ok()
}

/// Hourly housekeeping: expired sessions, and what the retention settings no longer keep.
fn spawn_session_pruner(store: Store) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(SESSION_PRUNE_INTERVAL);
        loop {
            tick.tick().await;
            let store = store.clone();
            let now = chrono::Utc::now();
            let done = tokio::task::spawn_blocking(move || {
                let sessions = store.prune_sessions(now)?;
                let (media, messages) = atende_web::routes::privacy::sweep(&store)?;
                Ok::<_, atende_data::Error>((sessions, media, messages))
            });
            match done.await {
                Ok(Ok((sessions, media, messages))) => {
                    tracing::debug!(sessions, media, messages, "housekeeping done")
                }
                Ok(Err(error)) => tracing::warn!(%error, "housekeeping failed"),
                Err(_) => return,
            }
        }
    });
}

/// io errors without the "(os error 98)" noise.
fn plain_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => "the address is already in use".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::AddrNotAvailable => {
            "the address is not available on this machine".into()
        }
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_storage_backoff_doubles_then_starts_over_for_a_new_incident() {
        let soon = Duration::from_secs(30);
        assert_eq!(storage_backoff(0, soon), (Duration::from_secs(1), 0));
        assert_eq!(storage_backoff(3, soon), (Duration::from_secs(8), 3));
        assert_eq!(storage_backoff(30, soon), (Duration::from_secs(600), 30));
        // Days after the last restart: a new incident.
        let later = Duration::from_secs(3 * 86_400);
        assert_eq!(storage_backoff(30, later), (Duration::from_secs(1), 0));
    }
}
