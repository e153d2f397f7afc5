//! The chaos checker: compares the calls that were sent (the trace) with what the
//! helpdesk holds, and lists every loss and duplicate.
//!
//! It reads only what the helpdesk holds, the way an auditor with an export
//! would, and maps each record back to its call through what deskbridge writes
//! into it. Each helpdesk's export is read into the same few shapes by an
//! implementation of [`Records`] (Zendesk's and Freshdesk's below); the checks
//! are written once, in [`check`]:
//!
//! - a ticket deskbridge creates carries a mark naming the step that made it:
//!   Zendesk's `external_id = "deskbridge:{group}/{call}/{step}"`
//!   (`deskbridge_zendesk_helpdesk::ticket_external_id`), Freshdesk's tag
//!   `deskbridge-<16 hex>` hashed from that key (`key_tag` in
//!   `deskbridge-freshdesk-helpdesk/src/text.rs`);
//! - a comment (Zendesk) or note (Freshdesk) it adds to an existing ticket ends
//!   with `deskbridge ref: {group}/{call}/{step}`;
//! - a ticket it creates holds the call's comment as its first comment
//!   (Zendesk) or its description (Freshdesk);
//! - a caller's user (Zendesk) or contact (Freshdesk, `phone` or `mobile`) has
//!   the caller's number.
//!
//! The rules of the chaos runs' group (a reuse window, every unanswered call a
//! ticket) give each call exactly one of: a ticket of its own (with the call
//! comment in its description), or a `log_call` comment on the caller's recent
//! ticket; a recording link once, on the call's ticket.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

/// How a call ended, as the trace sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Answered,
    Missed,
    Voicemail,
}

/// One call of the trace, as the checker needs it.
#[derive(Debug, Clone)]
pub struct TraceCall {
    pub id: String,
    /// The caller's number in E.164 (the trace may have written it otherwise).
    pub e164: String,
    pub kind: Kind,
    /// The recording (answered) or voicemail link sent for the call.
    pub recording_url: Option<String>,
}

/// What the checker reads of a caller's record: a Zendesk end user, a
/// Freshdesk contact.
#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    /// The numbers it holds (Zendesk's `phone`; Freshdesk's `phone` and `mobile`).
    pub phones: Vec<String>,
}

/// What the checker reads of a ticket.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: u64,
    /// The marks deskbridge leaves on a ticket it makes (Zendesk's
    /// `external_id`, Freshdesk's `deskbridge-` tags): empty on a ticket it
    /// did not make.
    pub marks: Vec<String>,
    pub requester_id: u64,
}

/// What the checker reads of a text on a ticket: a Zendesk comment (the first
/// is the description), a Freshdesk description or note.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Unique among the account's comments: Zendesk's comment id; a Freshdesk
    /// note's id, or `description:{ticket}` (as deskbridge names it).
    pub id: String,
    pub ticket_id: u64,
    /// As text (Freshdesk: `description_text`, `body_text`).
    pub body: String,
}

/// An account's records as the checker needs them.
pub trait Records {
    /// The callers' records: Zendesk's end users (agents and admins left out),
    /// Freshdesk's contacts.
    fn callers(&self) -> Vec<User>;
    fn tickets(&self) -> Vec<Ticket>;
    fn comments(&self) -> Vec<Comment>;
    /// The mark on a ticket made by the step with this key
    /// (`{group}/{call}/{step}`), as [`Records::tickets`] lists it.
    fn ticket_mark(&self, key: &str) -> String;
}

impl Records for zendesk_emulator::StateSnapshot {
    fn callers(&self) -> Vec<User> {
        self.users
            .iter()
            .filter(|u| u.role == zendesk_emulator::Role::EndUser)
            .map(|u| User {
                id: u.id,
                phones: u.phone.iter().cloned().collect(),
            })
            .collect()
    }

    fn tickets(&self) -> Vec<Ticket> {
        self.tickets
            .iter()
            .map(|t| Ticket {
                id: t.id,
                marks: t.external_id.iter().cloned().collect(),
                requester_id: t.requester_id,
            })
            .collect()
    }

    fn comments(&self) -> Vec<Comment> {
        self.comments
            .iter()
            .map(|c| Comment {
                id: c.id.to_string(),
                ticket_id: c.ticket_id,
                body: c.body.clone(),
            })
            .collect()
    }

    fn ticket_mark(&self, key: &str) -> String {
        deskbridge_zendesk_helpdesk::ticket_external_id(key)
    }
}

