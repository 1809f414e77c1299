//! [`OutboundQueue`]: one per business number. Sends what the outbox holds through the
//! Cloud API: a token bucket at the configured rate, one request in flight per chat (so a
//! chat's replies leave in order and a customer is never flooded), retries with
//! exponential backoff and jitter on temporary failures, a final `failed` on permanent
//! ones. On start it resumes every entry left in the outbox.
//!
//! Exactly once, as far as the Cloud API allows: an entry is marked `dispatched`, durably,
//! before its request leaves, and every send carries `biz_opaque_callback_data` naming it,
//! which Meta echoes in the message's status webhooks. An entry that may have gone out (it
//! was dispatched when the hub died, or the request's answer was lost) is held for the
//! configured recovery wait: when a status webhook names it meanwhile, the router records
//! that send and the entry is dropped; only when none came is it sent again.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use atende_data::{
    ChatId, MediaId, MessageError, MessageId, OutboxEntry, OutboxId, OutboxKind, Store, Write,
};
use chrono::{DateTime, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;

use crate::messages::{RecordFailed, RecordSent};
use crate::metrics::{Metrics, OutboxGauge};
use crate::router::Router;
use crate::whatsapp::client::{CloudApiError, CloudClient};

/// Requests in flight at once per number (bounds sockets and memory).
const MAX_IN_FLIGHT: usize = 256;
/// First retry delay; doubles per attempt.
const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// How often a send in doubt is looked at again (a status webhook may have settled it).
const DOUBT_POLL: Duration = Duration::from_millis(500);
/// Longest wait between retries, so a recovered API is noticed soon.
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// A new outbox entry to send (already durable).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Enqueue {
    pub entry: OutboxEntry,
}

/// The admin changed the number's rate limit: it applies from the next send.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetRate {
    /// Messages per second.
    pub per_second: u32,
}

/// These chats were erased with their contact: their entries left the outbox and are
/// not sent.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Forget {
    pub chats: Vec<ChatId>,
}

/// How one attempt ended.
enum Outcome {
    /// Sent, or refused for good: the entry is finished.
    Done,
    /// Try again later. `in_doubt`: the request may have been taken (its answer was lost).
    Retry { in_doubt: bool },
}

/// The sender of one business number.
pub struct OutboundQueue {
    number: String,
    store: Store,
    client: CloudClient,
    router: Addr<Router>,
    limiter: DefaultDirectRateLimiter,
    /// Entries waiting, per chat, in the order they were written.
    chats: BTreeMap<ChatId, VecDeque<OutboxEntry>>,
    /// Chats with a request in flight or waiting for a retry.
    busy: HashSet<ChatId>,
    /// Every entry held (with when it was written), so a resumed entry and its enqueue
    /// notice are not sent twice; ids grow with time, so the first is the oldest.
    known: BTreeMap<OutboxId, DateTime<Utc>>,
    /// Entries that may have gone out, not sent again before the instant.
    in_doubt: HashMap<OutboxId, Instant>,
    recovery_wait: Duration,
    metrics: Arc<Metrics>,
    wake_pending: bool,
}

impl OutboundQueue {
    /// A queue for `number` sending at most `rate` messages per second.
    pub fn new(
        number: String,
        store: Store,
        client: CloudClient,
        router: Addr<Router>,
        rate: u32,
        recovery_wait: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
        OutboundQueue {
            number,
            store,
            client,
            router,
            limiter: RateLimiter::direct(Quota::per_second(rate)),
            chats: BTreeMap::new(),
            busy: HashSet::new(),
            known: BTreeMap::new(),
            in_doubt: HashMap::new(),
            recovery_wait,
            metrics,
            wake_pending: false,
        }
    }

    fn hold(&mut self, entry: OutboxEntry) {
        if self.known.insert(entry.id, entry.created_at).is_none() {
            self.chats
                .entry(entry.chat_id)
                .or_default()
                .push_back(entry);
        }
    }

    /// Tells /metrics how many requests wait and since when.
    fn publish(&self) {
        let gauge = OutboxGauge {
            depth: self.known.len(),
            oldest: self.known.first_key_value().map(|(_, at)| *at),
        };
        self.metrics.set_outbox(&self.number, gauge);
    }

