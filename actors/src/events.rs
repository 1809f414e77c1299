//! [`EventBus`]: the one place that numbers events, logs them and fans them out, so every
//! socket receives events in sequence order and a reconnecting socket can resume from the
//! last number it saw.
//!
//! An event is published right after the change it reports is written (by the actor that
//! wrote it, in order), logged, and fanned out once a flush that began after it has
//! completed: nobody hears of a change that a crash could take back. An event whose change
//! was flushed before it was published (a customer's message), or that reports nothing
//! stored (typing, presence), needs no flush of its own: it goes out at once, unless events
//! before it still wait for theirs.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use atende_data::{
    Chat, ChatId, Contact, Event, FamilyId, Intent, Message as ChatMessage, Scope, Store, User,
    UserId, Viewer, Visibility, Write,
};
use bytestring::ByteString;
use chrono::Utc;
use serde_json::Value;

use crate::agent_session::{AddConnection, AgentSession, PresenceBoard, RemoveConnection};
use crate::router::Router;

/// How often the log is pruned to its retention window.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// What an event is about; rendered once into the JSON browsers receive.
#[derive(Clone, Debug)]
pub enum Payload {
    /// A chat, and what happened to it (created, claimed, transferred ...).
    Chat {
        chat: Box<Chat>,
        change: Cow<'static, str>,
    },
    /// A message, with its chat for notifications, and the chat's contact when the
    /// publisher has it at hand (else the renderer reads it).
    Message {
        message: Box<ChatMessage>,
        chat: Box<Chat>,
        contact: Option<Box<Contact>>,
    },
    /// A contact, created or changed.
    Contact(Box<Contact>),
    /// Anything else, already JSON (typing, presence, queue statistics).
    Json(Value),
}

/// Turns a payload into the event's `data`, as JSON text (the HTTP layer knows the API's
/// shapes).
pub type Renderer = fn(&Payload, &Store) -> String;

/// How long events are kept for resuming sockets.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub max_events: usize,
    pub max_age: chrono::Duration,
}

/// How presence behaves.
#[derive(Clone, Copy, Debug)]
pub struct PresenceRules {
    /// A user with no socket stays online this long (reloads, short network drops).
    pub offline_grace: Duration,
}

impl Publish {
    /// `contact.updated`, for the staff and the webhooks, once the change is written.
    pub fn contact(contact: Contact, flushed: bool) -> Publish {
        Publish {
            name: "contact.updated",
            scope: Scope::Staff,
            payload: Payload::Contact(Box::new(contact)),
            flushed,
            intent: None,
        }
    }

    /// What the webhooks are promised of this event, if they may hear of it at all.
    fn intent_record(&self) -> Option<Intent> {
        let hook = crate::hooks::HOOK_EVENTS.contains(&self.name);
        let mut intent = Intent {
            name: self.name.to_string(),
            change: None,
            chat_id: None,
            message_id: None,
            contact_id: None,
            data: None,
        };
        match &self.payload {
            // The thread's lines of what happened are the console's (hooks.rs).
            Payload::Message { message, .. } if message.kind == "activity" => return None,
            _ if !hook => return None,
            Payload::Chat { chat, change } => {
                intent.chat_id = Some(chat.id);
                intent.change = Some(change.to_string());
            }
            Payload::Message { message, .. } => {
                intent.chat_id = Some(message.chat_id);
                intent.message_id = Some(message.id);
            }
            Payload::Contact(contact) => intent.contact_id = Some(contact.id),
            Payload::Json(data) => {
                // Of a chat (csat.answered): gone with the chat when it is erased.
                intent.chat_id = data["chat_id"].as_str().and_then(|id| id.parse().ok());
                intent.data = Some(data.to_string());
            }
        }
        Some(intent)
    }

    /// Makes `write` carry this event's webhook intent, when some subscription exists:
    /// the event then survives a crash that follows the write (docs/ARCHITECTURE.md,
    /// "Outgoing webhooks").
    pub fn promised_in(mut self, store: &Store, write: &mut Write) -> crate::Result<Publish> {
        if !store.intents_wanted() {
            return Ok(self);
        }
        if let Some(intent) = self.intent_record() {
            let id = store.new_id()?;
            write.intent(id, &intent);
            self.intent = Some(id);
        }
        Ok(self)
    }

