//! Group commit: one thread applies every queued write as one group, and turns every
//! queued "make it durable" request into one flush.
//!
//! A [`Flusher::durable`] waiter registers after its write has returned; a
//! [`Flusher::commit`] hands its write over. In each round the thread takes every job
//! queued so far and applies their writes as one group (one journal record, see
//! write.rs), then those queued meanwhile as another (up to [`ROUND_GROUPS`]), calls
//! `db.flush()` once (which covers all the writes of all the jobs), then answers them all.
//! sled 0.34's `flush_async` stalls under concurrency (ARCHITECTURE.md), hence the thread.
//!
//! Why writes are grouped too: the actors' one thread hands its writes over and goes on
//! with other chats while they are applied and flushed; and a group shares one journal
//! record and one read and write of each report counter.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use tokio::sync::oneshot;

use crate::write::{Write, Writer};
use crate::{Error, Result};

type Flushed = Result<(), Arc<sled::Error>>;
/// Who waits for a write: told whether it was committed and then whether it was flushed.
type Committer = oneshot::Sender<Result<Flushed>>;

/// What the thread is asked to do.
enum Job {
    /// Answer once a flush that began after this was queued has completed.
    Durable(oneshot::Sender<Flushed>),
    /// Commit this write, then answer with the commit's and the flush's results.
    Commit(Box<Write>, Committer),
}

/// Groups at most before a round's flush (fewer in the unit tests, so that their
/// concurrent writers reach the limit).
const ROUND_GROUPS: usize = if cfg!(test) { 2 } else { 4 };

/// Who waits for one round's flush: waiters, and committers with their group's result.
#[derive(Default)]
struct Round {
    waiters: Vec<oneshot::Sender<Flushed>>,
    committed: Vec<(Committer, Result<(), sled::Error>)>,
}

impl Round {
    /// Keeps the durable waiters of `jobs` and answers writes that could not be built;
    /// gives the other writes, with who waits for each.
    fn sort(&mut self, jobs: Vec<Job>) -> (Vec<Write>, Vec<Committer>) {
        let mut writes = Vec::new();
        let mut committers = Vec::new();
        for job in jobs {
            match job {
                Job::Durable(waiter) => self.waiters.push(waiter),
                Job::Commit(mut write, waiter) => match write.take_error() {
                    Some(error) => drop(waiter.send(Err(error))),
                    None => {
                        writes.push(*write);
                        committers.push(waiter);
                    }
                },
            }
        }
        (writes, committers)
    }

    /// Answers everyone once the round's flush is done.
    fn answer(self, flushed: Flushed) {
        // A waiter may have given up (its request was cancelled): fine.
        for (waiter, committed) in self.committed {
            let result = committed.map_err(Error::Storage);
            let _ = waiter.send(result.map(|()| flushed.clone()));
        }
        for waiter in self.waiters {
            let _ = waiter.send(flushed.clone());
        }
    }
}

/// Handle to the group-commit thread; dropping it ends and joins the thread, so that the
/// database (and its directory lock) is released when the store is dropped.
pub(crate) struct Flusher {
    /// Set once a write or flush failed on the disk (full, or failing): sled keeps such an
    /// error until the database is opened again, so it stays set.
    failing: Arc<AtomicBool>,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Flusher {
    /// Starts the thread for `db`; it commits writes with `writer` (the bare benchmark
    /// database has none and only flushes).
    pub(crate) fn spawn(db: sled::Db, writer: Option<Arc<Writer>>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let failing = Arc::new(AtomicBool::new(false));
        let failed = failing.clone();
        let thread = thread::Builder::new()
            .name("atende-flusher".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut round = Round::default();
                    let mut jobs: Vec<Job> = std::iter::once(first).chain(rx.try_iter()).collect();
                    let mut groups = 0;
                    // Writes queued while a group was applied join this round's flush in one
                    // more group (a few at most, so that the flush is not put off).
                    // Every job taken from the queue is sorted before the loop can end.
                    loop {
                        let (mut writes, committers) = round.sort(jobs);
                        if writes.is_empty() {
                            break;
                        }
                        let committed = match &writer {
                            Some(writer) => writer.commit(&mut writes),
                            None => Err(sled::Error::Unsupported(
                                "this database takes no writes".into(),
                            )),
                        };
                        if let Err(error) = &committed {
                            if matches!(error, sled::Error::Io(_)) {
                                failed.store(true, Ordering::Relaxed);
                            }
                            tracing::error!(%error, writes = writes.len(), "a group commit failed");
                        }
                        let answers = committers.into_iter().map(|c| (c, committed.clone()));
                        round.committed.extend(answers);
                        groups += 1;
                        if groups == ROUND_GROUPS {
                            break;
                        }
                        jobs = rx.try_iter().collect();
                    }
                    let flushed = db.flush().map(drop).map_err(Arc::new);
                    if let Err(error) = &flushed {
                        failed.store(true, Ordering::Relaxed);
                        tracing::error!(%error, waiters = round.waiters.len(), "database flush failed");
                    }
                    round.answer(flushed);
                }
            })?;
        Ok(Flusher {
            failing,
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    /// Whether a write or flush has failed on the disk.
    pub(crate) fn failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// Notes a write that failed on the disk.
    pub(crate) fn mark_failing(&self) {
        self.failing.store(true, Ordering::Relaxed);
    }

    fn send(&self, job: Job) -> Result<()> {
        let jobs = self.jobs.as_ref().ok_or(Error::Closed)?;
        jobs.send(job).map_err(|_| Error::Closed)
    }

    /// Resolves once a flush that began after this call has completed.
    pub(crate) async fn durable(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Durable(tx))?;
        rx.await.map_err(|_| Error::Closed)?.map_err(Error::Flush)
    }

    /// Commits `write` in the next group; see [`crate::Store::commit_grouped`].
    pub(crate) async fn commit(&self, write: Write) -> Result<Result<()>> {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Commit(Box::new(write), tx))?;
        Ok(rx.await.map_err(|_| Error::Closed)??.map_err(Error::Flush))
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
