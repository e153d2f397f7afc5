//! The call tracker: AMI events in, native [`CallEvent`]s out, without I/O.
//!
//! Asterisk reports channels, not calls. A call is every channel sharing a
//! `Linkedid` (the `Uniqueid` of the oldest channel of the call: the caller's
//! channel on an inbound call), so the call's id is its `Linkedid` (DESIGN.md,
//! "Call ids"). The tracker keeps, per call, what the events do not repeat:
//! which channel started it, who is an agent, which channels are still up, the
//! queue, whether the caller gave up; and per bridge, who is in it. From that:
//!
//! - **ringing** when the call's first channel appears (`Newchannel` with
//!   `Uniqueid == Linkedid`); inbound unless that channel is an agent's phone;
//! - **answered** with the agent when a leg answers: `DialEnd` with
//!   `DialStatus: ANSWER`, a queue's `AgentConnect`, or a `BridgeEnter` that puts
//!   the caller and an agent's channel together (the attended-transfer case, where
//!   the consultation leg may belong to another `Linkedid`). The agent is the
//!   answering leg's phone (extension from the channel name or the queue member's
//!   interface, matched to the agents directory); members rung but not answering
//!   (`AgentCalled`, a `DialEnd` with `CANCEL`/`NOANSWER`) add nothing, so they make
//!   no missed call. Each answering leg is one event, so a transferred call names
//!   every agent in order and ends on one ticket;
//! - **ended** when the call's last channel hangs up, with the reason from what
//!   was seen: answered → completed, `QueueCallerAbandon` or a dial the caller
//!   cancelled → abandoned, `BUSY` → busy, `CONGESTION`/`CHANUNAVAIL` → failed,
//!   else no answer; **voicemail** when the caller's channel enters `VoiceMail`.
//!
//! Event ids are derived from the call and the fact (`ami:{Linkedid}:ringing`,
//! `ami:{Linkedid}:{Uniqueid}:answered`, `ami:{Linkedid}:ended`), never from a
//! counter of this process: the same fact seen twice (several deskbridge
//! instances on one PBX, or a replay) is one journal entry.
//!
//! Reconnects: the tracker outlives the connection, so a call whose `Hangup`
//! arrives on the next connection still ends. What happened while disconnected is
//! recovered from the `CoreShowChannels` listing the client asks for after each
//! login ([`Tracker::begin_sync`]): channels the tracker holds that are no longer
//! listed hung up meanwhile (their calls end), and channels listed but unknown
//! (after a restart) are adopted, so their calls end when they hang up.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use deskbridge_core::decide::DirectoryAgent;
use deskbridge_core::{AgentRef, CallEvent, Direction, EventKind, Phone, Region};

use super::fields::{self, extension_of, timestamp};
use super::frame::Frame;

/// What the tracker knows of one call (one `Linkedid`).
#[derive(Debug, Default)]
struct Call {
    /// `None` for a call found already running (after a restart): its first events
    /// were ingested before, or never seen.
    direction: Option<Direction>,
    /// The agent who placed an outbound call.
    caller_agent: Option<AgentRef>,
    /// The number the agent dialed, on an outbound call.
    dialed: Option<String>,
    /// Its `ringing` was emitted. An agent's call is announced once it dials a
    /// phone that is no agent's; a call between agents (a consultation before a
    /// transfer) never is, and makes no events.
    announced: bool,
    queue: Option<String>,
    answered: bool,
    abandoned: bool,
    /// The last `DialStatus` of an unanswered dial.
    last_dial: Option<String>,
    /// The channels of the call still up.
    live: BTreeSet<String>,
}

#[derive(Debug)]
struct Channel {
    /// The call (`Linkedid`) the channel belongs to.
    call: String,
    name: String,
    /// The agent whose phone this channel is, when the directory knows it.
    agent: Option<AgentRef>,
}

/// The most calls the tracker keeps. A call whose `Hangup` never comes (an
/// event lost while the PBX restarted, a channel leaked by a dialplan) would
/// otherwise be kept for as long as the process runs; beyond this, the oldest
/// is dropped (and counted: [`Tracker::take_dropped`]). Ten thousand calls at
/// once is far more than one PBX carries.
pub const MAX_CALLS: usize = 10_000;
/// The most channels kept (a call has a few: the caller's, each agent's leg).
pub const MAX_CHANNELS: usize = 40_000;

/// Calls and channels as the AMI events describe them. See the module docs.
#[derive(Debug)]
pub struct Tracker {
    region: Region,
    directory: Vec<DirectoryAgent>,
    calls: HashMap<String, Call>,
    channels: HashMap<String, Channel>,
    bridges: HashMap<String, BTreeSet<String>>,
    /// Channels listed by the `CoreShowChannels` in progress.
    listing: Option<HashSet<String>>,
    /// Channel ids in the order they were first seen, oldest first (ids of
    /// channels gone since are skipped when met).
    arrivals: VecDeque<String>,
    max_calls: usize,
    max_channels: usize,
    /// Calls dropped to keep within the bounds, not yet reported.
    dropped: u64,
}

