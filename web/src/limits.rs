//! Rate limits: a token bucket per address and per user on the API, a separate and much
//! larger one per address on the webhook (so Meta's bursts are never refused), and failed
//! sign-ins: growing waits per account and address, and a high ceiling per address.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Keyed limiters are pruned of idle keys once they hold this many.
const PRUNE_AT_KEYS: usize = 10_000;
/// Failed sign-ins are remembered over this window.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins for one account, from one address, before each next try must wait.
pub const LOGIN_FREE_FAILURES: u32 = 5;
/// Failed sign-ins for one account from every address before each next try must wait
/// (guessing one password from many addresses).
pub const LOGIN_FREE_FAILURES_PER_ACCOUNT: u32 = 20;
/// The longest wait between tries: the wait doubles with each failure up to this, so the
/// right password is never refused for long, whoever typed the wrong ones.
pub const LOGIN_MAX_DELAY: Duration = Duration::from_secs(60);
/// Wrong second-factor codes are remembered this long per account: whoever sends them
/// already knows the password, and a day of tries must stay far from the million codes.
pub const CODE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// Wrong codes for one account before each next try must wait.
pub const CODE_FREE_FAILURES: u32 = 5;
/// The longest wait between code tries: about a hundred tries a day at most.
pub const CODE_MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins from one address, for any accounts, before the address waits out the
/// window: far above what one office behind a NAT mistypes.
pub const LOGIN_FAILURES_PER_ADDRESS: u32 = 300;

/// A rate: `per_second` sustained, bursts up to `burst`.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

/// The configured rates.
#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    pub per_address: Rate,
    pub per_user: Rate,
    pub webhook_per_address: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_address: Rate {
                per_second: 50,
                burst: 200,
            },
            per_user: Rate {
                per_second: 20,
                burst: 100,
            },
            webhook_per_address: Rate {
                per_second: 5_000,
                burst: 20_000,
            },
        }
    }
}

/// A token bucket per key.
pub struct Keyed<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(rate: Rate) -> Self {
        let per_second = NonZeroU32::new(rate.per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(rate.burst).unwrap_or(per_second);
        Keyed {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
        }
    }

    /// `Err(wait)` when `key` is over its rate.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        if self.limiter.len() > PRUNE_AT_KEYS {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Every limiter of the hub.
pub struct Limiters {
    pub per_address: Keyed<IpAddr>,
    pub per_user: Keyed<u64>,
    pub webhook: Keyed<IpAddr>,
    pub logins: LoginFailures,
    /// Wrong second-factor codes, per account.
    pub codes: CodeFailures,
}

impl Limiters {
    pub fn new(rates: RateLimits) -> Self {
        Limiters {
            per_address: Keyed::new(rates.per_address),
            per_user: Keyed::new(rates.per_user),
            webhook: Keyed::new(rates.webhook_per_address),
            logins: LoginFailures::default(),
            codes: CodeFailures::default(),
        }
    }
}

/// Failed sign-ins, counted per account and address, per account and per address.
#[derive(Default)]
pub struct LoginFailures {
    counts: Mutex<HashMap<String, Failures>>,
}

/// The failures of one key within the window.
#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    last: Instant,
}

impl Failures {
    fn new(now: Instant) -> Failures {
        Failures {
            count: 0,
            first: now,
            last: now,
        }
    }

    /// How long after the last failure the next try must wait: nothing for the first
    /// `free`, then 1 s doubling per failure up to `max`.
    fn delay(&self, free: u32, max: Duration) -> Duration {
        match self.count.checked_sub(free) {
            None | Some(0) => Duration::ZERO,
            Some(over) => Duration::from_secs(1 << (over - 1).min(16)).min(max),
        }
    }

    /// What is left of that wait at `now`.
    fn wait(&self, free: u32, max: Duration, now: Instant) -> Option<Duration> {
        self.delay(free, max)
            .checked_sub(now.duration_since(self.last))
            .filter(|wait| !wait.is_zero())
    }

    /// Counts one more failure at `now`, starting afresh once `window` has passed.
    fn add(&mut self, window: Duration, now: Instant) {
        if now.duration_since(self.first) >= window {
            *self = Failures::new(now);
        }
        self.count += 1;
        self.last = now;
    }
}

