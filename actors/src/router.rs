//! [`Router`]: the supervisor. It owns the map chat id -> chat actor (started on demand
//! from sled, dropped when idle or dead and started again on the next command), the
//! outbound queue of each business number, and the routing of webhook messages and
//! statuses to chats. It only looks things up and forwards; the chat actors do the work,
//! so the Router never holds up ingest.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use actix::prelude::*;
use atende_data::{
    Chat, ChatId, ChatStatus, Contact, MessageError, MessageId, MessageStatus, OutboxId,
    PendingStatus, Store, Write,
};
use chrono::Utc;

use crate::agent_session::{Presence, PresenceBoard};
use crate::chat::ChatActor;
use crate::events::{EventBus, Payload, Publish};
use crate::media::MediaFetcher;
use crate::messages::*;
use crate::outbound_queue::{parse_callback_data, Forget, OutboundQueue};
use crate::whatsapp::client::CloudClient;
use crate::whatsapp::webhook::{DeliveryStatus, InboundMessage, Origin};
use crate::{Error, HubConfig, Result};

/// How often the map of chat actors is swept of stopped ones.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Characters of a survey comment kept.
const MAX_COMMENT: usize = 1000;
/// A customer's reply this long after a campaign message still reopens its finished chat.
const CAMPAIGN_REPLY_WINDOW: chrono::Duration = chrono::Duration::days(7);
/// How often chats of silent bots are looked for.
const BOT_SWEEP: Duration = Duration::from_secs(1);

/// The hub's supervisor.
pub struct Router {
    pub(crate) store: Store,
    pub(crate) config: HubConfig,
    client: CloudClient,
    media: Addr<MediaFetcher>,
    pub(crate) bus: Addr<EventBus>,
    pub(crate) board: PresenceBoard,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    chats: HashMap<ChatId, Addr<ChatActor>>,
    /// Chats being erased: no actor may start for them.
    erasing: HashSet<ChatId>,
    queues: HashMap<String, Addr<OutboundQueue>>,
    /// An assignment pass is scheduled (passes are coalesced).
    pub(crate) rebalance_pending: bool,
    /// The last queue statistics announced, to announce only changes.
    pub(crate) last_stats: String,
}

/// The actors the Router works with.
pub struct RouterParts {
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    pub client: CloudClient,
    pub media: Addr<MediaFetcher>,
    pub bus: Addr<EventBus>,
    pub board: PresenceBoard,
}

/// A user's presence changed: assign chats to them, or take chats back later.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PresenceChanged {
    pub user: atende_data::UserId,
    pub presence: Presence,
}

impl Router {
    pub fn new(store: Store, config: HubConfig, parts: RouterParts) -> Self {
        Router {
            store,
            config,
            client: parts.client,
            media: parts.media,
            bus: parts.bus,
            board: parts.board,
            metrics: parts.metrics,
            chats: HashMap::new(),
            erasing: HashSet::new(),
            queues: HashMap::new(),
            rebalance_pending: false,
            last_stats: String::new(),
        }
    }

    /// The outbound queue of a business number, started on first use.
    fn queue(&mut self, number: &str, ctx: &mut Context<Self>) -> Addr<OutboundQueue> {
        if let Some(addr) = self.queues.get(number).filter(|a| a.connected()) {
            return addr.clone();
        }
        // A number's own rate, when the admin set one.
        let rate_limit = match self.store.number(number) {
            Ok(Some(configured)) => configured.rate_limit.unwrap_or(self.config.rate_limit),
            _ => self.config.rate_limit,
        };
        let queue = OutboundQueue::new(
            number.to_string(),
            self.store.clone(),
            self.client.clone(),
            ctx.address(),
            rate_limit,
            self.config.send_recovery_wait,
            self.metrics.clone(),
        );
        let addr = queue.start();
        self.queues.insert(number.to_string(), addr.clone());
        addr
    }

