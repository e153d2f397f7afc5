//! Group commit: what may share one durable commit.
//!
//! A durable commit (an fsync on SQLite, a WAL flush on PostgreSQL) costs about the
//! same for one event as for a hundred, so requests arriving while a commit is in
//! flight are written together in the next one ([`Journal::ingest_together`]).
//! Each request stays whole and answered on its own: its events are committed
//! with it or not at all, a duplicate is counted for the request that sent the
//! later copy, and a request whose events the store refuses
//! ([`StoreError::Apply`], [`StoreError::CallTooLarge`]) must not take down the
//! others of its group: [`Journal::ingest_each`] retries each member alone when
//! the group's transaction fails.
//!
//! [`Journal::ingest_together`]: crate::Journal::ingest_together
//! [`Journal::ingest_each`]: crate::Journal::ingest_each
//! [`StoreError::Apply`]: crate::StoreError::Apply
//! [`StoreError::CallTooLarge`]: crate::StoreError::CallTooLarge

use crate::GroupEvent;

/// How large one group commit may grow: a bound on the transaction (its locks,
/// the memory its calls hold, how long the others wait for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLimits {
    /// Events in one commit.
    pub max_events: usize,
    /// Bytes of event bodies (as stored) in one commit.
    pub max_bytes: usize,
}

impl Default for GroupLimits {
    /// 1,000 events and 4 MiB: enough for a group to keep up with thousands of
    /// one-event requests a second, and a commit of a few milliseconds.
    fn default() -> Self {
        GroupLimits {
            max_events: 1000,
            max_bytes: 4 * 1024 * 1024,
        }
    }
}

/// What a group holds so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gathered {
    pub members: usize,
    pub events: usize,
    pub bytes: usize,
}

impl GroupLimits {
    /// Whether a request of `events` events and `bytes` bytes joins the group
    /// gathered so far. The first request always goes, however large (it was
    /// bounded by the request's own limits), alone if it must: a request is never
    /// split, since its events commit together or not at all.
    pub fn admits(&self, gathered: Gathered, events: usize, bytes: usize) -> bool {
        gathered.members == 0
            || (gathered.events.saturating_add(events) <= self.max_events
                && gathered.bytes.saturating_add(bytes) <= self.max_bytes)
    }
}

impl Gathered {
    /// The group with one more request of `events` events and `bytes` bytes.
    pub fn with(self, events: usize, bytes: usize) -> Gathered {
        Gathered {
            members: self.members + 1,
            events: self.events.saturating_add(events),
            bytes: self.bytes.saturating_add(bytes),
        }
    }
}

/// The bytes a request's events take in the journal, as the group's byte bound
/// counts them (each event's stored JSON body).
pub fn stored_bytes(events: &[GroupEvent]) -> usize {
    events
        .iter()
        .map(|e| serde_json::to_vec(&e.event).map_or(0, |body| body.len()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: GroupLimits = GroupLimits {
        max_events: 10,
        max_bytes: 1000,
    };

    #[test]
    fn the_first_request_always_goes_even_beyond_the_limits() {
        assert!(LIMITS.admits(Gathered::default(), 50, 5000));
    }

    #[test]
    fn a_request_joins_while_the_group_stays_within_both_limits() {
        let group = Gathered::default().with(4, 400).with(4, 400);
        assert_eq!(
            group,
            Gathered {
                members: 2,
                events: 8,
                bytes: 800
            }
        );
        assert!(LIMITS.admits(group, 2, 200), "exactly at both limits");
        assert!(!LIMITS.admits(group, 3, 10), "one event too many");
        assert!(!LIMITS.admits(group, 1, 201), "one byte too many");
    }

    #[test]
    fn a_request_is_never_split_so_a_large_one_waits_for_the_next_group() {
        let group = Gathered::default().with(1, 100);
        assert!(!LIMITS.admits(group, 10, 100));
        assert!(LIMITS.admits(Gathered::default(), 10, 100));
    }
}
