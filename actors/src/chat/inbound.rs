//! Appending a customer's message.

use std::time::Instant;

use actix::prelude::*;
use atende_data::{
    ChatStatus, Contact, Direction, LastMessage, MediaId, MediaRecord, MediaRef, MediaState,
    Message, MessageId, MessageStatus, ReactionRef, ReplyRef, Write,
};
use chrono::Utc;
use serde_json::{json, Value};

use super::ChatActor;
use crate::media::Fetch;
use crate::messages::{AnswerCsat, AppendInbound, ApplyEdit, CsatReply, Ingested};
use crate::whatsapp::webhook::{InboundMessage, Origin};
use crate::Result;

/// Longer texts are not keywords (settings allow 30 characters, spaces around aside).
const MAX_KEYWORD_BYTES: usize = 160;
/// The confirmation of an opt-out keyword.
const OPTED_OUT: &str = "Pronto! Você não vai mais receber nossas mensagens promocionais. Para voltar a recebê-las, envie VOLTAR.";
/// The confirmation of an opt-in keyword.
const OPTED_IN: &str =
    "Combinado! Você voltará a receber nossas novidades. Para parar, envie SAIR.";

/// A customer's message, ready to commit: the message, the chat after it, its contact,
/// what to write, a media file to fetch, automatic replies to send.
struct Appending {
    message: Message,
    after: atende_data::Chat,
    write: Write,
    media: Option<MediaRecord>,
    automatic: Vec<(Message, atende_data::OutboxEntry)>,
    /// The events it tells, their intents in `write`.
    events: Vec<crate::events::Publish>,
}

impl Handler<AppendInbound> for ChatActor {
    // Atomic: the next command waits until this one's write is committed, so it reads
    // what this one wrote (a repeated wamid, the contact).
    type Result = AtomicResponse<Self, Result<Ingested>>;

    fn handle(&mut self, msg: AppendInbound, _: &mut Context<Self>) -> Self::Result {
        self.last_used = Instant::now();
        let mut appending = match self.append_inbound(msg.message, msg.contact) {
            Ok(Some(appending)) => appending,
            Ok(None) => return AtomicResponse::new(Box::pin(fut::ready(Ok(Ingested::Duplicate)))),
            Err(error) => return AtomicResponse::new(Box::pin(fut::ready(Err(error)))),
        };
        let write = std::mem::take(&mut appending.write);
        let store = self.store.clone();
        let committed = async move { store.commit_grouped(write).await };
        AtomicResponse::new(Box::pin(committed.into_actor(self).map(
            move |committed, actor, _| {
                let durable = committed?;
                let message = actor.appended(appending, durable.is_ok());
                durable?;
                Ok(Ingested::Stored(Box::new(message)))
            },
        )))
    }
}

impl Handler<AnswerCsat> for ChatActor {
    type Result = ResponseFuture<Result<Ingested>>;

    fn handle(&mut self, msg: AnswerCsat, _: &mut Context<Self>) -> Self::Result {
        let result = self.answer_csat(msg);
        let outbound = self.outbound.clone();
        let done = self.durably(result);
        Box::pin(async move {
            let (ingested, thanks) = done.await?;
            if let Some(entry) = thanks {
                outbound.do_send(crate::outbound_queue::Enqueue { entry });
            }
            Ok(ingested)
        })
    }
}

