//! atende-actors: the live part of the hub.
//!
//! The Router (the supervisor), one ChatActor per live chat, one OutboundQueue per business
//! number, and the WhatsApp Cloud API payload types and client (ARCHITECTURE.md, "The
//! actors"). It depends only on `atende-data`; the HTTP layer talks to it through typed
//! actor messages.

pub mod whatsapp;

pub use atende_data as data;
