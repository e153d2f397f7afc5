//! A worker's lease on the step it runs, and the fence that keeps a step that
//! lost its lease from writing to the helpdesk.
//!
//! A claimed step is leased for `jobs.lease_seconds`; once the lease has run out,
//! another worker (here or in another instance) takes the step over and runs it
//! again. The lease is renewed beside the step, but a renewal can come late (a
//! store slow under load) or be refused (the lease ran out and was taken). The
//! first worker must then stop before its next write, or one call's comment lands
//! twice: the take-over's look for the earlier try (the comment's `deskbridge
//! ref:` line) races a write still in flight. The chaos run with three
//! PostgreSQL instances found exactly that (BENCHMARKS.md, "Chaos runs").
//!
//! So the worker keeps its own conservative clock of the lease: it surely holds
//! the lease until the start of the last successful renewal (or of the claim)
//! plus the lease's length, a moment taken before the store stamped its
//! `lease_until`. The step is dropped, as if the process had died (every step is
//! safe to run again), once that moment passes or the store refuses a renewal;
//! and a write to the helpdesk starts only with at least half a lease ahead,
//! renewing first when less is left.
//!
//! What no lease can fence: a write already sent when the step is dropped may
//! still land. The take-over claims only after the store's lease ran out (later
//! than this clock's) and must then reach the same write, so that window is the
//! helpdesk's time to answer one request.
//!
//! The store stamps `lease_until` with this instance's clock and another
//! instance compares it with its own: instances' clocks must agree to well
//! within half a lease (NTP does; the default lease is 30 s).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use deskbridge_core::ports::HelpdeskError;
use deskbridge_store::{ClaimedStep, JobQueue, StoreError};
use tokio::time::Instant;

/// The lease on one claimed step, as this worker knows it.
pub struct StepLease<'a> {
    store: &'a dyn JobQueue,
    step: &'a ClaimedStep,
    lease: Duration,
    held_until: Mutex<Instant>,
}

impl<'a> StepLease<'a> {
    /// The lease a claim took that started at `claimed_from`.
    pub fn claimed(
        store: &'a dyn JobQueue,
        step: &'a ClaimedStep,
        lease: Duration,
        claimed_from: Instant,
    ) -> Self {
        StepLease {
            store,
            step,
            lease,
            held_until: Mutex::new(claimed_from + lease),
        }
    }

