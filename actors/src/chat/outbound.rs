//! Replies, notes, and what the Cloud API says about the replies.

use actix::prelude::*;
use atende_data::{
    CampaignMark, ChatStatus, Direction, LastMessage, MediaRef, Message, MessageId, MessageStatus,
    OutboxEntry, OutboxId, OutboxKind, Recipient, ReplyRef, SendState, Write,
};
use chrono::Utc;
use serde_json::{json, Value};

use super::ChatActor;
use crate::events::promised;
use crate::messages::*;
use crate::outbound_queue::Enqueue;
use crate::{Error, Result};

impl Handler<SendReply> for ChatActor {
    type Result = ResponseFuture<Result<Sent>>;

    fn handle(&mut self, msg: SendReply, _: &mut Context<Self>) -> Self::Result {
        let result = self.send_reply(msg);
        let outbound = self.outbound.clone();
        let done = self.durably(result);
        Box::pin(async move {
            let (sent, entry) = done.await?;
            if let Some(entry) = entry {
                outbound.do_send(Enqueue { entry });
            }
            Ok(sent)
        })
    }
}

impl Handler<SendCampaign> for ChatActor {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: SendCampaign, _: &mut Context<Self>) -> Self::Result {
        let result = self.send_campaign(&msg);
        let outbound = self.outbound.clone();
        let done = self.durably(result);
        Box::pin(async move {
            if let Some(entry) = done.await? {
                outbound.do_send(Enqueue { entry });
            }
            Ok(())
        })
    }
}

impl Handler<PinMessage> for ChatActor {
    type Result = ResponseFuture<Result<Message>>;

    fn handle(&mut self, msg: PinMessage, _: &mut Context<Self>) -> Self::Result {
        let result = self.pin(msg);
        self.durably(result)
    }
}

impl Handler<AddNote> for ChatActor {
    type Result = ResponseFuture<Result<Message>>;

    fn handle(&mut self, msg: AddNote, _: &mut Context<Self>) -> Self::Result {
        let result = self.add_note(&msg.by, msg.text);
        self.durably(result)
    }
}

impl Handler<RecordSent> for ChatActor {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: RecordSent, _: &mut Context<Self>) -> Self::Result {
        let result = self.record_sent(msg);
        self.durably(result)
    }
}

impl Handler<RecordFailed> for ChatActor {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: RecordFailed, _: &mut Context<Self>) -> Self::Result {
        self.metrics.send_failed(msg.error.code);
        let result = self.change_message(msg.message_id, |m, w| {
            m.status = MessageStatus::Failed;
            m.error = Some(msg.error.clone());
            w.outbox_done(msg.outbox_id);
        });
        self.durably(result)
    }
}

impl Handler<ApplyDelivery> for ChatActor {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: ApplyDelivery, _: &mut Context<Self>) -> Self::Result {
        let result = self.change_message(msg.message_id, |m, _| {
            if m.status.may_become(msg.status) {
                m.status = msg.status;
                if msg.error.is_some() {
                    m.error = msg.error.clone();
                }
            }
        });
        self.durably(result)
    }
}

impl ChatActor {
    fn send_reply(&mut self, msg: SendReply) -> Result<(Sent, Option<OutboxEntry>)> {
        self.check_visible(&msg.by)?;
        if let Some(message) = self
            .store
            .message_by_client_id(self.chat.id, &msg.client_id)?
        {
            return Ok((
                Sent {
                    message,
                    created: false,
                },
                None,
            ));
        }
        self.check_holder(&msg.by)?;
        if self.chat.status == ChatStatus::Closed {
            return Err(Error::Conflict(atende_data::refusals::CHAT_CLOSED_WRITE));
        }
        let now = Utc::now();
        let is_template = matches!(msg.content, Outgoing::Template { .. });
        if !is_template && !self.chat.window_open(now) {
            return Err(Error::WindowClosed);
        }
        let id = MessageId(self.store.new_id()?);
        let mut write = Write::default();
        let (mut message, body, upload) = self.compose(id, &msg, &mut write)?;
        if let Some(Value::Object(extra)) = &msg.details {
            let mut details = match message.details.take() {
                Some(Value::Object(details)) => details,
                _ => serde_json::Map::new(),
            };
            details.extend(extra.clone());
            message.details = Some(Value::Object(details));
        }
        let entry = OutboxEntry {
            id: OutboxId(self.store.new_id()?),
            number: self.chat.phone_number_id.clone(),
            chat_id: self.chat.id,
            message_id: Some(id),
            kind: OutboxKind::Send { body, upload },
            attempts: 0,
            dispatched: false,
            created_at: now,
        };
        write.message(&message).outbox(&entry);
        let first_response = self.chat.first_response_at.is_none();
        let waited = (now - self.chat.created_at).num_seconds().max(0) as u64;
        self.count(
            Some(msg.by.id),
            atende_data::DayStats {
                messages_out: 1,
                first_responses: u64::from(first_response),
                first_response_seconds: if first_response { waited } else { 0 },
                ..Default::default()
            },
        );
        let mut after = self.chat.clone();
        after.last_message = Some(LastMessage {
            preview: message.preview(),
            direction: Direction::Out,
            at: now,
        });
        after.first_response_at = after.first_response_at.or(Some(now));
        after.updated_at = now;
        let then = vec![self.message_event("message.created", &message, None, &after)];
        self.save_with(after, write, super::MESSAGE, then)?;
        tracing::info!(chat_id = %self.chat.id, message_id = %id, user_id = %msg.by.id, "reply queued");
        Ok((
            Sent {
                message,
                created: true,
            },
            Some(entry),
        ))
    }

