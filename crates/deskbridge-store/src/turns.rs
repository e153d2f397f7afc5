//! Whose transaction goes next on SQLite's one writer connection.
//!
//! Every write queues for the same connection, in arrival order: a group commit
//! of events, whose senders are waiting for their 202, queued behind every
//! worker's step transaction that arrived before it (a claim, a step's outcome,
//! the built-in CRM's records), and under load that wait was longer than the
//! commit itself (BENCHMARKS.md, "Durable ingest": 8.8 ms of waiting for 6.4 ms
//! of work per commit). So a transaction passes a [`Turnstile`] before it asks
//! the pool for the connection, and an acknowledgement or a screen pop waiting
//! there goes before every ordinary write waiting there. Only the one that passed waits in
//! the pool, so an acknowledgement (or a pop) waits for at most the transaction running and
//! the one about to run; ordinary writes still get every other turn when
//! commits come back to back, so steps are slowed, never starved.
//!
//! PostgreSQL has no such queue (its pool has many connections, and a commit
//! waits for its calls' locks only), and ignores the turn.

use std::collections::VecDeque;
use std::sync::Arc;

use deskbridge_core::Step;
use tokio::sync::oneshot;

/// What a write transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Events whose senders wait for their acknowledgement.
    Acknowledgement,
    /// A screen pop's claim or outcome: an agent's phone is ringing, and a pop
    /// never waits behind bulk work (DESIGN.md, invariant 4).
    Pop,
    /// Everything else: steps, records, housekeeping.
    Ordinary,
}

impl Turn {
    /// The turn of a step's outcome.
    pub(crate) fn of_step(step: Step) -> Turn {
        Turn::of_steps(std::iter::once(step))
    }

    /// The turn of several steps' outcomes written together: a pop's only
    /// when all of them are pops (a batch never jumps ahead for a step that
    /// is not).
    pub(crate) fn of_steps(mut steps: impl Iterator<Item = Step>) -> Turn {
        if steps.all(|s| s == Step::Pop) {
            Turn::Pop
        } else {
            Turn::Ordinary
        }
    }

    /// The turn of a claim of `only` that kind of step (any, with `None`).
    pub(crate) fn of_claim(only: Option<Step>) -> Turn {
        only.map_or(Turn::Ordinary, Turn::of_step)
    }
}

/// The gate in front of the writer's pool: one holder at a time, and the next
/// is the longest-waiting acknowledgement or pop, else the longest-waiting
/// ordinary write.
#[derive(Default)]
pub(crate) struct Turnstile {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: std::sync::Mutex<Queues>,
}

#[derive(Default)]
struct Queues {
    /// Someone holds the gate.
    held: bool,
    urgent: VecDeque<oneshot::Sender<Passed>>,
    ordinary: VecDeque<oneshot::Sender<Passed>>,
}

/// The gate, held until dropped; then it goes to the next in line.
pub(crate) struct Passed {
    /// `None` once handed on (or for a gate that was never held).
    inner: Option<Arc<Inner>>,
}

impl Drop for Passed {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.hand_on();
        }
    }
}

impl Inner {
    fn queues(&self) -> std::sync::MutexGuard<'_, Queues> {
        // The queues stay whole whatever panicked while holding them: every
        // change to them is one push or pop.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Gives the gate to the next waiter still waiting, or leaves it open.
    fn hand_on(self: Arc<Self>) {
        let mut queues = self.queues();
        loop {
            let next = queues
                .urgent
                .pop_front()
                .or_else(|| queues.ordinary.pop_front());
            let Some(next) = next else {
                queues.held = false;
                return;
            };
            let passed = Passed {
                inner: Some(self.clone()),
            };
            match next.send(passed) {
                Ok(()) => return,
                // That waiter gave up (its future was dropped): the gate is
                // still this one's to give, so it is not handed on from here.
                Err(mut unsent) => drop(unsent.inner.take()),
            }
        }
    }
}

impl Turnstile {
    /// Waits for this turn at the gate. Hold what it returns until the pool has
    /// given the connection, then drop it.
    pub(crate) async fn pass(&self, turn: Turn) -> Passed {
        let waiting = {
            let mut queues = self.inner.queues();
            if !queues.held {
                queues.held = true;
                return Passed {
                    inner: Some(self.inner.clone()),
                };
            }
            let (sender, waiting) = oneshot::channel();
            match turn {
                Turn::Acknowledgement | Turn::Pop => queues.urgent.push_back(sender),
                Turn::Ordinary => queues.ordinary.push_back(sender),
            }
            waiting
        };
        // A waiter's sender is dropped unsent only with the turnstile itself,
        // which this borrow keeps alive; were it so, there is no gate to wait for.
        waiting.await.unwrap_or(Passed { inner: None })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn acknowledgements_and_pops_go_before_ordinary_writes_that_waited_longer() {
        let turns = Arc::new(Turnstile::default());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        // The writer is busy: someone holds the gate.
        let busy = turns.pass(Turn::Ordinary).await;
        let mut waiting = Vec::new();
        for (name, turn) in [
            ("step 1", Turn::Ordinary),
            ("step 2", Turn::Ordinary),
            ("events", Turn::Acknowledgement),
            ("pop", Turn::of_step(Step::Pop)),
            ("step 3", Turn::of_claim(None)),
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
        assert_eq!(
            order,
            ["events", "pop", "step 1", "step 2", "step 3"],
            "the urgent ones first, each kind in its order of arrival"
        );
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_does_not_keep_the_gate() {
        let turns = Arc::new(Turnstile::default());
        let busy = turns.pass(Turn::Ordinary).await;
        let gone = {
            let turns = turns.clone();
            tokio::spawn(async move {
                let _passed = turns.pass(Turn::Acknowledgement).await;
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        gone.abort();
        let next = {
            let turns = turns.clone();
            tokio::spawn(async move {
                let _passed = turns.pass(Turn::Ordinary).await;
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(busy);
        tokio::time::timeout(Duration::from_secs(5), next)
            .await
            .expect("the next waiter passed")
            .unwrap();
        // And the gate is open again.
        tokio::time::timeout(Duration::from_secs(5), turns.pass(Turn::Ordinary))
            .await
            .expect("the gate was left open");
    }
}
