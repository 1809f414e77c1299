//! Group commit: one thread turns every pending "make it durable" request into one flush.
//!
//! A waiter registers after its write has returned; the flusher takes every waiter queued
//! so far, calls `db.flush()` once (which covers all their writes), then wakes them all.
//! sled 0.34's `flush_async` stalls under concurrency (ARCHITECTURE.md), hence the thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use tokio::sync::oneshot;

use crate::{Error, Result};

type Waiter = oneshot::Sender<Result<(), Arc<sled::Error>>>;

/// Handle to the group-commit thread; dropping it ends and joins the thread, so that the
/// database (and its directory lock) is released when the store is dropped.
pub(crate) struct Flusher {
    /// Set once a write or flush failed on the disk (full, or failing): sled keeps such an
    /// error until the database is opened again, so it stays set.
    failing: Arc<AtomicBool>,
    waiters: Option<mpsc::Sender<Waiter>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Flusher {
    /// Starts the flusher thread for `db`.
    pub(crate) fn spawn(db: sled::Db) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Waiter>();
        let failing = Arc::new(AtomicBool::new(false));
        let failed = failing.clone();
        let thread = thread::Builder::new()
            .name("atende-flusher".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter());
                    let result = db.flush().map(drop).map_err(Arc::new);
                    if let Err(error) = &result {
                        failed.store(true, Ordering::Relaxed);
                        tracing::error!(%error, waiters = batch.len(), "database flush failed");
                    }
                    for waiter in batch {
                        // The waiter may have given up (its request was cancelled): fine.
                        let _ = waiter.send(result.clone());
                    }
                }
            })?;
        Ok(Flusher {
            failing,
            waiters: Some(tx),
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

    /// Resolves once a flush that began after this call has completed.
    pub(crate) async fn durable(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let waiters = self.waiters.as_ref().ok_or(Error::Closed)?;
        waiters.send(tx).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?.map_err(Error::Flush)
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.waiters.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
