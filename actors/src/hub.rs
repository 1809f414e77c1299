//! [`Hub`]: the running actor system of one data directory, and what the HTTP layer needs
//! of it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use atende_data::Store;
use serde_json::Value;

use crate::agent_session::PresenceBoard;
use crate::campaigns::Campaigns;
use crate::events::{EventBus, PresenceRules, Renderer, Retention, SetHooks, SetRouter};
use crate::hooks::{HookRules, Hooks};
use crate::media::MediaFetcher;
use crate::metrics::Metrics;
use crate::router::{Router, RouterParts};
use crate::scheduled::Scheduler;
use crate::whatsapp::client::{CloudApiError, CloudClient};

/// How long the template list is served from memory before it is asked for again.
const TEMPLATE_TTL: Duration = Duration::from_secs(600);
/// How often the wall clock is compared with the monotonic clock.
const CLOCK_CHECK: Duration = Duration::from_secs(1);

/// The Cloud API side and the chat rules the actors follow.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Graph API base with version (the simulator's in sandbox mode).
    pub api_url: String,
    pub token: String,
    pub business_account_id: Option<String>,
    /// Messages per second per business number.
    pub rate_limit: u32,
    /// How long one Cloud API request may take.
    pub api_timeout: Duration,
    /// How long a send that may have gone out (the hub died, or the answer was lost)
    /// waits for Meta's status webhook to say so before it is sent again.
    pub send_recovery_wait: Duration,
    /// An agent offline this long loses their open chats back to the queues.
    pub requeue_after: Duration,
    /// How long events are kept for resuming sockets.
    pub retention: Retention,
    pub presence: PresenceRules,
    /// In sandbox mode, the simulated business number.
    pub sandbox_number: Option<String>,
    /// How outgoing webhooks are retried.
    pub hooks: HookRules,
}

impl HubConfig {
    /// The business number simulated customers write to in sandbox mode.
    pub fn sandbox_number(&self) -> String {
        self.sandbox_number.clone().unwrap_or_default()
    }
}

/// The started actors.
pub struct Hub {
    pub router: Addr<Router>,
    pub bus: Addr<EventBus>,
    pub hooks: Addr<Hooks>,
    pub campaigns: Addr<Campaigns>,
    pub scheduler: Addr<Scheduler>,
    pub board: PresenceBoard,
    pub store: Store,
    pub config: HubConfig,
    pub metrics: Arc<Metrics>,
    client: CloudClient,
    templates: Mutex<Option<(Instant, Vec<Value>)>>,
}

impl Hub {
    /// Starts the event bus, the Router (which resumes the outbox) and the media fetcher
    /// (which resumes pending downloads); `render` gives events their API shape. Call
    /// within an actix system.
    pub fn start(store: Store, config: HubConfig, render: Renderer) -> Hub {
        // Before anything writes: whether writes carry webhook intents, and the id below
        // which an intent is a crash's leftover.
        match store.subscriptions() {
            Ok(subscriptions) => store.set_intents_wanted(!subscriptions.is_empty()),
            Err(error) => tracing::error!(%error, "webhook subscriptions could not be read"),
        }
        // Without one (a failing disk), no leftover is published: they wait for the next start.
        let floor = store.new_id().unwrap_or(0);
        let client = CloudClient::new(&config.api_url, &config.token, config.api_timeout);
        let board = PresenceBoard::default();
        let metrics = Arc::new(Metrics::default());
        let bus = EventBus::new(
            store.clone(),
            render,
            config.retention,
            config.presence,
            board.clone(),
        );
        // Its own thread: rendering and fanning out events would otherwise share one core
        // with every chat actor.
        let bus = EventBus::start_in_arbiter(&Arbiter::new().handle(), |_| bus);
        let media = MediaFetcher::new(store.clone(), client.clone(), metrics.clone()).start();
        let parts = RouterParts {
            metrics: metrics.clone(),
            client: client.clone(),
            media,
            bus: bus.clone(),
            board: board.clone(),
        };
        let router = Router::new(store.clone(), config.clone(), parts).start();
        bus.do_send(SetRouter(router.clone()));
        let hooks = Hooks::new(store.clone(), config.hooks, bus.clone(), floor).start();
        bus.do_send(SetHooks(hooks.clone().recipient()));
        let campaigns = Campaigns::new(
            store.clone(),
            router.clone(),
            bus.clone(),
            metrics.clone(),
            config.rate_limit,
        )
        .start();
        let scheduler = Scheduler::new(store.clone(), router.clone(), bus.clone()).start();
        watch_clock(metrics.clone());
        Hub {
            metrics,
            router,
            bus,
            hooks,
            campaigns,
            scheduler,
            board,
            store,
            config,
            client,
            templates: Mutex::new(None),
        }
    }

    /// The business's message templates, cached for a while; a stale list is served when
    /// the Cloud API cannot be reached.
    pub async fn templates(&self) -> Result<Vec<Value>, CloudApiError> {
        if let Some((at, list)) = self
            .templates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if at.elapsed() < TEMPLATE_TTL {
                return Ok(list.clone());
            }
        }
        let Some(waba) = &self.config.business_account_id else {
            return Ok(Vec::new());
        };
        match self.client.templates(waba).await {
            Ok(list) => {
                *self.templates.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((Instant::now(), list.clone()));
                Ok(list)
            }
            Err(error) => match self
                .templates
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                Some((_, stale)) => Ok(stale.clone()),
                None => Err(error),
            },
        }
    }
}

/// Notices steps of the system clock, for `/readyz`, `/metrics` and the log. Timers and
/// message order do not depend on the wall clock; what does (the chat list order, the
/// 24-hour window, token expiry) follows the new time, and an operator should know.
fn watch_clock(metrics: Arc<Metrics>) {
    actix::spawn(async move {
        let mut watch = crate::metrics::ClockWatch::default();
        let mut tick = actix::clock::interval(CLOCK_CHECK);
        loop {
            tick.tick().await;
            if let Some(jump) = watch.look() {
                tracing::warn!(seconds = jump.seconds, "the system clock jumped");
                metrics.clock_jumped(jump);
            }
        }
    });
}
