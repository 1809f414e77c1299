//! [`ChatActor`]: the only writer of one chat. Every command is handled in order, written
//! to sled (chat, indexes, messages and outbox entries in one transaction), and answered
//! once durable. Reads go straight to the store; the actor exists to serialise changes.

mod inbound;
mod lifecycle;
mod outbound;

use std::time::{Duration, Instant};

use actix::prelude::*;
use atende_data::{Chat, Store, Visibility, Write};

use crate::media::MediaFetcher;
use crate::messages::Caller;
use crate::outbound_queue::OutboundQueue;
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
    last_used: Instant,
}

impl ChatActor {
    /// An actor for `chat` as stored.
    pub fn new(
        chat: Chat,
        store: Store,
        outbound: Addr<OutboundQueue>,
        media: Addr<MediaFetcher>,
    ) -> ChatActor {
        ChatActor {
            chat,
            store,
            outbound,
            media,
            last_used: Instant::now(),
        }
    }

    /// Writes the chat's new state together with `write`, then keeps it.
    fn save(&mut self, after: Chat, mut write: Write) -> Result<()> {
        write.chat(Some(&self.chat), &after);
        self.store.commit(write)?;
        self.chat = after;
        Ok(())
    }

    /// The caller may see this chat at all (else it does not exist for them).
    fn check_visible(&self, by: &Caller) -> Result<()> {
        let visibility = Visibility {
            user: by.id,
            queues: by.queues.clone(),
        };
        if by.is_staff() || visibility.allows(&self.chat) {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// The caller may act on this chat: it is theirs, or they are staff.
    fn check_holder(&self, by: &Caller) -> Result<()> {
        self.check_visible(by)?;
        if by.is_staff() || self.chat.assignee == Some(by.id) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "only the agent holding this chat may do this; claim it first",
            ))
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
