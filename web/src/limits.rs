//! Rate limits: a token bucket per address and per user on the API, a separate and much
//! larger one per address on the webhook (so Meta's bursts are never refused), and a count
//! of failed sign-ins per address and per account.

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
/// Failed sign-ins are counted over this window.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins from one address within the window before it must wait.
pub const LOGIN_FAILURES_PER_ADDRESS: u32 = 20;
/// Failed sign-ins for one account within the window before it must wait; lower than per
/// address, because guessing one password from many addresses is the attack it stops.
pub const LOGIN_FAILURES_PER_ACCOUNT: u32 = 10;

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
}

impl Limiters {
    pub fn new(rates: RateLimits) -> Self {
        Limiters {
            per_address: Keyed::new(rates.per_address),
            per_user: Keyed::new(rates.per_user),
            webhook: Keyed::new(rates.webhook_per_address),
            logins: LoginFailures::default(),
        }
    }
}

/// Failed sign-ins per address and per account, in fixed windows.
#[derive(Default)]
pub struct LoginFailures {
    counts: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginFailures {
    /// How long the address or the account must wait before trying again, if at all.
    pub fn wait(&self, address: &str, account: &str) -> Option<Duration> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let blocked = |key: String, limit: u32| {
            let (count, since) = counts.get(&key)?;
            let elapsed = since.elapsed();
            (*count >= limit && elapsed < LOGIN_WINDOW).then(|| LOGIN_WINDOW - elapsed)
        };
        blocked(address_key(address), LOGIN_FAILURES_PER_ADDRESS)
            .into_iter()
            .chain(blocked(account_key(account), LOGIN_FAILURES_PER_ACCOUNT))
            .max()
    }

    /// Counts one failed sign-in.
    pub fn failed(&self, address: &str, account: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > PRUNE_AT_KEYS {
            counts.retain(|_, (_, since)| since.elapsed() < LOGIN_WINDOW);
        }
        for key in [address_key(address), account_key(account)] {
            let entry = counts.entry(key).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= LOGIN_WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }

    /// Forgets the account's failures after a successful sign-in.
    pub fn succeeded(&self, account: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.remove(&account_key(account));
    }
}

fn address_key(address: &str) -> String {
    format!("a:{address}")
}

fn account_key(account: &str) -> String {
    format!("u:{}", account.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_waits_after_too_many_failures_and_not_before() {
        let failures = LoginFailures::default();
        for _ in 0..LOGIN_FAILURES_PER_ACCOUNT - 1 {
            failures.failed("1.1.1.1", "ana@x.io");
        }
        assert_eq!(failures.wait("1.1.1.1", "ana@x.io"), None);
        failures.failed("2.2.2.2", "ANA@x.io");
        assert!(failures.wait("3.3.3.3", "ana@x.io").is_some());
        assert_eq!(failures.wait("3.3.3.3", "bia@x.io"), None);
        failures.succeeded("ana@x.io");
        assert_eq!(failures.wait("3.3.3.3", "ana@x.io"), None);
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
