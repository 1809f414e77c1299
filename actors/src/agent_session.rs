//! [`AgentSession`]: one per signed-in user. It follows the user's sockets (tabs) and keeps
//! their presence: online while a socket is open, away on request, offline once the last
//! socket has been closed for a grace period (a page reload is not a departure). Events go
//! from the event bus to the sockets directly: a hop through this actor cost every event
//! a message per user.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use atende_data::{Scope, UserId};
use serde_json::json;

use crate::events::{EventBus, Payload, Publish};
use crate::router::{PresenceChanged, Router};

/// Where a user is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Online,
    Away,
    Offline,
}

impl Presence {
    /// The API's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Online => "online",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }
}

/// Everyone's presence, shared with the HTTP layer (user views, the live queue view).
#[derive(Clone, Default)]
pub struct PresenceBoard(Arc<Mutex<HashMap<UserId, Presence>>>);

impl PresenceBoard {
    /// A user's presence; offline when never seen.
    pub fn get(&self, user: UserId) -> Presence {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&user)
            .copied()
            .unwrap_or(Presence::Offline)
    }

    fn set(&self, user: UserId, presence: Presence) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user, presence);
    }

    /// Users who are online now.
    pub fn online(&self) -> Vec<UserId> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .filter(|(_, p)| **p == Presence::Online)
            .map(|(u, _)| *u)
            .collect()
    }
}

/// A socket joins the session.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AddConnection {
    pub id: u64,
}

/// A socket closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoveConnection {
    pub id: u64,
}

/// The user asks to be away, or back online.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetPresence {
    pub away: bool,
}

/// One user's sockets and presence.
pub struct AgentSession {
    user: UserId,
    bus: Addr<EventBus>,
    router: Option<Addr<Router>>,
    board: PresenceBoard,
    /// The ids of the user's open sockets.
    connections: HashSet<u64>,
    presence: Presence,
    away: bool,
    /// How long the user stays online with no socket (covers reloads and short drops).
    offline_grace: Duration,
    grace: Option<SpawnHandle>,
}

impl AgentSession {
    pub fn new(
        user: UserId,
        bus: Addr<EventBus>,
        router: Option<Addr<Router>>,
        board: PresenceBoard,
        offline_grace: Duration,
    ) -> Self {
        AgentSession {
            user,
            bus,
            router,
            board,
            connections: HashSet::new(),
            presence: Presence::Offline,
            away: false,
            offline_grace,
            grace: None,
        }
    }

    /// Moves to `presence`, telling everyone and the Router when it changes.
    fn become_(&mut self, presence: Presence) {
        if presence == self.presence {
            return;
        }
        self.presence = presence;
        self.board.set(self.user, presence);
        let data = json!({"user_id": self.user.to_string(), "presence": presence.as_str()});
        self.bus.do_send(Publish {
            name: "presence",
            scope: Scope::Everyone,
            payload: Payload::Json(data),
            flushed: true,
            intent: None,
        });
        if let Some(router) = &self.router {
            router.do_send(PresenceChanged {
                user: self.user,
                presence,
            });
        }
    }

    fn settle(&mut self) {
        let presence = if self.away {
            Presence::Away
        } else {
            Presence::Online
        };
        self.become_(presence);
    }
}

impl Actor for AgentSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
    }
}

impl Handler<AddConnection> for AgentSession {
    type Result = ();

    fn handle(&mut self, msg: AddConnection, ctx: &mut Context<Self>) {
        if let Some(handle) = self.grace.take() {
            ctx.cancel_future(handle);
        }
        self.connections.insert(msg.id);
        self.settle();
    }
}

impl Handler<RemoveConnection> for AgentSession {
    type Result = ();

    fn handle(&mut self, msg: RemoveConnection, ctx: &mut Context<Self>) {
        self.connections.remove(&msg.id);
        if self.connections.is_empty() && self.grace.is_none() {
            self.grace = Some(ctx.run_later(self.offline_grace, |session, _| {
                session.grace = None;
                if session.connections.is_empty() {
                    session.away = false;
                    session.become_(Presence::Offline);
                }
            }));
        }
    }
}

impl Handler<SetPresence> for AgentSession {
    type Result = ();

    fn handle(&mut self, msg: SetPresence, _: &mut Context<Self>) {
        self.away = msg.away;
        if !self.connections.is_empty() {
            self.settle();
        }
    }
}
