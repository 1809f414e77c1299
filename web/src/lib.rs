//! atende-web: Atende's HTTP face.
//!
//! Routes (one module per resource under `routes/`), the layers every request passes
//! (`middleware`), the JSON error format (`error`, the only place errors become HTTP), the
//! OpenAPI document generated from the route annotations and the `/docs` page rendered from
//! it. Handlers parse, call one store method or send one actor message, and map the result.
//! `sandbox` is the simulated WhatsApp Cloud API: its own small HTTP server, which stands
//! in for Meta in sandbox mode and in the tests.
//!
//! Threads: actix-web's workers (one per core by default). Password hashing and anything
//! else slow runs through `web::block`; durability waits on the store's group-commit thread
//! without blocking a worker.

mod auth;

mod error;
mod extract;
mod interactive;
mod limits;
mod middleware;
mod openapi;
pub mod routes;
pub mod sandbox;
mod scopes;
mod server;
mod state;
mod two_factor;
mod ui;
pub mod validate;
pub mod views;
mod voice;
mod ws;

pub use error::{Error, Result};
pub use limits::{Rate, RateLimits};
pub use server::{app, serve};
pub use state::{AppState, WebConfig};