impl Tracker {
    /// A tracker whose numbers are read in `region` and whose agents are the
    /// directory's (matched by extension).
    pub fn new(region: Region, directory: Vec<DirectoryAgent>) -> Tracker {
        Tracker::with_bounds(region, directory, MAX_CALLS, MAX_CHANNELS)
    }

    /// [`Tracker::new`] keeping at most `max_calls` calls and `max_channels`
    /// channels.
    pub fn with_bounds(
        region: Region,
        directory: Vec<DirectoryAgent>,
        max_calls: usize,
        max_channels: usize,
    ) -> Tracker {
        Tracker {
            region,
            directory,
            calls: HashMap::new(),
            channels: HashMap::new(),
            bridges: HashMap::new(),
            listing: None,
            arrivals: VecDeque::new(),
            max_calls: max_calls.max(1),
            max_channels: max_channels.max(1),
            dropped: 0,
        }
    }

    /// Calls dropped since the last ask because the tracker was full (the
    /// caller counts them in a metric); their `ended` never comes.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// Channels kept.
    #[cfg(test)]
    fn channels_kept(&self) -> usize {
        self.channels.len()
    }

    /// Calls in progress (for logs and tests).
    pub fn calls_in_progress(&self) -> usize {
        self.calls.len()
    }

    /// Applies one AMI event, received at `now`; returns the call events it makes.
    pub fn on_frame(&mut self, f: &Frame, now: DateTime<Utc>) -> Vec<CallEvent> {
        let out = self.apply(f, now);
        self.keep_within_bounds();
        out
    }

    /// Drops the calls of the oldest channels while more calls or channels are
    /// kept than the bounds allow.
    fn keep_within_bounds(&mut self) {
        while self.calls.len() > self.max_calls || self.channels.len() > self.max_channels {
            let Some(oldest) = self.arrivals.pop_front() else {
                break;
            };
            let Some(channel) = self.channels.get(&oldest) else {
                continue;
            };
            let call = channel.call.clone();
            let gone: HashSet<String> = self
                .channels
                .iter()
                .filter(|(_, c)| c.call == call)
                .map(|(u, _)| u.clone())
                .collect();
            self.channels.retain(|u, _| !gone.contains(u));
            self.bridges.retain(|_, members| {
                members.retain(|u| !gone.contains(u));
                !members.is_empty()
            });
            self.calls.remove(&call);
            self.dropped += 1;
        }
        // Ids of channels gone since are skipped above; clear them out now and
        // then, so the queue stays about as long as the channels kept.
        if self.arrivals.len() > 2 * self.channels.len() + 1024 {
            let channels = &self.channels;
            self.arrivals.retain(|u| channels.contains_key(u));
        }
    }