    /// Starts every request that may start now; schedules itself when the bucket is empty.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        let ready: Vec<ChatId> = self
            .chats
            .keys()
            .filter(|c| !self.busy.contains(c))
            .copied()
            .collect();
        for chat in ready {
            if self.busy.len() >= MAX_IN_FLIGHT {
                return;
            }
            let Some(head) = self.chats.get_mut(&chat).and_then(|q| q.front_mut()) else {
                continue;
            };
            if let Some(until) = self.in_doubt.get(&head.id).copied() {
                if matches!(self.store.outbox_entry(head.id), Ok(None)) {
                    // A status webhook named it: it went out, and the router recorded it.
                    tracing::info!(chat_id = %chat, "a send in doubt had gone out");
                    self.drop_head(chat);
                    self.wake_after(Duration::ZERO, ctx);
                    continue;
                }
                let now = Instant::now();
                if now < until {
                    self.wake_after(DOUBT_POLL.min(until - now), ctx);
                    continue;
                }
                self.in_doubt.remove(&head.id);
            }
            if let Err(not_until) = self.limiter.check() {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                self.wake_after(wait, ctx);
                return;
            }
            // Durably marked before it leaves, so that a crash leaves it in doubt.
            let newly_dispatched = matches!(head.kind, OutboxKind::Send { .. }) && !head.dispatched;
            if newly_dispatched {
                head.dispatched = true;
                match self.store.outbox_replace(head) {
                    Ok(true) => {}
                    Ok(false) => {
                        // Finished meanwhile (a status webhook recorded it).
                        self.drop_head(chat);
                        self.wake_after(Duration::ZERO, ctx);
                        continue;
                    }
                    Err(error) => {
                        tracing::error!(%error, "could not mark a send dispatched");
                        head.dispatched = false;
                        self.wake_after(BASE_BACKOFF, ctx);
                        continue;
                    }
                }
            }
            let entry = head.clone();
            self.busy.insert(chat);
            let attempt = attempt(
                entry,
                newly_dispatched,
                self.number.clone(),
                self.client.clone(),
                self.store.clone(),
                self.router.clone(),
            );
            ctx.spawn(
                attempt
                    .into_actor(self)
                    .map(move |outcome, queue, ctx| queue.finished(chat, outcome, ctx)),
            );
        }
    }

    fn wake_after(&mut self, wait: Duration, ctx: &mut Context<Self>) {
        if !self.wake_pending {
            self.wake_pending = true;
            ctx.run_later(wait, |queue, ctx| {
                queue.wake_pending = false;
                queue.pump(ctx);
            });
        }
    }

    /// Forgets the chat's head entry: it is finished.
    fn drop_head(&mut self, chat: ChatId) {
        if let Some(queue) = self.chats.get_mut(&chat) {
            if let Some(done) = queue.pop_front() {
                self.known.remove(&done.id);
                self.in_doubt.remove(&done.id);
            }
            if queue.is_empty() {
                self.chats.remove(&chat);
            }
        }
        self.publish();
    }

    /// Holds an entry that may have gone out until a status webhook tells, or the recovery
    /// wait ends; the pump looks again every [`DOUBT_POLL`].
    fn doubt(&mut self, id: OutboxId) {
        self.in_doubt
            .insert(id, Instant::now() + self.recovery_wait);
    }

    fn finished(&mut self, chat: ChatId, outcome: Outcome, ctx: &mut Context<Self>) {
        self.metrics.cloud_api(matches!(outcome, Outcome::Done));
        match outcome {
            Outcome::Done => {
                self.drop_head(chat);
                self.busy.remove(&chat);
                self.pump(ctx);
            }
            Outcome::Retry { in_doubt } => {
                let Some((id, attempts)) = self.note_attempt(chat, in_doubt) else {
                    // Gone from the outbox: a status webhook recorded the send meanwhile.
                    self.drop_head(chat);
                    self.busy.remove(&chat);
                    self.pump(ctx);
                    return;
                };
                let delay = backoff(attempts);
                tracing::warn!(chat_id = %chat, attempts, in_doubt, delay_ms = delay.as_millis() as u64, "send failed; will retry");
                if in_doubt {
                    self.doubt(id);
                }
                ctx.run_later(delay, move |queue, ctx| {
                    queue.busy.remove(&chat);
                    queue.pump(ctx);
                });
            }
        }
    }

    /// Counts a failed attempt on the chat's head entry, durably; an attempt that surely
    /// did not reach the Cloud API clears `dispatched`. Returns the entry and the count,
    /// or None when the entry has left the outbox meanwhile.
    fn note_attempt(&mut self, chat: ChatId, in_doubt: bool) -> Option<(OutboxId, u32)> {
        let entry = self.chats.get_mut(&chat).and_then(|q| q.front_mut())?;
        entry.attempts += 1;
        entry.dispatched &= in_doubt;
        match self.store.outbox_replace(entry) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(error) => tracing::error!(%error, "could not record a send attempt"),
        }
        Some((entry.id, entry.attempts))
    }
}

