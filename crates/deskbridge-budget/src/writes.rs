//! Whether a step's run sent a write.
//!
//! A request held back unsent spends no attempt of its step
//! (`deskbridge_core::retry`), and the step's re-run counts as its first try
//! again, so it writes without first looking for an earlier write. That is
//! right only if nothing before the hold, in the same run, was written: a
//! Freshdesk note, then its ticket update held back by the plan's update
//! limit, must not make the re-run write the note a second time. The worker
//! runs each step inside [`noting_writes`]; the helpdesk clients call
//! [`writing`] before each write they send (as a lookup's lane, it is the
//! caller's to say, not the backend's in between).

use std::cell::Cell;

tokio::task_local! {
    static WROTE: Cell<bool>;
}

/// Runs `work`, answering with whether it sent a write request (any method
/// but `GET`) through a helpdesk client.
pub async fn noting_writes<F: std::future::Future>(work: F) -> (F::Output, bool) {
    WROTE
        .scope(Cell::new(false), async {
            let out = work.await;
            (out, WROTE.with(Cell::get))
        })
        .await
}

/// A client is about to send a write: sent, it may be applied even if its
/// answer is lost. Outside [`noting_writes`] (a lookup, the mirror) nothing
/// is noted.
pub fn writing() {
    let _ = WROTE.try_with(|w| w.set(true));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_is_noted_only_inside_its_own_run() {
        writing();
        let ((), wrote) = noting_writes(async {}).await;
        assert!(!wrote, "a write outside the run is not its own");
        let ((), wrote) = noting_writes(async { writing() }).await;
        assert!(wrote);
        let (inner, outer) = noting_writes(async {
            let ((), inner) = noting_writes(async {}).await;
            inner
        })
        .await;
        assert!(!inner && !outer);
    }
}
