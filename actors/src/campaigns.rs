//! [`Campaigns`]: runs the campaigns that are due. It turns a starting campaign's audience
//! into send records, then hands the waiting sends one by one to the Router, paced by the
//! campaign's rate and the number's messaging limit, and holds back while the number's
//! outbox has more than a second of work (the agents' replies come first). It announces
//! each campaign's progress to the staff (`campaign.progress`) and its changes
//! (`campaign.updated`).
//!
//! Exactly once: a send is written as `sending` together with its message and outbox
//! entry, and only a `queued` one is ever written so; from there the outbox's own rules
//! hold (outbound_queue.rs). After a crash the runner simply reads the `queued` ones
//! again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use atende_data::{
    left_out, Campaign, CampaignId, CampaignStatus, ContactId, Scope, SendCounts, SendState, Store,
};
use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::json;

use crate::events::{EventBus, Payload, Publish};
use crate::messages::SendCampaign;
use crate::metrics::Metrics;
use crate::router::Router;

/// How often the runner works.
const TICK: Duration = Duration::from_millis(50);
/// How often the campaigns are read again and their progress announced.
const REVIEW: Duration = Duration::from_secs(1);
/// Contacts turned into send records per tick.
const MATERIALIZE_CHUNK: usize = 2000;
/// Sends handed to the Router and not yet answered, per campaign.
const MAX_IN_FLIGHT: usize = 64;
/// Waiting sends read from the store at once.
const BATCH: usize = 256;
/// A send that failed to be written is tried again after this long.
const RETRY_AFTER: Duration = Duration::from_secs(2);
/// The messaging limit counts unique customers over this long.
const TIER_WINDOW: chrono::Duration = chrono::Duration::hours(24);
/// A finished campaign's progress is looked at once in this many reviews.
const FINISHED_EVERY: u64 = 10;
/// Progress is announced for this long after a campaign is done (statuses still come).
const WATCH_AFTER_DONE: chrono::Duration = chrono::Duration::hours(24);

/// Look at the campaigns now (one was started, paused, resumed or cancelled).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Review;

/// The campaign runner.
pub struct Campaigns {
    store: Store,
    router: Addr<Router>,
    bus: Addr<EventBus>,
    metrics: Arc<Metrics>,
    /// The hub's rate when a number has none of its own.
    default_rate: u32,
    runs: HashMap<CampaignId, Run>,
    /// Unique customers reached per number, for its messaging limit.
    tiers: HashMap<String, Tier>,
    /// The last progress announced, per campaign watched.
    announced: HashMap<CampaignId, SendCounts>,
    last_review: Instant,
    /// Reviews made since start.
    reviews: u64,
}

/// A running campaign.
struct Run {
    campaign: Arc<Campaign>,
    limiter: DefaultDirectRateLimiter,
    /// Sends per second.
    rate: u32,
    /// Waiting sends read ahead, and where the next read starts.
    ahead: VecDeque<ContactId>,
    cursor: Option<ContactId>,
    /// Every waiting send has been read once.
    read_all: bool,
    in_flight: HashSet<ContactId>,
    /// Sends to try again, not before their instant.
    retry: VecDeque<(Instant, ContactId)>,
}

/// The unique customers a number's campaigns reached within the tier window.
struct Tier {
    limit: Option<u32>,
    reached: HashMap<ContactId, DateTime<Utc>>,
}

impl Tier {
    fn forget_old(&mut self, now: DateTime<Utc>) {
        self.reached.retain(|_, at| now - *at < TIER_WINDOW);
    }

    /// Whether the number may reach `contact` now (a customer reached already counts once).
    fn allows(&self, contact: ContactId) -> bool {
        self.limit
            .is_none_or(|l| self.reached.contains_key(&contact) || self.reached.len() < l as usize)
    }
}

impl Campaigns {
    pub fn new(
        store: Store,
        router: Addr<Router>,
        bus: Addr<EventBus>,
        metrics: Arc<Metrics>,
        default_rate: u32,
    ) -> Self {
        Campaigns {
            store,
            router,
            bus,
            metrics,
            default_rate,
            runs: HashMap::new(),
            tiers: HashMap::new(),
            announced: HashMap::new(),
            last_review: Instant::now() - REVIEW,
            reviews: 0,
        }
    }