    /// A campaign's template to this chat's customer, written with its outbox entry and
    /// the send's new state, unless the send already left `queued` (a repeat after a
    /// crash). The customer's next message is this campaign's reply.
    fn send_campaign(&mut self, msg: &SendCampaign) -> Result<Option<OutboxEntry>> {
        let campaign = &msg.campaign;
        let Some(mut send) = self
            .store
            .campaign_send(campaign.id, self.chat.contact_id)?
        else {
            return Ok(None);
        };
        if send.state != SendState::Queued {
            return Ok(None);
        }
        let now = Utc::now();
        let t = &campaign.template;
        let mut template = json!({"name": t.name, "language": {"code": t.language}});
        if msg.components.as_array().is_some_and(|c| !c.is_empty()) {
            template["components"] = msg.components.clone();
        }
        let (mut message, entry) =
            self.automatic("template", &msg.text, template.clone(), "campaign", now)?;
        message.details = Some(json!({
            "automatic": "campaign",
            "template": template,
            "campaign": {"id": campaign.id.to_string(), "name": campaign.name},
        }));
        send.state = SendState::Sending;
        send.chat_id = Some(self.chat.id);
        send.message_id = Some(message.id);
        send.updated_at = now;
        let mut write = Write::default();
        write.message(&message).outbox(&entry).campaign_send(&send);
        let mut after = self.chat.clone();
        after.last_message = Some(LastMessage {
            preview: message.preview(),
            direction: Direction::Out,
            at: now,
        });
        after.updated_at = now;
        if after.status == ChatStatus::Closed && campaign.queue_id.is_some() {
            // The reply waits where the campaign says.
            after.queue_id = campaign.queue_id.clone();
        }
        after.campaign = Some(CampaignMark {
            campaign_id: campaign.id,
            sent_at: now,
        });
        let then = vec![self.message_event("message.created", &message, None, &after)];
        self.save_with(after, write, super::MESSAGE, then)?;
        Ok(Some(entry))
    }

    /// Pins or unpins a message (anyone who may see the chat): `details.pinned` says by
    /// whom and when.
    fn pin(&mut self, msg: PinMessage) -> Result<Message> {
        self.check_visible(&msg.by)?;
        let now = Utc::now();
        self.change_message(msg.message_id, |m, _| {
            let mut details = match m.details.take() {
                Some(Value::Object(details)) => details,
                _ => serde_json::Map::new(),
            };
            if msg.pinned {
                details.insert(
                    "pinned".into(),
                    json!({"by": msg.by.id.to_string(), "at": now.to_rfc3339()}),
                );
            } else {
                details.remove("pinned");
            }
            m.details = (!details.is_empty()).then_some(Value::Object(details));
        })?;
        self.store
            .message(self.chat.id, msg.message_id)?
            .ok_or(Error::NotFound)
    }

