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
                        Ok(change) if !Hears::Steps.woken_by(&change) => {}
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => bell.ring(),
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

/// Which changes may mean work for a worker.
#[derive(Debug, Clone, Copy)]
pub(super) enum Hears {
    /// A step became runnable (any kind).
    Steps,
    /// A screen pop became runnable.
    Pops,
}

impl Hears {
    /// Whether `change` may mean work: one of these became runnable, or this
    /// instance missed changes (a lost listener) and looks anyway.
    fn woken_by(self, change: &Change) -> bool {
        matches!(
            (self, change),
            (_, Change::Missed) | (Hears::Steps, Change::Work) | (Hears::Pops, Change::Pop)
        )
    }
}

/// What wakes one idle worker.
pub(super) enum Bell {
    /// The live workers' shared bell.
    Shared(Arc<Wakeup>),
    /// Every change that may mean work of that kind (the pop and bulk workers).
    Own(broadcast::Receiver<Change>, Hears),
}

impl Bell {
    /// Until there may be work.
    pub(super) async fn wait(&mut self) {
        match self {
            Bell::Shared(wakeup) => wakeup.bell.notified().await,
            Bell::Own(changes, hears) => loop {
                match changes.recv().await {
                    Ok(change) if !hears.woken_by(&change) => continue,
                    // Missed some: look for work anyway.
                    Ok(_) | Err(_) => return,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pop_workers_wake_for_pops_and_the_others_for_any_step() {
        let call = Change::Call {
            group: "support".into(),
            call_id: "c1".into(),
        };
        assert!(Hears::Pops.woken_by(&Change::Pop));
        assert!(
            !Hears::Pops.woken_by(&Change::Work),
            "a comment is not a pop"
        );
        assert!(Hears::Steps.woken_by(&Change::Work));
        assert!(
            !Hears::Steps.woken_by(&Change::Pop),
            "a pop is announced with Work; Work alone wakes them"
        );
        for hears in [Hears::Steps, Hears::Pops] {
            assert!(
                hears.woken_by(&Change::Missed),
                "{hears:?} looks after a lost listener"
            );
            assert!(
                !hears.woken_by(&call),
                "{hears:?} sleeps through a call's change"
            );
        }
    }
}
