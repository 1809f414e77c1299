//! Per-day report counters, kept as things happen (never recomputed from messages).

use serde::{Deserialize, Serialize};

/// What happened on one day, for everyone (user 0) or one agent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DayStats {
    pub chats_opened: u64,
    pub chats_closed: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    /// First human replies, and the seconds they took in all.
    pub first_responses: u64,
    pub first_response_seconds: u64,
    /// Closes, and the seconds from opening to closing in all.
    pub resolutions: u64,
    pub resolution_seconds: u64,
    /// Satisfaction answers, and their ratings (1-5) in all.
    #[serde(default)]
    pub csat_responses: u64,
    #[serde(default)]
    pub csat_sum: u64,
}

impl DayStats {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &DayStats) {
        self.chats_opened += other.chats_opened;
        self.chats_closed += other.chats_closed;
        self.messages_in += other.messages_in;
        self.messages_out += other.messages_out;
        self.first_responses += other.first_responses;
        self.first_response_seconds += other.first_response_seconds;
        self.resolutions += other.resolutions;
        self.resolution_seconds += other.resolution_seconds;
        self.csat_responses += other.csat_responses;
        self.csat_sum += other.csat_sum;
    }
}
