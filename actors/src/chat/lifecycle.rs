//! Claim, transfer, close, reopen, read, tags and queue.

use actix::prelude::*;
use atende_data::{Chat, ChatStatus, Direction, OutboxEntry, OutboxId, OutboxKind, Write};
use chrono::Utc;
use serde_json::json;

use super::ChatActor;
use crate::messages::*;
use crate::{Error, Result};

impl Handler<ClaimChat> for ChatActor {
    type Result = ResponseFuture<Result<Chat>>;

    fn handle(&mut self, msg: ClaimChat, _: &mut Context<Self>) -> Self::Result {
        let result = self.claim(&msg.by);
        self.durably(result)
    }
}

impl Handler<TransferChat> for ChatActor {
    type Result = ResponseFuture<Result<Chat>>;

    fn handle(&mut self, msg: TransferChat, _: &mut Context<Self>) -> Self::Result {
        let result = self.transfer(&msg.by, msg.to);
        self.durably(result)
    }
}

impl Handler<HandOff> for ChatActor {
    type Result = ResponseFuture<Result<Chat>>;

    fn handle(&mut self, msg: HandOff, _: &mut Context<Self>) -> Self::Result {
        let result = self.hand_off(msg);
        self.durably(result)
    }
}

impl Handler<CloseChat> for ChatActor {
    type Result = ResponseFuture<Result<Chat>>;

    fn handle(&mut self, msg: CloseChat, _: &mut Context<Self>) -> Self::Result {
        let result = self.close(&msg.by, msg.note);
        let outbound = self.outbound.clone();
        let done = self.durably(result);
        Box::pin(async move {
            let (chat, survey) = done.await?;
            if let Some(entry) = survey {
                outbound.do_send(crate::outbound_queue::Enqueue { entry });
            }
            Ok(chat)
        })
    }
}

impl Handler<ReopenChat> for ChatActor {
    type Result = ResponseFuture<Result<Chat>>;

    fn handle(&mut self, msg: ReopenChat, _: &mut Context<Self>) -> Self::Result {
        let result = self.reopen(&msg.by);
        self.durably(result)
    }
}

impl Handler<UpdateChat> for ChatActor {
    type Result = ResponseFuture<Result<Chat>>;

    fn handle(&mut self, msg: UpdateChat, _: &mut Context<Self>) -> Self::Result {
        let result = self.update(msg);
        self.durably(result)
    }
}

impl Handler<SnoozeChat> for ChatActor {
    type Result = ResponseFuture<Result<Chat>>;

    fn handle(&mut self, msg: SnoozeChat, _: &mut Context<Self>) -> Self::Result {
        let result = self.snooze(&msg.by, msg.until);
        self.durably(result)
    }
}

impl Handler<WakeChat> for ChatActor {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: WakeChat, _: &mut Context<Self>) -> Self::Result {
        let result = self.wake(msg);
        self.durably(result)
    }
}

impl Handler<RecordActivity> for ChatActor {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: RecordActivity, _: &mut Context<Self>) -> Self::Result {
        let mut after = self.chat.clone();
        after.updated_at = Utc::now();
        let result = self.save_told(after, Write::default(), msg.change, msg.by, msg.detail);
        self.durably(result)
    }
}

impl Handler<MarkChatRead> for ChatActor {
    type Result = ResponseFuture<Result<Chat>>;

    fn handle(&mut self, msg: MarkChatRead, _: &mut Context<Self>) -> Self::Result {
        let result = self.mark_read(&msg.by);
        let outbound = self.outbound.clone();
        let done = self.durably(result);
        Box::pin(async move {
            let (chat, receipt) = done.await?;
            if let Some(entry) = receipt {
                outbound.do_send(crate::outbound_queue::Enqueue { entry });
            }
            Ok(chat)
        })
    }
}