    /// [`Self::promised_in`] for a change the store wrote by itself, to call right after
    /// it and before its flush, which then covers both.
    pub fn promised(self, store: &Store) -> crate::Result<Publish> {
        let mut write = Write::default();
        let publish = self.promised_in(store, &mut write)?;
        store.commit(write)?;
        Ok(publish)
    }

    /// The event of a webhook intent that a crash left behind, from what the store holds
    /// now; `None` when its records are gone (erased) or it cannot be read.
    pub fn of_intent(store: &Store, id: u64, intent: Intent) -> Option<Publish> {
        let name = crate::hooks::HOOK_EVENTS
            .iter()
            .find(|e| **e == intent.name)?;
        let chat = match intent.chat_id {
            Some(chat_id) => Some(store.chat(chat_id).ok()??),
            None => None,
        };
        let (scope, payload) = match (chat, intent.message_id, intent.contact_id) {
            (Some(chat), Some(message_id), _) => {
                let message = store.message(chat.id, message_id).ok()??;
                let scope = crate::chat::scope_of(&chat);
                let payload = Payload::Message {
                    message: Box::new(message),
                    chat: Box::new(chat),
                    contact: None,
                };
                (scope, payload)
            }
            (Some(chat), None, _) if intent.data.is_none() => {
                let scope = crate::chat::scope_of(&chat);
                let change = Cow::Owned(intent.change.unwrap_or_default());
                let chat = Box::new(chat);
                (scope, Payload::Chat { chat, change })
            }
            (_, None, Some(contact_id)) => {
                let contact = store.contact(contact_id).ok()??;
                (Scope::Staff, Payload::Contact(Box::new(contact)))
            }
            _ => {
                let data = serde_json::from_str(intent.data.as_deref()?).ok()?;
                (Scope::Staff, Payload::Json(data))
            }
        };
        Some(Publish {
            name,
            scope,
            payload,
            flushed: true,
            intent: Some(id),
        })
    }
}

/// [`Publish::promised_in`] for each of `events`.
pub fn promised(
    store: &Store,
    write: &mut Write,
    events: impl IntoIterator<Item = Publish>,
) -> crate::Result<Vec<Publish>> {
    events
        .into_iter()
        .map(|event| event.promised_in(store, write))
        .collect()
}

/// Number, log and fan out an event.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish {
    pub name: &'static str,
    pub scope: Scope,
    pub payload: Payload,
    /// What it reports is already on disk, or is not stored at all.
    pub flushed: bool,
    /// The webhook intent its change's write carried ([`Publish::promised_in`]).
    pub intent: Option<u64>,
}

/// What a connection receives from its session.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub enum ToConnection {
    /// The frame of an event it may see, made once for every socket.
    Event(ByteString),
    /// Close the socket with this code and reason.
    Close { code: u16, reason: &'static str },
}

/// A new socket of a signed-in user.
#[derive(Message)]
#[rtype(result = "Attached")]
pub struct Attach {
    pub user: User,
    /// The sign-in the socket was opened with ([`SignInEnded`] closes it).
    pub family: FamilyId,
    pub connection: Recipient<ToConnection>,
    /// Set when the connection could not keep up and must resume.
    pub lagged: Arc<AtomicBool>,
    pub resume_from: Option<u64>,
}

/// The answer to [`Attach`].
pub struct Attached {
    pub session: Addr<AgentSession>,
    pub connection_id: u64,
    /// The newest event number at attach time.
    pub seq: u64,
    /// The events after `resume_from` the user may see, or `None`: the log does not reach
    /// back that far (or the number is from the future), so the client must reload.
    pub replay: Option<Vec<Event>>,
}

/// A user's role or queues changed: sessions filter with the new ones; with
/// `end_sessions` (deactivation, password reset) their sockets close.
#[derive(Message)]
#[rtype(result = "()")]
pub struct UserChanged {
    pub user: User,
    pub end_sessions: bool,
}

struct SessionEntry {
    viewer: Viewer,
    addr: Addr<AgentSession>,
    /// The user's sockets (tabs), by connection id.
    connections: HashMap<u64, Connection>,
}