impl ChatActor {
    /// Keeps the customer's rating (or comment) on the finished chat and its agent's and
    /// queue's counts, thanks them after a rating, and tells the staff and the
    /// integrations (`csat.answered`).
    fn answer_csat(
        &mut self,
        msg: AnswerCsat,
    ) -> Result<(Ingested, Option<atende_data::OutboxEntry>)> {
        if self.store.message_by_wamid(&msg.message.wamid)?.is_some() {
            return Ok((Ingested::Duplicate, None));
        }
        let now = Utc::now();
        let reply_to = match &msg.message.reply_to {
            Some(wamid) => Some(ReplyRef {
                message_id: self.store.message_by_wamid(wamid)?.map(|(_, id)| id),
                wamid: Some(wamid.clone()),
            }),
            None => None,
        };
        let id = MessageId(self.store.new_id()?);
        let message = to_message(id, self.chat.id, &msg.message, None, reply_to, now);
        let agent = self.chat.assignee;
        let mut after = self.chat.clone();
        let mut write = Write::default();
        let mut counts = atende_data::DayStats {
            messages_in: 1,
            ..Default::default()
        };
        let mut thanks = None;
        // A second tap, or a second comment, is kept as a message and counts for nothing.
        let first = self.chat.status == atende_data::ChatStatus::Closed
            && match &msg.answer {
                CsatReply::Rating(_) => self.chat.csat.is_none(),
                CsatReply::Comment(_) => {
                    self.chat.csat.as_ref().is_some_and(|a| a.comment.is_none())
                }
            };
        match &msg.answer {
            _ if !first => {}
            CsatReply::Rating(rating) => {
                after.csat = Some(atende_data::CsatAnswer {
                    rating: *rating,
                    comment: None,
                    answered_at: now,
                    agent,
                });
                counts.csat_responses = 1;
                counts.csat_sum = u64::from(*rating);
                let text = "Obrigado pela sua avaliação! Se quiser, responda a esta mensagem com um comentário.";
                thanks = Some(self.automatic_text(text, "csat_thanks", now)?);
            }
            CsatReply::Comment(comment) => {
                if let Some(answer) = &mut after.csat {
                    answer.comment = Some(comment.clone());
                }
            }
        }
        after.last_inbound_at = after.last_inbound_at.max(Some(message.timestamp));
        after.updated_at = now;
        write.message(&message).count(now, agent, counts.clone());
        if let Some((reply, entry)) = &thanks {
            write.message(reply).outbox(entry);
        }
        let mut then = vec![self.message_event("message.created", &message, None, &after)];
        if let Some((reply, _)) = &thanks {
            then.push(self.message_event("message.created", reply, None, &after));
        }
        if first {
            let answer = after.csat.as_ref();
            then.push(crate::events::Publish {
                name: "csat.answered",
                scope: atende_data::Scope::Staff,
                payload: crate::events::Payload::Json(json!({
                    "chat_id": after.id.to_string(),
                    "contact_id": after.contact_id.to_string(),
                    "rating": answer.map(|a| a.rating),
                    "comment": answer.and_then(|a| a.comment.clone()),
                    "agent_id": agent.map(|a| a.to_string()),
                    "queue_id": after.queue_id,
                    "answered_at": answer.map(|a| a.answered_at),
                })),
                flushed: false,
                intent: None,
            });
            // The answer is a line of the thread too, for whoever reads the chat later.
            let detail = match &msg.answer {
                CsatReply::Rating(rating) => json!({"rating": rating}),
                CsatReply::Comment(comment) => json!({"comment": comment}),
            };
            self.save_told_with(after, write, "csat", None, detail, then)?;
        } else {
            self.save_with(after, write, "csat", then)?;
        }
        if let (Some(queue), true) = (&self.chat.queue_id, counts.csat_responses > 0) {
            let queue_counts = atende_data::DayStats {
                csat_responses: counts.csat_responses,
                csat_sum: counts.csat_sum,
                ..Default::default()
            };
            if let Err(error) = self.store.count_queue_report(now, queue, &queue_counts) {
                tracing::warn!(%error, "a queue's report counter was not updated");
            }
        }
        if !first {
            return Ok((Ingested::Stored(Box::new(message)), None));
        }
        tracing::info!(chat_id = %self.chat.id, "satisfaction answered");
        Ok((
            Ingested::Stored(Box::new(message)),
            thanks.map(|(_, entry)| entry),
        ))
    }
}

impl Handler<ApplyEdit> for ChatActor {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: ApplyEdit, _: &mut Context<Self>) -> Self::Result {
        self.last_used = Instant::now();
        let result = self.change_message(msg.message_id, |message, _| {
            edit_message(message, msg.new_text, msg.at)
        });
        self.durably(result)
    }
}

/// Applies an edit (the new text; the earlier one kept in `details.edits` for the team)
/// or a deletion (the content goes; `details.deleted_at` says when).
fn edit_message(
    message: &mut Message,
    new_text: Option<Option<String>>,
    at: chrono::DateTime<Utc>,
) {
    let mut details = match message.details.take() {
        Some(Value::Object(details)) => details,
        _ => serde_json::Map::new(),
    };
    let at = json!(at.to_rfc3339());
    match new_text {
        Some(text) => {
            let field = if message.caption.is_some() || message.media.is_some() {
                &mut message.caption
            } else {
                &mut message.text
            };
            let earlier = std::mem::replace(field, text);
            let edits = details.entry("edits").or_insert_with(|| json!([]));
            if let Some(edits) = edits.as_array_mut() {
                edits.push(json!({"text": earlier, "replaced_at": at}));
            }
            details.insert("edited_at".into(), at);
        }
        None => {
            message.text = None;
            message.caption = None;
            message.media = None;
            message.location = None;
            details.clear();
            details.insert("deleted_at".into(), at);
        }
    }
    message.details = Some(Value::Object(details));
}