    fn apply(&mut self, f: &Frame, now: DateTime<Utc>) -> Vec<CallEvent> {
        let at = timestamp(f).unwrap_or(now);
        let mut out = Vec::new();
        if !fields::ids_fit(f) {
            return out;
        }
        match f.event().unwrap_or_default() {
            "Newchannel" => self.new_channel(f, at, &mut out),
            "DialBegin" | "AgentCalled" => {
                // The caller's channel may be absent (an originated call).
                if let Some(call) = f.get("Linkedid").or(f.get("DestLinkedid")) {
                    let call = call.to_string();
                    self.adopt(f, "Dest", &call);
                    self.outbound_dial(&call, f, at, &mut out);
                }
            }
            "DialEnd" => {
                let Some(call) = f.get("Linkedid").or(f.get("DestLinkedid")) else {
                    return out;
                };
                let call = call.to_string();
                self.adopt(f, "Dest", &call);
                self.outbound_dial(&call, f, at, &mut out);
                match f.get("DialStatus") {
                    Some("ANSWER") => {
                        if let Some(leg) = f.get("DestUniqueid") {
                            self.answered(&call, leg, None, at, &mut out);
                        }
                    }
                    Some(status) => {
                        if let Some(c) = self.calls.get_mut(&call) {
                            c.last_dial = Some(status.to_string());
                        }
                    }
                    None => {}
                }
            }
            "AgentConnect" => {
                let (Some(call), Some(leg)) = (f.get("Linkedid"), f.get("DestUniqueid")) else {
                    return out;
                };
                let call = call.to_string();
                self.adopt(f, "Dest", &call);
                self.set_queue(&call, fields::name(f, "Queue"));
                let member = self.member(f);
                self.answered(&call, leg, member, at, &mut out);
            }
            "QueueCallerJoin" => {
                if let Some(call) = f.get("Linkedid") {
                    self.set_queue(call, fields::name(f, "Queue"));
                }
            }
            "QueueCallerAbandon" => {
                if let Some(call) = f.get("Linkedid").map(str::to_string) {
                    self.set_queue(&call, fields::name(f, "Queue"));
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.abandoned = true;
                    }
                }
            }
            "BridgeEnter" => self.bridge_enter(f, at, &mut out),
            "BridgeLeave" => {
                if let (Some(b), Some(u)) = (f.get("BridgeUniqueid"), f.get("Uniqueid"))
                    && let Some(members) = self.bridges.get_mut(b)
                {
                    members.remove(u);
                    if members.is_empty() {
                        self.bridges.remove(b);
                    }
                }
            }
            "Newexten" | "NewExten"
                if f.get("Application")
                    .is_some_and(|a| a.eq_ignore_ascii_case("VoiceMail")) =>
            {
                self.voicemail(f, at, &mut out);
            }
            "Hangup" => {
                if let Some(u) = f.get("Uniqueid") {
                    let cause = f.get("Cause").and_then(|c| c.parse().ok());
                    let call = f.get("Linkedid").unwrap_or(u).to_string();
                    self.hung_up(&call, u, cause, at, &mut out);
                }
            }
            "CoreShowChannel" => self.listed(f),
            "CoreShowChannelsComplete" => self.listing_complete(at, &mut out),
            _ => {}
        }
        out
    }

    fn new_channel(&mut self, f: &Frame, at: DateTime<Utc>, out: &mut Vec<CallEvent>) {
        let Some(u) = f.get("Uniqueid") else { return };
        let call_id = f.get("Linkedid").unwrap_or(u).to_string();
        let starts = u == call_id && !self.calls.contains_key(&call_id);
        self.adopt(f, "", &call_id);
        if !starts {
            return;
        }
        let agent = self.channels.get(u).and_then(|c| c.agent.clone());
        let region = self.region;
        let call = self.calls.entry(call_id.clone()).or_default();
        let exten = fields::number(f, "Exten")
            .filter(|x| *x != "s")
            .map(str::to_string);
        if agent.is_some() {
            // Outbound, or internal: told apart by whom the agent dials.
            call.direction = Some(Direction::Outbound);
            call.caller_agent = agent;
            call.dialed = exten;
            return;
        }
        call.direction = Some(Direction::Inbound);
        call.announced = true;
        let mut e = CallEvent::new(
            format!("ami:{call_id}:ringing"),
            &call_id,
            EventKind::Ringing,
            at,
        );
        e.direction = Some(Direction::Inbound);
        e.from = fields::number(f, "CallerIDNum")
            .filter(|n| *n != "<unknown>")
            .map(|n| Phone::parse(n, region));
        e.to = exten.map(|x| Phone::parse(&x, region));
        out.push(e);
    }

    /// An agent's call dials `dest`: a customer (announced as an outbound call)
    /// or another agent (an internal call, never announced).
    fn outbound_dial(
        &mut self,
        call_id: &str,
        f: &Frame,
        at: DateTime<Utc>,
        out: &mut Vec<CallEvent>,
    ) {
        let dest_is_agent = f
            .get("DestUniqueid")
            .and_then(|d| self.channels.get(d))
            .is_some_and(|c| c.agent.is_some());
        let region = self.region;
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        if call.announced || call.direction != Some(Direction::Outbound) || dest_is_agent {
            return;
        }
        call.announced = true;
        let mut e = CallEvent::new(
            format!("ami:{call_id}:ringing"),
            call_id,
            EventKind::Ringing,
            at,
        );
        e.direction = Some(Direction::Outbound);
        e.agent = call.caller_agent.clone();
        e.from = call
            .caller_agent
            .as_ref()
            .and_then(|a| a.extension.as_deref())
            .map(|x| Phone::parse(x, region));
        let dialed = call
            .dialed
            .clone()
            .or_else(|| fields::number(f, "DestCallerIDNum").map(str::to_string))
            .or_else(|| fields::number(f, "DialString").map(str::to_string));
        e.to = dialed.map(|n| Phone::parse(&n, region));
        out.push(e);
    }

    /// Registers the channel the frame names (fields under `prefix`) as part of
    /// `call`.
    fn adopt(&mut self, f: &Frame, prefix: &str, call: &str) {
        let field = |k: &str| f.get(&format!("{prefix}{k}"));
        let Some(u) = field("Uniqueid") else { return };
        let name = fields::name(f, &format!("{prefix}Channel"))
            .unwrap_or_default()
            .to_string();
        if !self.channels.contains_key(u) {
            let agent = self.agent_of(&name);
            self.arrivals.push_back(u.to_string());
            self.channels.insert(
                u.to_string(),
                Channel {
                    call: call.to_string(),
                    name,
                    agent,
                },
            );
        }
        let owner = self.channels[u].call.clone();
        self.calls
            .entry(owner)
            .or_default()
            .live
            .insert(u.to_string());
    }

    fn set_queue(&mut self, call: &str, queue: Option<&str>) {
        if let (Some(c), Some(q)) = (self.calls.get_mut(call), queue) {
            c.queue = Some(q.to_string());
        }
    }

    /// The agent a queue's `AgentConnect` names: its interface's extension in the
    /// directory, else the member's name and extension as the queue knows them.
    fn member(&self, f: &Frame) -> Option<AgentRef> {
        let interface = fields::name(f, "Interface").or(fields::name(f, "DestChannel"))?;
        let mut agent = self.agent_of(interface).unwrap_or_else(|| AgentRef {
            extension: extension_of(interface),
            ..AgentRef::default()
        });
        if agent.name.is_none() {
            agent.name = fields::name(f, "MemberName").map(str::to_string);
        }
        Some(agent)
    }

    /// A leg of `call` answered: on an inbound call the leg's phone is the agent;
    /// on an outbound call the customer answered the agent who placed it.
    fn answered(
        &mut self,
        call_id: &str,
        leg: &str,
        member: Option<AgentRef>,
        at: DateTime<Utc>,
        out: &mut Vec<CallEvent>,
    ) {
        let leg_agent = self.channels.get(leg).map(|c| {
            c.agent.clone().unwrap_or_else(|| AgentRef {
                extension: extension_of(&c.name),
                ..AgentRef::default()
            })
        });
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        if call.direction.is_some() && !call.announced {
            return;
        }
        let agent = match call.direction {
            Some(Direction::Outbound) => call.caller_agent.clone(),
            _ => member.or(leg_agent),
        };
        call.answered = true;
        let mut e = CallEvent::new(
            format!("ami:{call_id}:{leg}:answered"),
            call_id,
            EventKind::Answered,
            at,
        );
        e.direction = call.direction;
        e.agent = agent.filter(|a| !a.is_empty());
        e.queue = call.queue.clone();
        out.push(e);
    }

    /// A channel entered a bridge: the caller and an agent's phone in one bridge is
    /// an answer by that agent.
    fn bridge_enter(&mut self, f: &Frame, at: DateTime<Utc>, out: &mut Vec<CallEvent>) {
        let (Some(b), Some(u)) = (f.get("BridgeUniqueid"), f.get("Uniqueid")) else {
            return;
        };
        let call = f.get("Linkedid").unwrap_or(u).to_string();
        self.adopt(f, "", &call);
        let members = self.bridges.entry(b.to_string()).or_default();
        members.insert(u.to_string());
        let others: Vec<String> = members.iter().filter(|m| *m != u).cloned().collect();
        for other in others {
            for (caller, leg) in [(u, other.as_str()), (other.as_str(), u)] {
                // `caller` started its call (inbound), `leg` is an agent's phone.
                let Some(c) = self.channels.get(caller) else {
                    continue;
                };
                let is_start = c.call == caller;
                let inbound =
                    self.calls.get(&c.call).and_then(|c| c.direction) == Some(Direction::Inbound);
                let leg_is_agent = self.channels.get(leg).is_some_and(|l| l.agent.is_some());
                if is_start && inbound && leg_is_agent {
                    let call_id = c.call.clone();
                    self.answered(&call_id, leg, None, at, out);
                }
            }
        }
    }

    fn voicemail(&mut self, f: &Frame, at: DateTime<Utc>, out: &mut Vec<CallEvent>) {
        let Some(u) = f.get("Uniqueid") else { return };
        let call_id = f.get("Linkedid").unwrap_or(u);
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        if call.answered || call.direction != Some(Direction::Inbound) {
            return;
        }
        let mut e = CallEvent::new(
            format!("ami:{call_id}:voicemail"),
            call_id,
            EventKind::Voicemail,
            at,
        );
        e.direction = call.direction;
        e.queue = call.queue.clone();
        out.push(e);
    }

    /// The directory's agent whose extension the channel's device is.
    fn agent_of(&self, channel: &str) -> Option<AgentRef> {
        let ext = extension_of(channel)?;
        self.directory
            .iter()
            .find(|a| a.extension.as_deref() == Some(ext.as_str()))
            .map(|a| AgentRef {
                email: Some(a.email.clone()),
                name: a.name.clone(),
                extension: a.extension.clone(),
            })
    }
}

// A path both this crate and the fuzz crate (which includes this file by path) resolve alike.
#[path = "tracker/ending.rs"]
mod ending;
#[cfg(test)]
mod tests;