struct Connection {
    family: FamilyId,
    recipient: Recipient<ToConnection>,
    lagged: Arc<AtomicBool>,
}

impl SessionEntry {
    /// Hands `msg` to each socket without ever waiting for one: a socket whose mailbox is
    /// full is marked lagged; it closes and resumes from the log. One already gone (it
    /// closed before it was live) is dropped.
    fn deliver(&mut self, msg: &ToConnection) {
        let mut gone = Vec::new();
        for (id, connection) in &self.connections {
            if connection.lagged.load(Ordering::Relaxed) {
                continue;
            }
            match connection.recipient.try_send(msg.clone()) {
                Ok(()) => {}
                Err(SendError::Full(_)) => connection.lagged.store(true, Ordering::Relaxed),
                Err(SendError::Closed(_)) => gone.push(*id),
            }
        }
        for id in gone {
            self.detach(id);
        }
    }

    /// Forgets a socket, and tells the session (presence).
    fn detach(&mut self, id: u64) {
        if self.connections.remove(&id).is_some() {
            self.addr.do_send(RemoveConnection { id });
        }
    }
}

/// The event bus.
pub struct EventBus {
    store: Store,
    render: Renderer,
    retention: Retention,
    presence: PresenceRules,
    router: Option<Addr<Router>>,
    board: PresenceBoard,
    next_seq: u64,
    /// The newest event fanned out.
    published: u64,
    /// Logged, waiting for a flush (or for the events before them), each with whether
    /// it needs none of its own.
    pending: Vec<(Event, bool)>,
    flushing: bool,
    sessions: HashMap<UserId, SessionEntry>,
    next_connection: u64,
    /// The webhook dispatcher, told of every event fanned out while some subscription
    /// exists ([`Store::intents_wanted`]) and of every event with an intent.
    hooks: Option<Recipient<crate::hooks::Fanned>>,
}