impl ChatActor {
    /// What appending `inbound` from `contact` writes; `None` for a wamid seen before.
    fn append_inbound(
        &self,
        inbound: InboundMessage,
        contact: Contact,
    ) -> Result<Option<Appending>> {
        if self.store.message_by_wamid(&inbound.wamid)?.is_some() {
            return Ok(None);
        }
        let now = Utc::now();
        let id = MessageId(self.store.new_id()?);
        let media = match &inbound.media {
            Some(announced) => Some(MediaRecord {
                id: MediaId(self.store.new_id()?),
                chat_id: Some(self.chat.id),
                message_id: Some(id),
                uploader: None,
                kind: inbound.kind.as_str().to_string(),
                mime_type: announced
                    .mime_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
                size: None,
                filename: announced.filename.clone(),
                wa_media_id: Some(announced.id.clone()),
                state: MediaState::Pending,
                sha256: announced.sha256.clone(),
                attempts: 0,
                created_at: now,
                voice: false,
                seconds: None,
                unverified: false,
            }),
            None => None,
        };
        let reply_to = match &inbound.reply_to {
            Some(wamid) => Some(ReplyRef {
                message_id: self.store.message_by_wamid(wamid)?.map(|(_, id)| id),
                wamid: Some(wamid.clone()),
            }),
            None => None,
        };
        let message = to_message(id, self.chat.id, &inbound, media.as_ref(), reply_to, now);
        let first = self.chat.last_message.is_none();
        let customer_wrote = inbound.origin == Origin::Customer;
        let mut after = self.chat.clone();
        if after.status == ChatStatus::Closed && customer_wrote {
            // Routed here only within the reopen window: the conversation simply goes on.
            after.status = if after.assignee.is_some() {
                ChatStatus::Open
            } else {
                ChatStatus::Pending
            };
            after.pending_since = (after.status == ChatStatus::Pending).then_some(now);
            after.closed_at = None;
            after.close_note = None;
        }
        // Imported history is older than what the chat shows: it only fills the thread.
        let newest = !matches!(inbound.origin, Origin::History { .. }) || first;
        if customer_wrote {
            after.unread_count += 1;
        }
        if newest {
            after.last_message = Some(LastMessage {
                preview: message.preview(),
                direction: message.direction,
                at: now,
            });
            after.updated_at = now;
        }
        if message.direction == Direction::In {
            after.last_inbound_at = after.last_inbound_at.max(Some(message.timestamp));
        }
        let mut write = Write::default();
        write.message(&message);
        if first {
            write.contact_terms(&contact, self.chat.id);
        }
        if customer_wrote {
            self.campaign_replied(&mut after, now, &mut write)?;
            // The customer wrote: a snoozed chat is back in its agent's list.
            after.snooze = None;
        }
        if let Some(media) = &media {
            write.media(media);
        }
        let automatic = if customer_wrote {
            self.automatic_replies(&mut after, first, message.text.as_deref(), now)?
        } else {
            Vec::new()
        };
        let mut automatic = automatic;
        // An opt-out or opt-in by keyword changes the contact: staff and webhooks hear of it.
        let mut contact_changed = None;
        if customer_wrote {
            if let Some((changed, reply)) =
                self.opt_out_keyword(&contact, message.text.as_deref(), now)?
            {
                automatic.push(reply);
                contact_changed = Some(crate::events::Publish::contact(changed, false));
            }
        }
        for (reply, entry) in &automatic {
            write.message(reply).outbox(entry);
        }
        let counts = atende_data::DayStats {
            messages_in: u64::from(customer_wrote),
            messages_out: automatic.len() as u64,
            ..Default::default()
        };
        write
            .count(now, None, counts)
            .chat(Some(&self.chat), &after);
        let told = std::iter::once(&message).chain(automatic.iter().map(|(reply, _)| reply));
        let messages =
            told.map(|m| self.message_event("message.created", m, Some(&contact), &after));
        let events = self
            .chat_event(&after, super::MESSAGE)
            .into_iter()
            .chain(messages)
            .chain(contact_changed);
        let events = crate::events::promised(&self.store, &mut write, events)?;
        Ok(Some(Appending {
            message,
            after,
            write,
            media,
            automatic,
            events,
        }))
    }

