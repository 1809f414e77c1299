//! The `reports` tree: one [`DayStats`] per (day, user), added to atomically with sled's
//! merge operator, so concurrent chats never lose each other's counts.

use chrono::{DateTime, NaiveDate, Utc};

use crate::records::report::DayStats;
use crate::store::{decode, encode};
use crate::{Result, Store, UserId};

/// The key of everyone's counts for a day.
pub const EVERYONE: UserId = UserId(0);

fn key(day: NaiveDate, user: UserId) -> Vec<u8> {
    let mut key = day.format("%Y-%m-%d").to_string().into_bytes();
    key.extend_from_slice(&user.key());
    key
}

/// The counters a count at `at` adds to: the day's for everyone and, when given, `agent`'s.
pub(crate) fn keys(at: DateTime<Utc>, agent: Option<UserId>) -> impl Iterator<Item = Vec<u8>> {
    let day = at.date_naive();
    std::iter::once(key(day, EVERYONE)).chain(agent.map(|agent| key(day, agent)))
}

/// sled's merge: the stored counts plus the increment.
pub(crate) fn merge_counts(_key: &[u8], old: Option<&[u8]>, increment: &[u8]) -> Option<Vec<u8>> {
    let Ok(add) = decode::<DayStats>(increment) else {
        return old.map(<[u8]>::to_vec);
    };
    added(old, &add)
}

/// The stored counts `old` plus `add`, encoded (`old` as it was, should encoding fail).
pub(crate) fn added(old: Option<&[u8]>, add: &DayStats) -> Option<Vec<u8>> {
    let mut total: DayStats = old.and_then(|o| decode(o).ok()).unwrap_or_default();
    total.add(add);
    encode(&total).ok().or_else(|| old.map(<[u8]>::to_vec))
}

/// The key of a queue's counts for a day: after every (day, user) key, so day ranges
/// never meet them.
fn queue_key(day: NaiveDate, queue: &str) -> Vec<u8> {
    let mut key = format!("q:{}", day.format("%Y-%m-%d")).into_bytes();
    key.push(0);
    key.extend_from_slice(queue.as_bytes());
    key
}

impl Store {
    /// Adds `counts` to the day of `at` for `queue`.
    pub fn count_queue_report(
        &self,
        at: DateTime<Utc>,
        queue: &str,
        counts: &DayStats,
    ) -> Result<()> {
        let _gate = self.writing();
        let key = queue_key(at.date_naive(), queue);
        self.trees().reports.merge(key, encode(counts)?)?;
        Ok(())
    }

    /// The counts of each queue over `from..=to`, summed.
    pub fn report_queues(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<(String, DayStats)>> {
        let start = queue_key(from, "");
        let mut end = queue_key(to, "");
        end.push(0xff);
        let mut totals: std::collections::BTreeMap<String, DayStats> = Default::default();
        for entry in self.trees().reports.range(start..end) {
            let (k, v) = entry?;
            let Some(cut) = k.iter().position(|b| *b == 0) else {
                continue;
            };
            let queue = String::from_utf8_lossy(&k[cut + 1..]).into_owned();
            totals.entry(queue).or_default().add(&decode(&v)?);
        }
        Ok(totals.into_iter().collect())
    }

    /// Adds `counts` to the day of `at` for everyone and, when given, for `agent`.
    pub fn count_report(
        &self,
        at: DateTime<Utc>,
        agent: Option<UserId>,
        counts: &DayStats,
    ) -> Result<()> {
        let bytes = encode(counts)?;
        let _gate = self.writing();
        for key in keys(at, agent) {
            self.trees().reports.merge(key, bytes.clone())?;
        }
        Ok(())
    }

    /// The counts of each day in `from..=to` (days without activity left out), by user.
    pub fn report_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, UserId, DayStats)>> {
        let start = key(from, EVERYONE);
        let end = key(to, UserId(u64::MAX));
        let mut out = Vec::new();
        for entry in self.trees().reports.range(start..=end) {
            let (k, v) = entry?;
            let (day, user) = k.split_at(k.len() - 8);
            let Some(day) = std::str::from_utf8(day)
                .ok()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            else {
                continue;
            };
            let user = UserId(crate::keys::read_u64(user).unwrap_or(0));
            out.push((day, user, decode(&v)?));
        }
        Ok(out)
    }
}
