//! Black-box tests of the whole hub: real HTTP against the real application on port 0,
//! each test with its own temporary data directory; process tests run the real binary.

mod helpers;

mod auth;
mod basics;
mod browser;
mod campaign_crash;
mod campaigns;
mod chats;
mod clock;
mod conformance;
mod console;
mod console_book;
mod contact_book;
mod crash;
mod faults;
mod fixtures;
mod hardening;
mod identity;
mod inbound;
mod integrations;
mod later;
mod media;
mod process;
mod queues;
mod realtime;
mod sending;
mod settings;
mod socket;
mod two_factor;
mod users;
