//! How calls end: a call's last channel hanging up, and the `CoreShowChannels`
//! listing after a (re)connect, whose missing channels hung up while deskbridge
//! was not listening.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use deskbridge_core::{CallEvent, EventKind};

use super::super::fields::end_reason;
use super::super::frame::Frame;
use super::Tracker;

impl Tracker {
    /// A `CoreShowChannels` listing is about to be asked for: the channels it lists
    /// are the ones up now.
    pub fn begin_sync(&mut self) {
        self.listing = Some(HashSet::new());
    }

    /// The listing was refused (the manager user may not run `CoreShowChannels`):
    /// nothing is reconciled this time.
    pub fn cancel_sync(&mut self) {
        self.listing = None;
    }

    /// One channel of the listing: up now; adopted if unknown (a call that began
    /// before this process), so its hangup ends its call.
    pub(super) fn listed(&mut self, f: &Frame) {
        if let (Some(listing), Some(u)) = (self.listing.as_mut(), f.get("Uniqueid")) {
            listing.insert(u.to_string());
            if !self.channels.contains_key(u) {
                let call = f.get("Linkedid").unwrap_or(u).to_string();
                self.adopt(f, "", &call);
            }
        }
    }

    /// The listing is complete: every channel it did not list hung up.
    pub(super) fn listing_complete(&mut self, at: DateTime<Utc>, out: &mut Vec<CallEvent>) {
        let Some(listing) = self.listing.take() else {
            return;
        };
        let gone: Vec<(String, String)> = self
            .channels
            .iter()
            .filter(|(u, _)| !listing.contains(*u))
            .map(|(u, c)| (c.call.clone(), u.clone()))
            .collect();
        for (call, u) in gone {
            self.hung_up(&call, &u, None, at, out);
        }
    }

    /// A channel hung up; when it was its call's last, the call ends.
    pub(super) fn hung_up(
        &mut self,
        call_id: &str,
        u: &str,
        cause: Option<u32>,
        at: DateTime<Utc>,
        out: &mut Vec<CallEvent>,
    ) {
        let owner = self
            .channels
            .remove(u)
            .map_or_else(|| call_id.to_string(), |c| c.call);
        for members in self.bridges.values_mut() {
            members.remove(u);
        }
        self.bridges.retain(|_, m| !m.is_empty());
        let Some(call) = self.calls.get_mut(&owner) else {
            // A call never seen (it started before the tracker): its first channel
            // hanging up ends it, if the journal knows it.
            if u == owner {
                let mut e =
                    CallEvent::new(format!("ami:{owner}:ended"), &owner, EventKind::Ended, at);
                e.reason = Some(end_reason(false, false, None, cause));
                out.push(e);
            }
            return;
        };
        call.live.remove(u);
        if !call.live.is_empty() {
            return;
        }
        let Some(call) = self.calls.remove(&owner) else {
            return;
        };
        if call.direction.is_some() && !call.announced {
            return;
        }
        let mut e = CallEvent::new(format!("ami:{owner}:ended"), &owner, EventKind::Ended, at);
        e.direction = call.direction;
        e.reason = Some(end_reason(
            call.answered,
            call.abandoned,
            call.last_dial.as_deref(),
            cause,
        ));
        e.queue = call.queue.clone();
        out.push(e);
    }
}