    /// The live actor of a chat, started from sled when it has none.
    pub(crate) fn chat_actor(
        &mut self,
        id: ChatId,
        ctx: &mut Context<Self>,
    ) -> Result<Addr<ChatActor>> {
        if let Some(addr) = self.chats.get(&id).filter(|a| a.connected()) {
            return Ok(addr.clone());
        }
        if self.erasing.contains(&id) {
            return Err(Error::NotFound);
        }
        let chat = self.store.chat(id)?.ok_or(Error::NotFound)?;
        Ok(self.start_chat_actor(chat, true, ctx))
    }

    /// Starts the actor of `chat` (`stored`: it is in the store already) and keeps it.
    fn start_chat_actor(
        &mut self,
        chat: Chat,
        stored: bool,
        ctx: &mut Context<Self>,
    ) -> Addr<ChatActor> {
        let id = chat.id;
        let queue = self.queue(&chat.phone_number_id, ctx);
        let actor = ChatActor::new(
            chat,
            self.store.clone(),
            queue,
            self.media.clone(),
            self.bus.clone(),
            ctx.address(),
            self.metrics.clone(),
        );
        let addr = if stored { actor } else { actor.unsaved() }.start();
        self.chats.insert(id, addr.clone());
        addr
    }

    /// The customer an inbound message names and the chat it belongs to: the contact's
    /// open or pending chat on that number, a chat closed within the reopen window, or a
    /// new pending chat. What the business sent from its phone, and imported history, go
    /// to the contact's newest chat whatever its state (a new closed one when none).
    fn resolve_chat(&mut self, message: &InboundMessage) -> Result<(ChatId, Contact)> {
        let now = Utc::now();
        let number = &message.phone_number_id;
        let resolved = self.store.resolve_contact(number, &message.identity, now)?;
        let contact = resolved.contact;
        if resolved.changed {
            let event = Publish::contact(contact.clone(), false).promised(&self.store)?;
            self.bus.do_send(event);
        }
        let customer_wrote = message.origin == Origin::Customer;
        if let Some(chat) = self.store.latest_chat(contact.id, number)? {
            if chat.status != ChatStatus::Closed || !customer_wrote {
                return Ok((chat.id, contact));
            }
            let window = i64::from(self.store.settings()?.reopen_window_minutes);
            let reopenable = chat
                .closed_at
                .is_some_and(|at| now - at < chrono::Duration::minutes(window))
                || chat
                    .campaign
                    .as_ref()
                    .is_some_and(|mark| now - mark.sent_at < CAMPAIGN_REPLY_WINDOW);
            if reopenable {
                return Ok((chat.id, contact));
            }
        }
        let mut chat = Chat::new(ChatId(self.store.new_id()?), contact.id, number, now);
        if !customer_wrote {
            chat.status = ChatStatus::Closed;
            chat.pending_since = None;
            chat.closed_at = Some(now);
        } else if let Some(bot) = self.store.bot_for_number(number)? {
            // The number's bot answers first; it hands over when it is done.
            chat.status = ChatStatus::Bot;
            chat.bot_id = Some(bot.id);
            chat.pending_since = None;
        }
        let scope = crate::chat::scope_of(&chat);
        let created = Publish {
            name: "chat.created",
            scope,
            payload: Payload::Chat {
                chat: Box::new(chat.clone()),
                change: "created".into(),
            },
            flushed: false,
            intent: None,
        };
        let mut write = Write::default();
        write.chat(None, &chat);
        let created = created.promised_in(&self.store, &mut write)?;
        self.store.commit(write)?;
        tracing::info!(chat_id = %chat.id, "new chat");
        if customer_wrote {
            let opened = atende_data::DayStats {
                chats_opened: 1,
                ..Default::default()
            };
            if let Err(error) = self.store.count_report(now, None, &opened) {
                tracing::warn!(%error, "a report counter was not updated");
            }
        }
        self.bus.do_send(created);
        Ok((chat.id, contact))
    }
}

impl Actor for Router {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Resume the outbox of every number that has entries left.
        if let Ok(entries) = self.store.outbox_entries() {
            let mut numbers: Vec<String> = entries.into_iter().map(|e| e.number).collect();
            numbers.dedup();
            for number in numbers {
                self.queue(&number, ctx);
            }
        }
        ctx.run_interval(SWEEP_INTERVAL, |router, _| {
            router.chats.retain(|_, addr| addr.connected())
        });
        ctx.run_interval(BOT_SWEEP, |router, ctx| router.hand_over_silent_bots(ctx));
    }
}