    /// Reads the campaigns: a scheduled one whose time came starts, running ones are run,
    /// others stop; then each watched campaign's progress is announced if it moved.
    fn review(&mut self) {
        self.last_review = Instant::now();
        let campaigns = match self.store.campaigns() {
            Ok(campaigns) => campaigns,
            Err(error) => {
                tracing::warn!(%error, "the campaigns could not be read");
                return;
            }
        };
        let now = Utc::now();
        self.reviews += 1;
        let mut active = HashSet::new();
        let mut watched = HashSet::new();
        for mut campaign in campaigns {
            let due = campaign.status == CampaignStatus::Scheduled
                && campaign.start_at.is_none_or(|at| at <= now);
            if due {
                // In place, and only if still scheduled: a cancel written meanwhile stays.
                let started =
                    self.store
                        .change_campaign_if(campaign.id, CampaignStatus::Scheduled, |c| {
                            c.status = CampaignStatus::Running;
                            c.started_at = Some(now);
                            c.updated_at = now;
                        });
                match started {
                    Ok(Some(started)) => campaign = started,
                    Ok(None) => continue,
                    Err(error) => {
                        tracing::warn!(%error, "a campaign could not be started");
                        continue;
                    }
                }
                tracing::info!(campaign_id = %campaign.id, "campaign started");
                self.announce_update(&campaign);
            }
            let live = matches!(
                campaign.status,
                CampaignStatus::Running | CampaignStatus::Paused
            );
            let finished_lately = campaign
                .finished_at
                .is_some_and(|at| now - at < WATCH_AFTER_DONE);
            if live || finished_lately {
                watched.insert(campaign.id);
                // A finished one only hears late statuses and replies: counted less often.
                if live || self.reviews.is_multiple_of(FINISHED_EVERY) {
                    self.announce_progress(&campaign);
                }
            }
            if campaign.status == CampaignStatus::Running {
                active.insert(campaign.id);
                self.keep_running(campaign);
            }
        }
        self.runs.retain(|id, _| active.contains(id));
        self.announced.retain(|id, _| watched.contains(id));
    }

    /// Starts running `campaign`, or takes its newest record into its run.
    fn keep_running(&mut self, campaign: Campaign) {
        let number = self.store.number(&campaign.phone_number_id).ok().flatten();
        if let Some(tier) = self.tiers.get_mut(&campaign.phone_number_id) {
            // The admin may change the number's limit while it runs.
            tier.limit = number.as_ref().and_then(|n| n.messaging_limit);
        }
        if let Some(run) = self.runs.get_mut(&campaign.id) {
            run.campaign = Arc::new(campaign);
            return;
        }
        let number_rate = number
            .as_ref()
            .and_then(|n| n.rate_limit)
            .unwrap_or(self.default_rate);
        let rate = campaign
            .rate
            .unwrap_or(number_rate / 2)
            .clamp(1, number_rate.max(1));
        let per_second = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
        // A small burst: the sends go out evenly rather than a second's worth at once.
        let burst = NonZeroU32::new((rate / 10).max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst));
        let limit = number.and_then(|n| n.messaging_limit);
        let tier = self.tiers.entry(campaign.phone_number_id.clone());
        if let std::collections::hash_map::Entry::Vacant(vacant) = tier {
            let since = Utc::now() - TIER_WINDOW;
            let reached = self
                .store
                .campaign_recipients_since(&campaign.phone_number_id, since)
                .unwrap_or_default();
            let mut tier = Tier {
                limit,
                reached: HashMap::new(),
            };
            for (contact, at) in reached {
                let kept = tier.reached.entry(contact).or_insert(at);
                *kept = (*kept).max(at);
            }
            vacant.insert(tier);
        }
        tracing::info!(campaign_id = %campaign.id, rate, "campaign running");
        self.runs.insert(
            campaign.id,
            Run {
                campaign: Arc::new(campaign),
                limiter,
                rate,
                ahead: VecDeque::new(),
                cursor: None,
                read_all: false,
                in_flight: HashSet::new(),
                retry: VecDeque::new(),
            },
        );
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.last_review.elapsed() >= REVIEW {
            self.review();
        }
        let ids: Vec<CampaignId> = self.runs.keys().copied().collect();
        for id in ids {
            if let Err(error) = self.work(id, ctx) {
                tracing::warn!(campaign_id = %id, %error, "a campaign's turn failed; it goes on");
            }
        }
    }

    /// One turn of a running campaign.
    fn work(&mut self, id: CampaignId, ctx: &mut Context<Self>) -> atende_data::Result<()> {
        let Some(run) = self.runs.get_mut(&id) else {
            return Ok(());
        };
        if !run.campaign.materialized {
            match self.store.materialize(id, MATERIALIZE_CHUNK)? {
                Some(campaign) => run.campaign = Arc::new(campaign),
                // Paused, cancelled or deleted meanwhile: the next review says which.
                None => {
                    self.runs.remove(&id);
                }
            }
            return Ok(());
        }
        let number = run.campaign.phone_number_id.clone();
        let depth = self
            .metrics
            .outboxes()
            .get(&number)
            .map_or(0, |g| g.depth as u64);
        if depth > u64::from(run.rate) {
            // More than a second of sends waits: the agents' replies go first.
            return Ok(());
        }
        let now = Utc::now();
        let tier = self.tiers.get_mut(&number);
        let Some(tier) = tier else {
            return Ok(());
        };
        tier.forget_old(now);
        let mut handed = Vec::new();
        while run.in_flight.len() < MAX_IN_FLIGHT {
            let next = match run.retry.front() {
                Some((at, _)) if *at <= Instant::now() => run.retry.pop_front().map(|(_, c)| c),
                _ => None,
            };
            let next = match next {
                Some(contact) => Some(contact),
                None => next_waiting(&self.store, run)?,
            };
            let Some(contact_id) = next else {
                break;
            };
            if run.in_flight.contains(&contact_id) {
                continue;
            }
            let Some(contact) = self.store.contact(contact_id)? else {
                self.store.skip_send(id, contact_id, "contact_erased")?;
                continue;
            };
            if let Some(reason) = left_out(&contact) {
                self.store.skip_send(id, contact_id, reason)?;
                continue;
            }
            let (components, text) = match run.campaign.render(&contact) {
                Ok(rendered) => rendered,
                Err(reason) => {
                    self.store.skip_send(id, contact_id, &reason)?;
                    continue;
                }
            };
            if !tier.allows(contact_id) || run.limiter.check().is_err() {
                // Its turn comes again: the cap rolls, the rate refills.
                run.ahead.push_front(contact_id);
                break;
            }
            tier.reached.insert(contact_id, now);
            run.in_flight.insert(contact_id);
            handed.push(SendCampaign {
                campaign: run.campaign.clone(),
                contact_id,
                components,
                text,
            });
        }
        for send in handed {
            let contact_id = send.contact_id;
            self.router
                .send(send)
                .into_actor(self)
                .map(move |answer, actor, _| {
                    let Some(run) = actor.runs.get_mut(&id) else {
                        return;
                    };
                    run.in_flight.remove(&contact_id);
                    let error = match answer {
                        Ok(Ok(())) => return,
                        Ok(Err(error)) => error.to_string(),
                        Err(error) => error.to_string(),
                    };
                    tracing::warn!(campaign_id = %id, contact_id = %contact_id, %error, "a campaign send was not written; it is tried again");
                    run.retry
                        .push_back((Instant::now() + RETRY_AFTER, contact_id));
                })
                .spawn(ctx);
        }
        self.finish_if_done(id)
    }

    /// A campaign whose every send left `queued` is done.
    fn finish_if_done(&mut self, id: CampaignId) -> atende_data::Result<()> {
        let Some(run) = self.runs.get(&id) else {
            return Ok(());
        };
        let idle = run.read_all
            && run.ahead.is_empty()
            && run.in_flight.is_empty()
            && run.retry.is_empty();
        if !idle {
            return Ok(());
        }
        let waiting = self
            .store
            .campaign_sends(id, Some(SendState::Queued), None, 1)?;
        if !waiting.is_empty() {
            // Queued again meanwhile (a retry that gave up its turn): read from the start.
            if let Some(run) = self.runs.get_mut(&id) {
                run.read_all = false;
                run.cursor = None;
            }
            return Ok(());
        }
        let now = Utc::now();
        let done = self
            .store
            .change_campaign_if(id, CampaignStatus::Running, |c| {
                c.status = CampaignStatus::Done;
                c.finished_at = Some(now);
                c.updated_at = now;
            })?;
        if let Some(campaign) = done {
            tracing::info!(campaign_id = %id, "campaign done");
            self.announce_update(&campaign);
            self.announce_progress(&campaign);
        }
        self.runs.remove(&id);
        Ok(())
    }

    fn announce_update(&self, campaign: &Campaign) {
        self.bus.do_send(updated(campaign));
    }

    /// Announces a campaign's counts if they changed since last told.
    fn announce_progress(&mut self, campaign: &Campaign) {
        let Ok(counts) = self.store.campaign_counts(campaign.id) else {
            return;
        };
        if self.announced.get(&campaign.id) == Some(&counts) {
            return;
        }
        self.bus.do_send(Publish {
            name: "campaign.progress",
            scope: Scope::Staff,
            payload: Payload::Json(json!({
                "id": campaign.id.to_string(),
                "status": campaign.status.as_str(),
                "counts": counts,
            })),
            flushed: false,
            intent: None,
        });
        self.announced.insert(campaign.id, counts);
    }
}

