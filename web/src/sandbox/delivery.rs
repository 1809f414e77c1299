//! Posting the status webhooks of an accepted message, signed and retried like Meta does.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::CONTENT_TYPE;

use super::payloads::{signed, status_webhook};
use super::state::{unix_now, Shared};

/// Tries per status webhook: Meta keeps retrying for days; a test double gives up after
/// about half a minute, which still spans a hub's restarts.
pub const WEBHOOK_ATTEMPTS: u32 = 20;
/// Pause after the first failed try; it doubles after each, up to [`WEBHOOK_MAX_BACKOFF`].
pub const WEBHOOK_FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between tries, so a restarted hub hears soon.
pub const WEBHOOK_MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long one webhook post may take; a hub answers in milliseconds.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The statuses an accepted message goes through, in order.
const STATUSES: [&str; 3] = ["sent", "delivered", "read"];

/// Posts `sent`, `delivered` and `read` for `wamid`, each after the configured delay and
/// each only after the previous one was answered or given up, so they arrive in order.
/// Each carries the send's `biz_opaque_callback_data`, as Meta's do.
pub(super) async fn deliver_statuses(
    sim: Arc<Shared>,
    wamid: String,
    recipient: String,
    callback_data: Option<String>,
) {
    let business = sim.config.business();
    for status in STATUSES {
        if !sim.config.status_delay.is_zero() {
            tokio::time::sleep(sim.config.status_delay).await;
        }
        let mut payload = status_webhook(&business, &wamid, &recipient, status, unix_now());
        if let Some(data) = &callback_data {
            payload["entry"][0]["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] =
                data.as_str().into();
        }
        let (body, signature) = signed(&sim.config.app_secret, &payload);
        if !post_with_retries(&sim, body, &signature).await {
            tracing::warn!(
                status,
                "the simulated Cloud API gave up on a status webhook"
            );
        }
    }
}

/// Posts one signed body until the receiver answers 2xx; false when every try failed.
/// No webhook URL (or a stopped simulator) counts as delivered: there is nobody to tell.
async fn post_with_retries(sim: &Shared, body: Vec<u8>, signature: &str) -> bool {
    let mut backoff = WEBHOOK_FIRST_BACKOFF;
    for attempt in 1..=WEBHOOK_ATTEMPTS {
        let Some(url) = sim.webhook_target() else {
            return true;
        };
        let result = sim
            .http
            .post(&url)
            .header(CONTENT_TYPE.as_str(), "application/json")
            .header("X-Hub-Signature-256", signature)
            .body(body.clone())
            .send()
            .await;
        match result {
            Ok(response) if response.status().is_success() => return true,
            Ok(response) => {
                tracing::debug!(attempt, status = %response.status(), "status webhook refused")
            }
            Err(error) => tracing::debug!(attempt, %error, "status webhook not delivered"),
        }
        if attempt < WEBHOOK_ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(WEBHOOK_MAX_BACKOFF);
        }
    }
    false
}
