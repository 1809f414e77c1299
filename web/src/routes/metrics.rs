//! `GET /metrics`: the hub's counters and gauges in Prometheus text format, for a
//! configured bearer token or from allowed addresses only. Formatted by hand rather than
//! with prometheus-client: README, "Benchmarks", says why.

use std::fmt::Write as _;

use actix_web::{web, HttpRequest, HttpResponse};
use atende_actors::metrics::{Metrics, OutboxGauge, LATENCY_BUCKETS};
use atende_data::ChatStatus;
use chrono::Utc;
use subtle::ConstantTimeEq;

use crate::auth::bearer;
use crate::error::{Error, Result};
use crate::state::AppState;

/// Served outside `/api` (scrapers expect it at the root).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

fn allowed(state: &AppState, req: &HttpRequest) -> bool {
    let config = &state.config;
    if let Some(token) = &config.metrics_token {
        // Compared in constant time: the token is a secret.
        if bearer(req).is_some_and(|t| bool::from(t.as_bytes().ct_eq(token.as_bytes()))) {
            return true;
        }
    }
    let ip = super::client_ip(req);
    ip.is_some_and(|ip| config.metrics_allow.contains(&ip))
}

async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse> {
    if !allowed(&state, &req) {
        return Err(Error::Forbidden(atende_data::refusals::METRICS_DENIED));
    }
    let hub = state.hub.clone();
    let text = web::block(move || render(&hub)).await??;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}

fn render(hub: &atende_actors::Hub) -> Result<String> {
    let m = &hub.metrics;
    let store = &hub.store;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, lines: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in lines {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let one = |v: u64| vec![(String::new(), v as f64)];
    metric(
        "atende_webhooks_received_total",
        "counter",
        "Webhook posts accepted.",
        one(Metrics::get(&m.webhooks_received)),
    );
    metric(
        "atende_webhooks_rejected_total",
        "counter",
        "Webhook posts refused (signature, body).",
        one(Metrics::get(&m.webhooks_rejected)),
    );
    metric(
        "atende_messages_in_total",
        "counter",
        "Customer messages stored.",
        one(Metrics::get(&m.messages_in)),
    );
    metric(
        "atende_messages_out_total",
        "counter",
        "Messages the Cloud API took.",
        one(Metrics::get(&m.messages_out)),
    );
    let failed = m
        .sends_failed()
        .into_iter()
        .map(|(code, n)| (format!("{{code=\"{code}\"}}"), n as f64))
        .collect();
    metric(
        "atende_sends_failed_total",
        "counter",
        "Sends refused for good, by Meta's code.",
        failed,
    );
    let unprocessed = m
        .unprocessed_counts()
        .into_iter()
        .map(|(reason, n)| (format!("{{reason=\"{reason}\"}}"), n as f64))
        .collect();
    metric(
        "atende_webhook_unprocessed_total",
        "counter",
        "Webhook changes kept raw as unprocessed (listed and replayable), by reason.",
        unprocessed,
    );
    metric(
        "atende_media_unverified_total",
        "counter",
        "Downloaded files kept, flagged, though they did not match their announced SHA-256.",
        one(Metrics::get(&m.media_unverified)),
    );
    metric(
        "atende_webhook_unprocessed_kept",
        "gauge",
        "Webhook changes kept as unprocessed in the store.",
        one(store.unprocessed_len() as u64),
    );
    let now = Utc::now();
    let outboxes = m.outboxes();
    let per_number = |value: &dyn Fn(&OutboxGauge) -> f64| {
        outboxes
            .iter()
            .map(|(number, gauge)| (format!("{{number=\"{}\"}}", label(number)), value(gauge)))
            .collect()
    };
    metric(
        "atende_outbox_depth",
        "gauge",
        "Requests waiting for the Cloud API, per business number (phone number id).",
        per_number(&|g| g.depth as f64),
    );
    metric(
        "atende_outbox_oldest_seconds",
        "gauge",
        "Age of the oldest waiting request, per business number (0 when none waits).",
        per_number(&|g| {
            g.oldest.map_or(0.0, |at| {
                (now - at).num_milliseconds().max(0) as f64 / 1000.0
            })
        }),
    );
    metric(
        "atende_cloud_api_failing_seconds",
        "gauge",
        "How long Cloud API requests have failed (0 when the last one went through).",
        vec![(
            String::new(),
            m.cloud_api_failing_since().map_or(0.0, |since| {
                (now - since).num_milliseconds().max(1) as f64 / 1000.0
            }),
        )],
    );
    let (jumps, last_jump) = m.clock_jumps();
    metric(
        "atende_clock_jumps_total",
        "counter",
        "Steps of the system clock noticed since start (wall and monotonic clocks disagreed).",
        vec![(String::new(), jumps as f64)],
    );
    metric(
        "atende_clock_last_jump_seconds",
        "gauge",
        "How far the last step moved the wall clock (negative when back; 0 when none).",
        vec![(String::new(), last_jump.map_or(0.0, |j| j.seconds as f64))],
    );
    let statuses = [ChatStatus::Pending, ChatStatus::Open, ChatStatus::Closed];
    // A failing disk can fail reads too: what cannot be read is left out, the rest is
    // still served (the failure is what the scrape should show).
    let chats = statuses
        .into_iter()
        .filter_map(|status| {
            let count = store.count_status(status).ok()?;
            Some((format!("{{status=\"{}\"}}", status.as_str()), count as f64))
        })
        .collect();
    metric("atende_chats", "gauge", "Chats by status.", chats);
    metric(
        "atende_agents_online",
        "gauge",
        "Users online now.",
        one(hub.board.online().len() as u64),
    );
    metric(
        "atende_websocket_connections",
        "gauge",
        "Open browser sockets.",
        one(Metrics::get(&m.websocket_connections)),
    );
    metric(
        "atende_event_log_events",
        "gauge",
        "Events kept for resuming sockets.",
        store.event_count().map_or_else(|_| Vec::new(), one),
    );
    metric(
        "atende_storage_failing",
        "gauge",
        "1 while the database cannot write to disk (full or failing).",
        one(u64::from(store.storage_failing())),
    );
    metric(
        "atende_storage_bytes",
        "gauge",
        "Database size on disk.",
        store.size_on_disk().map_or_else(|_| Vec::new(), one),
    );
    let h = m.latency();
    let mut lines: Vec<(String, f64)> = LATENCY_BUCKETS
        .iter()
        .zip(h.buckets)
        .map(|(bound, n)| (format!("_bucket{{le=\"{bound}\"}}"), n as f64))
        .collect();
    lines.push(("_bucket{le=\"+Inf\"}".into(), h.count as f64));
    lines.push(("_sum".into(), h.sum));
    lines.push(("_count".into(), h.count as f64));
    metric(
        "atende_http_request_duration_seconds",
        "histogram",
        "HTTP request latency.",
        lines,
    );
    Ok(out)
}

/// A label value with Prometheus' escapes (backslash, quote, newline).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