impl LoginFailures {
    /// How long this account from this address must wait before trying again, if at all.
    pub fn wait(&self, address: &str, account: &str) -> Option<Duration> {
        self.wait_at(address, account, Instant::now())
    }

    fn wait_at(&self, address: &str, account: &str, now: Instant) -> Option<Duration> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let current = |key: String| {
            counts
                .get(&key)
                .copied()
                .filter(|f| now.duration_since(f.first) < LOGIN_WINDOW)
        };
        let pair = current(pair_key(address, account))
            .and_then(|f| f.wait(LOGIN_FREE_FAILURES, LOGIN_MAX_DELAY, now));
        let account = current(account_key(account))
            .and_then(|f| f.wait(LOGIN_FREE_FAILURES_PER_ACCOUNT, LOGIN_MAX_DELAY, now));
        let address = current(address_key(address))
            .filter(|f| f.count >= LOGIN_FAILURES_PER_ADDRESS)
            .map(|f| LOGIN_WINDOW - now.duration_since(f.first));
        [pair, account, address]
            .into_iter()
            .flatten()
            .filter(|wait| !wait.is_zero())
            .max()
    }

    /// Counts one failed sign-in.
    pub fn failed(&self, address: &str, account: &str) {
        self.failed_at(address, account, Instant::now())
    }

    fn failed_at(&self, address: &str, account: &str, now: Instant) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > PRUNE_AT_KEYS {
            counts.retain(|_, f| now.duration_since(f.first) < LOGIN_WINDOW);
        }
        for key in [
            pair_key(address, account),
            account_key(account),
            address_key(address),
        ] {
            let entry = counts.entry(key).or_insert(Failures::new(now));
            entry.add(LOGIN_WINDOW, now);
        }
    }

    /// Forgets the account's failures after a successful sign-in (the address's count
    /// stays: it measures the address, not the person).
    pub fn succeeded(&self, address: &str, account: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.remove(&pair_key(address, account));
        counts.remove(&account_key(account));
    }
}

/// Wrong second-factor codes, per account: the password was right, so only the account
/// counts (a thief may try from many addresses).
#[derive(Default)]
pub struct CodeFailures {
    counts: Mutex<HashMap<u64, Failures>>,
}

impl CodeFailures {
    /// How long this account must wait before its next code, if at all.
    pub fn wait(&self, account: u64) -> Option<Duration> {
        self.wait_at(account, Instant::now())
    }

    fn wait_at(&self, account: u64, now: Instant) -> Option<Duration> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .get(&account)
            .filter(|f| now.duration_since(f.first) < CODE_WINDOW)
            .and_then(|f| f.wait(CODE_FREE_FAILURES, CODE_MAX_DELAY, now))
    }

    /// Counts one wrong code.
    pub fn failed(&self, account: u64) {
        self.failed_at(account, Instant::now())
    }

    fn failed_at(&self, account: u64, now: Instant) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > PRUNE_AT_KEYS {
            counts.retain(|_, f| now.duration_since(f.first) < CODE_WINDOW);
        }
        let entry = counts.entry(account).or_insert(Failures::new(now));
        entry.add(CODE_WINDOW, now);
    }

    /// Forgets the account's wrong codes after a right one.
    pub fn succeeded(&self, account: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.remove(&account);
    }
}

fn address_key(address: &str) -> String {
    format!("a:{address}")
}

fn account_key(account: &str) -> String {
    format!("u:{}", account.trim().to_lowercase())
}