impl Records for freshdesk_emulator::StateSnapshot {
    fn callers(&self) -> Vec<User> {
        self.contacts
            .iter()
            .filter(|c| !c.deleted)
            .map(|c| User {
                id: c.id,
                phones: c.phone.iter().chain(&c.mobile).cloned().collect(),
            })
            .collect()
    }

    fn tickets(&self) -> Vec<Ticket> {
        self.tickets
            .iter()
            .map(|t| Ticket {
                id: t.id,
                marks: t
                    .tags
                    .iter()
                    .filter(|tag| tag.starts_with("deskbridge-"))
                    .cloned()
                    .collect(),
                requester_id: t.requester_id,
            })
            .collect()
    }

    fn comments(&self) -> Vec<Comment> {
        let descriptions = self.tickets.iter().map(|t| Comment {
            id: format!("description:{}", t.id),
            ticket_id: t.id,
            body: t.description_text.clone(),
        });
        let notes = self.notes.iter().map(|n| Comment {
            id: n.id.to_string(),
            ticket_id: n.ticket_id,
            body: n.body_text.clone(),
        });
        descriptions.chain(notes).collect()
    }

    /// `key_tag` of `deskbridge-freshdesk-helpdesk/src/text.rs`, written again
    /// here as an auditor reading the tag's documented form would: the first
    /// 16 hex digits of the key's SHA-256.
    fn ticket_mark(&self, key: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(key.as_bytes());
        format!("deskbridge-{}", &hex::encode(digest)[..16])
    }
}

/// The steps whose key can name a ticket: the call's own (`open_ticket`, a
/// pop's `pop/ticket`) and the comment steps that write onto a follow-up
/// ticket when the one they were for is closed (`log_call`, `add_wrap_up`).
/// A recording's follow-up (`add_recording/{job}`) names a job the checker
/// cannot know; the chaos runs close no ticket, so none is made.
const TICKET_STEPS: [&str; 4] = ["open_ticket", "pop/ticket", "log_call", "add_wrap_up"];

/// The counts and every problem found. `problems` empty: nothing lost, nothing
/// doubled.
#[derive(Debug, Default)]
pub struct Report {
    pub calls: usize,
    pub numbers: usize,
    pub tickets: usize,
    pub comments: usize,
    /// End users (callers) in the helpdesk.
    pub users: usize,
    /// Calls that made a ticket of their own.
    pub calls_with_own_ticket: usize,
    /// Calls written as a comment on the caller's recent ticket.
    pub calls_as_comment: usize,
    /// Recordings added by a comment of their own (arrived after the call was written).
    pub recording_comments: usize,
    pub recordings_expected: usize,
    pub recordings_found: usize,
    /// Calls with no ticket and no comment.
    pub missing: Vec<String>,
    /// Calls written more than once (tickets + comments > 1, or a recording twice).
    pub doubled: Vec<String>,
    /// Callers' numbers without their one user, or with several.
    pub users_wrong: Vec<String>,
    /// Every problem, in words, with the ids involved.
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "checker: calls {} over {} numbers; helpdesk: tickets {}, comments {}, users {}",
            self.calls, self.numbers, self.tickets, self.comments, self.users
        )?;
        writeln!(
            f,
            "checker: calls with their own ticket {}, as a comment on a recent ticket {}, \
             recordings {}/{} ({} added later)",
            self.calls_with_own_ticket,
            self.calls_as_comment,
            self.recordings_found,
            self.recordings_expected,
            self.recording_comments
        )?;
        writeln!(
            f,
            "checker: missing {}, doubled {}, numbers without exactly one user {}, problems {}",
            self.missing.len(),
            self.doubled.len(),
            self.users_wrong.len(),
            self.problems.len()
        )?;
        for p in self.problems.iter().take(50) {
            writeln!(f, "  problem: {p}")?;
        }
        if self.problems.len() > 50 {
            writeln!(f, "  ... and {} more", self.problems.len() - 50)?;
        }
        Ok(())
    }
}

/// The call and step of a key `{group}/{call}/{step}[/{more}]` of this group
/// (`add_recording/{job}`: one key per recording job). Call ids of the trace
/// have no `/`.
fn call_and_step<'a>(group: &str, key: &'a str) -> Option<(&'a str, &'a str)> {
    let (call, step) = key
        .strip_prefix(group)?
        .strip_prefix('/')?
        .split_once('/')?;
    Some((call, step.split('/').next().unwrap_or(step)))
}

