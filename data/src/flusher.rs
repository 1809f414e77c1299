//! Group commit, in two threads that work at once: `atende-writer` applies every queued
//! write as one group, and `atende-flusher` turns every "make it durable" request, and
//! every group applied, into one flush.
//!
//! A [`Flusher::durable`] waiter goes straight to the flushing thread after its write has
//! returned. A [`Flusher::commit`] hands its write to the writing thread, which takes every
//! write queued so far, applies them as one group (one journal record, see write.rs) and
//! passes the group's committers on. The flushing thread takes everything passed on so
//! far, calls `db.flush()` once (which covers every write applied before it began), then
//! answers them all. While it flushes, the writing thread applies the next group: sled
//! lets plain writes run during a flush. sled 0.34's `flush_async` stalls under
//! concurrency (docs/ARCHITECTURE.md, "Durability"), hence the threads.
//!
//! Why writes are handed over at all: the actors' one thread goes on with other chats while
//! a customer's message is applied and flushed, and a group shares one journal record and
//! one read and write of each report counter.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use tokio::sync::oneshot;

use crate::write::{Write, Writer};
use crate::{Error, Result};

type Flushed = Result<(), Arc<sled::Error>>;
/// Who waits for a write: told whether it was applied and then whether it was flushed.
type Committer = oneshot::Sender<Result<Flushed>>;

/// Who waits for the next flush.
enum Waiting {
    /// Answer once a flush that began after this was queued has completed.
    Durable(oneshot::Sender<Flushed>),
    /// A group's writers, with whether the group was applied.
    Group(Vec<Committer>, Result<(), sled::Error>),
}

impl Waiting {
    fn answer(self, flushed: &Flushed) {
        // A waiter may have given up (its request was cancelled): fine.
        match self {
            Waiting::Durable(waiter) => drop(waiter.send(flushed.clone())),
            Waiting::Group(committers, applied) => {
                for committer in committers {
                    let result = applied.clone().map_err(Error::Storage);
                    let _ = committer.send(result.map(|()| flushed.clone()));
                }
            }
        }
    }
}

/// Handle to the group-commit threads; dropping it ends and joins them, so that the
/// database (and its directory lock) is released when the store is dropped.
pub(crate) struct Flusher {
    /// Set once a write or flush failed on the disk (full, or failing): sled keeps such an
    /// error until the database is opened again, so it stays set.
    failing: Arc<AtomicBool>,
    /// To the writing thread (none for the bare benchmark database, which takes no writes).
    writes: Option<mpsc::Sender<(Box<Write>, Committer)>>,
    waiting: Option<mpsc::Sender<Waiting>>,
    /// The writing thread first: it ends before the flushing one it passes groups on to.
    threads: Vec<thread::JoinHandle<()>>,
}

impl Flusher {
    /// Starts the threads for `db`; writes are applied with `writer` (the bare benchmark
    /// database has none and only flushes).
    pub(crate) fn spawn(db: sled::Db, writer: Option<Arc<Writer>>) -> std::io::Result<Self> {
        let failing = Arc::new(AtomicBool::new(false));
        let (waiting, flushes) = mpsc::channel::<Waiting>();
        let failed = failing.clone();
        let flushing = thread::Builder::new()
            .name("atende-flusher".into())
            .spawn(move || {
                while let Ok(first) = flushes.recv() {
                    let batch: Vec<Waiting> =
                        std::iter::once(first).chain(flushes.try_iter()).collect();
                    let flushed = db.flush().map(drop).map_err(Arc::new);
                    if let Err(error) = &flushed {
                        failed.store(true, Ordering::Relaxed);
                        tracing::error!(%error, waiting = batch.len(), "database flush failed");
                    }
                    for waiting in batch {
                        waiting.answer(&flushed);
                    }
                }
            })?;
        let mut threads = Vec::new();
        let writes = match writer {
            Some(writer) => {
                let (writes, queued) = mpsc::channel();
                let failed = failing.clone();
                let applied = waiting.clone();
                threads.push(
                    thread::Builder::new()
                        .name("atende-writer".into())
                        .spawn(move || apply_groups(&writer, &queued, &applied, &failed))?,
                );
                Some(writes)
            }
            None => None,
        };
        threads.push(flushing);
        Ok(Flusher {
            failing,
            writes,
            waiting: Some(waiting),
            threads,
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

    /// Resolves once a flush that began after this call has completed.
    pub(crate) async fn durable(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let waiting = self.waiting.as_ref().ok_or(Error::Closed)?;
        waiting
            .send(Waiting::Durable(tx))
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?.map_err(Error::Flush)
    }

    /// Applies `write` in the next group; see [`crate::Store::commit_grouped`].
    pub(crate) async fn commit(&self, write: Write) -> Result<Result<()>> {
        let (tx, rx) = oneshot::channel();
        let writes = self.writes.as_ref().ok_or(Error::Closed)?;
        writes
            .send((Box::new(write), tx))
            .map_err(|_| Error::Closed)?;
        Ok(rx.await.map_err(|_| Error::Closed)??.map_err(Error::Flush))
    }
}

/// The writing thread: applies what is queued as one group and passes its committers on
/// to the flushing thread, until the store is dropped.
fn apply_groups(
    writer: &Writer,
    queued: &mpsc::Receiver<(Box<Write>, Committer)>,
    applied: &mpsc::Sender<Waiting>,
    failed: &AtomicBool,
) {
    while let Ok(first) = queued.recv() {
        let mut writes = Vec::new();
        let mut committers = Vec::new();
        for (mut write, committer) in std::iter::once(first).chain(queued.try_iter()) {
            match write.take_error() {
                Some(error) => drop(committer.send(Err(error))),
                None => {
                    writes.push(*write);
                    committers.push(committer);
                }
            }
        }
        if writes.is_empty() {
            continue;
        }
        let result = writer.commit(&mut writes);
        if let Err(error) = &result {
            if matches!(error, sled::Error::Io(_)) {
                failed.store(true, Ordering::Relaxed);
            }
            tracing::error!(%error, writes = writes.len(), "a group commit failed");
        }
        if applied.send(Waiting::Group(committers, result)).is_err() {
            return;
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.writes.take();
        self.waiting.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
