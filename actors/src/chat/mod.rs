//! [`ChatActor`]: the only writer of one chat. Every command is handled in order, written
//! to sled (chat, indexes, messages and outbox entries in one [`Write`], which lands
//! whole), and answered once durable. Reads go straight to the store; the actor exists to serialise changes.

mod inbound;
mod lifecycle;
mod outbound;

pub use outbound::CSAT_PREFIX;

use std::time::{Duration, Instant};

use actix::prelude::*;
use atende_data::{Chat, ChatStatus, Contact, Message, Scope, Store, UserId, Visibility, Write};

use crate::assign::Rebalance;
use crate::events::{promised, EventBus, Payload, Publish};
use crate::media::MediaFetcher;
use crate::messages::Caller;
use crate::outbound_queue::OutboundQueue;
use crate::router::Router;
use crate::{Error, Result};

/// A chat actor with nothing to do for this long stops; its state is in sled, so the
/// Router simply starts a new one on the next command.
pub const IDLE_STOP: Duration = Duration::from_secs(300);
/// How often an actor checks whether it has been idle long enough.
const IDLE_CHECK: Duration = Duration::from_secs(60);
/// Commands queued per chat before senders wait (backpressure, bounded memory).
const MAILBOX: usize = 64;

/// One live chat.
pub struct ChatActor {
    chat: Chat,
    store: Store,
    outbound: Addr<OutboundQueue>,
    media: Addr<MediaFetcher>,
    bus: Addr<EventBus>,
    router: Addr<Router>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    last_used: Instant,
    /// The chat is in the store (a campaign's new chat is written with its first message).
    stored: bool,
}

/// The change of a chat that a new message made (its newest message, unread count, window).
const MESSAGE: &str = "message";

/// Whether `by` may see `chat`: staff every chat, others their own and the waiting chats
/// of their queues.
pub(crate) fn sees(by: &Caller, chat: &Chat) -> bool {
    let visibility = Visibility {
        user: by.id,
        queues: by.queues.clone(),
    };
    by.is_staff() || visibility.allows(chat)
}

/// Who may see events of `chat`: staff, its holder, and while it waits, the agents of its
/// queue. Those a change takes it from hear of it by a `chat.hidden` scoped
/// [`Scope::Left`] (see [`ChatActor::chat_event`]).
pub fn scope_of(chat: &Chat) -> Scope {
    let waiting = chat.status == ChatStatus::Pending;
    Scope::Chat {
        users: chat.assignee.into_iter().collect(),
        pending_in: waiting.then(|| chat.queue_id.clone()).into_iter().collect(),
    }
}