/// Checks the helpdesk against the trace. `views` are deskbridge's own views of
/// the calls (`GET /api/v1/calls/{id}`), by call id: a call not `done` there is
/// a problem too (a failed call is a loss, whatever reached the helpdesk).
pub fn check(
    group: &str,
    trace: &[TraceCall],
    records: &dyn Records,
    views: &BTreeMap<String, Value>,
) -> Report {
    let users = records.callers();
    let tickets = records.tickets();
    let comments = records.comments();
    let mut report = Report {
        calls: trace.len(),
        tickets: tickets.len(),
        comments: comments.len(),
        users: users.len(),
        ..Report::default()
    };
    let known: BTreeSet<&str> = trace.iter().map(|c| c.id.as_str()).collect();

    // The call and step each mark a call's step could leave names.
    let keys: Vec<(String, &str)> = trace
        .iter()
        .flat_map(|c| {
            TICKET_STEPS
                .iter()
                .map(move |step| (format!("{group}/{}/{step}", c.id), c.id.as_str()))
        })
        .collect();
    let made_by: BTreeMap<String, &str> = keys
        .iter()
        .map(|(key, call)| (records.ticket_mark(key), *call))
        .collect();
    // Tickets made by a call's step, by call.
    let mut own_tickets: BTreeMap<&str, Vec<&Ticket>> = BTreeMap::new();
    for t in &tickets {
        if t.marks.is_empty() {
            report.problems.push(format!(
                "ticket {} has no deskbridge mark: not made by a call",
                t.id
            ));
            continue;
        }
        match t.marks.iter().find_map(|m| made_by.get(m)) {
            Some(call) => own_tickets.entry(call).or_default().push(t),
            None => report.problems.push(format!(
                "ticket {} ({}) belongs to no call sent",
                t.id,
                t.marks.join(", ")
            )),
        }
    }
    // Comments deskbridge added to existing tickets, by call and step.
    let mut added: BTreeMap<(&str, &str), Vec<&Comment>> = BTreeMap::new();
    for c in &comments {
        for line in c.body.lines() {
            let Some(key) = line.trim().strip_prefix("deskbridge ref:") else {
                continue;
            };
            match call_and_step(group, key.trim()) {
                Some((call, step)) if known.contains(call) => {
                    added.entry((call, step)).or_default().push(c)
                }
                _ => report.problems.push(format!(
                    "comment {} on ticket {} names no call sent: {line}",
                    c.id, c.ticket_id
                )),
            }
        }
    }
    let ticket_of: BTreeMap<u64, &Ticket> = tickets.iter().map(|t| (t.id, t)).collect();
    // The comments holding each link, read once (10,000 calls × 11,000
    // comments is too many substring searches for a debug build).
    let mut holding_url: BTreeMap<&str, Vec<&Comment>> = BTreeMap::new();
    for c in &comments {
        for word in c.body.split_whitespace() {
            if word.starts_with("https://") {
                let held = holding_url.entry(word).or_default();
                if held.last().is_none_or(|last| last.id != c.id) {
                    held.push(c);
                }
            }
        }
    }

    // Users by number.
    let mut users_by_phone: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for u in &users {
        if u.phones.is_empty() {
            report
                .problems
                .push(format!("user {} has no phone: no caller's user", u.id));
        }
        for p in &u.phones {
            users_by_phone.entry(p).or_default().push(u.id);
        }
    }
    let numbers: BTreeSet<&str> = trace.iter().map(|c| c.e164.as_str()).collect();
    report.numbers = numbers.len();
    for n in &numbers {
        let users = users_by_phone.get(n).cloned().unwrap_or_default();
        if users.len() != 1 {
            report.users_wrong.push(n.to_string());
            report
                .problems
                .push(format!("number {n}: {} users {users:?}", users.len()));
        }
    }
    for (phone, users) in &users_by_phone {
        if !numbers.contains(phone) {
            report.problems.push(format!(
                "users {users:?} have number {phone}, which called in no call sent"
            ));
        }
    }

    for call in trace {
        let id = call.id.as_str();
        let own = own_tickets.get(id).cloned().unwrap_or_default();
        let logged = added.get(&(id, "log_call")).cloned().unwrap_or_default();
        let recordings = added
            .get(&(id, "add_recording"))
            .cloned()
            .unwrap_or_default();
        for ((c, step), comments) in added.range((id, "")..) {
            if *c != id {
                break;
            }
            // A ticket's create may write the call as a note right after it
            // (Freshdesk keeps a private call out of the description).
            let opened = *step == "open_ticket" && own.len() == 1;
            if !(matches!(*step, "log_call" | "add_recording") || opened) {
                report.problems.push(format!(
                    "call {id}: comments {:?} from unexpected step {step}",
                    comments.iter().map(|c| c.id.as_str()).collect::<Vec<_>>()
                ));
            }
        }
        let opened = added.get(&(id, "open_ticket")).cloned().unwrap_or_default();
        if opened.len() > 1
            || opened
                .iter()
                .any(|c| own.first().is_some_and(|t| t.id != c.ticket_id))
        {
            report.doubled.push(call.id.clone());
            report.problems.push(format!(
                "call {id}: its ticket's note written {} times: {:?}",
                opened.len(),
                opened
                    .iter()
                    .map(|c| (c.ticket_id, c.id.as_str()))
                    .collect::<Vec<_>>()
            ));
        }
        report.recording_comments += recordings.len();
        let written = own.len() + logged.len();
        let ticket = match (own.as_slice(), logged.as_slice()) {
            ([t], []) => {
                report.calls_with_own_ticket += 1;
                Some(t.id)
            }
            ([], [c]) => {
                report.calls_as_comment += 1;
                Some(c.ticket_id)
            }
            _ => None,
        };
        if written == 0 {
            report.missing.push(call.id.clone());
            report
                .problems
                .push(format!("call {id}: missing (no ticket, no comment)"));
        } else if written > 1 {
            report.doubled.push(call.id.clone());
            report.problems.push(format!(
                "call {id}: written {written} times: tickets {:?}, comments {:?}",
                own.iter().map(|t| t.id).collect::<Vec<_>>(),
                logged
                    .iter()
                    .map(|c| (c.ticket_id, c.id.as_str()))
                    .collect::<Vec<_>>()
            ));
        }
        if recordings.len() > 1 && !report.doubled.contains(&call.id) {
            report.doubled.push(call.id.clone());
        }
        if recordings.len() > 1 {
            report.problems.push(format!(
                "call {id}: recording added {} times: comments {:?}",
                recordings.len(),
                recordings.iter().map(|c| c.id.as_str()).collect::<Vec<_>>()
            ));
        }
        // The call's ticket is the caller's.
        if let Some(t) = ticket.and_then(|t| ticket_of.get(&t)) {
            let caller = users_by_phone.get(call.e164.as_str());
            if !caller.is_some_and(|users| users.contains(&t.requester_id)) {
                report.problems.push(format!(
                    "call {id} from {}: on ticket {} of user {}, not the caller's",
                    call.e164, t.id, t.requester_id
                ));
            }
        }
        // The recording link: once, in a comment of the call's ticket.
        if let Some(url) = &call.recording_url {
            report.recordings_expected += 1;
            let holding = holding_url.get(url.as_str()).cloned().unwrap_or_default();
            match holding.as_slice() {
                [] => report
                    .problems
                    .push(format!("call {id}: recording {url} in no comment")),
                [c] if ticket.is_some_and(|t| t != c.ticket_id) => report.problems.push(format!(
                    "call {id}: recording on ticket {}, the call is on {ticket:?}",
                    c.ticket_id
                )),
                [_] => report.recordings_found += 1,
                several => {
                    if !report.doubled.contains(&call.id) {
                        report.doubled.push(call.id.clone());
                    }
                    report.problems.push(format!(
                        "call {id}: recording {url} in {} comments {:?}",
                        several.len(),
                        several.iter().map(|c| c.id.as_str()).collect::<Vec<_>>()
                    ))
                }
            }
        }
        // deskbridge's own view agrees.
        match views.get(id) {
            None => report
                .problems
                .push(format!("call {id}: deskbridge does not know it")),
            Some(v) if v["sync"] != "done" => report.problems.push(format!(
                "call {id}: sync {} in deskbridge: {}",
                v["sync"],
                v.get("steps").unwrap_or(&Value::Null)
            )),
            Some(v) => {
                let theirs = v["ticket_id"].as_str().and_then(|t| t.parse::<u64>().ok());
                if ticket.is_some() && theirs != ticket {
                    report.problems.push(format!(
                        "call {id}: deskbridge says ticket {:?}, the helpdesk {ticket:?}",
                        v["ticket_id"]
                    ));
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALICE: &str = "+14152000000";
    const BOB: &str = "+14152000037";

    /// Records built by hand, marked as Zendesk marks its tickets, so a test
    /// can break them at will.
    #[derive(Debug, Clone, Default)]
    struct Helpdesk {
        users: Vec<User>,
        tickets: Vec<Ticket>,
        comments: Vec<Comment>,
    }

    impl Records for Helpdesk {
        fn callers(&self) -> Vec<User> {
            self.users.clone()
        }

        fn tickets(&self) -> Vec<Ticket> {
            self.tickets.clone()
        }

        fn comments(&self) -> Vec<Comment> {
            self.comments.clone()
        }

        fn ticket_mark(&self, key: &str) -> String {
            format!("deskbridge:{key}")
        }
    }

    fn call(id: &str, e164: &str, kind: Kind) -> TraceCall {
        TraceCall {
            id: id.into(),
            e164: e164.into(),
            kind,
            recording_url: match kind {
                Kind::Missed => None,
                _ => Some(format!("https://pbx.example.com/rec/{id}.mp3")),
            },
        }
    }

    fn views(ids: &[(&str, u64)]) -> BTreeMap<String, Value> {
        ids.iter()
            .map(|(id, t)| {
                (
                    id.to_string(),
                    json!({"sync": "done", "ticket_id": t.to_string()}),
                )
            })
            .collect()
    }

    fn comment(id: u64, ticket_id: u64, body: &str) -> Comment {
        Comment {
            id: id.to_string(),
            ticket_id,
            body: body.into(),
        }
    }

    /// Three calls: Alice's two answered ones and Bob's missed one.
    fn calls() -> Vec<TraceCall> {
        vec![
            call("a1", ALICE, Kind::Answered),
            call("a2", ALICE, Kind::Answered),
            call("b1", BOB, Kind::Missed),
        ]
    }

    /// The three calls written as the rules say: a ticket for Alice's first
    /// call (with its recording), her second call as a comment on it with its
    /// recording added later, and Bob's missed call on a ticket of its own.
    fn good() -> (Vec<TraceCall>, Helpdesk, BTreeMap<String, Value>) {
        let ticket = |id, call: &str, requester_id| Ticket {
            id,
            marks: vec![format!("deskbridge:support/{call}/open_ticket")],
            requester_id,
        };
        let helpdesk = Helpdesk {
            users: vec![
                User {
                    id: 10,
                    phones: vec![ALICE.into()],
                },
                User {
                    id: 11,
                    phones: vec![BOB.into()],
                },
            ],
            tickets: vec![ticket(100, "a1", 10), ticket(101, "b1", 11)],
            comments: vec![
                comment(
                    1000,
                    100,
                    "Inbound call\nRecording: https://pbx.example.com/rec/a1.mp3",
                ),
                comment(1001, 101, "Missed call"),
                comment(
                    1002,
                    100,
                    "Inbound call\n\ndeskbridge ref: support/a2/log_call",
                ),
                comment(
                    1003,
                    100,
                    "Recording: https://pbx.example.com/rec/a2.mp3\n\ndeskbridge ref: support/a2/add_recording/7",
                ),
            ],
        };
        let views = views(&[("a1", 100), ("a2", 100), ("b1", 101)]);
        (calls(), helpdesk, views)
    }

    #[test]
    fn a_state_written_as_the_rules_say_passes() {
        let (trace, helpdesk, views) = good();
        let report = check("support", &trace, &helpdesk, &views);
        assert!(report.ok(), "{report}");
        assert_eq!(report.calls_with_own_ticket, 2);
        assert_eq!(report.calls_as_comment, 1);
        assert_eq!(report.recordings_found, 2);
        assert_eq!(report.recording_comments, 1);
        assert_eq!(report.users, 2);
    }

    #[test]
    fn the_checker_reports_a_doubled_comment_a_missing_call_and_a_second_user() {
        let (trace, mut helpdesk, views) = good();
        // a2's call comment twice (a retried step that wrote again).
        let mut again = helpdesk.comments[2].clone();
        again.id = "1004".into();
        helpdesk.comments.push(again);
        // b1's ticket lost.
        helpdesk.tickets.retain(|t| t.id != 101);
        helpdesk.comments.retain(|c| c.ticket_id != 101);
        // A second user for Alice's number.
        helpdesk.users.push(User {
            id: 12,
            phones: vec![ALICE.into()],
        });
        let report = check("support", &trace, &helpdesk, &views);
        assert!(!report.ok());
        assert_eq!(report.missing, ["b1"], "{report}");
        assert_eq!(report.doubled, ["a2"], "{report}");
        assert_eq!(report.users_wrong, [ALICE], "{report}");
        let text = report.to_string();
        assert!(text.contains("call a2: written 2 times"), "{text}");
        assert!(text.contains("missing 1, doubled 1"), "{text}");
    }

    #[test]
    fn the_checker_reports_a_doubled_ticket_a_lost_recording_and_a_failed_call() {
        let (trace, mut helpdesk, mut views) = good();
        // a1's ticket made twice (a create retried without finding the first).
        helpdesk.tickets.push(Ticket {
            id: 102,
            marks: vec!["deskbridge:support/a1/open_ticket".into()],
            requester_id: 10,
        });
        // a2's late recording never written.
        helpdesk.comments.retain(|c| c.id != "1003");
        views.insert("b1".into(), json!({"sync": "failed"}));
        let report = check("support", &trace, &helpdesk, &views);
        assert_eq!(report.doubled, ["a1"], "{report}");
        let text = report.to_string();
        assert!(
            text.contains("call a1: written 2 times: tickets [100, 102]"),
            "{text}"
        );
        assert!(
            text.contains("call a2: recording https://pbx.example.com/rec/a2.mp3 in no comment"),
            "{text}"
        );
        assert!(text.contains("call b1: sync \"failed\""), "{text}");
    }

    /// The same three calls as Freshdesk holds them: contacts (Bob's number
    /// in `mobile`), tickets tagged with their step's hashed key, the call's
    /// comment as the description, the later writes as notes.
    fn freshdesk_good() -> (
        Vec<TraceCall>,
        freshdesk_emulator::StateSnapshot,
        BTreeMap<String, Value>,
    ) {
        use freshdesk_emulator::{Emulator, EmulatorConfig, SeedContact, SeedTicket};
        let rt = tokio::runtime::Runtime::new().unwrap();
        let emu = rt
            .block_on(Emulator::new(EmulatorConfig::new("key")).start("127.0.0.1:0"))
            .unwrap();
        let alice = emu.seed_contact(SeedContact::with_phone("Alice", ALICE));
        let bob = emu.seed_contact(SeedContact::new("Bob").mobile(BOB));
        let empty = emu.state();
        let tag = |call: &str| empty.ticket_mark(&format!("support/{call}/open_ticket"));
        let a1 = emu.seed_ticket(SeedTicket::new(alice, "Call").tag(tag("a1")));
        let b1 = emu.seed_ticket(SeedTicket::new(bob, "Missed call").tag(tag("b1")));
        let mut state = emu.state();
        for t in &mut state.tickets {
            t.description_text = match t.id == a1 {
                true => "Inbound call\nRecording: https://pbx.example.com/rec/a1.mp3".into(),
                false => "Missed call".into(),
            };
        }
        let note = |id, body: &str| freshdesk_emulator::Note {
            id,
            ticket_id: a1,
            body: body.replace('\n', "<br>"),
            body_text: body.into(),
            private: true,
            incoming: false,
            user_id: emu.owner_id(),
            to_emails: Vec::new(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        state.notes = vec![
            note(1, "Inbound call\n\ndeskbridge ref: support/a2/log_call"),
            note(
                2,
                "Recording: https://pbx.example.com/rec/a2.mp3\n\ndeskbridge ref: support/a2/add_recording/7",
            ),
        ];
        let views = views(&[("a1", a1), ("a2", a1), ("b1", b1)]);
        (calls(), state, views)
    }

    #[test]
    fn freshdesk_records_written_as_the_rules_say_pass_and_a_second_tagged_ticket_is_doubled() {
        let (trace, mut state, views) = freshdesk_good();
        let report = check("support", &trace, &state, &views);
        assert!(report.ok(), "{report}");
        assert_eq!(report.calls_with_own_ticket, 2);
        assert_eq!(report.calls_as_comment, 1);
        assert_eq!(report.recordings_found, 2);
        assert_eq!(report.users, 2);

        // a1's create retried without finding the first ticket, and a second
        // contact for Bob's number.
        let mut again = state.tickets[0].clone();
        again.id = 99;
        state.tickets.push(again);
        let mut bob = state.contacts[1].clone();
        bob.id = 98;
        state.contacts.push(bob);
        let report = check("support", &trace, &state, &views);
        assert_eq!(report.doubled, ["a1"], "{report}");
        assert_eq!(report.users_wrong, [BOB], "{report}");
    }
}
