//! The HTTP routes, one module per resource, each exporting `configure`.

pub mod audit;
pub mod auth;
pub mod canned;
pub mod chats;
pub mod contacts;
pub mod docs;
pub mod health;
pub mod media;
pub mod messages;
pub mod metrics;
pub mod qr;
pub mod queues;
pub mod reports;
pub mod sandbox;
pub mod settings;
pub mod templates;
pub mod users;
pub mod webhook;

use actix_web::HttpRequest;

/// The address a request came from, for rate limits and the audit log.
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}
