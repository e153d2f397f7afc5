//! The rules of a call's job queue, decided here and carried out by the store.
//!
//! A call has at most one step queued or running: the next one is derived from the
//! call when the previous one is recorded ([`Interaction::next_step`]). Whether a
//! derived step becomes a new job, moves an existing one forward, or waits is
//! [`enqueue`]; whether the call's helpdesk work is finished is [`sync_of`]. Both
//! stores run the same rules because both ask this module.

use serde::{Deserialize, Serialize};

use crate::interaction::{Interaction, Step};
pub use crate::policy::WorkLane;

/// Where a job stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    /// Failed for good; the call's sync is `failed` and no further step is queued.
    Failed,
}

impl JobStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<JobStatus> {
        [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Done,
            JobStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

/// The job a call already has queued, running or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveJob {
    pub id: i64,
    pub step: Step,
    pub status: JobStatus,
    /// Unix milliseconds.
    pub run_after: i64,
}

/// What queuing a call's next step means, given the job it already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueue {
    Insert,
    /// The same step waits for something that has now arrived (a recording).
    MoveForward {
        id: i64,
    },
    /// A screen pop is due while the call's queued step waits (for its agent's
    /// deadline, a recording, a retry): the queued job becomes the pop, due now.
    /// Steps are derived, so the waiting step is derived again once the pop is
    /// recorded; nothing is lost, and the pop does not wait.
    Preempt {
        id: i64,
    },
    /// A step is queued or running (its completion queues the next), or one
    /// failed for good (the call stays `failed`).
    Nothing,
}

/// At most one active job per call.
pub fn enqueue(step: Step, run_after: i64, active: Option<&ActiveJob>) -> Enqueue {
    match active {
        None => Enqueue::Insert,
        Some(job)
            if job.status == JobStatus::Queued && job.step == step && job.run_after > run_after =>
        {
            Enqueue::MoveForward { id: job.id }
        }
        Some(job) if job.status == JobStatus::Queued && step == Step::Pop && job.step != step => {
            Enqueue::Preempt { id: job.id }
        }
        Some(_) => Enqueue::Nothing,
    }
}

/// Whether all helpdesk work for a call is finished.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    Pending,
    Done,
    Failed,
}

/// A job of a call, as far as its sync is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState<'a> {
    pub step: Step,
    pub status: JobStatus,
    pub last_error: Option<&'a str>,
}

/// `failed` (with the step and its error) if a step failed for good; `done` once
/// the call ended and every step finished; `pending` otherwise.
pub fn sync_of(call: &Interaction, jobs: &[JobState]) -> (SyncStatus, Option<String>) {
    if let Some(failed) = jobs.iter().find(|j| j.status == JobStatus::Failed) {
        let error = format!(
            "{}: {}",
            failed.step.as_str(),
            failed.last_error.unwrap_or("failed")
        );
        return (SyncStatus::Failed, Some(error));
    }
    let open = jobs.iter().any(|j| j.status != JobStatus::Done);
    match open || call.ended_at.is_none() {
        true => (SyncStatus::Pending, None),
        false => (SyncStatus::Done, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CallEvent, Direction, EventKind};

    fn job(status: JobStatus, step: Step, run_after: i64) -> ActiveJob {
        ActiveJob {
            id: 7,
            step,
            status,
            run_after,
        }
    }

    #[test]
    fn one_active_job_per_call() {
        use JobStatus::*;
        assert_eq!(enqueue(Step::OpenTicket, 100, None), Enqueue::Insert);
        // The ticket step waited for a recording that has now come.
        assert_eq!(
            enqueue(
                Step::OpenTicket,
                100,
                Some(&job(Queued, Step::OpenTicket, 500))
            ),
            Enqueue::MoveForward { id: 7 }
        );
        assert_eq!(
            enqueue(
                Step::OpenTicket,
                600,
                Some(&job(Queued, Step::OpenTicket, 500))
            ),
            Enqueue::Nothing
        );
        assert_eq!(
            enqueue(
                Step::LogCall,
                100,
                Some(&job(Queued, Step::OpenTicket, 500))
            ),
            Enqueue::Nothing
        );
        assert_eq!(
            enqueue(
                Step::OpenTicket,
                100,
                Some(&job(Running, Step::OpenTicket, 500))
            ),
            Enqueue::Nothing
        );
        assert_eq!(
            enqueue(
                Step::OpenTicket,
                100,
                Some(&job(Failed, Step::OpenTicket, 500))
            ),
            Enqueue::Nothing
        );
        // A pop does not wait behind a waiting step of its call; nor does it
        // take a running one's place.
        assert_eq!(
            enqueue(Step::Pop, 100, Some(&job(Queued, Step::AwaitAgent, 9000))),
            Enqueue::Preempt { id: 7 }
        );
        assert_eq!(
            enqueue(Step::Pop, 100, Some(&job(Running, Step::OpenTicket, 50))),
            Enqueue::Nothing
        );
    }

    fn call(ended: bool) -> Interaction {
        let mut event =
            CallEvent::new("e1", "c1", EventKind::Ringing, chrono::DateTime::UNIX_EPOCH);
        event.direction = Some(Direction::Inbound);
        let mut call = Interaction::start("g", &Default::default(), &event).unwrap();
        call.apply(&event);
        if ended {
            call.apply(&CallEvent::new(
                "e2",
                "c1",
                EventKind::Ended,
                chrono::DateTime::UNIX_EPOCH,
            ));
        }
        call
    }

    #[test]
    fn a_call_is_synced_once_it_ended_and_every_step_is_done() {
        let state = |status| JobState {
            step: Step::OpenTicket,
            status,
            last_error: None,
        };
        assert_eq!(sync_of(&call(false), &[]).0, SyncStatus::Pending);
        assert_eq!(sync_of(&call(true), &[]).0, SyncStatus::Done);
        assert_eq!(
            sync_of(
                &call(true),
                &[state(JobStatus::Done), state(JobStatus::Queued)]
            )
            .0,
            SyncStatus::Pending
        );
        assert_eq!(
            sync_of(&call(false), &[state(JobStatus::Done)]).0,
            SyncStatus::Pending
        );
        let failed = JobState {
            step: Step::LogCall,
            status: JobStatus::Failed,
            last_error: Some("ticket 9 is gone"),
        };
        assert_eq!(
            sync_of(&call(true), &[state(JobStatus::Done), failed]),
            (
                SyncStatus::Failed,
                Some("log_call: ticket 9 is gone".into())
            )
        );
    }
}