impl ChatActor {
    fn claim(&mut self, by: &Caller) -> Result<Chat> {
        let chat = &self.chat;
        // Losing a race for a chat the agent could have seen waiting (its queue is
        // theirs) is a conflict, not a 404; to anyone else the chat is not there.
        let taken = chat.status == ChatStatus::Open && chat.assignee.is_some();
        let mut waiting = chat.clone();
        if taken {
            waiting.status = ChatStatus::Pending;
            waiting.assignee = None;
        }
        if !super::sees(by, &waiting) {
            return Err(Error::NotFound);
        }
        match (chat.status, chat.assignee) {
            (ChatStatus::Closed, _) => {
                return Err(Error::Conflict(atende_data::refusals::CHAT_CLOSED_CLAIM))
            }
            (ChatStatus::Open, Some(holder)) if holder == by.id => return Ok(chat.clone()),
            (ChatStatus::Open, Some(_)) => {
                return Err(Error::Conflict(atende_data::refusals::CLAIM_TAKEN))
            }
            _ => {}
        }
        let mut after = chat.clone();
        after.status = ChatStatus::Open;
        after.assignee = Some(by.id);
        after.pending_since = None;
        after.updated_at = Utc::now();
        self.save_told(after, Write::default(), "claimed", Some(by.id), json!({}))?;
        tracing::info!(chat_id = %self.chat.id, user_id = %by.id, "chat claimed");
        Ok(self.chat.clone())
    }

    /// A bot's chat goes to the people, with the bot's note; its transcript stays in the
    /// thread for the agent who takes it.
    fn hand_off(&mut self, msg: HandOff) -> Result<Chat> {
        if let Some(by) = &msg.by {
            self.check_visible(by)?;
        }
        let holder = self.chat.bot_id;
        if self.chat.status != ChatStatus::Bot {
            return Err(Error::Conflict(atende_data::refusals::CHAT_NOT_WITH_BOT));
        }
        if let Some(by) = &msg.by {
            // The bot holding it lets it go, or someone of the staff, or an admin token;
            // never another bot.
            let person = self.store.user(by.id)?.is_some();
            if Some(by.id) != holder && !person && by.role != atende_data::Role::Admin {
                return Err(Error::Forbidden(atende_data::refusals::OTHER_BOT));
            }
        }
        let now = Utc::now();
        let mut write = Write::default();
        let note = msg
            .note
            .filter(|n| !n.trim().is_empty())
            .map(|text| self.note_message(holder.or(msg.by.as_ref().map(|b| b.id)), text, now));
        let note = note.transpose()?;
        if let Some(note) = &note {
            write.message(note);
        }
        let mut after = self.chat.clone();
        after.status = ChatStatus::Pending;
        after.queue_id = msg.queue_id;
        after.assignee = None;
        after.pending_since = Some(now);
        after.updated_at = now;
        let by = holder.or(msg.by.as_ref().map(|b| b.id));
        let detail = json!({"queue_id": after.queue_id});
        let then = note
            .iter()
            .map(|note| self.message_event("message.created", note, None, &after))
            .collect();
        self.save_told_with(after, write, "handoff", by, detail, then)?;
        tracing::info!(chat_id = %self.chat.id, "a bot handed the chat over");
        Ok(self.chat.clone())
    }

    fn transfer(&mut self, by: &Caller, to: TransferTarget) -> Result<Chat> {
        self.check_holder(by)?;
        if self.chat.status == ChatStatus::Closed {
            return Err(Error::Conflict(atende_data::refusals::CHAT_CLOSED_TRANSFER));
        }
        let now = Utc::now();
        let mut after = self.chat.clone();
        // Put aside by its holder: the next one sees it at once.
        after.snooze = None;
        match &to {
            TransferTarget::User(user) => {
                let target = self.store.user(*user)?.filter(|u| u.active);
                if target.is_none() {
                    return Err(Error::Invalid {
                        refusal: atende_data::refusals::UNKNOWN_REFERENCE,
                        field: "user_id",
                        problem: "is not an active user".into(),
                    });
                }
                after.status = ChatStatus::Open;
                after.assignee = Some(*user);
                after.pending_since = None;
            }
            TransferTarget::Queue(queue) => {
                if self.store.queue(queue)?.is_none() {
                    return Err(Error::Invalid {
                        refusal: atende_data::refusals::UNKNOWN_REFERENCE,
                        field: "queue_id",
                        problem: "is not a queue".into(),
                    });
                }
                after.status = ChatStatus::Pending;
                after.assignee = None;
                after.queue_id = Some(queue.clone());
                after.pending_since = Some(now);
            }
        }
        after.updated_at = now;
        let detail = json!({"user_id": after.assignee.map(|u| u.to_string()), "queue_id": after.queue_id,
            "from_user_id": self.chat.assignee.map(|u| u.to_string())});
        let snoozed = self.chat.snooze.clone();
        self.save_told(after, Write::default(), "transferred", Some(by.id), detail)?;
        self.forget_wake(snoozed);
        tracing::info!(chat_id = %self.chat.id, by = %by.id, "chat transferred");
        Ok(self.chat.clone())
    }

