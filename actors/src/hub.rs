//! [`Hub`]: the running actor system of one data directory, and what the HTTP layer needs
//! of it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix::prelude::*;
use atende_data::Store;
use serde_json::Value;

use crate::media::MediaFetcher;
use crate::router::Router;
use crate::whatsapp::client::{CloudApiError, CloudClient};

/// How long the template list is served from memory before it is asked for again.
const TEMPLATE_TTL: Duration = Duration::from_secs(600);

/// The Cloud API side and the chat rules the actors follow.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Graph API base with version (the simulator's in sandbox mode).
    pub api_url: String,
    pub token: String,
    pub business_account_id: Option<String>,
    /// Messages per second per business number.
    pub rate_limit: u32,
}

/// The started actors.
pub struct Hub {
    pub router: Addr<Router>,
    pub store: Store,
    pub config: HubConfig,
    client: CloudClient,
    templates: Mutex<Option<(Instant, Vec<Value>)>>,
}

impl Hub {
    /// Starts the Router (which resumes the outbox) and the media fetcher (which resumes
    /// pending downloads). Call within an actix system.
    pub fn start(store: Store, config: HubConfig) -> Hub {
        let client = CloudClient::new(&config.api_url, &config.token);
        let media = MediaFetcher::new(store.clone(), client.clone()).start();
        let router = Router::new(store.clone(), config.clone(), client.clone(), media).start();
        Hub {
            router,
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
