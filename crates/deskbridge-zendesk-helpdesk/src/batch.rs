//! Calls waiting for one busy ticket, written as one update.
//!
//! Zendesk allows a ticket 30 updates per 10 minutes (and the account 100 a
//! minute). A ticket that every call of a busy line reuses runs into that limit:
//! each held-back call is retried when the limit lets one update through again,
//! and they all come back at that moment. Rather than spend one update each (and
//! hold most of them back again), the calls that wait for the same ticket at the
//! same moment go into one comment. Each call's text keeps its own
//! `deskbridge ref:` line, so a retry of any of them still finds it.
//!
//! Only steps that are running, each holding its own job's lease, are combined:
//! the first becomes the *leader*, waits out the hold (or a short gathering time
//! on a ticket that was held back lately), and writes every text that joined
//! meanwhile; each call hears the result before its step is recorded, and if the
//! update fails, each retries on its own. So combining cannot lose or double a
//! comment, whichever process runs the retry. A hold longer than is worth
//! keeping a worker for sends the step back to the queue instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use deskbridge_zendesk::ZendeskError;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// The longest a step waits in its worker for a held-back ticket; beyond, it
/// goes back to the queue until the hold has passed.
pub const MAX_HOLD: Duration = Duration::from_secs(2);
/// How long a leader waits for others on a ticket that was held back lately:
/// the calls held back together are retried together, within this.
pub const GATHER: Duration = Duration::from_millis(300);
/// After a hold, how long the ticket counts as busy (gathering is worth it).
const BUSY_FOR: Duration = Duration::from_secs(60);
/// The most call texts in one comment (Zendesk's comment stays readable).
const MAX_COMBINED: usize = 20;

/// What the update does besides the comment: texts are combined only when the
/// rest of the update is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateShape {
    pub assignee_id: Option<u64>,
    pub status: Option<&'static str>,
}

/// The comment an update wrote (shared by every call whose text went into it).
pub type Written = Result<String, ZendeskError>;

pub enum Turn {
    /// Write, after `after`: this step's text and every text that joins
    /// meanwhile (collect them with [`Batches::close`]).
    Lead { after: Duration },
    /// Another step writes this text with its own: wait for its answer.
    Joined(oneshot::Receiver<Written>),
    /// Held back for longer than [`MAX_HOLD`]: back to the queue for this long.
    Later(Duration),
}

struct Follower {
    body: String,
    answer: oneshot::Sender<Written>,
}

struct Open {
    shape: UpdateShape,
    followers: Vec<Follower>,
}

#[derive(Default)]
struct Ticket {
    held_until: Option<Instant>,
    busy_until: Option<Instant>,
    open: Option<Open>,
}

/// Per ticket: its hold, and the update being gathered, if any.
#[derive(Default)]
pub struct Batches {
    tickets: Mutex<HashMap<u64, Ticket>>,
}

impl Batches {
    fn tickets(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Ticket>> {
        self.tickets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This step's turn to write `body` on `ticket`, which the client's own count
    /// of updates would hold back for `client_wait`.
    pub fn turn(&self, ticket: u64, shape: UpdateShape, body: &str, client_wait: Duration) -> Turn {
        let now = Instant::now();
        let mut tickets = self.tickets();
        // Forget tickets that are neither held, busy nor being written.
        tickets.retain(|_, t| t.open.is_some() || t.busy_until.is_some_and(|b| b > now));
        let t = tickets.entry(ticket).or_default();
        if let Some(open) = &mut t.open
            && open.shape == shape
            && open.followers.len() + 1 < MAX_COMBINED
        {
            let (answer, heard) = oneshot::channel();
            open.followers.push(Follower {
                body: body.to_string(),
                answer,
            });
            return Turn::Joined(heard);
        }
        let held = t
            .held_until
            .map_or(Duration::ZERO, |h| h.saturating_duration_since(now))
            .max(client_wait);
        if held > MAX_HOLD || t.open.is_some() {
            // Too long to wait here, or another update is being gathered with
            // another shape: the queue brings this step back.
            t.busy_until = Some(now + held + BUSY_FOR);
            return Turn::Later(held.max(GATHER));
        }
        let busy = t.busy_until.is_some_and(|b| b > now);
        t.open = Some(Open {
            shape,
            followers: Vec::new(),
        });
        Turn::Lead {
            after: if busy { held.max(GATHER) } else { held },
        }
    }

    /// The leader's hold on `ticket`'s gathering: closing it takes the texts
    /// that joined; dropping it unclosed (the leader's step was cancelled)
    /// closes it too, so the followers hear "abandoned" and retry on their own
    /// instead of waiting for a write that will never come.
    pub fn leading(&self, ticket: u64) -> Leading<'_> {
        Leading {
            batches: self,
            ticket,
            closed: false,
        }
    }

    /// The leader's gathering ends: the texts that joined, in the order they came.
    fn close(&self, ticket: u64) -> Vec<(String, oneshot::Sender<Written>)> {
        let mut tickets = self.tickets();
        let Some(open) = tickets.get_mut(&ticket).and_then(|t| t.open.take()) else {
            return Vec::new();
        };
        open.followers
            .into_iter()
            .map(|f| (f.body, f.answer))
            .collect()
    }

    /// Zendesk (or the client) held the ticket's updates back for `wait`.
    pub fn held(&self, ticket: u64, wait: Duration) {
        let now = Instant::now();
        let mut tickets = self.tickets();
        let t = tickets.entry(ticket).or_default();
        t.held_until = Some(now + wait);
        t.busy_until = Some(now + wait + BUSY_FOR);
    }
}

/// See [`Batches::leading`].
pub struct Leading<'a> {
    batches: &'a Batches,
    ticket: u64,
    closed: bool,
}