    /// "Finalizar", with the satisfaction survey when the settings ask for one.
    fn close(&mut self, by: &Caller, note: Option<String>) -> Result<(Chat, Option<OutboxEntry>)> {
        self.check_holder(by)?;
        if self.chat.status == ChatStatus::Closed {
            return Err(Error::Conflict(atende_data::refusals::CHAT_ALREADY_CLOSED));
        }
        let now = Utc::now();
        let mut after = self.chat.clone();
        after.status = ChatStatus::Closed;
        after.closed_at = Some(now);
        after.close_note = note;
        after.snooze = None;
        after.unread_count = 0;
        after.pending_since = None;
        after.updated_at = now;
        let mut write = Write::default();
        let survey = self.survey(now)?;
        if let Some((message, entry)) = &survey {
            write.message(message).outbox(entry);
            after.csat_asked_at = Some(now);
            after.csat = None;
            after.last_message = Some(atende_data::LastMessage {
                preview: message.preview(),
                direction: Direction::Out,
                at: now,
            });
        }
        let detail = json!({"note": after.close_note});
        let then = survey
            .iter()
            .map(|(message, _)| self.message_event("message.created", message, None, &after))
            .collect();
        let snoozed = self.chat.snooze.clone();
        self.save_told_with(after, write, "closed", Some(by.id), detail, then)?;
        self.forget_wake(snoozed);
        let took = (now - self.chat.created_at).num_seconds().max(0) as u64;
        let counts = atende_data::DayStats {
            chats_closed: 1,
            resolutions: 1,
            resolution_seconds: took,
            ..Default::default()
        };
        self.count(self.chat.assignee, counts);
        tracing::info!(chat_id = %self.chat.id, by = %by.id, "chat closed");
        Ok((self.chat.clone(), survey.map(|(_, entry)| entry)))
    }

    fn reopen(&mut self, by: &Caller) -> Result<Chat> {
        let was_holder = self.chat.assignee == Some(by.id);
        if !(by.is_staff() || was_holder) {
            return Err(Error::NotFound);
        }
        if self.chat.status != ChatStatus::Closed {
            return Err(Error::Conflict(atende_data::refusals::CHAT_NOT_CLOSED));
        }
        let mut after = self.chat.clone();
        after.status = ChatStatus::Open;
        after.assignee = Some(by.id);
        after.closed_at = None;
        after.close_note = None;
        after.updated_at = Utc::now();
        self.save_told(after, Write::default(), "reopened", Some(by.id), json!({}))?;
        Ok(self.chat.clone())
    }

    /// Puts an open chat aside, or takes it back, as [`SnoozeChat`] says.
    fn snooze(
        &mut self,
        by: &Caller,
        until: Option<Option<chrono::DateTime<Utc>>>,
    ) -> Result<Chat> {
        self.check_holder(by)?;
        let now = Utc::now();
        let mut after = self.chat.clone();
        after.updated_at = now;
        let Some(until) = until else {
            if after.snooze.take().is_none() {
                return Ok(self.chat.clone());
            }
            self.save(after, Write::default(), "woke")?;
            return Ok(self.chat.clone());
        };
        if self.chat.status != ChatStatus::Open {
            return Err(Error::Conflict(atende_data::refusals::CHAT_NOT_OPEN));
        }
        if let Some(at) = until {
            self.store.wake_at(self.chat.id, at, false)?;
        }
        after.snooze = Some(atende_data::Snooze {
            until,
            by: by.id,
            at: now,
        });
        let detail = json!({"until": until});
        self.save_told(after, Write::default(), "snoozed", Some(by.id), detail)?;
        Ok(self.chat.clone())
    }

    /// The wake-up of a snooze the chat no longer has is no longer due.
    fn forget_wake(&self, snooze: Option<atende_data::Snooze>) {
        let Some(at) = snooze.and_then(|s| s.until) else {
            return;
        };
        if let Err(error) = self.store.wake_at(self.chat.id, at, true) {
            // Left due, it is forgotten when its time comes (the chat is not snoozed).
            tracing::warn!(chat_id = %self.chat.id, %error, "a snooze's wake-up stays due");
        }
    }

    /// A snooze's time came: the chat is back in its agent's list (unless it was woken or
    /// snoozed again meanwhile).
    fn wake(&mut self, msg: WakeChat) -> Result<()> {
        let current = self.chat.snooze.as_ref().and_then(|s| s.until);
        if current == Some(msg.until) {
            let mut after = self.chat.clone();
            after.snooze = None;
            after.updated_at = Utc::now();
            self.save_told(after, Write::default(), "woke", None, json!({}))?;
        }
        self.store.wake_at(self.chat.id, msg.until, true)?;
        Ok(())
    }