impl ChatActor {
    /// An actor for `chat` as stored.
    pub fn new(
        chat: Chat,
        store: Store,
        outbound: Addr<OutboundQueue>,
        media: Addr<MediaFetcher>,
        bus: Addr<EventBus>,
        router: Addr<Router>,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> ChatActor {
        ChatActor {
            chat,
            store,
            outbound,
            media,
            bus,
            router,
            metrics,
            last_used: Instant::now(),
            stored: true,
        }
    }

    /// An actor for a chat not yet written: its first write writes it.
    pub fn unsaved(mut self) -> ChatActor {
        self.stored = false;
        self
    }

    /// Writes the chat's new state together with `write`, keeps it, and announces it as
    /// `change` (its fan-out waits for a flush that covers this write).
    fn save(&mut self, after: Chat, write: Write, change: &'static str) -> Result<()> {
        self.save_with(after, write, change, Vec::new())
    }

    /// [`Self::save`], then announces `then` too. The write carries the webhook intents
    /// of every event it announces, so a crash after it loses none of them.
    fn save_with(
        &mut self,
        after: Chat,
        mut write: Write,
        change: &'static str,
        then: Vec<Publish>,
    ) -> Result<()> {
        write.chat(self.stored.then_some(&self.chat), &after);
        let events = self.chat_event(&after, change).into_iter().chain(then);
        let events = promised(&self.store, &mut write, events)?;
        self.store.commit(write)?;
        self.stored = true;
        self.keep(after);
        self.announce(events, false);
        Ok(())
    }

    /// [`Self::save`], with a line in the thread that tells what happened (claimed,
    /// transferred, closed with its note ...), by whom (`None`: the hub), for the team.
    fn save_told(
        &mut self,
        after: Chat,
        write: Write,
        change: &'static str,
        by: Option<atende_data::UserId>,
        detail: serde_json::Value,
    ) -> Result<()> {
        self.save_told_with(after, write, change, by, detail, Vec::new())
    }

    /// [`Self::save_told`], then announces `then` too (see [`Self::save_with`]).
    fn save_told_with(
        &mut self,
        after: Chat,
        mut write: Write,
        change: &'static str,
        by: Option<atende_data::UserId>,
        mut detail: serde_json::Value,
        then: Vec<Publish>,
    ) -> Result<()> {
        detail["activity"] = serde_json::json!(change);
        let now = chrono::Utc::now();
        let line = self.internal_message("activity", by, None, Some(detail), now)?;
        write.message(&line);
        let mut events = vec![self.message_event("message.created", &line, None, &after)];
        events.extend(then);
        self.save_with(after, write, change, events)
    }

    /// Keeps the chat's new state, once written.
    fn keep(&mut self, after: Chat) {
        let moved = self
            .chat
            .assignee
            .is_some_and(|p| Some(p) != after.assignee);
        let frees_or_adds_work = after.status == ChatStatus::Pending
            || (self.chat.status == ChatStatus::Open && after.status != ChatStatus::Open)
            || moved;
        self.chat = after;
        if frees_or_adds_work {
            self.router.do_send(Rebalance);
        }
    }

    /// The events of the chat's change to `after` as `change`: `chat.updated` to who sees
    /// it after, unless a new message that changes nothing about who sees the chat is told
    /// by its message.created alone (which carries the chat; with [`MESSAGE`] the caller
    /// announces the message); and `chat.hidden` to those the change took it from.
    fn chat_event(&self, after: &Chat, change: &'static str) -> Vec<Publish> {
        let seen_after = scope_of(after);
        let seen_before = scope_of(&self.chat);
        let mut events = Vec::new();
        // A message's event carries its chat's new state to whoever sees it.
        if change != MESSAGE || seen_before != seen_after {
            events.push(Publish {
                name: "chat.updated",
                scope: seen_after.clone(),
                payload: Payload::Chat {
                    chat: Box::new(after.clone()),
                    change: change.into(),
                },
                flushed: false,
                intent: None,
            });
        }
        // Those the change took the chat from hear only that it left their view, as a
        // resumed socket does (`chat.hidden`), not where it went.
        if seen_before != seen_after {
            events.push(Publish {
                name: "chat.hidden",
                scope: Scope::Left {
                    before: Box::new(seen_before),
                    after: Box::new(seen_after),
                },
                payload: Payload::Json(serde_json::json!({ "id": after.id.to_string() })),
                flushed: false,
                intent: None,
            });
        }
        events
    }

    /// The event of a new or changed message of this chat as `chat` stands once it is
    /// written, with its contact if at hand.
    fn message_event(
        &self,
        name: &'static str,
        message: &Message,
        contact: Option<&Contact>,
        chat: &Chat,
    ) -> Publish {
        Publish {
            name,
            scope: scope_of(chat),
            payload: Payload::Message {
                message: Box::new(message.clone()),
                chat: Box::new(chat.clone()),
                contact: contact.cloned().map(Box::new),
            },
            flushed: false,
            intent: None,
        }
    }

    /// Hands the events of a written change to the bus; `flushed`: it is already on disk.
    fn announce(&self, events: Vec<Publish>, flushed: bool) {
        for mut event in events {
            event.flushed = flushed;
            self.bus.do_send(event);
        }
    }

    /// Adds to the day's report counters (a failure only costs a count, so it is logged).
    fn count(&self, agent: Option<UserId>, counts: atende_data::DayStats) {
        if let Err(error) = self.store.count_report(chrono::Utc::now(), agent, &counts) {
            tracing::warn!(%error, "a report counter was not updated");
        }
    }

    /// The caller may see this chat at all (else it does not exist for them).
    fn check_visible(&self, by: &Caller) -> Result<()> {
        if sees(by, &self.chat) {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// The caller may act on this chat: it is theirs, or they are staff.
    fn check_holder(&self, by: &Caller) -> Result<()> {
        self.check_visible(by)?;
        self.check_not_bot_elsewhere(by)?;
        if by.is_staff() || self.chat.assignee == Some(by.id) {
            Ok(())
        } else {
            Err(Error::Forbidden(atende_data::refusals::NOT_HOLDER))
        }
    }

    /// A bot writes only to the chat it holds: once it handed the chat over, or someone
    /// took it, a flow that goes on talking is refused (409 `chat_not_with_bot`) rather
    /// than talk over the agent.
    fn check_not_bot_elsewhere(&self, by: &Caller) -> Result<()> {
        let its_own = self.chat.status == ChatStatus::Bot && self.chat.bot_id == Some(by.id);
        // People are never bots; a token acts as a supervisor or an admin.
        if its_own || by.role == atende_data::Role::Agent {
            return Ok(());
        }
        let bot = (self.store.api_token(by.id)?).is_some_and(|token| token.bot.is_some());
        match (bot, self.chat.status) {
            (false, _) => Ok(()),
            (true, ChatStatus::Bot) => Err(Error::Forbidden(atende_data::refusals::OTHER_BOT)),
            (true, _) => Err(Error::Conflict(atende_data::refusals::CHAT_NOT_WITH_BOT)),
        }
    }

    /// Answers `result` once everything written so far is on disk.
    fn durably<T: 'static>(&mut self, result: Result<T>) -> ResponseFuture<Result<T>> {
        self.last_used = Instant::now();
        let store = self.store.clone();
        Box::pin(async move {
            let value = result?;
            store.durable().await?;
            Ok(value)
        })
    }
}

impl Actor for ChatActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX);
        ctx.run_interval(IDLE_CHECK, |actor, ctx| {
            if actor.last_used.elapsed() >= IDLE_STOP {
                ctx.stop();
            }
        });
    }
}