impl Actor for OutboundQueue {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        match self.store.outbox_entries() {
            Ok(entries) => {
                let mine: Vec<_> = entries
                    .into_iter()
                    .filter(|e| e.number == self.number)
                    .collect();
                if !mine.is_empty() {
                    tracing::info!(entries = mine.len(), "resuming the outbox");
                }
                for entry in mine {
                    if entry.dispatched {
                        self.doubt(entry.id);
                    }
                    self.hold(entry);
                }
            }
            Err(error) => tracing::error!(%error, "cannot read the outbox"),
        }
        self.publish();
        self.pump(ctx);
    }
}

impl Handler<SetRate> for OutboundQueue {
    type Result = ();

    fn handle(&mut self, msg: SetRate, _: &mut Context<Self>) {
        let rate = NonZeroU32::new(msg.per_second).unwrap_or(NonZeroU32::MIN);
        self.limiter = RateLimiter::direct(Quota::per_second(rate));
    }
}

impl Handler<Enqueue> for OutboundQueue {
    type Result = ();

    fn handle(&mut self, msg: Enqueue, ctx: &mut Context<Self>) {
        self.hold(msg.entry);
        self.publish();
        self.pump(ctx);
    }
}

impl Handler<Forget> for OutboundQueue {
    type Result = ();

    fn handle(&mut self, msg: Forget, _: &mut Context<Self>) {
        for chat in msg.chats {
            // A request in flight ends as usual: its result finds the message gone.
            for entry in self.chats.remove(&chat).into_iter().flatten() {
                self.known.remove(&entry.id);
                self.in_doubt.remove(&entry.id);
            }
        }
        self.publish();
    }
}

/// Exponential backoff with ±25% jitter, so many retries do not fire at once.
fn backoff(attempts: u32) -> Duration {
    let exp = BASE_BACKOFF.saturating_mul(1 << attempts.min(16).saturating_sub(1));
    let capped = exp.min(MAX_BACKOFF);
    let jitter = atende_data::random_bytes(1)[0] as f64 / 255.0 * 0.5 + 0.75;
    capped.mul_f64(jitter)
}

/// What a send carries in `biz_opaque_callback_data`, echoed in its status webhooks.
pub fn callback_data(entry: &OutboxEntry, message_id: MessageId) -> String {
    format!("atende:{}:{message_id}:{}", entry.chat_id, entry.id)
}

/// The chat, message and outbox entry named by [`callback_data`].
pub fn parse_callback_data(data: &str) -> Option<(ChatId, MessageId, OutboxId)> {
    let mut parts = data.strip_prefix("atende:")?.split(':');
    let chat = parts.next()?.parse().ok()?;
    let message = parts.next()?.parse().ok()?;
    let outbox = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((chat, message, outbox))
}

async fn attempt(
    entry: OutboxEntry,
    newly_dispatched: bool,
    number: String,
    client: CloudClient,
    store: Store,
    router: Addr<Router>,
) -> Outcome {
    match entry.kind.clone() {
        OutboxKind::MarkRead { wamid } => match client.mark_read(&number, &wamid).await {
            // A read receipt sent twice does no harm.
            Err(CloudApiError::Retryable { .. }) => Outcome::Retry { in_doubt: false },
            result => {
                if let Err(error) = result {
                    tracing::warn!(%error, chat_id = %entry.chat_id, "read receipt refused");
                }
                let mut write = Write::default();
                write.outbox_done(entry.id);
                if let Err(error) = store.commit(write) {
                    tracing::error!(%error, "could not finish a read receipt");
                }
                Outcome::Done
            }
        },
        OutboxKind::Send { body, upload } => {
            if newly_dispatched {
                if let Err(error) = store.durable().await {
                    tracing::error!(%error, "could not make a dispatch mark durable");
                    return Outcome::Retry { in_doubt: false };
                }
            }
            send(entry, body, upload, number, client, store, router).await
        }
    }
}