impl EventBus {
    /// A bus continuing the store's numbering.
    pub fn new(
        store: Store,
        render: Renderer,
        retention: Retention,
        presence: PresenceRules,
        board: PresenceBoard,
    ) -> EventBus {
        // After a restore the log is empty but the deliveries made from its events are
        // not: numbering on from the dispatcher's cursor keeps every delivery id new.
        let last = store
            .last_event_seq()
            .unwrap_or(0)
            .max(store.hooks_cursor().unwrap_or(0));
        EventBus {
            store,
            render,
            retention,
            presence,
            router: None,
            board,
            next_seq: last + 1,
            published: last,
            pending: Vec::new(),
            flushing: false,
            sessions: HashMap::new(),
            next_connection: 0,
            hooks: None,
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        self.flushing = true;
        let batch = self.pending.len();
        let store = self.store.clone();
        let done = async move { store.durable().await };
        ctx.spawn(done.into_actor(self).map(move |result, bus, ctx| {
            if let Err(error) = result {
                tracing::error!(%error, "the event log could not be flushed");
            }
            let flushed = bus
                .pending
                .iter()
                .skip(batch)
                .take_while(|(_, f)| *f)
                .count();
            let events: Vec<_> = bus.pending.drain(..batch + flushed).collect();
            for (event, _) in events {
                bus.fan_out(event);
            }
            bus.flushing = false;
            if !bus.pending.is_empty() {
                bus.flush(ctx);
            }
        }));
    }

    /// Logs an event whose change is on disk and hands it to every socket that may see
    /// it and to the webhook dispatcher. Only such events are logged: a browser resuming
    /// after a crash, or the dispatcher catching up, never hears of a change the crash
    /// took back.
    fn fan_out(&mut self, event: Event) {
        if let Err(error) = self.store.append_event(&event) {
            tracing::error!(%error, "an event could not be logged");
        }
        self.published = event.seq;
        if let Some(hooks) = &self.hooks {
            if event.intent.is_some() || self.store.intents_wanted() {
                hooks.do_send(crate::hooks::Fanned(event.clone()));
            }
        }
        let frame = ToConnection::Event(ByteString::from(event.frame()));
        for entry in self.sessions.values_mut() {
            if event.scope.allows(&entry.viewer) {
                entry.deliver(&frame);
            }
        }
    }

    fn replay(&self, resume_from: Option<u64>, viewer: &Viewer) -> Option<Vec<Event>> {
        let Some(from) = resume_from else {
            return Some(Vec::new());
        };
        let first = self.store.first_event_seq().ok()?;
        // Nothing missed, or the log still holds the next event after `from`.
        let reaches = from >= self.published || first.is_some_and(|first| from + 1 >= first);
        if from > self.published || !reaches {
            return None;
        }
        let events = self.store.events_since(from, self.published, viewer).ok()?;
        Some(hide_chats_out_of_view(&self.store, events, viewer))
    }
}

/// An agent's replay as of today's visibility: the events of a chat the agent may no
/// longer see (claimed by a colleague, transferred to another queue since) are left out,
/// and in place of the last of them comes `chat.hidden` `{id}`, telling the browser only
/// that the chat left its view.
fn hide_chats_out_of_view(store: &Store, events: Vec<Event>, viewer: &Viewer) -> Vec<Event> {
    if viewer.staff {
        return events;
    }
    let visibility = Visibility {
        user: viewer.user,
        queues: viewer.queues.clone(),
    };
    let chats: Vec<Option<ChatId>> = events.iter().map(chat_of).collect();
    // Each chat out of view, with the index of its last event.
    let mut last_of_hidden: HashMap<ChatId, usize> = HashMap::new();
    let mut in_view: HashMap<ChatId, bool> = HashMap::new();
    for (index, chat_id) in chats.iter().enumerate() {
        let Some(chat_id) = *chat_id else { continue };
        let visible = *in_view.entry(chat_id).or_insert_with(|| {
            let chat = store.chat(chat_id).ok().flatten();
            chat.is_some_and(|chat| visibility.allows(&chat))
        });
        if !visible {
            last_of_hidden.insert(chat_id, index);
        }
    }
    let hidden = |index: usize, chat_id: Option<ChatId>| {
        chat_id.and_then(|id| Some((id, *last_of_hidden.get(&id)? == index)))
    };
    events
        .into_iter()
        .zip(chats)
        .enumerate()
        .filter_map(|(index, (event, chat_id))| match hidden(index, chat_id) {
            None => Some(event),
            Some((_, false)) => None,
            Some((id, true)) => Some(Event {
                name: "chat.hidden".into(),
                data: serde_json::json!({ "id": id.to_string() }).to_string(),
                ..event
            }),
        })
        .collect()
}

/// The chat a chat-scoped event is about.
fn chat_of(event: &Event) -> Option<ChatId> {
    let (Scope::Chat { .. } | Scope::Left { .. }) = event.scope else {
        return None;
    };
    let data: Value = serde_json::from_str(&event.data).ok()?;
    let key = if event.name.starts_with("chat.") {
        "id"
    } else {
        "chat_id"
    };
    data.get(key)?.as_str()?.parse().ok()
}

/// Who the user is, for filtering.
pub fn viewer(user: &User) -> Viewer {
    Viewer {
        user: user.id,
        staff: user.role.is_staff(),
        queues: user.queue_ids.clone(),
    }
}

impl Actor for EventBus {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(4096);
        ctx.run_interval(PRUNE_INTERVAL, |bus, _| {
            let before = Utc::now() - bus.retention.max_age;
            if let Err(error) = bus.store.prune_events(bus.retention.max_events, before) {
                tracing::warn!(%error, "pruning the event log failed");
            }
        });
    }
}

impl Handler<Publish> for EventBus {
    type Result = ();

    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) {
        let message_id = match &msg.payload {
            Payload::Message { message, .. } => Some(message.id),
            _ => None,
        };
        let event = Event {
            seq: self.next_seq,
            name: msg.name.to_string(),
            data: (self.render)(&msg.payload, &self.store),
            scope: msg.scope,
            at: Utc::now(),
            message_id,
            intent: msg.intent,
        };
        self.next_seq += 1;
        if self.flushing {
            self.pending.push((event, msg.flushed));
        } else if msg.flushed {
            self.fan_out(event);
        } else {
            self.pending.push((event, false));
            self.flush(ctx);
        }
    }
}

impl Handler<Attach> for EventBus {
    type Result = MessageResult<Attach>;

