//! [`Scheduler`]: what agents asked for later. Each second it reads what is due
//! (`scheduled_due`): a scheduled message goes out as its author's reply if the 24-hour
//! window is open, else as the template they picked, else not at all, and the thread says
//! why; a snoozed chat whose time came is back in its agent's list.
//!
//! Exactly once: a scheduled message is sent with the client id `scheduled:<id>`, so a
//! send repeated after a crash (sent, but not yet marked so) finds the first message and
//! sends nothing again.

use std::collections::HashSet;
use std::time::Duration;

use actix::prelude::*;
use atende_data::{refusals, Due, ScheduledId, ScheduledMessage, ScheduledState, Scope, Store};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::events::{EventBus, Payload, Publish};
use crate::messages::{Caller, Outgoing, RecordActivity, SendReply, WakeChat};
use crate::router::Router;
use crate::Error;

/// How often what is due is read.
const TICK: Duration = Duration::from_secs(1);
/// Entries taken per tick.
const BATCH: usize = 200;

pub struct Scheduler {
    store: Store,
    router: Addr<Router>,
    bus: Addr<EventBus>,
    /// Scheduled messages being sent now.
    in_flight: HashSet<ScheduledId>,
    /// The last entry of a full read: the next tick reads on from there, so entries that
    /// stay due (in flight, or failing for a while) never hold back the ones behind them.
    resume: Option<(DateTime<Utc>, Due)>,
}

impl Scheduler {
    pub fn new(store: Store, router: Addr<Router>, bus: Addr<EventBus>) -> Self {
        Scheduler {
            store,
            router,
            bus,
            in_flight: HashSet::new(),
            resume: None,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let due = match self.store.due(Utc::now(), self.resume.take(), BATCH) {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "what is due could not be read");
                return;
            }
        };
        if due.len() >= BATCH {
            self.resume = due.last().copied();
        }
        for (at, entry) in due {
            match entry {
                Due::Wake(chat_id) => {
                    let router = self.router.clone();
                    let store = self.store.clone();
                    async move {
                        let woke = router.send(WakeChat { chat_id, until: at }).await;
                        match woke {
                            Ok(Ok(())) => {}
                            // Erased: nothing is left to wake (while its erasure runs, the
                            // chat is still stored and the wake-up waits).
                            Ok(Err(Error::NotFound)) if matches!(store.chat(chat_id), Ok(None)) => {
                                let _ = store.drop_due(at, entry);
                            }
                            _ => tracing::warn!(%chat_id, "a snoozed chat did not wake; it is tried again"),
                        }
                    }
                    .into_actor(self)
                    .spawn(ctx);
                }
                Due::Message(chat_id, id) => {
                    if self.in_flight.contains(&id) {
                        continue;
                    }
                    match self.store.scheduled(chat_id, id) {
                        Ok(Some(message)) if message.state == ScheduledState::Pending => {
                            self.in_flight.insert(id);
                            self.send(message, ctx);
                        }
                        Ok(Some(message)) => {
                            // Not pending but still listed as due: put it right.
                            let _ = self.store.put_scheduled(&message);
                        }
                        Ok(None) => {
                            // Erased with its chat: nothing is due any more.
                            let _ = self.store.drop_due(at, entry);
                        }
                        Err(error) => {
                            tracing::warn!(%error, "a scheduled message could not be read")
                        }
                    }
                }
            }
        }
    }

    /// Sends one due message: free text inside the window, the template outside it.
    fn send(&mut self, message: ScheduledMessage, ctx: &mut Context<Self>) {
        let store = self.store.clone();
        let router = self.router.clone();
        async move {
            let author = store.user(message.by).ok().flatten().filter(|u| u.active);
            let Some(author) = author else {
                return (message, Err("author_inactive".to_string()));
            };
            let chat = match store.chat(message.chat_id) {
                Ok(Some(chat)) => chat,
                _ => return (message, Err("chat_gone".to_string())),
            };
            let open = chat.window_open(Utc::now());
            let content = match (&message.template, open) {
                (_, true) => Outgoing::Text {
                    text: message.text.clone(),
                    reply_to: None,
                },
                (Some((name, language, components)), false) => Outgoing::Template {
                    name: name.clone(),
                    language: language.clone(),
                    components: components.clone(),
                },
                (None, false) => return (message, Err("window_closed".to_string())),
            };
            let reply = SendReply {
                chat_id: message.chat_id,
                by: Caller::from(&author),
                client_id: format!("scheduled:{}", message.id),
                content,
                details: None,
            };
            let sent = match router.send(reply).await {
                Ok(Ok(sent)) => Ok(sent.message.id),
                Ok(Err(Error::WindowClosed)) => Err("window_closed".to_string()),
                Ok(Err(Error::Conflict(refusal))) | Ok(Err(Error::Forbidden(refusal))) => {
                    Err(refusal.code.to_string())
                }
                Ok(Err(Error::NotFound)) => Err(refusals::NOT_HOLDER.code.to_string()),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "a scheduled message was not sent; it is tried again");
                    Err(String::new())
                }
                Err(error) => {
                    tracing::warn!(%error, "a scheduled message was not sent; it is tried again");
                    Err(String::new())
                }
            };
            (message, sent)
        }
        .into_actor(self)
        .map(|(mut message, sent), actor, _| {
            actor.in_flight.remove(&message.id);
            let now = Utc::now();
            match sent {
                // A passing failure: due again on the next tick.
                Err(reason) if reason.is_empty() => return,
                Ok(message_id) => {
                    message.state = ScheduledState::Sent;
                    message.message_id = Some(message_id);
                }
                Err(reason) => {
                    tracing::info!(chat_id = %message.chat_id, %reason, "a scheduled message did not go out");
                    message.state = ScheduledState::Failed;
                    message.reason = Some(reason.clone());
                    actor.router.do_send(RecordActivity {
                        chat_id: message.chat_id,
                        change: "scheduled_failed",
                        by: None,
                        detail: json!({"scheduled_id": message.id.to_string(), "reason": reason}),
                    });
                }
            }
            message.updated_at = now;
            if let Err(error) = actor.store.put_scheduled(&message) {
                tracing::warn!(%error, "a scheduled message's outcome was not written");
                return;
            }
            actor.announce(&message);
        })
        .spawn(ctx);
    }

    /// Tells the staff and the author what became of a scheduled message.
    fn announce(&self, message: &ScheduledMessage) {
        self.bus.do_send(Publish {
            name: "scheduled.updated",
            scope: Scope::Chat {
                users: vec![message.by],
                pending_in: Vec::new(),
            },
            payload: Payload::Json(json!({
                "id": message.id.to_string(),
                "chat_id": message.chat_id.to_string(),
                "state": message.state.as_str(),
                "reason": message.reason,
                "message_id": message.message_id.map(|m| m.to_string()),
            })),
            flushed: false,
            intent: None,
        });
    }
}