/// `campaign.updated` for the staff: the campaign's new status.
pub fn updated(campaign: &Campaign) -> Publish {
    Publish {
        name: "campaign.updated",
        scope: Scope::Staff,
        payload: Payload::Json(json!({
            "id": campaign.id.to_string(),
            "status": campaign.status.as_str(),
            "started_at": campaign.started_at,
            "finished_at": campaign.finished_at,
        })),
        flushed: false,
        intent: None,
    }
}

/// The next waiting send of `run`, reading ahead from the store as needed.
fn next_waiting(store: &Store, run: &mut Run) -> atende_data::Result<Option<ContactId>> {
    if run.ahead.is_empty() && !run.read_all {
        let sends =
            store.campaign_sends(run.campaign.id, Some(SendState::Queued), run.cursor, BATCH)?;
        run.read_all = sends.len() < BATCH;
        run.cursor = sends.last().map(|s| s.contact_id).or(run.cursor);
        run.ahead.extend(sends.iter().map(|s| s.contact_id));
    }
    Ok(run.ahead.pop_front())
}

impl Actor for Campaigns {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TICK, |actor, ctx| actor.tick(ctx));
    }
}

impl Handler<Review> for Campaigns {
    type Result = ();

    fn handle(&mut self, _: Review, ctx: &mut Context<Self>) {
        self.review();
        self.tick(ctx);
    }
}
