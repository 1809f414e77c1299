//! What the simulator remembers, and the ids it hands out.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tokio::sync::watch;

use super::placeholders::placeholder_media;
use super::{Failure, SentMessage, SimConfig};

/// Everything the handlers and background tasks share.
pub(super) struct Shared {
    pub config: SimConfig,
    /// `http://host:port`, without the version.
    pub root_url: String,
    pub state: Mutex<State>,
    /// How many messages were accepted, for waiters.
    pub sent_count: watch::Sender<usize>,
    /// Posts the status webhooks.
    pub http: reqwest::Client,
}

/// The mutable part.
#[derive(Default)]
pub(super) struct State {
    pub webhook_url: Option<String>,
    pub sent: Vec<SentMessage>,
    pub received: usize,
    pub script: VecDeque<Failure>,
    pub down: bool,
    pub media: HashMap<String, StoredMedia>,
    pub read_receipts: Vec<String>,
    pub stopped: bool,
    /// Deliver the statuses before answering the send (Meta's webhooks can overtake its
    /// answers).
    pub statuses_first: bool,
    /// Makes ids unique within this simulator.
    counter: u64,
    /// Makes ids unique across simulators and runs.
    seed: u64,
}

/// A media file the simulator holds.
pub(super) struct StoredMedia {
    pub bytes: Vec<u8>,
    pub mime_type: String,
}

/// What one `/messages` request meets before its body is looked at.
pub(super) enum Gate {
    Open,
    Down,
    Fail(Failure),
}

impl Shared {
    pub fn new(config: SimConfig, root_url: String, http: reqwest::Client) -> Shared {
        let state = State {
            webhook_url: config.webhook_url.clone(),
            seed: random_u64(),
            ..State::default()
        };
        Shared {
            config,
            root_url,
            state: Mutex::new(state),
            sent_count: watch::Sender::new(0),
            http,
        }
    }

    /// The state; a panic elsewhere while holding the lock leaves data that is still
    /// consistent enough for a test double, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Says whether an authorised `/messages` request may go on, taking its scripted
    /// failure if one is waiting.
    pub fn admit(&self) -> Gate {
        let mut state = self.lock();
        if state.down {
            return Gate::Down;
        }
        match state.script.pop_front() {
            Some(failure) => Gate::Fail(failure),
            None => Gate::Open,
        }
    }

    /// Records an accepted message and returns its new wamid.
    pub fn accept(&self, number: &str, to: &str, body: serde_json::Value) -> String {
        let mut state = self.lock();
        let wamid = state.new_wamid(to);
        state.sent.push(SentMessage {
            wamid: wamid.clone(),
            number: number.to_string(),
            body,
            at: Instant::now(),
        });
        // Under the lock, so that concurrent accepts publish counts in order.
        self.sent_count.send_replace(state.sent.len());
        wamid
    }

    /// The bytes and MIME type of a media: one stored here, or a built-in placeholder.
    pub fn media(&self, id: &str) -> Option<(Vec<u8>, String)> {
        if let Some(media) = self.lock().media.get(id) {
            return Some((media.bytes.clone(), media.mime_type.clone()));
        }
        placeholder_media(id).map(|(bytes, mime_type)| (bytes, mime_type.to_string()))
    }

    /// Where status webhooks go now; `None` once stopped.
    pub fn webhook_target(&self) -> Option<String> {
        let state = self.lock();
        if state.stopped {
            return None;
        }
        state.webhook_url.clone()
    }
}

impl State {
    /// Keeps media and returns its new id, numeric like Meta's.
    pub fn store_media(&mut self, bytes: Vec<u8>, mime_type: String) -> String {
        self.counter += 1;
        let id = format!(
            "{}{:06}",
            1_000_000_000 + self.seed % 9_000_000_000,
            self.counter
        );
        self.media
            .insert(id.clone(), StoredMedia { bytes, mime_type });
        id
    }

    /// A wamid shaped like Meta's: base64 of something naming the recipient.
    fn new_wamid(&mut self, to: &str) -> String {
        self.counter += 1;
        let inner = format!("SIM{to}_{:016X}{:08X}", self.seed, self.counter);
        format!("wamid.{}", STANDARD.encode(inner))
    }
}

/// 64 unpredictable bits: ids that must not repeat across runs, and throwaway URL tokens.
/// `RandomState` is seeded from the operating system; this is not for secrets.
pub(super) fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}

/// Seconds since the Unix epoch, as webhooks carry them.
pub(super) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