impl Router {
    /// The finished chat a customer's message answers the survey of, and how: a row of
    /// the survey's list (or a button of its template) in reply to the survey, or a text
    /// in reply to the thanks that follows.
    fn csat_answer(&self, message: &InboundMessage) -> Option<(ChatId, CsatReply)> {
        let (chat_id, quoted) = self
            .store
            .message_by_wamid(message.reply_to.as_ref()?)
            .ok()??;
        let chat = self.store.chat(chat_id).ok()??;
        if chat.status != ChatStatus::Closed || chat.csat_asked_at.is_none() {
            return None;
        }
        let quoted = self.store.message(chat_id, quoted).ok()??;
        let reason = quoted
            .details
            .as_ref()
            .and_then(|d| d["automatic"].as_str().map(str::to_owned));
        // Whether it is the first answer is the chat actor's to decide: two taps may race.
        match reason.as_deref() {
            Some("csat") => Some((chat_id, CsatReply::Rating(csat_rating(message)?))),
            Some("csat_thanks") => {
                let text = message
                    .text
                    .as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())?;
                Some((
                    chat_id,
                    CsatReply::Comment(text.chars().take(MAX_COMMENT).collect()),
                ))
            }
            _ => None,
        }
    }

    /// Chats whose bot left the customer's last message unanswered longer than its
    /// timeout (or whose bot is gone) go to the people.
    fn hand_over_silent_bots(&mut self, ctx: &mut Context<Self>) {
        let filter = atende_data::ChatFilter {
            status: Some(ChatStatus::Bot),
            limit: 500,
            ..Default::default()
        };
        // Most installs have no bot: then there is nothing to look at.
        let bots = match self.store.bots() {
            Ok(bots) if !bots.is_empty() => bots,
            _ => return,
        };
        let Ok(page) = self.store.chats(&filter) else {
            return;
        };
        let now = Utc::now();
        for chat in page.chats {
            let rules = bots
                .iter()
                .find(|b| Some(b.id) == chat.bot_id)
                .and_then(|b| b.bot.clone());
            let silent = |rules: &atende_data::BotRules| {
                chat.last_message.as_ref().is_some_and(|last| {
                    last.direction == atende_data::Direction::In
                        && (now - last.at).num_seconds() >= i64::from(rules.silence_timeout_secs)
                })
            };
            let queue = match &rules {
                None => None,
                Some(rules) if silent(rules) => rules.fallback_queue.clone(),
                Some(_) => continue,
            };
            tracing::info!(chat_id = %chat.id, "a silent bot's chat goes to the queue");
            let Ok(addr) = self.chat_actor(chat.id, ctx) else {
                continue;
            };
            addr.do_send(HandOff {
                chat_id: chat.id,
                by: None,
                queue_id: queue,
                note: None,
            });
        }
    }
}

impl Handler<IngestMessage> for Router {
    type Result = ResponseFuture<Result<Ingested>>;

    fn handle(&mut self, msg: IngestMessage, ctx: &mut Context<Self>) -> Self::Result {
        let message = msg.message;
        let target = match self.store.message_by_wamid(&message.wamid) {
            Ok(Some(_)) => {
                // Its first copy may not be on disk yet.
                let store = self.store.clone();
                return Box::pin(async move {
                    store.durable().await?;
                    Ok(Ingested::Duplicate)
                });
            }
            Ok(None) => {
                if let Some((chat_id, answer)) = self.csat_answer(&message) {
                    let addr = self.chat_actor(chat_id, ctx);
                    return Box::pin(async move {
                        let answer = AnswerCsat {
                            chat_id,
                            message,
                            answer,
                        };
                        addr?.send(answer).await?
                    });
                }
                self.resolve_chat(&message)
                    .and_then(|(id, contact)| Ok((id, contact, self.chat_actor(id, ctx)?)))
            }
            Err(error) => Err(error.into()),
        };
        Box::pin(async move {
            let (chat_id, contact, addr) = target?;
            let append = AppendInbound {
                chat_id,
                message,
                contact,
            };
            addr.send(append).await?
        })
    }
}