    /// When `message` carries a campaign's send, what its new status means for the send.
    fn follow_campaign(&self, message: &Message, write: &mut Write) -> Result<()> {
        let campaign = message
            .details
            .as_ref()
            .and_then(|d| d["campaign"]["id"].as_str())
            .and_then(|id| id.parse().ok());
        let Some(campaign) = campaign.map(atende_data::CampaignId) else {
            return Ok(());
        };
        let Some(mut send) = self.store.campaign_send(campaign, self.chat.contact_id)? else {
            return Ok(());
        };
        let next = match message.status {
            MessageStatus::Sent => SendState::Sent,
            MessageStatus::Delivered => SendState::Delivered,
            MessageStatus::Read | MessageStatus::Played => SendState::Read,
            MessageStatus::Failed => SendState::Failed,
            _ => return Ok(()),
        };
        if send.message_id != Some(message.id) || !send.state.may_become(next) {
            return Ok(());
        }
        let now = Utc::now();
        if next != SendState::Failed {
            send.sent_at = send.sent_at.or(Some(now));
        } else {
            send.reason = message
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code, e.title));
        }
        send.state = next;
        send.updated_at = now;
        write.campaign_send(&send);
        Ok(())
    }

    /// The message as stored and the Cloud API body that sends it.
    fn compose(
        &self,
        id: MessageId,
        msg: &SendReply,
        write: &mut Write,
    ) -> Result<(Message, Value, Option<atende_data::MediaId>)> {
        let now = Utc::now();
        let mut message = Message {
            author_id: Some(msg.by.id),
            client_id: Some(msg.client_id.clone()),
            ..Message::new(
                id,
                self.chat.id,
                Direction::Out,
                "",
                MessageStatus::Queued,
                now,
            )
        };
        let mut body = self.envelope()?;
        let mut upload = None;
        match &msg.content {
            Outgoing::Text { text, reply_to } => {
                message.kind = "text".into();
                message.text = Some(text.clone());
                body["type"] = json!("text");
                body["text"] = json!({"preview_url": false, "body": text});
                if let Some(quoted) = reply_to {
                    let quoted =
                        self.store
                            .message(self.chat.id, *quoted)?
                            .ok_or(Error::Invalid {
                                refusal: atende_data::refusals::UNKNOWN_REFERENCE,
                                field: "reply_to",
                                problem: "is not a message of this chat".into(),
                            })?;
                    if let Some(wamid) = &quoted.wamid {
                        body["context"] = json!({"message_id": wamid});
                    }
                    message.reply_to = Some(ReplyRef {
                        message_id: Some(quoted.id),
                        wamid: quoted.wamid,
                    });
                }
            }
            Outgoing::Media {
                kind,
                media_id,
                caption,
            } => {
                let mut media = self.store.media(*media_id)?.ok_or(Error::Invalid {
                    refusal: atende_data::refusals::UNKNOWN_REFERENCE,
                    field: "media_id",
                    problem: "is not an uploaded file".into(),
                })?;
                let own = media.uploader == Some(msg.by.id) || msg.by.is_staff();
                if !own || media.chat_id.is_some_and(|c| c != self.chat.id) {
                    return Err(Error::Invalid {
                        refusal: atende_data::refusals::UNKNOWN_REFERENCE,
                        field: "media_id",
                        problem: "is not an uploaded file".into(),
                    });
                }
                if &media.kind != kind && !(kind == "document" && media.kind != "sticker") {
                    return Err(Error::Invalid {
                        refusal: atende_data::refusals::MEDIA_KIND_MISMATCH,
                        field: "type",
                        problem: format!("the file is a {}", media.kind),
                    });
                }
                message.kind = kind.clone();
                message.caption = caption.clone();
                message.media = Some(MediaRef {
                    id: media.id,
                    mime_type: Some(media.mime_type.clone()),
                    size: media.size,
                    filename: media.filename.clone(),
                    seconds: media.seconds,
                });
                let mut object = json!({});
                if let Some(caption) = caption
                    .as_ref()
                    .filter(|_| kind != "audio" && kind != "sticker")
                {
                    object["caption"] = json!(caption);
                }
                if let (Some(name), "document") = (&media.filename, kind.as_str()) {
                    object["filename"] = json!(name);
                }
                if media.voice && kind == "audio" {
                    // Meta's voice-message form: played with its play button.
                    object["voice"] = json!(true);
                }
                body["type"] = json!(kind);
                body[kind.as_str()] = object;
                upload = Some(media.id);
                media.chat_id = Some(self.chat.id);
                media.message_id = Some(id);
                write.media(&media);
            }
            Outgoing::Reaction { message_id, emoji } => {
                let target = self.store.message(self.chat.id, *message_id)?;
                let wamid = target.and_then(|m| m.wamid).ok_or(Error::Invalid {
                    refusal: atende_data::refusals::UNKNOWN_REFERENCE,
                    field: "reaction.message_id",
                    problem: "is not a WhatsApp message of this chat".into(),
                })?;
                message.kind = "reaction".into();
                message.text = Some(emoji.clone()).filter(|e| !e.is_empty());
                message.reaction = Some(atende_data::ReactionRef {
                    wamid: wamid.clone(),
                    emoji: message.text.clone(),
                });
                body["type"] = json!("reaction");
                body["reaction"] = json!({"message_id": wamid, "emoji": emoji});
            }
            Outgoing::Interactive { interactive, text } => {
                message.kind = "interactive".into();
                message.text = Some(text.clone());
                message.details = Some(json!({"interactive": interactive}));
                body["type"] = json!("interactive");
                body["interactive"] = interactive.clone();
            }
            Outgoing::Template {
                name,
                language,
                components,
            } => {
                message.kind = "template".into();
                message.text = Some(name.clone());
                let mut template = json!({"name": name, "language": {"code": language}});
                if let Some(components) = components {
                    template["components"] = components.clone();
                }
                message.details = Some(json!({"template": template}));
                body["type"] = json!("template");
                body["template"] = template;
            }
        }
        Ok((message, body, upload))
    }

    /// A text the hub sends by itself (greeting, away message), with its outbox entry.
    pub(super) fn automatic_text(
        &self,
        text: &str,
        reason: &str,
        now: chrono::DateTime<Utc>,
    ) -> Result<(Message, OutboxEntry)> {
        let content = json!({"preview_url": false, "body": text});
        self.automatic("text", text, content, reason, now)
    }

    /// The satisfaction survey for a chat being closed: a 1-5 list inside the 24-hour
    /// window, the admin's template outside it, nothing when neither may go.
    pub(super) fn survey(
        &self,
        now: chrono::DateTime<Utc>,
    ) -> Result<Option<(Message, OutboxEntry)>> {
        let settings = self.store.settings()?;
        let csat = &settings.csat;
        if !csat.enabled || self.chat.last_inbound_at.is_none() {
            return Ok(None);
        }
        if self.chat.window_open(now) {
            let rows: Vec<Value> = CSAT_ROWS
                .iter()
                .rev()
                .enumerate()
                .map(|(i, title)| json!({"id": format!("{CSAT_PREFIX}{}", 5 - i), "title": title}))
                .collect();
            let list = json!({
                "type": "list",
                "body": {"text": csat.question},
                "action": {"button": "Avaliar", "sections": [{"title": "Sua nota", "rows": rows}]},
            });
            let mut survey = self.automatic("interactive", &csat.question, list, "csat", now)?;
            survey.0.details =
                Some(json!({"automatic": "csat", "interactive": survey_object(&survey.1)}));
            return Ok(Some(survey));
        }
        let Some((name, language)) = &csat.template else {
            return Ok(None);
        };
        let template = json!({"name": name, "language": {"code": language}});
        let mut survey = self.automatic("template", name, template.clone(), "csat", now)?;
        survey.0.details = Some(json!({"automatic": "csat", "template": template}));
        Ok(Some(survey))
    }

    /// A message the hub sends by itself, of `kind` with the Cloud API `content` object,
    /// shown as `text`, with its outbox entry.
    pub(super) fn automatic(
        &self,
        kind: &str,
        text: &str,
        content: Value,
        reason: &str,
        now: chrono::DateTime<Utc>,
    ) -> Result<(Message, OutboxEntry)> {
        let id = MessageId(self.store.new_id()?);
        let message = Message {
            text: Some(text.to_string()),
            details: Some(json!({"automatic": reason})),
            ..Message::new(
                id,
                self.chat.id,
                Direction::Out,
                kind,
                MessageStatus::Queued,
                now,
            )
        };
        let mut body = self.envelope()?;
        body["type"] = json!(kind);
        body[kind] = content;
        let entry = OutboxEntry {
            id: OutboxId(self.store.new_id()?),
            number: self.chat.phone_number_id.clone(),
            chat_id: self.chat.id,
            message_id: Some(id),
            kind: OutboxKind::Send { body, upload: None },
            attempts: 0,
            dispatched: false,
            created_at: now,
        };
        Ok((message, entry))
    }

    fn add_note(&mut self, by: &Caller, text: String) -> Result<Message> {
        self.check_visible(by)?;
        let now = Utc::now();
        let note = self.note_message(Some(by.id), text, now)?;
        let mut write = Write::default();
        write.message(&note);
        let mut after = self.chat.clone();
        after.updated_at = now;
        let then = vec![self.message_event("message.created", &note, None, &after)];
        self.save_with(after, write, "note", then)?;
        Ok(note)
    }

    /// An internal note by `author`, not yet written.
    pub(super) fn note_message(
        &self,
        author: Option<atende_data::UserId>,
        text: String,
        now: chrono::DateTime<Utc>,
    ) -> Result<Message> {
        self.internal_message("note", author, Some(text), None, now)
    }

    /// A line of the thread that the team sees and the customer never gets: a note, or
    /// what happened to the chat (`activity`).
    pub(super) fn internal_message(
        &self,
        kind: &str,
        author: Option<atende_data::UserId>,
        text: Option<String>,
        details: Option<Value>,
        now: chrono::DateTime<Utc>,
    ) -> Result<Message> {
        let id = MessageId(self.store.new_id()?);
        Ok(Message {
            text,
            author_id: author,
            details,
            ..Message::new(
                id,
                self.chat.id,
                Direction::Out,
                kind,
                MessageStatus::Received,
                now,
            )
        })
    }

    /// Records the wamid the Cloud API gave a send: from its answer, or from a status
    /// webhook that named the send when its answer was lost. The first wamid stays.
    fn record_sent(&mut self, msg: RecordSent) -> Result<()> {
        let pending = self.store.pending_status(&msg.wamid)?;
        // The outbox entry is finished only if it is this message's, and it counts as sent
        // only once it was dispatched (or this very wamid is already recorded).
        let entry = self.store.outbox_entry(msg.outbox_id)?;
        let finishes = entry
            .as_ref()
            .is_some_and(|e| e.message_id == Some(msg.message_id));
        let dispatched = finishes && entry.is_some_and(|e| e.dispatched);
        let mut first = false;
        self.change_message(msg.message_id, |m, w| {
            if !dispatched && m.wamid.as_deref() != Some(msg.wamid.as_str()) {
                tracing::warn!(message_id = %m.id, "a send record for a message not sent is ignored");
                return;
            }
            if finishes {
                w.outbox_done(msg.outbox_id);
            }
            match &m.wamid {
                Some(wamid) if *wamid != msg.wamid => {
                    tracing::error!(message_id = %m.id, "the Cloud API took one send twice");
                    return;
                }
                Some(_) => {}
                None => {
                    first = true;
                    m.wamid = Some(msg.wamid.clone());
                }
            }
            if m.status.may_become(MessageStatus::Sent) {
                m.status = MessageStatus::Sent;
            }
            if let Some(pending) = &pending {
                if m.status.may_become(pending.status) {
                    m.status = pending.status;
                    m.error = pending.error.clone().or(m.error.take());
                }
                w.pending_status_done(&msg.wamid);
            }
        })?;
        if first {
            crate::metrics::Metrics::bump(&self.metrics.messages_out);
        }
        Ok(())
    }

    /// Changes one message of this chat (its status, wamid ...) with whatever else
    /// `change` adds to the write.
    /// The start of a send to this chat's customer: `to` their phone when known, else
    /// `recipient` their BSUID (a customer known only by a username).
    fn envelope(&self) -> Result<Value> {
        let contact = self
            .store
            .contact(self.chat.contact_id)?
            .ok_or(Error::NotFound)?;
        let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual"});
        match contact.recipient() {
            Some(Recipient::Phone(phone)) => body["to"] = json!(phone),
            Some(Recipient::UserId(user_id)) => body["recipient"] = json!(user_id),
            None => return Err(Error::Conflict(atende_data::refusals::NO_RECIPIENT)),
        }
        Ok(body)
    }

    pub(super) fn change_message<F>(&mut self, id: MessageId, change: F) -> Result<()>
    where
        F: FnOnce(&mut Message, &mut Write),
    {
        let mut message = self
            .store
            .message(self.chat.id, id)?
            .ok_or(Error::NotFound)?;
        let mut write = Write::default();
        let before = message.clone();
        change(&mut message, &mut write);
        if message.status != before.status {
            self.follow_campaign(&message, &mut write)?;
        }
        write.message_changed(&before, &message);
        let event = (message != before)
            .then(|| self.message_event("message.updated", &message, None, &self.chat));
        let events = promised(&self.store, &mut write, event)?;
        self.store.commit(write)?;
        self.announce(events, false);
        Ok(())
    }
}

/// The id prefix of the survey's rows: `csat:5` is the best rating.
pub const CSAT_PREFIX: &str = "csat:";
/// The survey's rows, from 1 to 5 (at most 24 characters each).
const CSAT_ROWS: [&str; 5] = [
    "1 ⭐ Muito ruim",
    "2 ⭐⭐ Ruim",
    "3 ⭐⭐⭐ Regular",
    "4 ⭐⭐⭐⭐ Bom",
    "5 ⭐⭐⭐⭐⭐ Excelente",
];

/// The `interactive` object of a survey's outbox entry.
fn survey_object(entry: &OutboxEntry) -> Value {
    match &entry.kind {
        OutboxKind::Send { body, .. } => body["interactive"].clone(),
        _ => Value::Null,
    }
}
