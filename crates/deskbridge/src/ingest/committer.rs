//! The commit batcher: plumbing between the adapters and the store, no decision.
//!
//! Every commit path (`crate::ingest::commit`) hands its request's events to the
//! queue; a committing task takes everything that queued while its last commit was in flight
//! (as far as the store's [`GroupLimits`] admit) and commits it in one transaction
//! with [`Journal::ingest_each`]: one durable commit for many one-event requests,
//! each request answered with its own result once that commit is on disk. What may
//! share a commit, and how a failed group is answered (each request again alone),
//! is the store's rule (`deskbridge_store::group_commit`), not this module's.
//!
//! The queue is bounded by requests and by bytes: an HTTP request that finds it
//! full is refused at once ([`Busy`], a 503 with `Retry-After`), while the AMI
//! client and the backfill, which have no one to answer, wait for room.
//!
//! [`Journal::ingest_each`]: deskbridge_store::Journal::ingest_each

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deskbridge_store::group_commit::{Gathered, GroupLimits, stored_bytes};
use deskbridge_store::{GroupEvent, IngestReport, Store, StoreError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

/// The queue is full: the request was not taken (nothing was stored).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the server is at its ingest limit; retry later")]
pub struct Busy;

/// How much may wait for a commit.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Requests waiting (the one being committed excluded).
    pub max_requests: usize,
    /// Bytes of events waiting or being committed.
    pub max_bytes: usize,
}

impl Default for QueueLimits {
    /// 10,000 requests or 64 MiB: two seconds of the target rate of one-event
    /// requests, and a bound on memory whatever their size.
    fn default() -> Self {
        QueueLimits {
            max_requests: 10_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What the batcher did since it started (for the benchmark and the metrics).
#[derive(Debug, Default)]
pub struct CommitStats {
    pub commits: AtomicU64,
    pub requests: AtomicU64,
    pub events: AtomicU64,
}

struct Pending {
    events: Vec<GroupEvent>,
    bytes: usize,
    reply: oneshot::Sender<Result<IngestReport, StoreError>>,
    /// Its bytes' place in the queue, given back once answered.
    _room: OwnedSemaphorePermit,
}

/// The handle every commit path holds; the task ends when the last handle goes.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Pending>,
    room: Arc<Semaphore>,
    max_bytes: usize,
    pub stats: Arc<CommitStats>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer")
            .field("room_bytes", &self.room.available_permits())
            .finish()
    }
}

/// A request refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Committer {
    /// Starts the batcher on the current runtime: `in_flight` tasks, each
    /// gathering what queued while it was committing (one for SQLite, whose one
    /// writer commits one transaction at a time; several for PostgreSQL, where a
    /// commit waits for the server's WAL flush and other transactions can use the
    /// time). A request is in one group only, and answered from its result.
    pub fn start(
        store: Arc<dyn Store>,
        group: GroupLimits,
        queue: QueueLimits,
        in_flight: usize,
    ) -> Committer {
        let (sender, receiver) = mpsc::channel(queue.max_requests.max(1));
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let stats = Arc::new(CommitStats::default());
        for _ in 0..in_flight.max(1) {
            tokio::spawn(run(store.clone(), receiver.clone(), group, stats.clone()));
        }
        // A semaphore counts in u32 permits at most per acquire; the queue's bytes
        // are bounded within that.
        let max_bytes = queue.max_bytes.clamp(1, Semaphore::MAX_PERMITS);
        Committer {
            queue: sender,
            room: Arc::new(Semaphore::new(max_bytes)),
            max_bytes,
            stats,
        }
    }

    /// Commits the events in the next group commit, waiting for room in the queue
    /// if it is full. Returns once they are durable.
    pub async fn commit(&self, events: &[GroupEvent]) -> Result<IngestReport, StoreError> {
        let bytes = stored_bytes(events);
        let room = self
            .room
            .clone()
            .acquire_many_owned(self.permits(bytes))
            .await
            .map_err(|_| stopped())?;
        let (pending, answer) = pending(events, bytes, room);
        self.queue.send(pending).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// As [`Committer::commit`], but refused at once when the queue is full.
    pub async fn try_commit(&self, events: &[GroupEvent]) -> Result<IngestReport, CommitError> {
        let bytes = stored_bytes(events);
        let room = self
            .room
            .clone()
            .try_acquire_many_owned(self.permits(bytes))
            .map_err(|_| Busy)?;
        let (pending, answer) = pending(events, bytes, room);
        self.queue.try_send(pending).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => CommitError::Busy(Busy),
            mpsc::error::TrySendError::Closed(_) => CommitError::Store(stopped()),
        })?;
        Ok(answer.await.map_err(|_| stopped())??)
    }

    /// A request larger than the whole queue still goes, alone (its size was
    /// bounded by the request's own limits).
    fn permits(&self, bytes: usize) -> u32 {
        u32::try_from(bytes.clamp(1, self.max_bytes)).unwrap_or(u32::MAX)
    }
}

fn pending(
    events: &[GroupEvent],
    bytes: usize,
    room: OwnedSemaphorePermit,
) -> (Pending, oneshot::Receiver<Result<IngestReport, StoreError>>) {
    let (reply, answer) = oneshot::channel();
    let pending = Pending {
        events: events.to_vec(),
        bytes,
        reply,
        _room: room,
    };
    (pending, answer)
}

fn stopped() -> StoreError {
    StoreError::Invalid("the server is stopping; the events were not stored".into())
}

async fn run(
    store: Arc<dyn Store>,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Pending>>>,
    limits: GroupLimits,
    stats: Arc<CommitStats>,
) {
    // A request that did not fit this task's last group opens its next.
    let mut carried: Option<Pending> = None;
    loop {
        let (gathered, group) = {
            // One task gathers at a time; the others are committing meanwhile.
            let mut queue = queue.lock().await;
            let first = match carried.take() {
                Some(first) => first,
                None => match queue.recv().await {
                    Some(first) => first,
                    None => return,
                },
            };
            let mut gathered = Gathered::default().with(first.events.len(), first.bytes);
            let mut group = vec![first];
            while let Ok(next) = queue.try_recv() {
                if !limits.admits(gathered, next.events.len(), next.bytes) {
                    carried = Some(next);
                    break;
                }
                gathered = gathered.with(next.events.len(), next.bytes);
                group.push(next);
            }
            (gathered, group)
        };
        let requests: Vec<&[GroupEvent]> = group.iter().map(|p| p.events.as_slice()).collect();
        let results = store.ingest_each(&requests).await;
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats
            .requests
            .fetch_add(gathered.members as u64, Ordering::Relaxed);
        stats
            .events
            .fetch_add(gathered.events as u64, Ordering::Relaxed);
        metrics::histogram!("deskbridge_group_commit_requests").record(gathered.members as f64);
        metrics::histogram!("deskbridge_group_commit_events").record(gathered.events as f64);
        for (pending, result) in group.into_iter().zip(results) {
            // The request gone (its client hung up) is no error: its events are
            // stored, and a resend is a duplicate.
            let _ = pending.reply.send(result);
        }
    }
}
