//! Routing work to people: auto-assignment (the oldest pending chat goes to the online
//! agent of its queue with free capacity and the fewest open chats), taking chats back
//! from agents who stay offline, and the live queue statistics supervisors watch.

use std::collections::BTreeMap;
use std::time::Duration;

use actix::prelude::*;
use atende_data::{AssigneeFilter, ChatFilter, ChatStatus, Role, Scope, Store, User, UserId};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::agent_session::{Presence, PresenceBoard};
use crate::events::{Payload, Publish};
use crate::messages::{AssignChat, RequeueChat};
use crate::router::{PresenceChanged, Router};

/// Assignment passes are coalesced over this delay (a burst of arrivals is one pass).
const REBALANCE_DELAY: Duration = Duration::from_millis(50);
/// A pass also runs this often, as a safety net for missed triggers.
pub const REBALANCE_INTERVAL: Duration = Duration::from_secs(10);
/// How often queue statistics are recomputed (and announced when they changed).
pub const STATS_INTERVAL: Duration = Duration::from_secs(2);
/// Pending chats looked at per pass.
const PASS_CHATS: usize = 200;

/// Something freed capacity or added work: run an assignment pass soon.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Rebalance;

/// One agent as assignment sees them.
struct Candidate {
    id: UserId,
    queues: Vec<String>,
    open: usize,
    capacity: usize,
}

impl Router {
    /// Schedules an assignment pass unless one is already coming.
    pub(crate) fn request_rebalance(&mut self, ctx: &mut Context<Self>) {
        if !self.rebalance_pending {
            self.rebalance_pending = true;
            ctx.run_later(REBALANCE_DELAY, |router, ctx| {
                router.rebalance_pending = false;
                if let Err(error) = router.assign_pending(ctx) {
                    tracing::warn!(%error, "an assignment pass failed");
                }
            });
        }
    }

    /// Hands pending chats, oldest first, to online agents with room.
    fn assign_pending(&mut self, ctx: &mut Context<Self>) -> crate::Result<()> {
        if !self.store.settings()?.auto_assign {
            return Ok(());
        }
        let mut agents = candidates(&self.store, &self.board)?;
        if agents.is_empty() {
            return Ok(());
        }
        let filter = ChatFilter {
            status: Some(ChatStatus::Pending),
            limit: PASS_CHATS,
            ..Default::default()
        };
        for chat in self.store.chats(&filter)?.chats {
            let fits = |a: &&mut Candidate| {
                a.open < a.capacity && chat.queue_id.as_ref().is_none_or(|q| a.queues.contains(q))
            };
            let Some(agent) = agents
                .iter_mut()
                .filter(fits)
                .min_by_key(|a| (a.open, a.id))
            else {
                continue;
            };
            agent.open += 1;
            let addr = self.chat_actor(chat.id, ctx)?;
            addr.do_send(AssignChat {
                chat_id: chat.id,
                user: agent.id,
            });
        }
        Ok(())
    }

    /// Announces the queue statistics to staff when they changed.
    pub(crate) fn announce_stats(&mut self) {
        let Ok(stats) = live_queues(&self.store, &self.board) else {
            return;
        };
        let Ok(data) = serde_json::to_value(&stats) else {
            return;
        };
        let text = data.to_string();
        if text != self.last_stats {
            self.last_stats = text;
            self.bus.do_send(Publish {
                name: "queue.stats",
                scope: Scope::Staff,
                payload: Payload::Json(data),
                flushed: true,
                intent: None,
            });
        }
    }
}

fn candidates(store: &Store, board: &PresenceBoard) -> crate::Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for id in board.online() {
        let Some(user) = store.user(id)? else {
            continue;
        };
        if user.active && user.role == Role::Agent {
            out.push(Candidate {
                id,
                queues: user.queue_ids.clone(),
                open: store.count_chats(id, ChatStatus::Open)?,
                capacity: user.max_concurrent_chats as usize,
            });
        }
    }
    Ok(out)
}

impl Handler<Rebalance> for Router {
    type Result = ();

