//! The records stored in the trees, one module per record kind.

pub mod audit;
pub mod campaign;
pub mod canned;
pub mod chat;
pub mod contact;
pub mod event;
pub mod integration;
pub mod media;
pub mod number;
pub mod outbox;
pub mod queue;
pub mod report;
pub mod scheduled;
pub mod session;
pub mod settings;
pub mod time;
pub mod unprocessed;
pub mod user;
