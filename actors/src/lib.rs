//! atende-actors: the live part of the hub.
//!
//! This crate will hold the Router (the supervisor), one ChatActor per live chat, one
//! AgentSession per signed-in user and one OutboundQueue per business number, plus the
//! WhatsApp Cloud API client and payload types (ARCHITECTURE.md, "The actors"). It depends
//! only on `atende-data`; the HTTP layer talks to it through typed actor messages.

pub use atende_data as data;
