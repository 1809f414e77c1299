//! The HTTP routes, one module per resource, each exporting `configure`.

pub mod audit;
pub mod auth;
pub mod backup;
pub mod campaigns;
pub mod canned;
pub mod chats;
pub mod contact_book;
pub mod contacts;
pub mod docs;
pub mod forward;
pub mod health;
pub mod integrations;
pub mod labels;
pub mod later;
pub mod media;
pub mod messages;
pub mod metrics;
pub mod numbers;
pub mod privacy;
pub mod qr;
pub mod queues;
pub mod reports;
pub mod sandbox;
pub mod settings;
pub mod templates;
pub mod tokens;
pub mod two_factor;
pub mod unprocessed;
pub mod users;
pub mod webhook;

use actix_web::HttpRequest;

/// The address a request came from, for rate limits and the audit log.
pub fn client_address(req: &HttpRequest) -> String {
    client_ip(req)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The client's address: the peer, or, when the peer is a configured reverse proxy, the
/// nearest address in `X-Forwarded-For` that is not one of the proxies. Forwarded headers
/// from anyone else are ignored (they are trivially forged).
pub fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|s| s.config.trusted_proxies.as_slice())
        .unwrap_or_default();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let hops = forwarded
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok());
    let nearest = hops
        .collect::<Vec<std::net::IpAddr>>()
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip));
    Some(nearest.unwrap_or(peer))
}