    /// Until when the lease is surely still this worker's.
    fn held_until(&self) -> Instant {
        *self
            .held_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn remaining(&self) -> Duration {
        self.held_until().saturating_duration_since(Instant::now())
    }

    /// Extends the lease in the store; false if another worker has it now.
    async fn renew(&self) -> Result<bool, StoreError> {
        let from = Instant::now();
        let held = self.store.extend_lease(self.step, self.lease).await?;
        if held {
            let mut until = self
                .held_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *until = (*until).max(from + self.lease);
        }
        Ok(held)
    }

    /// Called before each request that writes to the helpdesk: passes while at
    /// least half the lease is ahead, renewing first when less is left. A
    /// refusal is a transient error; recording it finds the lease gone, so the
    /// step's new owner alone decides what happens next.
    pub async fn before_write(&self) -> Result<(), HelpdeskError> {
        let margin = self.lease / 2;
        if self.remaining() >= margin {
            return Ok(());
        }
        match self.renew().await {
            Ok(true) if self.remaining() >= margin => Ok(()),
            Ok(_) => Err(HelpdeskError::Transient(
                "the step's lease ran out before a write to the helpdesk; \
                 the worker that holds it now runs the step"
                    .into(),
            )),
            Err(e) => Err(HelpdeskError::Transient(format!(
                "cannot renew the step's lease before a write to the helpdesk: {e}"
            ))),
        }
    }

    /// Runs `work` while renewing the lease every third of its length. `None`
    /// when the lease was lost first: `work` was dropped at its next await.
    ///
    /// The renewal runs beside the step, never instead of it: both futures are
    /// polled together, so a renewal waiting for the store's writer never parks
    /// the step. (On SQLite the writer is one connection; a step of the built-in
    /// CRM writes through it too. Renewing in a `select!` arm's body stopped
    /// polling the step while it held or waited for that connection, and the two
    /// waited on each other until the pool's 30 s acquire timeout.)
    pub async fn keep_while<T>(&self, work: impl std::future::Future<Output = T>) -> Option<T> {
        let keep = async {
            let mut tick = tokio::time::interval((self.lease / 3).max(Duration::from_millis(200)));
            // After a slow renewal, wait a whole period again instead of renewing
            // in a burst.
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate
            loop {
                let renewed = tokio::select! {
                    renewed = async {
                        tick.tick().await;
                        self.renew().await
                    } => renewed,
                    _ = tokio::time::sleep_until(self.held_until()) => {
                        // A write's own renewal may have moved the deadline.
                        match Instant::now() >= self.held_until() {
                            true => return,
                            false => continue,
                        }
                    }
                };
                match renewed {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => tracing::warn!(error = %e, "cannot extend the step's lease"),
                }
            }
        };
        tokio::select! {
            biased;
            out = work => Some(out),
            () = keep => {
                tracing::warn!(
                    "lost the step's lease while running it; stopped it before its next \
                     write, and the worker that holds the lease now runs it"
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskbridge_core::{CallEvent, CallPlan, Direction, EventKind, Phone};
    use deskbridge_store::{GroupEvent, Journal, SqliteStore};

    /// A store with one answered call whose first step `owner` has claimed.
    async fn claimed(
        owner: &str,
        lease: Duration,
    ) -> (SqliteStore, ClaimedStep, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let at = chrono::Utc::now();
        let events: Vec<GroupEvent> = [("c1-1", EventKind::Ringing), ("c1-2", EventKind::Answered)]
            .into_iter()
            .map(|(id, kind)| {
                let mut event = CallEvent::new(id, "c1", kind, at);
                event.direction = Some(Direction::Inbound);
                event.from = Some(Phone::E164("+14155550100".into()));
                GroupEvent {
                    group: "support".into(),
                    plan: CallPlan::default(),
                    event,
                    callback_triggers: Default::default(),
                }
            })
            .collect();
        store.ingest(&events).await.unwrap();
        let step = store.claim_step(owner, lease).await.unwrap().unwrap();
        (store, step, dir)
    }

    /// A step of the built-in CRM writes through SQLite's one writer connection
    /// while its lease is renewed through the same connection: neither may wait
    /// for the other. (Before the fix, the renewal stopped polling the step while
    /// it held or queued for the connection, and both waited 30 s for the pool.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn renewing_the_lease_never_parks_a_step_that_writes() {
        use deskbridge_store::CrmStore;
        use deskbridge_store::crm::{ContactFields, Page};
        // A lease renewed every 500 ms (a third of it), under a step that keeps
        // the writer busy for longer than that. (A 300 ms lease, renewed every
        // 200 ms, left 100 ms for a renewal queued behind the step's writes: on
        // a loaded machine that ran out, and the test failed for the wrong
        // reason.)
        let lease = Duration::from_millis(1500);
        let claimed_from = Instant::now();
        let (store, step, _dir) = claimed("w", lease).await;
        let crm = store.crm("builtin");
        let work = async {
            for i in 0..1000 {
                let fields = ContactFields {
                    name: format!("Caller {i}"),
                    email: None,
                    phones: vec![format!("+1415555{i:04}")],
                    organization_id: None,
                    custom_fields: Default::default(),
                };
                crm.insert_contact(&fields, None).await.unwrap();
            }
            crm.contacts(
                None,
                Page {
                    after: None,
                    limit: 2000,
                },
            )
            .await
            .unwrap()
            .len()
        };
        let started = std::time::Instant::now();
        let held = StepLease::claimed(&store, &step, lease, claimed_from);
        let made = tokio::time::timeout(Duration::from_secs(20), held.keep_while(work))
            .await
            .expect("the step finished while its lease was renewed")
            .expect("the lease was kept");
        assert_eq!(made, 1000, "every contact of the step was written");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "took {:?}",
            started.elapsed()
        );
    }

    /// The chaos run's doubled comments: a worker whose lease ran out and was
    /// taken over must neither write nor go on running the step.
    #[tokio::test]
    async fn a_step_taken_over_by_another_worker_stops_and_writes_nothing() {
        let lease = Duration::from_millis(300);
        let claimed_from = Instant::now();
        let (store, stale, _dir) = claimed("slow", lease).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let taken = store.claim_step("alive", lease).await.unwrap().unwrap();
        assert_eq!(taken.job_id, stale.job_id, "the step was taken over");

        let held = StepLease::claimed(&store, &stale, lease, claimed_from);
        let refused = held.before_write().await.unwrap_err();
        assert!(
            refused.to_string().contains("lease ran out"),
            "refused with: {refused}"
        );
        // A step still running is dropped, not waited for.
        let ran = tokio::time::timeout(
            Duration::from_secs(5),
            held.keep_while(std::future::pending::<()>()),
        )
        .await
        .expect("the step was stopped");
        assert_eq!(ran, None);
    }

    /// A step whose renewals came late renews before writing, and writes
    /// while the store still says the lease is its own.
    #[tokio::test]
    async fn a_write_with_little_lease_left_renews_it_first() {
        let lease = Duration::from_millis(600);
        let (store, step, _dir) = claimed("w", lease).await;
        // As if the claim had started 500 ms ago: 100 ms left by this clock.
        let held = StepLease::claimed(
            &store,
            &step,
            lease,
            Instant::now() - Duration::from_millis(500),
        );
        held.before_write().await.expect("the lease is still ours");
        assert!(
            held.remaining() > lease / 2,
            "renewed: {:?} left",
            held.remaining()
        );
        // Nobody else can take the step meanwhile.
        assert!(store.claim_step("other", lease).await.unwrap().is_none());
    }
}