    fn handle(&mut self, msg: Attach, ctx: &mut Context<Self>) -> Self::Result {
        let viewer = viewer(&msg.user);
        let bus = ctx.address();
        let router = self.router.clone();
        let board = self.board.clone();
        let grace = self.presence.offline_grace;
        let entry = self
            .sessions
            .entry(msg.user.id)
            .or_insert_with(|| SessionEntry {
                viewer: viewer.clone(),
                addr: AgentSession::new(msg.user.id, bus, router, board, grace).start(),
                connections: HashMap::new(),
            });
        entry.viewer = viewer.clone();
        self.next_connection += 1;
        let connection_id = self.next_connection;
        entry.connections.insert(
            connection_id,
            Connection {
                family: msg.family,
                recipient: msg.connection,
                lagged: msg.lagged,
            },
        );
        entry.addr.do_send(AddConnection { id: connection_id });
        let session = entry.addr.clone();
        MessageResult(Attached {
            session,
            connection_id,
            seq: self.published,
            replay: self.replay(msg.resume_from, &viewer),
        })
    }
}

impl Handler<UserChanged> for EventBus {
    type Result = ();

    fn handle(&mut self, msg: UserChanged, _: &mut Context<Self>) {
        if let Some(entry) = self.sessions.get_mut(&msg.user.id) {
            entry.viewer = viewer(&msg.user);
            if msg.end_sessions || !msg.user.active {
                entry.deliver(&ToConnection::Close {
                    code: 4401,
                    reason: "signed out",
                });
            }
        }
    }
}

/// One sign-in of a user ended (signed out, or revoked for a replayed refresh token): its
/// sockets close, the user's other sign-ins keep theirs.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SignInEnded {
    pub user: UserId,
    pub family: FamilyId,
}

impl Handler<SignInEnded> for EventBus {
    type Result = ();

    fn handle(&mut self, msg: SignInEnded, _: &mut Context<Self>) {
        let Some(entry) = self.sessions.get(&msg.user) else {
            return;
        };
        for connection in entry.connections.values() {
            if connection.family == msg.family {
                // A full mailbox: the socket is lagging and closes anyway, and its sign-in
                // is refused when it comes back.
                let _ = connection.recipient.try_send(ToConnection::Close {
                    code: 4401,
                    reason: "signed out",
                });
            }
        }
    }
}

/// A socket closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Detach {
    pub user: UserId,
    pub connection_id: u64,
}

impl Handler<Detach> for EventBus {
    type Result = ();

    fn handle(&mut self, msg: Detach, _: &mut Context<Self>) {
        if let Some(entry) = self.sessions.get_mut(&msg.user) {
            entry.detach(msg.connection_id);
        }
    }
}

/// Tells the bus where the Router is (they are started one after the other).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetRouter(pub Addr<Router>);

impl Handler<SetRouter> for EventBus {
    type Result = ();

    fn handle(&mut self, msg: SetRouter, _: &mut Context<Self>) {
        self.router = Some(msg.0);
    }
}

/// Tells the bus where the webhook dispatcher is.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetHooks(pub Recipient<crate::hooks::Fanned>);

impl Handler<SetHooks> for EventBus {
    type Result = ();

    fn handle(&mut self, msg: SetHooks, _: &mut Context<Self>) {
        self.hooks = Some(msg.0);
    }
}