    /// Once a customer's message is committed (with its counts), and `flushed` if the
    /// flush after it succeeded: keeps the chat's new state, announces the message,
    /// fetches its media and sends the automatic replies.
    fn appended(&mut self, appending: Appending, flushed: bool) -> Message {
        let Appending {
            message,
            after,
            media,
            automatic,
            events,
            ..
        } = appending;
        self.keep(after);
        crate::metrics::Metrics::bump(&self.metrics.messages_in);
        self.announce(events, flushed);
        tracing::debug!(chat_id = %self.chat.id, message_id = %message.id, kind = %message.kind, "inbound message stored");
        if let Some(media) = media {
            self.media.do_send(Fetch { media });
        }
        for (_, entry) in automatic {
            self.outbound
                .do_send(crate::outbound_queue::Enqueue { entry });
        }
        message
    }

    /// The customer's message answers the campaign message the chat waits on: its send
    /// counts as replied, and the chat waits on nothing more.
    fn campaign_replied(
        &self,
        after: &mut atende_data::Chat,
        now: chrono::DateTime<Utc>,
        write: &mut Write,
    ) -> Result<()> {
        let Some(mark) = after.campaign.take() else {
            return Ok(());
        };
        let send = self
            .store
            .campaign_send(mark.campaign_id, after.contact_id)?;
        if let Some(mut send) = send {
            let sent = send.state >= atende_data::SendState::Sending;
            if sent && send.state.may_become(atende_data::SendState::Replied) {
                send.state = atende_data::SendState::Replied;
                send.sent_at = send.sent_at.or(Some(now));
                send.updated_at = now;
                write.campaign_send(&send);
            }
        }
        Ok(())
    }

    /// A customer who writes an opt-out keyword (SAIR, PARAR, STOP ...) is out of
    /// marketing messages at once, and one who writes an opt-in keyword back in; either
    /// is told so. The contact as changed, and the reply.
    fn opt_out_keyword(
        &self,
        contact: &Contact,
        text: Option<&str>,
        now: chrono::DateTime<Utc>,
    ) -> Result<Option<(Contact, (Message, atende_data::OutboxEntry))>> {
        // A keyword is one short word: a longer text is a message, compared with nothing.
        let short = text.filter(|t| t.len() <= MAX_KEYWORD_BYTES);
        let Some(word) = short.map(atende_data::records::settings::keyword) else {
            return Ok(None);
        };
        let settings = self.store.settings()?;
        let is = |list: &[String]| {
            list.iter()
                .any(|k| atende_data::records::settings::keyword(k) == word)
        };
        let (source, reply) = if is(&settings.opt_out_keywords) {
            (Some("keyword".to_string()), OPTED_OUT)
        } else if is(&settings.opt_in_keywords) {
            (None, OPTED_IN)
        } else {
            return Ok(None);
        };
        let contact = crate::router::set_opt_out(&self.store, contact.id, source, now)?;
        Ok(Some((contact, self.automatic_text(reply, "opt_out", now)?)))
    }