    fn handle(&mut self, _: Rebalance, ctx: &mut Context<Self>) {
        self.request_rebalance(ctx);
    }
}

impl Handler<PresenceChanged> for Router {
    type Result = ();

    fn handle(&mut self, msg: PresenceChanged, ctx: &mut Context<Self>) {
        match msg.presence {
            Presence::Online => self.request_rebalance(ctx),
            Presence::Away => {}
            Presence::Offline => {
                let user = msg.user;
                ctx.run_later(self.config.requeue_after, move |router, ctx| {
                    if router.board.get(user) == Presence::Offline {
                        router.requeue_chats_of(user, ctx);
                    }
                });
            }
        }
        self.announce_stats();
    }
}

impl Router {
    /// Puts the open chats of an agent who stayed offline back in their queues.
    fn requeue_chats_of(&mut self, user: UserId, ctx: &mut Context<Self>) {
        let filter = ChatFilter {
            status: Some(ChatStatus::Open),
            assignee: AssigneeFilter::User(user),
            limit: 1000,
            ..Default::default()
        };
        let Ok(page) = self.store.chats(&filter) else {
            return;
        };
        for chat in page.chats {
            if let Ok(addr) = self.chat_actor(chat.id, ctx) {
                addr.do_send(RequeueChat {
                    chat_id: chat.id,
                    user,
                });
            }
        }
        tracing::info!(user_id = %user, "chats of an offline agent returned to their queues");
    }
}

/// One queue's waiting line.
#[derive(Serialize, Debug, PartialEq)]
pub struct QueueLine {
    /// None: chats in no queue.
    pub queue_id: Option<String>,
    pub name: Option<String>,
    pub pending: usize,
    /// When the longest-waiting chat entered the queue (the wait is now minus this).
    pub oldest_since: Option<DateTime<Utc>>,
}

/// One agent's state.
#[derive(Serialize, Debug, PartialEq)]
pub struct AgentLoad {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    pub presence: &'static str,
    pub open_chats: usize,
    pub max_concurrent_chats: u32,
    pub queue_ids: Vec<String>,
}

/// The live queue view.
#[derive(Serialize, Debug, PartialEq)]
pub struct LiveQueues {
    pub queues: Vec<QueueLine>,
    pub agents: Vec<AgentLoad>,
}

/// Pending chats per queue (with the oldest wait) and every active user's presence and load.
pub fn live_queues(store: &Store, board: &PresenceBoard) -> crate::Result<LiveQueues> {
    let mut lines: BTreeMap<Option<String>, (usize, Option<DateTime<Utc>>)> = BTreeMap::new();
    for queue in store.queues()? {
        lines.insert(Some(queue.id), (0, None));
    }
    let filter = ChatFilter {
        status: Some(ChatStatus::Pending),
        limit: 100_000,
        ..Default::default()
    };
    for chat in store.chats(&filter)?.chats {
        let line = lines.entry(chat.queue_id.clone()).or_default();
        line.0 += 1;
        let since = chat.pending_since.unwrap_or(chat.updated_at);
        line.1 = Some(line.1.map_or(since, |s| s.min(since)));
    }
    let names: BTreeMap<String, String> = store
        .queues()?
        .into_iter()
        .map(|q| (q.id, q.name))
        .collect();
    let queues = lines
        .into_iter()
        .map(|(queue_id, (pending, oldest))| QueueLine {
            name: queue_id.as_ref().and_then(|q| names.get(q).cloned()),
            queue_id,
            pending,
            oldest_since: oldest,
        })
        .collect();
    let mut agents = Vec::new();
    for user in store
        .users(None, usize::MAX)?
        .into_iter()
        .filter(|u: &User| u.active)
    {
        agents.push(AgentLoad {
            user_id: user.id.to_string(),
            presence: board.get(user.id).as_str(),
            open_chats: store.count_chats(user.id, ChatStatus::Open)?,
            max_concurrent_chats: user.max_concurrent_chats,
            queue_ids: user.queue_ids.clone(),
            role: user.role,
            name: user.name,
        });
    }
    Ok(LiveQueues { queues, agents })
}
