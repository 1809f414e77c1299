//! The WhatsApp Cloud API: webhook payloads, signatures, and the HTTP client.

pub mod client;
pub mod signature;
pub mod webhook;