impl Handler<IngestStatus> for Router {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: IngestStatus, ctx: &mut Context<Self>) -> Self::Result {
        let update = msg.update;
        let status = match update.status {
            DeliveryStatus::Sent => MessageStatus::Sent,
            DeliveryStatus::Delivered => MessageStatus::Delivered,
            DeliveryStatus::Read => MessageStatus::Read,
            DeliveryStatus::Played => MessageStatus::Played,
            DeliveryStatus::Failed => MessageStatus::Failed,
        };
        let error = update.errors.first().map(|e| MessageError {
            code: e.code,
            title: e.title.clone(),
        });
        let store = self.store.clone();
        let found = (|| -> atende_data::Result<Found> {
            if let Some(found) = store.message_by_wamid(&update.wamid)? {
                return Ok(Found::Known(found));
            }
            // Not known yet: the send answer may still be on its way. Keep the status, then
            // look again, so that whichever of the two lands second applies it.
            let pending = PendingStatus {
                status,
                error: error.clone(),
                at: Utc::now(),
            };
            store.put_pending_status(&update.wamid, &pending)?;
            if let Some(found) = store.message_by_wamid(&update.wamid)? {
                return Ok(Found::Known(found));
            }
            // Our own send, named in the data it carried, whose answer never arrived (the
            // hub died, or the answer was lost): this status is the proof that it went out.
            Ok(
                match update
                    .callback_data
                    .as_deref()
                    .and_then(parse_callback_data)
                {
                    Some(named) => Found::Named(named),
                    None => Found::Unknown,
                },
            )
        })();
        let target = found.map_err(Error::from).and_then(|found| match found {
            Found::Known((chat_id, _)) => Ok((found, Some(self.chat_actor(chat_id, ctx)?))),
            // Named by data that leads nowhere (the chat was erased): an unknown status.
            Found::Named((chat_id, _, _)) => match self.chat_actor(chat_id, ctx) {
                Ok(addr) => Ok((found, Some(addr))),
                Err(Error::NotFound) => Ok((Found::Unknown, None)),
                Err(error) => Err(error),
            },
            Found::Unknown => Ok((found, None)),
        });
        Box::pin(async move {
            match target? {
                (Found::Known((chat_id, message_id)), Some(addr)) => {
                    addr.send(ApplyDelivery {
                        chat_id,
                        message_id,
                        status,
                        error,
                    })
                    .await?
                }
                (Found::Named((chat_id, message_id, outbox_id)), Some(addr)) => {
                    let recorded = addr
                        .send(RecordSent {
                            chat_id,
                            message_id,
                            outbox_id,
                            wamid: update.wamid,
                        })
                        .await?;
                    match recorded {
                        // The message is gone (erased): the status is kept, as unknown.
                        Err(Error::NotFound) => Ok(store.durable().await?),
                        other => other,
                    }
                }
                _ => Ok(store.durable().await?),
            }
        })
    }
}

impl Handler<IngestEdit> for Router {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: IngestEdit, ctx: &mut Context<Self>) -> Self::Result {
        let edit = msg.edit;
        let store = self.store.clone();
        let target = match self.store.message_by_wamid(&edit.original_wamid) {
            Ok(Some((chat_id, message_id))) => self
                .chat_actor(chat_id, ctx)
                .map(|addr| Some((addr, chat_id, message_id))),
            Ok(None) => Ok(None),
            Err(error) => Err(Error::from(error)),
        };
        Box::pin(async move {
            match target? {
                Some((addr, chat_id, message_id)) => {
                    let apply = ApplyEdit {
                        chat_id,
                        message_id,
                        new_text: edit.new_text,
                        at: edit.timestamp.unwrap_or_else(Utc::now),
                    };
                    addr.send(apply).await?
                }
                None => {
                    // An edit of a message the hub never had (older than the hub).
                    tracing::info!("an edit of an unknown message was not applied");
                    Ok(store.durable().await?)
                }
            }
        })
    }
}

