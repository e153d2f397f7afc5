//! The chaos checker: compares the calls that were sent (the trace) with what the
//! helpdesk holds, and lists every loss and duplicate.
//!
//! It reads only what Zendesk holds, the way an auditor with an export would,
//! and maps each record back to its call through what deskbridge writes into it:
//! a ticket deskbridge creates carries `external_id = "deskbridge:{group}/{call}/{step}"`
//! (`deskbridge_zendesk_helpdesk::ticket_external_id`), a comment it adds to an existing
//! ticket ends with `deskbridge ref: {group}/{call}/{step}` (`comment_reference`),
//! and a caller's user has the caller's number. The rules of the chaos runs'
//! group (a reuse window, every unanswered call a ticket) give each call exactly
//! one of: a ticket of its own (with the call comment in its description), or a
//! `log_call` comment on the caller's recent ticket; a recording link once, on
//! the call's ticket.

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

/// What the checker reads of a Zendesk user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub phone: Option<String>,
    pub end_user: bool,
}

/// What the checker reads of a ticket.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: u64,
    pub external_id: Option<String>,
    pub requester_id: u64,
}

/// What the checker reads of a comment.
#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub ticket_id: u64,
    pub body: String,
}

/// The helpdesk's records, reduced to what the checks need (so a unit test can
/// build a broken state by hand).
#[derive(Debug, Clone, Default)]
pub struct Helpdesk {
    pub users: Vec<User>,
    pub tickets: Vec<Ticket>,
    pub comments: Vec<Comment>,
}