    /// The greeting on a chat's first message and, outside business hours, the away
    /// message once per chat, as the settings say at this moment.
    fn automatic_replies(
        &self,
        after: &mut atende_data::Chat,
        first: bool,
        text: Option<&str>,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<(Message, atende_data::OutboxEntry)>> {
        // A bot greets and answers by itself.
        if after.status == ChatStatus::Bot {
            return Ok(Vec::new());
        }
        let settings = self.store.settings()?;
        let greeting = settings.greeting_message.as_ref().filter(|_| first);
        // The menu offers the queues that serve this chat's business number.
        let queues = if greeting.is_some() || choosing_queue(after) {
            let mut queues = self.store.queues()?;
            queues.retain(|q| q.serves(&after.phone_number_id));
            queues
        } else {
            Vec::new()
        };
        let mut replies = Vec::new();
        if let Some(greeting) = greeting {
            let text = with_menu(greeting, &queues);
            after.menu_offered = !queues.is_empty();
            replies.push(self.automatic_text(&text, "greeting", now)?);
        } else if let Some(queue) = chosen_queue(after, text, &queues) {
            after.queue_id = Some(queue.id.clone());
            if let Some(bot) = self.store.bot_for_queue(&queue.id)? {
                // The queue's bot answers first, and greets.
                after.status = ChatStatus::Bot;
                after.bot_id = Some(bot.id);
                after.pending_since = None;
                return Ok(replies);
            }
            if let Some(greeting) = &queue.greeting {
                replies.push(self.automatic_text(greeting, "queue_greeting", now)?);
            }
        }
        let away = settings.away_message.as_ref().filter(|_| {
            after.away_sent_at.is_none() && !crate::hours::is_open(&settings.business_hours, now)
        });
        if let Some(away) = away {
            replies.push(self.automatic_text(away, "away", now)?);
            after.away_sent_at = Some(now);
        }
        if let Some((last, _)) = replies.last() {
            after.last_message = Some(LastMessage {
                preview: last.preview(),
                direction: Direction::Out,
                at: now,
            });
        }
        Ok(replies)
    }
}

fn to_message(
    id: MessageId,
    chat_id: atende_data::ChatId,
    inbound: &InboundMessage,
    media: Option<&MediaRecord>,
    reply_to: Option<ReplyRef>,
    now: chrono::DateTime<Utc>,
) -> Message {
    Message {
        id,
        chat_id,
        wamid: Some(inbound.wamid.clone()),
        direction: if inbound.origin.outgoing() {
            Direction::Out
        } else {
            Direction::In
        },
        kind: inbound.kind.as_str().to_string(),
        text: inbound.text.clone(),
        caption: inbound.caption.clone(),
        media: media.map(|m| MediaRef {
            id: m.id,
            mime_type: Some(m.mime_type.clone()),
            size: None,
            filename: m.filename.clone(),
            seconds: None,
        }),
        location: inbound
            .location
            .as_ref()
            .and_then(|l| serde_json::to_value(l).ok()),
        reply_to,
        reaction: inbound.reaction.as_ref().map(|r| ReactionRef {
            wamid: r.message_id.clone(),
            emoji: r.emoji.clone(),
        }),
        status: if inbound.origin.outgoing() {
            MessageStatus::Sent
        } else {
            MessageStatus::Received
        },
        error: inbound.errors.first().map(|e| atende_data::MessageError {
            code: e.code,
            title: e.title.clone(),
        }),
        author_id: None,
        client_id: None,
        details: details(inbound),
        created_at: now,
        timestamp: inbound.timestamp.unwrap_or(now),
    }
}

/// What the webhook said beyond the common fields, plus the forwarding flag.
fn details(inbound: &InboundMessage) -> Option<Value> {
    let mut details = inbound.details.clone().unwrap_or_else(|| json!({}));
    if inbound.forwarded {
        details["forwarded"] = json!(true);
    }
    match inbound.origin {
        Origin::Customer => {}
        // Shown as sent from the phone; never sent again by the hub.
        Origin::BusinessApp => details["from_business_app"] = json!(true),
        Origin::History { .. } => details["imported"] = json!(true),
    }
    if let Some(media) = &inbound.media {
        if media.voice {
            details["voice"] = json!(true);
        }
        if media.animated {
            details["animated"] = json!(true);
        }
    }
    (details.as_object().is_some_and(|d| !d.is_empty())).then_some(details)
}

/// The greeting followed by the queues to choose from ("1 - Vendas").
fn with_menu(greeting: &str, queues: &[atende_data::Queue]) -> String {
    let mut text = greeting.to_string();
    if !queues.is_empty() {
        text.push('\n');
        for (n, queue) in queues.iter().enumerate() {
            text.push_str(&format!("\n{} - {}", n + 1, queue.name));
        }
    }
    text
}

/// The queue a waiting customer picked by answering the menu with its number.
fn chosen_queue<'q>(
    chat: &atende_data::Chat,
    text: Option<&str>,
    queues: &'q [atende_data::Queue],
) -> Option<&'q atende_data::Queue> {
    let choice: usize = text?.trim().trim_end_matches(['.', ')']).parse().ok()?;
    choosing_queue(chat)
        .then(|| queues.get(choice.checked_sub(1)?))
        .flatten()
}

/// The chat waits for its customer to pick a queue from the menu.
fn choosing_queue(chat: &atende_data::Chat) -> bool {
    chat.menu_offered && chat.queue_id.is_none() && chat.status == ChatStatus::Pending
}