impl Handler<IngestUserIdChange> for Router {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: IngestUserIdChange, _: &mut Context<Self>) -> Self::Result {
        let change = msg.change;
        let store = self.store.clone();
        let bus = self.bus.clone();
        let number = &change.phone_number_id;
        let now = Utc::now();
        let rekeyed = match store.rekey_contact(number, &change.previous, &change.current, now) {
            // Not known by the old BSUID: a known phone takes the new one.
            Ok(None) if change.wa_id.is_some() => {
                let identity = atende_data::Identity {
                    wa_id: change.wa_id.clone(),
                    user_id: Some(change.current.clone()),
                    ..Default::default()
                };
                store
                    .resolve_contact(number, &identity, now)
                    .map(|r| Some(r.contact))
            }
            other => other,
        };
        let event = rekeyed.map_err(Into::into).and_then(|contact| {
            contact
                .map(|contact| {
                    tracing::info!(contact_id = %contact.id, "a customer's BSUID changed");
                    Publish::contact(contact, false).promised(&store)
                })
                .transpose()
        });
        Box::pin(async move {
            match event? {
                Some(event) => bus.do_send(event),
                None => tracing::info!("a BSUID change for an unknown customer"),
            }
            Ok(store.durable().await?)
        })
    }
}

impl Handler<IngestPreference> for Router {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: IngestPreference, _: &mut Context<Self>) -> Self::Result {
        let change = msg.change;
        let store = self.store.clone();
        let bus = self.bus.clone();
        let result = (|| {
            let now = Utc::now();
            let contact = store
                .resolve_contact(&change.phone_number_id, &change.identity, now)?
                .contact;
            let source = (!change.wants_marketing).then(|| "whatsapp".to_string());
            let contact = set_opt_out(&store, contact.id, source, change.at)?;
            Publish::contact(contact, true).promised(&store)
        })();
        Box::pin(async move {
            let event = result?;
            store.durable().await?;
            bus.do_send(event);
            Ok(())
        })
    }
}

/// Marks a contact opted out of marketing (`source` set: why) or back in (`None`).
pub fn set_opt_out(
    store: &atende_data::Store,
    contact: atende_data::ContactId,
    source: Option<String>,
    at: chrono::DateTime<Utc>,
) -> Result<Contact> {
    Ok(store.update_contact(contact, |c| {
        c.marketing_opt_out = source
            .clone()
            .map(|source| atende_data::OptOut { at, source });
    })?)
}

/// A business number's settings changed (its rate limit); its queue, if running, follows.
#[derive(Message)]
#[rtype(result = "()")]
pub struct NumberChanged {
    pub number: String,
    /// Its own rate limit (`None`: the hub's).
    pub rate_limit: Option<u32>,
}

impl Handler<NumberChanged> for Router {
    type Result = ();

    fn handle(&mut self, msg: NumberChanged, _: &mut Context<Self>) {
        if let Some(queue) = self.queues.get(&msg.number) {
            let per_second = msg.rate_limit.unwrap_or(self.config.rate_limit);
            queue.do_send(crate::outbound_queue::SetRate { per_second });
        }
    }
}

/// Where a status webhook's message was found.
enum Found {
    /// By its wamid.
    Known((ChatId, MessageId)),
    /// By the callback data of a send whose wamid was never recorded.
    Named((ChatId, MessageId, OutboxId)),
    Unknown,
}

impl Router {
    /// The chat a campaign's message to a contact goes to: their live chat, their newest
    /// finished chat while it still waits on a campaign reply, else a new finished chat in
    /// the campaign's queue, written with the message.
    fn campaign_chat(
        &mut self,
        msg: &SendCampaign,
        ctx: &mut Context<Self>,
    ) -> Result<Addr<ChatActor>> {
        let number = &msg.campaign.phone_number_id;
        let contact = self.store.contact(msg.contact_id)?.ok_or(Error::NotFound)?;
        if let Some(chat) = self.store.latest_chat(contact.id, number)? {
            if chat.status != ChatStatus::Closed || chat.campaign.is_some() {
                return self.chat_actor(chat.id, ctx);
            }
        }
        let now = Utc::now();
        let mut chat = Chat::new(ChatId(self.store.new_id()?), contact.id, number, now);
        chat.status = ChatStatus::Closed;
        chat.pending_since = None;
        chat.closed_at = Some(now);
        chat.queue_id = msg.campaign.queue_id.clone();
        Ok(self.start_chat_actor(chat, false, ctx))
    }
}