async fn send(
    entry: OutboxEntry,
    mut body: Value,
    upload: Option<MediaId>,
    number: String,
    client: CloudClient,
    store: Store,
    router: Addr<Router>,
) -> Outcome {
    let Some(message_id) = entry.message_id else {
        return Outcome::Done;
    };
    body["biz_opaque_callback_data"] = Value::String(callback_data(&entry, message_id));
    if let Some(media) = upload {
        match crate::media::ensure_uploaded(&store, &client, &number, media).await {
            Ok(wa_id) => {
                let kind = body["type"].as_str().unwrap_or("document").to_string();
                body[kind.as_str()]["id"] = Value::String(wa_id);
            }
            // The message itself has not left: nothing is in doubt.
            Err(CloudApiError::Retryable { .. }) => return Outcome::Retry { in_doubt: false },
            Err(CloudApiError::Permanent { code, title }) => {
                return record_failed(entry, message_id, code, title, store, router).await;
            }
        }
    }
    let result = client.send(&number, &body).await;
    let recorded = match result {
        Ok(wamid) => {
            router
                .send(RecordSent {
                    chat_id: entry.chat_id,
                    message_id,
                    outbox_id: entry.id,
                    wamid,
                })
                .await
        }
        Err(CloudApiError::Permanent { code, title }) => {
            return record_failed(entry, message_id, code, title, store, router).await;
        }
        Err(CloudApiError::Retryable { answer_lost, .. }) => {
            return Outcome::Retry {
                in_doubt: answer_lost,
            }
        }
    };
    // The API has answered: sending again would duplicate, whatever the record says.
    settled(&entry, recorded, &store);
    Outcome::Done
}

/// Logs a send result that could not be recorded. One whose message is gone (erased)
/// has nothing left to record: its entry leaves the outbox, or every start would send it
/// again.
fn settled(entry: &OutboxEntry, recorded: Result<crate::Result<()>, MailboxError>, store: &Store) {
    match recorded.map_err(crate::Error::from).and_then(|r| r) {
        Ok(()) => {}
        Err(crate::Error::NotFound) => {
            tracing::info!(chat_id = %entry.chat_id, "a send's message is gone; its entry is dropped");
            let mut write = Write::default();
            write.outbox_done(entry.id);
            if let Err(error) = store.commit(write) {
                tracing::error!(%error, "could not drop a send whose message is gone");
            }
        }
        Err(error) => {
            tracing::error!(%error, chat_id = %entry.chat_id, "could not record a send result")
        }
    }
}

/// Marks the message failed with Meta's code and title; the entry is finished.
async fn record_failed(
    entry: OutboxEntry,
    message_id: MessageId,
    code: i64,
    title: String,
    store: Store,
    router: Addr<Router>,
) -> Outcome {
    tracing::warn!(chat_id = %entry.chat_id, code, "send refused for good");
    let recorded = router
        .send(RecordFailed {
            chat_id: entry.chat_id,
            message_id,
            outbox_id: entry.id,
            error: MessageError { code, title },
        })
        .await;
    settled(&entry, recorded, &store);
    Outcome::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_names_the_send_and_garbage_names_nothing() {
        let entry = OutboxEntry {
            id: OutboxId(7),
            number: "n".into(),
            chat_id: ChatId(3),
            message_id: Some(MessageId(5)),
            kind: OutboxKind::MarkRead { wamid: "w".into() },
            attempts: 0,
            created_at: chrono::Utc::now(),
            dispatched: false,
        };
        let data = callback_data(&entry, MessageId(5));
        assert_eq!(
            parse_callback_data(&data),
            Some((ChatId(3), MessageId(5), OutboxId(7)))
        );
        for garbage in [
            "",
            "atende:",
            "atende:1:2",
            "atende:1:2:3:4",
            "other:1:2:3",
            "atende:a:2:3",
            "atende:-1:2:3",
        ] {
            assert_eq!(parse_callback_data(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= BASE_BACKOFF.mul_f64(1.26));
        assert!(backoff(3) >= BASE_BACKOFF.mul_f64(4.0 * 0.74));
        assert!(backoff(40) <= MAX_BACKOFF.mul_f64(1.26));
    }
}