/// Whether a connection fell behind (set by its session, read by the connection).
pub fn lagged(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent_session::Presence;

    /// A socket's actor, which closes on the first event it is handed.
    struct Socket;

    impl Actor for Socket {
        type Context = Context<Self>;
    }

    impl Handler<ToConnection> for Socket {
        type Result = ();

        fn handle(&mut self, _: ToConnection, ctx: &mut Context<Self>) {
            ctx.stop();
        }
    }

    async fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: not within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[test]
    fn after_a_restore_numbering_goes_on_above_the_webhook_cursor() {
        // A restored directory has the deliveries (and the cursor) but not the log.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.set_hooks_cursor(500).unwrap();
        let retention = Retention {
            max_events: 100,
            max_age: chrono::Duration::hours(1),
        };
        let presence = PresenceRules {
            offline_grace: Duration::ZERO,
        };
        let render: Renderer = |_, _| "{}".into();
        let bus = EventBus::new(store, render, retention, presence, PresenceBoard::default());
        assert_eq!(
            bus.next_seq, 501,
            "a new event's delivery id is never an old one's"
        );
    }

    #[actix::test]
    async fn a_socket_gone_without_detaching_is_dropped_at_the_next_event() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let board = PresenceBoard::default();
        let retention = Retention {
            max_events: 100,
            max_age: chrono::Duration::hours(1),
        };
        let presence = PresenceRules {
            offline_grace: Duration::ZERO,
        };
        let render: Renderer = |_, _| "{}".into();
        let bus = EventBus::new(store, render, retention, presence, board.clone()).start();
        let now = Utc::now();
        let user = User {
            id: UserId(7),
            email: "ana@test.local".into(),
            name: "Ana".into(),
            role: atende_data::Role::Agent,
            active: true,
            max_concurrent_chats: 5,
            queue_ids: Vec::new(),
            password_hash: String::new(),
            must_change_password: false,
            session_epoch: 0,
            created_at: now,
            updated_at: now,
            two_factor: Default::default(),
        };
        let socket = Socket.start();
        bus.send(Attach {
            user: user.clone(),
            family: FamilyId(1),
            connection: socket.clone().recipient(),
            lagged: Arc::new(AtomicBool::new(false)),
            resume_from: None,
        })
        .await
        .unwrap();
        until("online", || board.get(user.id) == Presence::Online).await;
        // The first event closes the socket's actor, as a socket that closed before it
        // went live would be: it never says it left.
        let publish = || Publish {
            name: "queue.stats",
            scope: Scope::Everyone,
            payload: Payload::Json(Value::Null),
            flushed: true,
            intent: None,
        };
        bus.send(publish()).await.unwrap();
        until("closed", || !socket.connected()).await;
        bus.send(publish()).await.unwrap();
        until("offline", || board.get(user.id) == Presence::Offline).await;
    }

    #[test]
    fn a_promised_event_is_written_with_its_change_and_made_again_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let chat = Chat::new(
            ChatId(store.new_id().unwrap()),
            atende_data::ContactId(1),
            "n",
            Utc::now(),
        );
        let closed = || Publish {
            name: "chat.updated",
            scope: Scope::Staff,
            payload: Payload::Chat {
                chat: Box::new(chat.clone()),
                change: "closed".into(),
            },
            flushed: false,
            intent: None,
        };
        let mut write = Write::default();
        let unwanted = closed().promised_in(&store, &mut write).unwrap();
        assert_eq!(unwanted.intent, None, "no subscription, no intent");

        store.set_intents_wanted(true);
        let line = ChatMessage::new(
            atende_data::MessageId(store.new_id().unwrap()),
            chat.id,
            atende_data::Direction::Out,
            "activity",
            atende_data::MessageStatus::Sent,
            Utc::now(),
        );
        let told = Publish {
            name: "message.created",
            scope: Scope::Staff,
            payload: Payload::Message {
                message: Box::new(line.clone()),
                chat: Box::new(chat.clone()),
                contact: None,
            },
            flushed: false,
            intent: None,
        };
        let mut write = Write::default();
        write.chat(None, &chat).message(&line);
        let events = promised(&store, &mut write, [closed(), told]).unwrap();
        assert!(events[0].intent.is_some());
        assert_eq!(
            events[1].intent, None,
            "the thread's lines are not the webhooks'"
        );
        assert!(
            store.intents_before(u64::MAX).unwrap().is_empty(),
            "not before the write"
        );
        store.commit(write).unwrap();

        let left = store.intents_before(u64::MAX).unwrap();
        assert_eq!(left.len(), 1);
        let (id, intent) = left.into_iter().next().unwrap();
        assert_eq!(Some(id), events[0].intent);
        let again = Publish::of_intent(&store, id, intent.clone()).unwrap();
        assert_eq!(again.name, "chat.updated");
        assert_eq!(again.intent, Some(id));
        match again.payload {
            Payload::Chat { chat: made, change } => {
                assert_eq!(made.id, chat.id);
                assert_eq!(change, "closed");
            }
            other => panic!("{other:?}"),
        }
        let gone = Intent {
            chat_id: Some(ChatId(chat.id.0 + 1000)),
            ..intent
        };
        assert!(
            Publish::of_intent(&store, id, gone).is_none(),
            "an erased chat's event is not made"
        );
    }
}