impl From<&zendesk_emulator::StateSnapshot> for Helpdesk {
    fn from(state: &zendesk_emulator::StateSnapshot) -> Helpdesk {
        Helpdesk {
            users: state
                .users
                .iter()
                .map(|u| User {
                    id: u.id,
                    phone: u.phone.clone(),
                    end_user: u.role == zendesk_emulator::Role::EndUser,
                })
                .collect(),
            tickets: state
                .tickets
                .iter()
                .map(|t| Ticket {
                    id: t.id,
                    external_id: t.external_id.clone(),
                    requester_id: t.requester_id,
                })
                .collect(),
            comments: state
                .comments
                .iter()
                .map(|c| Comment {
                    id: c.id,
                    ticket_id: c.ticket_id,
                    body: c.body.clone(),
                })
                .collect(),
        }
    }
}

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
    helpdesk: &Helpdesk,
    views: &BTreeMap<String, Value>,
) -> Report {
    let mut report = Report {
        calls: trace.len(),
        tickets: helpdesk.tickets.len(),
        comments: helpdesk.comments.len(),
        users: helpdesk.users.iter().filter(|u| u.end_user).count(),
        ..Report::default()
    };
    let known: BTreeSet<&str> = trace.iter().map(|c| c.id.as_str()).collect();

    // Tickets made by a call's step, by call.
    let mut own_tickets: BTreeMap<&str, Vec<&Ticket>> = BTreeMap::new();
    for t in &helpdesk.tickets {
        let Some(ext) = t.external_id.as_deref() else {
            report.problems.push(format!(
                "ticket {} has no external_id: not made by a call",
                t.id
            ));
            continue;
        };
        match ext
            .strip_prefix("deskbridge:")
            .and_then(|key| call_and_step(group, key))
        {
            Some((call, _)) if known.contains(call) => own_tickets.entry(call).or_default().push(t),
            _ => report
                .problems
                .push(format!("ticket {} ({ext}) belongs to no call sent", t.id)),
        }
    }
    // Comments deskbridge added to existing tickets, by call and step.
    let mut added: BTreeMap<(&str, &str), Vec<&Comment>> = BTreeMap::new();
    for c in &helpdesk.comments {
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
    let ticket_of: BTreeMap<u64, &Ticket> = helpdesk.tickets.iter().map(|t| (t.id, t)).collect();
    // The comments holding each link, read once (10,000 calls × 11,000
    // comments is too many substring searches for a debug build).
    let mut holding_url: BTreeMap<&str, Vec<&Comment>> = BTreeMap::new();
    for c in &helpdesk.comments {
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
    for u in helpdesk.users.iter().filter(|u| u.end_user) {
        match u.phone.as_deref() {
            Some(p) => users_by_phone.entry(p).or_default().push(u.id),
            None => report
                .problems
                .push(format!("user {} has no phone: no caller's user", u.id)),
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
        let tickets = own_tickets.get(id).cloned().unwrap_or_default();
        let logged = added.get(&(id, "log_call")).cloned().unwrap_or_default();
        let recordings = added
            .get(&(id, "add_recording"))
            .cloned()
            .unwrap_or_default();
        for ((c, step), comments) in added.range((id, "")..) {
            if *c != id {
                break;
            }
            if !matches!(*step, "log_call" | "add_recording") {
                report.problems.push(format!(
                    "call {id}: comments {:?} from unexpected step {step}",
                    comments.iter().map(|c| c.id).collect::<Vec<_>>()
                ));
            }
        }
        report.recording_comments += recordings.len();
        let written = tickets.len() + logged.len();
        let ticket = match (tickets.as_slice(), logged.as_slice()) {
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
                tickets.iter().map(|t| t.id).collect::<Vec<_>>(),
                logged
                    .iter()
                    .map(|c| (c.ticket_id, c.id))
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
                recordings.iter().map(|c| c.id).collect::<Vec<_>>()
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
                        several.iter().map(|c| c.id).collect::<Vec<_>>()
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

    /// Three calls written as the rules say: a ticket for Alice's first call
    /// (with its recording), her second call as a comment on it with its
    /// recording added later, and Bob's missed call on a ticket of its own.
    fn good() -> (Vec<TraceCall>, Helpdesk, BTreeMap<String, Value>) {
        let trace = vec![
            call("a1", ALICE, Kind::Answered),
            call("a2", ALICE, Kind::Answered),
            call("b1", BOB, Kind::Missed),
        ];
        let helpdesk = Helpdesk {
            users: vec![
                User {
                    id: 1,
                    phone: None,
                    end_user: false,
                },
                User {
                    id: 10,
                    phone: Some(ALICE.into()),
                    end_user: true,
                },
                User {
                    id: 11,
                    phone: Some(BOB.into()),
                    end_user: true,
                },
            ],
            tickets: vec![
                Ticket {
                    id: 100,
                    external_id: Some("deskbridge:support/a1/open_ticket".into()),
                    requester_id: 10,
                },
                Ticket {
                    id: 101,
                    external_id: Some("deskbridge:support/b1/open_ticket".into()),
                    requester_id: 11,
                },
            ],
            comments: vec![
                Comment {
                    id: 1000,
                    ticket_id: 100,
                    body: "Inbound call\nRecording: https://pbx.example.com/rec/a1.mp3".into(),
                },
                Comment {
                    id: 1001,
                    ticket_id: 101,
                    body: "Missed call".into(),
                },
                Comment {
                    id: 1002,
                    ticket_id: 100,
                    body: "Inbound call\n\ndeskbridge ref: support/a2/log_call".into(),
                },
                Comment {
                    id: 1003,
                    ticket_id: 100,
                    body: "Recording: https://pbx.example.com/rec/a2.mp3\n\ndeskbridge ref: support/a2/add_recording/7".into(),
                },
            ],
        };
        let views = views(&[("a1", 100), ("a2", 100), ("b1", 101)]);
        (trace, helpdesk, views)
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
        again.id = 1004;
        helpdesk.comments.push(again);
        // b1's ticket lost.
        helpdesk.tickets.retain(|t| t.id != 101);
        helpdesk.comments.retain(|c| c.ticket_id != 101);
        // A second user for Alice's number.
        helpdesk.users.push(User {
            id: 12,
            phone: Some(ALICE.into()),
            end_user: true,
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
            external_id: Some("deskbridge:support/a1/open_ticket".into()),
            requester_id: 10,
        });
        // a2's late recording never written.
        helpdesk.comments.retain(|c| c.id != 1003);
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
}