impl Handler<SendCampaign> for Router {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: SendCampaign, ctx: &mut Context<Self>) -> Self::Result {
        let addr = self.campaign_chat(&msg, ctx);
        Box::pin(async move { addr?.send(msg).await? })
    }
}

impl Handler<EraseContact> for Router {
    type Result = ResponseActFuture<Self, Result<usize>>;

    fn handle(&mut self, msg: EraseContact, _: &mut Context<Self>) -> Self::Result {
        let (chats, numbers): (Vec<_>, Vec<_>) =
            match self.store.contact_chats(msg.contact_id, usize::MAX) {
                Ok(chats) => chats
                    .into_iter()
                    .map(|chat| (chat.id, chat.phone_number_id))
                    .unzip(),
                Err(error) => return Box::pin(fut::ready(Err(error.into()))),
            };
        let live: Vec<_> = chats
            .iter()
            .filter_map(|id| self.chats.remove(id))
            .collect();
        self.erasing.extend(&chats);
        let store = self.store.clone();
        let erase = async move {
            for actor in live {
                // A stopped actor is as good as a retired one.
                let _ = actor.send(Retire).await;
            }
            tokio::task::spawn_blocking(move || store.erase_contact(msg.contact_id))
                .await
                .map_err(|_| Error::Stopped)?
                .map_err(Error::from)
        };
        Box::pin(erase.into_actor(self).map(move |result, router, _| {
            for id in &chats {
                router.erasing.remove(id);
            }
            if result.is_ok() {
                // Their waiting sends left the outbox with them: the queues drop theirs.
                for (number, queue) in &router.queues {
                    let theirs: Vec<ChatId> = chats
                        .iter()
                        .zip(&numbers)
                        .filter(|(_, n)| *n == number)
                        .map(|(id, _)| *id)
                        .collect();
                    if !theirs.is_empty() {
                        queue.do_send(Forget { chats: theirs });
                    }
                }
            }
            result
        }))
    }
}

/// Commands for one chat go to its actor.
macro_rules! forward {
    ($($message:ty => $result:ty),* $(,)?) => {$(
        impl Handler<$message> for Router {
            type Result = ResponseFuture<Result<$result>>;

            fn handle(&mut self, msg: $message, ctx: &mut Context<Self>) -> Self::Result {
                let addr = self.chat_actor(msg.chat_id, ctx);
                Box::pin(async move { addr?.send(msg).await? })
            }
        }
    )*};
}

forward!(
    SendReply => Sent,
    AddNote => atende_data::Message,
    ClaimChat => Chat,
    TransferChat => Chat,
    CloseChat => Chat,
    ReopenChat => Chat,
    MarkChatRead => Chat,
    UpdateChat => Chat,
    AssignChat => Chat,
    RequeueChat => Chat,
    HandOff => Chat,
    AnswerCsat => Ingested,
    RecordSent => (),
    RecordFailed => (),
    ApplyDelivery => (),
    ApplyEdit => (),
    SnoozeChat => Chat,
    WakeChat => (),
    RecordActivity => (),
    PinMessage => atende_data::Message,
);

/// The rating (1-5) a customer's message gives: a survey row's id (`csat:4`), or the digit
/// of a template button's payload or text.
fn csat_rating(message: &InboundMessage) -> Option<u8> {
    let details = message.details.as_ref()?;
    let from_list = details.get("interactive").and_then(|i| {
        let kind = i.get("type")?.as_str()?;
        let id = i.get(kind)?.get("id")?.as_str()?;
        id.strip_prefix(crate::chat::CSAT_PREFIX)?
            .parse::<u8>()
            .ok()
    });
    let from_button = details.get("button").and_then(|b| {
        let text = b.get("payload").or_else(|| b.get("text"))?.as_str()?;
        let digit = text.chars().find(char::is_ascii_digit)?.to_digit(10)?;
        u8::try_from(digit).ok()
    });
    from_list.or(from_button).filter(|r| (1..=5).contains(r))
}