/// Cancels a pending scheduled message; refused (`scheduled_not_pending`) once it is on
/// its way, went out, failed or was cancelled. Answered once durable.
#[derive(Message)]
#[rtype(result = "crate::Result<ScheduledMessage>")]
pub struct CancelScheduled {
    pub chat_id: atende_data::ChatId,
    pub id: ScheduledId,
}

impl Handler<CancelScheduled> for Scheduler {
    type Result = ResponseFuture<crate::Result<ScheduledMessage>>;

    fn handle(&mut self, msg: CancelScheduled, _: &mut Context<Self>) -> Self::Result {
        let result = (|| {
            let mut message = self
                .store
                .scheduled(msg.chat_id, msg.id)?
                .ok_or(Error::NotFound)?;
            if message.state != ScheduledState::Pending || self.in_flight.contains(&msg.id) {
                return Err(Error::Conflict(refusals::SCHEDULED_NOT_PENDING));
            }
            message.state = ScheduledState::Cancelled;
            message.updated_at = Utc::now();
            self.store.put_scheduled(&message)?;
            Ok(message)
        })();
        let store = self.store.clone();
        Box::pin(async move {
            let message = result?;
            store.durable().await?;
            Ok(message)
        })
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TICK, |actor, ctx| actor.tick(ctx));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use atende_data::{ChatId, UserId};

    use super::*;
    use crate::events::{PresenceRules, Retention};
    use crate::hooks::HookRules;
    use crate::{Hub, HubConfig};

    /// A hub whose Cloud API is nowhere (nothing here sends).
    fn hub(store: Store) -> Hub {
        let config = HubConfig {
            api_url: "http://127.0.0.1:9/v21.0".into(),
            token: "t".into(),
            business_account_id: None,
            rate_limit: 10,
            api_timeout: Duration::from_secs(1),
            send_recovery_wait: Duration::from_secs(1),
            requeue_after: Duration::from_secs(3600),
            retention: Retention {
                max_events: 100,
                max_age: chrono::Duration::hours(1),
            },
            presence: PresenceRules {
                offline_grace: Duration::ZERO,
            },
            sandbox_number: None,
            hooks: HookRules {
                retry_base: Duration::from_secs(1),
                retry_cap: Duration::from_secs(1),
                give_up_after: chrono::Duration::hours(1),
                pause_after: chrono::Duration::hours(1),
                timeout: Duration::from_secs(1),
            },
        };
        Hub::start(store, config, |_, _| "{}".into())
    }

    #[actix::test]
    async fn wake_ups_of_erased_chats_are_forgotten_and_hold_back_no_scheduled_message() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = Utc::now();
        // More leftovers than one tick reads, all older than the message.
        let leftovers = BATCH as u64 + 50;
        for chat in 0..leftovers {
            let at = now - chrono::Duration::hours(1) + chrono::Duration::seconds(chat as i64);
            store.wake_at(ChatId(1000 + chat), at, false).unwrap();
        }
        let message = ScheduledMessage {
            id: ScheduledId(1),
            chat_id: ChatId(1),
            by: UserId(1),
            text: "lembrete".into(),
            template: None,
            send_at: now - chrono::Duration::seconds(1),
            state: ScheduledState::Pending,
            reason: None,
            message_id: None,
            created_at: now,
            updated_at: now,
        };
        store.put_scheduled(&message).unwrap();
        let _hub = hub(store.clone());

        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let served = store
                .scheduled(message.chat_id, message.id)
                .unwrap()
                .is_some_and(|m| m.state == ScheduledState::Failed);
            let left = store.due(Utc::now(), None, 1000).unwrap().len();
            if served && left == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "served: {served}, still due: {left} of {leftovers} wake-ups and 1 message"
            );
            actix::clock::sleep(Duration::from_millis(25)).await;
        }
        let failed = store.scheduled(message.chat_id, message.id).unwrap();
        // Its author is no user here: it is given up, with the reason.
        assert_eq!(failed.unwrap().reason.as_deref(), Some("author_inactive"));
    }
}
