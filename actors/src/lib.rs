//! atende-actors: the live part of the hub.
//!
//! The [`router::Router`] supervises one [`chat::ChatActor`] per live chat (the only writer
//! of its chat) and one [`outbound_queue::OutboundQueue`] per business number (the durable
//! outbox's sender); [`media::MediaFetcher`] downloads inbound media. `whatsapp/` holds the
//! Cloud API payload types, signatures and client. Everything runs on the actix system of
//! the process; blocking work (file IO) goes to tokio's blocking pool. State lives in sled,
//! so any actor can be dropped and started again from the store.

pub mod agent_session;
pub mod assign;
pub mod campaigns;
pub mod chat;
mod error;
pub mod events;
pub mod hooks;
pub mod hours;
pub mod hub;
pub mod media;
pub mod messages;
pub mod metrics;
pub mod outbound_queue;
pub mod router;
pub mod scheduled;
pub mod whatsapp;

pub use atende_data as data;
pub use error::{Error, Result};
pub use hub::{Hub, HubConfig};
