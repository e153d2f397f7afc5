//! Whose transaction goes next on SQLite's one writer connection.
//!
//! Every write queues for the same connection, in arrival order: a group commit
//! of events, whose senders are waiting for their 202, queued behind every
//! worker's step transaction that arrived before it (a claim, a step's outcome,
//! the built-in CRM's records), and under load that wait was longer than the
//! commit itself (BENCHMARKS.md, "Durable ingest": 8.8 ms of waiting for 6.4 ms
//! of work per commit). So a transaction passes a [`Turnstile`] before it asks
//! the pool for the connection, and an acknowledgement waiting there goes
//! before every ordinary write waiting there. Only the one that passed waits in
//! the pool, so an acknowledgement waits for at most the transaction running and
//! the one about to run; ordinary writes still get every other turn when
//! commits come back to back, so steps are slowed, never starved.
//!
//! PostgreSQL has no such queue (its pool has many connections, and a commit
//! waits for its calls' locks only), and ignores the turn.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, MutexGuard, Notify};

/// What a write transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Events whose senders wait for their acknowledgement.
    Acknowledgement,
    /// Everything else: steps, records, housekeeping.
    Ordinary,
}

/// The gate in front of the writer's pool.
#[derive(Default)]
pub(crate) struct Turnstile {
    gate: Mutex<()>,
    /// Acknowledgements waiting at the gate.
    urgent: AtomicUsize,
    /// Rung when no acknowledgement waits any more.
    clear: Notify,
}

impl Turnstile {
    /// Waits for this turn at the gate. Hold the guard until the pool has given
    /// the connection, then drop it.
    pub(crate) async fn pass(&self, turn: Turn) -> MutexGuard<'_, ()> {
        if turn == Turn::Acknowledgement {
            self.urgent.fetch_add(1, Ordering::SeqCst);
            let passed = self.gate.lock().await;
            if self.urgent.fetch_sub(1, Ordering::SeqCst) == 1 {
                self.clear.notify_waiters();
            }
            return passed;
        }
        loop {
            let clear = self.clear.notified();
            tokio::pin!(clear);
            // Registered before looking, so a ring between the look and the
            // wait is not missed.
            clear.as_mut().enable();
            if self.urgent.load(Ordering::SeqCst) > 0 {
                clear.await;
                continue;
            }
            let passed = self.gate.lock().await;
            if self.urgent.load(Ordering::SeqCst) == 0 {
                return passed;
            }
            // An acknowledgement arrived while this waited: it goes first.
            drop(passed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn an_acknowledgement_goes_before_ordinary_writes_that_waited_longer() {
        let turns = Arc::new(Turnstile::default());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        // The writer is busy: someone holds the gate.
        let busy = turns.pass(Turn::Ordinary).await;
        let mut waiting = Vec::new();
        for (name, turn) in [
            ("step 1", Turn::Ordinary),
            ("step 2", Turn::Ordinary),
            ("events", Turn::Acknowledgement),
        ] {
            let (turns, order) = (turns.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let _passed = turns.pass(turn).await;
                order.lock().unwrap().push(name);
            }));
            // Each is waiting before the next arrives.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(busy);
        for w in waiting {
            w.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(order[0], "events", "went in this order: {order:?}");
        assert_eq!(order.len(), 3, "every write got its turn");
    }
}