    fn update(&mut self, msg: UpdateChat) -> Result<Chat> {
        self.check_holder(&msg.by)?;
        let mut after = self.chat.clone();
        if let Some(tags) = msg.tags {
            after.tags = tags;
        }
        if let Some(queue) = msg.queue_id {
            after.queue_id = queue;
        }
        after.updated_at = Utc::now();
        self.save(after, Write::default(), "updated")?;
        Ok(self.chat.clone())
    }

    /// Clears the unread count and queues a read receipt for the newest customer message.
    fn mark_read(&mut self, by: &Caller) -> Result<(Chat, Option<OutboxEntry>)> {
        self.check_visible(by)?;
        let (recent, _) = self.store.messages(self.chat.id, None, 50)?;
        let newest = recent
            .iter()
            .rev()
            .find(|m| m.direction == Direction::In && m.wamid.is_some())
            .and_then(|m| m.wamid.clone());
        let mut after = self.chat.clone();
        after.unread_count = 0;
        let mut write = Write::default();
        let mut receipt = None;
        if let Some(wamid) = newest.filter(|w| self.chat.read_receipt_wamid.as_ref() != Some(w)) {
            after.read_receipt_wamid = Some(wamid.clone());
            let entry = OutboxEntry {
                id: OutboxId(self.store.new_id()?),
                number: self.chat.phone_number_id.clone(),
                chat_id: self.chat.id,
                message_id: None,
                kind: OutboxKind::MarkRead { wamid },
                attempts: 0,
                dispatched: false,
                created_at: Utc::now(),
            };
            write.outbox(&entry);
            receipt = Some(entry);
        }
        if after == self.chat {
            return Ok((after, None));
        }
        self.save(after, write, "read")?;
        Ok((self.chat.clone(), receipt))
    }
}

impl Handler<AssignChat> for ChatActor {
    type Result = ResponseFuture<Result<Chat>>;

    fn handle(&mut self, msg: AssignChat, _: &mut Context<Self>) -> Self::Result {
        let result = self.assign(msg.user);
        self.durably(result)
    }
}

impl Handler<RequeueChat> for ChatActor {
    type Result = ResponseFuture<Result<Chat>>;

    fn handle(&mut self, msg: RequeueChat, _: &mut Context<Self>) -> Self::Result {
        let result = self.requeue(msg.user);
        self.durably(result)
    }
}

impl ChatActor {
    /// Auto-assignment: only a chat still waiting is handed over.
    fn assign(&mut self, user: atende_data::UserId) -> Result<Chat> {
        if self.chat.status != ChatStatus::Pending {
            return Ok(self.chat.clone());
        }
        let mut after = self.chat.clone();
        after.status = ChatStatus::Open;
        after.assignee = Some(user);
        after.pending_since = None;
        after.updated_at = Utc::now();
        let detail = json!({"user_id": user.to_string()});
        self.save_told(after, Write::default(), "assigned", None, detail)?;
        self.audit_system("chat.assigned", format!("assignee {user}"))?;
        tracing::info!(chat_id = %self.chat.id, user_id = %user, "chat assigned");
        Ok(self.chat.clone())
    }

    /// Back to the queue, if `user` still holds it.
    fn requeue(&mut self, user: atende_data::UserId) -> Result<Chat> {
        if self.chat.status != ChatStatus::Open || self.chat.assignee != Some(user) {
            return Ok(self.chat.clone());
        }
        let now = Utc::now();
        let mut after = self.chat.clone();
        after.status = ChatStatus::Pending;
        after.assignee = None;
        after.pending_since = Some(now);
        after.updated_at = now;
        let detail = json!({"from_user_id": user.to_string(), "queue_id": after.queue_id});
        self.save_told(after, Write::default(), "requeued", None, detail)?;
        self.audit_system("chat.requeued", format!("from {user}, who stayed offline"))?;
        Ok(self.chat.clone())
    }
}

impl ChatActor {
    /// Records an action the hub took by itself on this chat.
    fn audit_system(&self, action: &str, detail: String) -> Result<()> {
        self.store.audit(atende_data::AuditEntry {
            id: 0,
            at: Utc::now(),
            actor: None,
            action: action.to_string(),
            target: Some(self.chat.id.to_string()),
            address: None,
            detail: Some(detail),
        })?;
        Ok(())
    }
}

impl Handler<Retire> for ChatActor {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