fn pair_key(address: &str, account: &str) -> String {
    format!("p:{address}:{}", account.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_per_account_and_address_and_spare_colleagues() {
        let failures = LoginFailures::default();
        let t0 = Instant::now();
        for i in 0..LOGIN_FREE_FAILURES {
            assert_eq!(
                failures.wait_at("10.0.0.1", "ana@x.io", t0),
                None,
                "try {i}"
            );
            failures.failed_at("10.0.0.1", "ANA@x.io", t0);
        }
        // The sixth failure makes the next try wait 1 s, the seventh 2 s, then 4 s...
        assert_eq!(failures.wait_at("10.0.0.1", "ana@x.io", t0), None);
        failures.failed_at("10.0.0.1", "ana@x.io", t0);
        let wait = failures.wait_at("10.0.0.1", "ana@x.io", t0);
        assert_eq!(wait, Some(Duration::from_secs(1)));
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(failures.wait_at("10.0.0.1", "ana@x.io", t1), None);
        failures.failed_at("10.0.0.1", "ana@x.io", t1);
        let wait = failures.wait_at("10.0.0.1", "ana@x.io", t1);
        assert_eq!(wait, Some(Duration::from_secs(2)));
        // A colleague behind the same address, and Ana from home, go on at once.
        assert_eq!(failures.wait_at("10.0.0.1", "bia@x.io", t1), None);
        assert_eq!(failures.wait_at("192.0.2.9", "ana@x.io", t1), None);
        // The wait never passes the ceiling, however many failures.
        let mut t = t1;
        for _ in 0..40 {
            t += LOGIN_MAX_DELAY;
            failures.failed_at("10.0.0.1", "ana@x.io", t);
        }
        let wait = failures.wait_at("10.0.0.1", "ana@x.io", t).unwrap();
        assert!(wait <= LOGIN_MAX_DELAY);
        failures.succeeded("10.0.0.1", "ana@x.io");
        assert_eq!(failures.wait_at("10.0.0.1", "ana@x.io", t), None);
    }

    #[test]
    fn wrong_codes_wait_up_to_a_quarter_hour_over_a_day() {
        let codes = CodeFailures::default();
        let t0 = Instant::now();
        for _ in 0..CODE_FREE_FAILURES {
            assert_eq!(codes.wait_at(7, t0), None);
            codes.failed_at(7, t0);
        }
        codes.failed_at(7, t0);
        assert_eq!(codes.wait_at(7, t0), Some(Duration::from_secs(1)));
        assert_eq!(
            codes.wait_at(8, t0),
            None,
            "another account is not held back"
        );
        let mut t = t0;
        for _ in 0..30 {
            t += CODE_MAX_DELAY;
            codes.failed_at(7, t);
        }
        assert_eq!(codes.wait_at(7, t), Some(CODE_MAX_DELAY));
        // Waiting out one delay is not a fresh start: the count lasts the day.
        assert_eq!(codes.wait_at(7, t + CODE_MAX_DELAY), None);
        codes.failed_at(7, t + CODE_MAX_DELAY);
        assert_eq!(codes.wait_at(7, t + CODE_MAX_DELAY), Some(CODE_MAX_DELAY));
        codes.succeeded(7);
        assert_eq!(codes.wait_at(7, t + CODE_MAX_DELAY), None);
    }

    #[test]
    fn an_address_waits_only_past_a_high_ceiling() {
        let failures = LoginFailures::default();
        let t0 = Instant::now();
        for i in 0..LOGIN_FAILURES_PER_ADDRESS {
            failures.failed_at("10.0.0.1", &format!("user{i}@x.io"), t0);
        }
        let wait = failures.wait_at("10.0.0.1", "new@x.io", t0);
        assert_eq!(wait, Some(LOGIN_WINDOW));
        assert_eq!(failures.wait_at("10.0.0.2", "new@x.io", t0), None);
        assert_eq!(
            failures.wait_at("10.0.0.1", "new@x.io", t0 + LOGIN_WINDOW),
            None
        );
    }

    #[test]
    fn an_account_guessed_from_many_addresses_waits_everywhere() {
        let failures = LoginFailures::default();
        let t0 = Instant::now();
        for i in 0..=LOGIN_FREE_FAILURES_PER_ACCOUNT {
            failures.failed_at(&format!("10.0.{i}.1"), "ana@x.io", t0);
        }
        assert!(failures.wait_at("192.0.2.9", "ana@x.io", t0).is_some());
        assert_eq!(failures.wait_at("192.0.2.9", "bia@x.io", t0), None);
    }

    #[test]
    fn a_bucket_refuses_past_its_burst() {
        let keyed = Keyed::new(Rate {
            per_second: 1,
            burst: 3,
        });
        let key = 7u64;
        assert!((0..3).all(|_| keyed.check(&key).is_ok()));
        assert!(keyed.check(&key).is_err());
        assert!(keyed.check(&8).is_ok());
    }
}
