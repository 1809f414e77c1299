//! Counters the hub keeps for `/metrics` (Prometheus text format). Plain atomics: the hot
//! paths pay one relaxed increment.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Upper bounds (seconds) of the request latency histogram.
pub const LATENCY_BUCKETS: [f64; 10] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Everything counted since start.
#[derive(Default)]
pub struct Metrics {
    pub webhooks_received: AtomicU64,
    pub webhooks_rejected: AtomicU64,
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub websocket_connections: AtomicU64,
    /// Downloaded files kept though they did not match their announced SHA-256.
    pub media_unverified: AtomicU64,
    /// Unix milliseconds of the first Cloud API failure since its last success; 0 when
    /// the last request went through.
    cloud_api_failing_since: AtomicU64,
    sends_failed: Mutex<BTreeMap<i64, u64>>,
    unprocessed: Mutex<BTreeMap<&'static str, u64>>,
    outboxes: Mutex<BTreeMap<String, OutboxGauge>>,
    latency: Mutex<Histogram>,
    clock_jumps: AtomicU64,
    last_clock_jump: Mutex<Option<ClockJump>>,
}

/// A step of the system clock (an NTP correction, an operator's `date -s`, a VM resumed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockJump {
    /// How far the wall clock moved beyond the time that passed; negative when back.
    pub seconds: i64,
    /// The wall-clock time right after the jump.
    pub at: DateTime<Utc>,
}

/// A wall-clock step smaller than this is ignored (NTP slews small errors away).
const CLOCK_JUMP_MIN: Duration = Duration::from_secs(2);

/// Tells a step of the wall clock from time passing, against the monotonic clock.
pub struct ClockWatch {
    wall: DateTime<Utc>,
    monotonic: Instant,
}

impl Default for ClockWatch {
    fn default() -> Self {
        ClockWatch {
            wall: Utc::now(),
            monotonic: Instant::now(),
        }
    }
}

impl ClockWatch {
    /// The jump since the last look, if the wall clock moved by more (or less) than the
    /// monotonic clock did.
    pub fn look(&mut self) -> Option<ClockJump> {
        self.observe(Utc::now(), Instant::now())
    }

    fn observe(&mut self, wall: DateTime<Utc>, monotonic: Instant) -> Option<ClockJump> {
        let passed = chrono::Duration::from_std(monotonic - self.monotonic).unwrap_or_default();
        let drift = (wall - self.wall) - passed;
        (self.wall, self.monotonic) = (wall, monotonic);
        let min = chrono::Duration::from_std(CLOCK_JUMP_MIN).unwrap_or_default();
        (drift.abs() >= min).then(|| ClockJump {
            seconds: drift.num_seconds(),
            at: wall,
        })
    }
}

/// What one business number's outbound queue holds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OutboxGauge {
    /// Requests waiting for the Cloud API.
    pub depth: usize,
    /// When the oldest of them was written.
    pub oldest: Option<DateTime<Utc>>,
}

/// A cumulative histogram.
#[derive(Default, Clone)]
pub struct Histogram {
    pub buckets: [u64; LATENCY_BUCKETS.len()],
    pub count: u64,
    pub sum: f64,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a send that failed for good, by Meta's code.
    pub fn send_failed(&self, code: i64) {
        *self
            .sends_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(code)
            .or_default() += 1;
    }

    /// Counts a webhook change kept as unprocessed, by reason.
    pub fn unprocessed(&self, reason: &'static str) {
        *self
            .unprocessed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    /// Webhook changes kept as unprocessed since start, by reason.
    pub fn unprocessed_counts(&self) -> BTreeMap<&'static str, u64> {
        self.unprocessed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Notes how a Cloud API request went: answered (even with a refusal) or failed.
    pub fn cloud_api(&self, answered: bool) {
        if answered {
            self.cloud_api_failing_since.store(0, Ordering::Relaxed);
        } else {
            let now = Utc::now().timestamp_millis().max(1) as u64;
            let _ = self.cloud_api_failing_since.compare_exchange(
                0,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// Since when the Cloud API fails, if it does.
    pub fn cloud_api_failing_since(&self) -> Option<DateTime<Utc>> {
        match self.cloud_api_failing_since.load(Ordering::Relaxed) {
            0 => None,
            ms => DateTime::from_timestamp_millis(ms as i64),
        }
    }

    /// Sets what the outbound queue of `number` holds now.
    pub fn set_outbox(&self, number: &str, gauge: OutboxGauge) {
        self.outboxes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(number.to_string(), gauge);
    }

    /// What each business number's outbound queue holds.
    pub fn outboxes(&self) -> BTreeMap<String, OutboxGauge> {
        self.outboxes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records how long a request took.
    pub fn observe_latency(&self, seconds: f64) {
        let mut h = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        for (bucket, bound) in h.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Failed sends by code.
    pub fn sends_failed(&self) -> BTreeMap<i64, u64> {
        self.sends_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The latency histogram so far.
    pub fn latency(&self) -> Histogram {
        self.latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Notes a jump of the system clock.
    pub fn clock_jumped(&self, jump: ClockJump) {
        Self::bump(&self.clock_jumps);
        *self
            .last_clock_jump
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(jump);
    }

    /// How many clock jumps were noticed, and the last.
    pub fn clock_jumps(&self) -> (u64, Option<ClockJump>) {
        let last = *self
            .last_clock_jump
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        (Self::get(&self.clock_jumps), last)
    }

    /// A counter's value.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_of_the_wall_clock_is_told_from_time_passing() {
        let start = ClockWatch::default();
        let (wall, monotonic) = (start.wall, start.monotonic);
        let mut watch = start;
        let later = |s: u64| monotonic + Duration::from_secs(s);
        let hours = |h: i64| chrono::Duration::hours(h);
        // Time passing, even with a late look, is no jump.
        assert_eq!(watch.observe(wall + hours(1), later(3600)), None);
        // Three hours back while one second passed.
        let back = watch
            .observe(wall + hours(1) - hours(3), later(3601))
            .unwrap();
        assert_eq!(back.seconds, -3 * 3600 - 1);
        // Measured from the new time: the next second is quiet again.
        let now = back.at;
        assert_eq!(
            watch.observe(now + chrono::Duration::seconds(1), later(3602)),
            None
        );
        let ahead = watch.observe(now + hours(27), later(3603)).unwrap();
        assert_eq!(ahead.seconds, 27 * 3600 - 2);
        // A second of drift is left to NTP.
        let now = ahead.at;
        assert_eq!(
            watch.observe(now + chrono::Duration::seconds(2), later(3604)),
            None
        );
    }
}