impl Leading<'_> {
    /// The texts that joined, in the order they came; no more can join.
    pub fn close(&mut self) -> Vec<(String, oneshot::Sender<Written>)> {
        self.closed = true;
        self.batches.close(self.ticket)
    }
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if !self.closed {
            // The followers' senders are dropped with the batch.
            drop(self.batches.close(self.ticket));
        }
    }
}

/// One comment carrying several calls' texts, oldest first.
pub fn combined(bodies: &[String]) -> String {
    bodies.join("\n\n---\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: UpdateShape = UpdateShape {
        assignee_id: None,
        status: None,
    };

    #[tokio::test(start_paused = true)]
    async fn a_free_ticket_is_written_at_once_and_alone() {
        let batches = Batches::default();
        let Turn::Lead { after } = batches.turn(1, SHAPE, "a", Duration::ZERO) else {
            panic!("the first step leads");
        };
        assert_eq!(after, Duration::ZERO);
        assert!(batches.leading(1).close().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn steps_arriving_while_a_busy_ticket_is_gathered_join_the_leader() {
        let batches = Batches::default();
        batches.held(7, Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        // The hold has passed, but the ticket is busy: gather the others.
        let Turn::Lead { after } = batches.turn(7, SHAPE, "a", Duration::ZERO) else {
            panic!("the first step leads");
        };
        assert_eq!(after, GATHER);
        let Turn::Joined(b) = batches.turn(7, SHAPE, "b", Duration::ZERO) else {
            panic!("the second joins");
        };
        let other_shape = UpdateShape {
            assignee_id: Some(5),
            status: None,
        };
        assert!(
            matches!(
                batches.turn(7, other_shape, "c", Duration::ZERO),
                Turn::Later(_)
            ),
            "a text with another assignee waits for its own update"
        );
        assert!(matches!(
            batches.turn(8, SHAPE, "d", Duration::ZERO),
            Turn::Lead { after } if after.is_zero()
        ));
        let joined = batches.leading(7).close();
        assert_eq!(joined.len(), 1);
        assert_eq!(joined[0].0, "b");
        for (_, answer) in joined {
            answer.send(Ok("900".into())).unwrap();
        }
        assert_eq!(b.await.unwrap().unwrap(), "900");
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_hold_sends_the_step_back_to_the_queue() {
        let batches = Batches::default();
        let wait = Duration::from_secs(30);
        match batches.turn(3, SHAPE, "a", wait) {
            Turn::Later(w) => assert_eq!(w, wait),
            _ => panic!("a 30 s hold is not waited out in a worker"),
        }
        batches.held(4, Duration::from_secs(1));
        match batches.turn(4, SHAPE, "a", Duration::ZERO) {
            Turn::Lead { after } => assert_eq!(after, Duration::from_secs(1)),
            _ => panic!("a short hold is waited out by the leader"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_cancelled_before_writing_lets_its_followers_go() {
        let batches = Batches::default();
        batches.held(5, Duration::from_secs(1));
        let Turn::Lead { .. } = batches.turn(5, SHAPE, "a", Duration::ZERO) else {
            panic!("the first step leads");
        };
        let leader = batches.leading(5);
        let Turn::Joined(heard) = batches.turn(5, SHAPE, "b", Duration::ZERO) else {
            panic!("the second joins");
        };
        drop(leader);
        assert!(
            heard.await.is_err(),
            "the follower hears the leader is gone"
        );
        assert!(
            matches!(
                batches.turn(5, SHAPE, "c", Duration::ZERO),
                Turn::Lead { .. }
            ),
            "the next step leads a new gathering"
        );
    }

    #[test]
    fn a_combined_comment_keeps_every_calls_text_in_order() {
        let text = combined(&["first\n\nref 1".into(), "second\n\nref 2".into()]);
        assert_eq!(text, "first\n\nref 1\n\n---\n\nsecond\n\nref 2");
    }
}
