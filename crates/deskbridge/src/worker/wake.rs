//! Waking the idle workers one at a time.
//!
//! A change that queues work (`Change::Work`: an ingest commit, a finished step)
//! used to wake every idle worker, and each asked the store for a step: one
//! found it, the others asked for nothing, dozens of times a second under load,
//! on the same two cores and (before the claim's check on a reader) the same
//! writer as the commits. Now a change wakes one worker; a worker that claimed a
//! step wakes the next, since there may be more (so a burst of steps still
//! reaches every worker, one claim apart); a worker that found nothing wakes
//! nobody. The pop workers hear every change that queues a pop (`Change::Pop`),
//! and only those: a pop must not wait for the chain to reach it, and the pop
//! workers looking for a pop at every step queued were most of the claims'
//! reads on PostgreSQL (BENCHMARKS.md, "Durable ingest").

use std::sync::Arc;

use deskbridge_store::Change;
use tokio::sync::{Notify, broadcast, watch};

/// The idle workers' bell.
#[derive(Default)]
pub(super) struct Wakeup {
    bell: Notify,
}

impl Wakeup {
    /// Rings once per change that queued work (or changes missed), until `stop`.
    pub(super) fn listen(
        mut changes: broadcast::Receiver<Change>,
        mut stop: watch::Receiver<bool>,
    ) -> Arc<Wakeup> {
        let wakeup = Arc::new(Wakeup::default());
        let bell = wakeup.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    change = changes.recv() => match change {
                        Ok(Change::Work | Change::Missed)
                        | Err(broadcast::error::RecvError::Lagged(_)) => {
                            bell.ring()
                        }
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                    _ = stop.changed() => return,
                }
            }
        });
        wakeup
    }

    /// Wakes one idle worker; with none idle, the next to go idle looks once more.
    pub(super) fn ring(&self) {
        self.bell.notify_one();
    }
}

/// What wakes one idle worker.
pub(super) enum Bell {
    /// The live workers' shared bell.
    Shared(Arc<Wakeup>),
    /// Every change that queues work (the bulk workers).
    Own(broadcast::Receiver<Change>),
    /// Every change that queues a screen pop (the pop workers).
    Pops(broadcast::Receiver<Change>),
}

impl Bell {
    /// Until there may be work.
    pub(super) async fn wait(&mut self) {
        match self {
            Bell::Shared(wakeup) => wakeup.bell.notified().await,
            Bell::Own(changes) => loop {
                match changes.recv().await {
                    Ok(Change::Work) => return,
                    Ok(_) => continue,
                    // Missed some: look for work anyway.
                    Err(_) => return,
                }
            },
            Bell::Pops(changes) => loop {
                match changes.recv().await {
                    Ok(Change::Pop | Change::Missed) => return,
                    Ok(_) => continue,
                    Err(_) => return,
                }
            },
        }
    }

    /// This worker claimed a step: there may be more, so the next idle worker
    /// looks.
    pub(super) fn found_work(&self) {
        if let Bell::Shared(wakeup) = self {
            wakeup.ring();
        }
    }
}
