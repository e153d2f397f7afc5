//! Asterisk's call detail records as `cdr_csv` writes them
//! (`/var/log/asterisk/cdr-csv/Master.csv`), for `deskbridge backfill --format
//! asterisk-csv`: one line per call leg, no header line, in this order:
//!
//! `accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
//! lastdata, start, answer, end, duration, billsec, disposition, amaflags`, then
//! `uniqueid` with `loguniqueid = yes` and `userfield` with `loguserfield = yes`
//! in `cdr.conf`'s `[csv]` section.
//!
//! Every field is double-quoted (a `"` inside doubled); older versions write
//! `duration` and `billsec` unquoted. Times are `YYYY-MM-DD HH:MM:SS` in the
//! PBX's local time (in UTC with `usegmtime = yes`), and an empty `answer` means
//! nobody answered. `disposition` is `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED`
//! or `CONGESTION` (cdr.conf's `congestion` setting).
//!
//! A record becomes the events the live adapters would have sent for the call
//! (ringing, answered if it was, ended), with ids derived from the call's id and
//! the record, so importing the same record twice stores it once. A call may
//! have several records: Asterisk writes one per pairing of the caller with a
//! dialled party (each phone a `Dial` rang, each transfer), all with the
//! caller's `uniqueid`. Each record's events are the call's events for that leg
//! (whose phone rang, who answered, talk time from the leg that answered), so the
//! call comes out as one. Each record is read alone ([`record`]): the caller
//! reports a bad one by its line number and goes on.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use deskbridge_core::decide::DirectoryAgent;
use deskbridge_core::{AgentRef, CallEvent, Direction, EndReason, EventKind, Phone, Region};
use sha2::{Digest, Sha256};

use super::ami::fields::extension_of;
use super::native::limits;

/// The columns `cdr_csv` always writes; `uniqueid` and `userfield` may follow.
const COLUMNS: usize = 16;

/// The longest `uniqueid` taken as a call id: room left in an event id
/// (`cdr:{uniqueid}:{leg}:answered`) within the native bound.
const MAX_UNIQUEID: usize = limits::ID - 32;

/// How records are read: the PBX's clock and numbering.
#[derive(Debug, Clone)]
pub struct CdrSettings {
    /// The zone of the PBX's clock (`UTC` for `usegmtime = yes`).
    pub timezone: Tz,
    /// For numbers written without a country code (the group's region).
    pub region: Region,
    /// The agents directory: a `src` that is an agent's extension is internal.
    pub extensions: Vec<String>,
    /// A `src` of at most this many digits is an internal extension.
    pub extension_max_digits: usize,
}

impl CdrSettings {
    pub fn new(timezone: Tz, region: Region, directory: &[DirectoryAgent]) -> CdrSettings {
        CdrSettings {
            timezone,
            region,
            extensions: directory
                .iter()
                .filter_map(|a| a.extension.clone())
                .collect(),
            extension_max_digits: 5,
        }
    }

    /// Whether a number is one of the PBX's own extensions rather than an
    /// outside caller: an agent's extension in the directory, or a short
    /// all-digit number (no outside caller id has so few digits).
    fn is_internal(&self, number: &str) -> bool {
        let n = number.trim();
        self.extensions.iter().any(|x| x.trim() == n)
            || (!n.is_empty()
                && n.len() <= self.extension_max_digits
                && n.chars().all(|c| c.is_ascii_digit()))
    }
}

/// What a record is: a call to import, or one to leave out (and why).
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Call {
        call_id: String,
        events: Vec<CallEvent>,
    },
    /// A call between two extensions: no customer, nothing for the helpdesk.
    Internal,
}

/// Reads one record (its fields as the CSV reader split them).
pub fn record(fields: &[&str], settings: &CdrSettings) -> Result<Record, String> {
    if !(COLUMNS..=COLUMNS + 2).contains(&fields.len()) {
        return Err(format!(
            "{} fields; cdr_csv writes {COLUMNS} (accountcode … amaflags), 17 with \
             loguniqueid, 18 with loguserfield too",
            fields.len()
        ));
    }
    let field = |i: usize| fields[i].trim();
    let (src, dst, clid) = (field(1), field(2), field(4));
    let (channel, dstchannel) = (field(5), field(6));
    let start = time(field(9), "start", settings.timezone)?
        .ok_or_else(|| "start is empty; every CDR has a start time".to_string())?;
    let answer = time(field(10), "answer", settings.timezone)?;
    let end = time(field(11), "end", settings.timezone)?
        .ok_or_else(|| "end is empty; every CDR has an end time".to_string())?;
    seconds(field(12), "duration")?;
    let billsec = seconds(field(13), "billsec")?;
    let reason = disposition(field(14))?;
    if end < start {
        return Err(format!(
            "end ({}) is before start ({})",
            field(11),
            field(9)
        ));
    }

    let caller = match src {
        "" => number_in_clid(clid).unwrap_or_default(),
        s => s,
    };
    let (from_internal, to_internal) = (settings.is_internal(caller), settings.is_internal(dst));
    if from_internal && to_internal {
        return Ok(Record::Internal);
    }
    // Placed by an extension: outbound, the agent is the calling channel's device
    // (else the extension itself). Otherwise inbound, the agent the device that
    // was dialled.
    let (direction, agent) = match from_internal {
        true => (
            Direction::Outbound,
            extension_of(channel).or_else(|| Some(caller.to_string())),
        ),
        false => (Direction::Inbound, extension_of(dstchannel)),
    };
    let agent = agent
        .filter(|x| x.len() <= limits::NAME)
        .map(|extension| AgentRef {
            extension: Some(extension),
            ..AgentRef::default()
        });

    let hash = record_hash(fields);
    let call_id = match fields.get(16).map(|u| u.trim()).filter(|u| !u.is_empty()) {
        Some(uniqueid) => {
            if uniqueid.len() > MAX_UNIQUEID || uniqueid.chars().any(char::is_control) {
                return Err(format!(
                    "uniqueid is longer than {MAX_UNIQUEID} bytes or holds control characters"
                ));
            }
            uniqueid.to_string()
        }
        None => format!("cdr-{hash}"),
    };
    // The leg: this record among the call's records.
    let leg = &hash[..10];
    let phone =
        |raw: &str| (raw.len() <= limits::NUMBER).then(|| Phone::parse(raw, settings.region));
    let event = |kind: EventKind, name: &str, at: DateTime<Utc>| {
        let id = format!("cdr:{call_id}:{leg}:{name}");
        let mut e = CallEvent::new(id, call_id.clone(), kind, at);
        e.direction = Some(direction);
        e.from = phone(caller);
        e.to = phone(dst);
        e
    };

    let mut ringing = event(EventKind::Ringing, "ringing", start);
    ringing.agent = agent.clone();
    let mut events = vec![ringing];
    let answered = reason == EndReason::Completed;
    if answered {
        // An answered call without its answer time (some versions): talk time
        // before the end.
        let at = answer.unwrap_or_else(|| end - chrono::Duration::seconds(billsec as i64));
        let mut e = event(EventKind::Answered, "answered", at.max(start));
        e.agent = agent.clone();
        events.push(e);
    }
    let mut ended = event(EventKind::Ended, "ended", end);
    ended.reason = Some(reason);
    // Talk time only from the leg that answered: another leg of the same call
    // (a phone that rang and did not answer) says nothing about it.
    ended.duration_s = answered.then_some(billsec);
    events.push(ended);
    Ok(Record::Call { call_id, events })
}

/// A hash of the record's fields: the same line gets the same ids in every run
/// (the call's, without `uniqueid`; the leg's).
fn record_hash(fields: &[&str]) -> String {
    let mut h = Sha256::new();
    for f in fields {
        h.update(f.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(&h.finalize()[..12])
}

/// `"Alice" <5551234>` → `5551234`.
fn number_in_clid(clid: &str) -> Option<&str> {
    let open = clid.rfind('<')?;
    let close = clid[open..].find('>')? + open;
    Some(clid[open + 1..close].trim()).filter(|n| !n.is_empty())
}

/// A time field in the PBX's zone; empty is `None`.
fn time(raw: &str, name: &str, tz: Tz) -> Result<Option<DateTime<Utc>>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let local = NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S")
        .map_err(|_| format!("{name} {raw:?} is not a time like \"2024-05-01 14:03:22\""))?;
    // A time repeated when the clock goes back is taken the first time round;
    // one skipped when it goes forward cannot have been written by the PBX.
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or_else(|| format!("{name} {raw:?} does not exist in {tz} (the clock skipped it)"))
}

fn seconds(raw: &str, name: &str) -> Result<u64, String> {
    raw.parse::<u64>()
        .ok()
        .filter(|s| *s <= limits::DURATION_S)
        .ok_or_else(|| format!("{name} {raw:?} is not a number of seconds (at most a week)"))
}

/// The disposition as the call's end: answered, missed, busy or failed.
fn disposition(raw: &str) -> Result<EndReason, String> {
    Ok(match raw.to_ascii_uppercase().as_str() {
        "ANSWERED" => EndReason::Completed,
        "NO ANSWER" => EndReason::NoAnswer,
        "BUSY" => EndReason::Busy,
        "FAILED" | "CONGESTION" => EndReason::Failed,
        _ => {
            return Err(format!(
                "disposition {raw:?} is not ANSWERED, NO ANSWER, BUSY, FAILED or CONGESTION"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(tz: Tz) -> CdrSettings {
        CdrSettings {
            timezone: tz,
            region: Region::US,
            extensions: vec!["2001".into()],
            extension_max_digits: 5,
        }
    }

    fn fields(line: &str) -> Vec<String> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line.as_bytes());
        let rec = r.records().next().unwrap().unwrap();
        rec.iter().map(String::from).collect()
    }

    fn read(line: &str, tz: Tz) -> Result<Record, String> {
        let f = fields(line);
        let refs: Vec<&str> = f.iter().map(String::as_str).collect();
        record(&refs, &settings(tz))
    }

    #[test]
    fn an_answered_inbound_call_has_its_agent_talk_time_and_local_times() {
        let line = r#""","+14155550100","600","from-pstn","""Acme, Inc."" <+14155550100>","PJSIP/trunk-00000001","PJSIP/101-00000002","Dial","PJSIP/101,30","2024-05-01 09:00:00","2024-05-01 09:00:07","2024-05-01 09:02:07",127,120,"ANSWERED","DOCUMENTATION","1714554000.12""#;
        let Record::Call { call_id, events } = read(line, chrono_tz::Europe::Berlin).unwrap()
        else {
            panic!("a call")
        };
        assert_eq!(call_id, "1714554000.12");
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EventKind::Ringing, EventKind::Answered, EventKind::Ended]
        );
        // 09:00 in Berlin (summer time) is 07:00 UTC.
        assert_eq!(events[0].at.to_rfc3339(), "2024-05-01T07:00:00+00:00");
        assert_eq!(events[0].direction, Some(Direction::Inbound));
        assert_eq!(
            events[0].from.as_ref().and_then(|p| p.e164()),
            Some("+14155550100")
        );
        assert_eq!(
            events[1].agent.as_ref().unwrap().extension.as_deref(),
            Some("101")
        );
        assert_eq!(events[2].reason, Some(EndReason::Completed));
        assert_eq!(events[2].duration_s, Some(120));
        assert!(
            events[2].id.starts_with("cdr:1714554000.12:"),
            "{}",
            events[2].id
        );
        assert!(events[2].id.ends_with(":ended"), "{}", events[2].id);
    }

    #[test]
    fn an_unanswered_call_has_an_empty_answer_and_no_answered_event() {
        let line = r#""","4155550100","600","from-pstn","<4155550100>","SIP/trunk-0000000a","SIP/102-0000000b","Dial","SIP/102","2024-05-01 10:00:00","","2024-05-01 10:00:30","30","0","NO ANSWER","DOCUMENTATION""#;
        let Record::Call { call_id, events } = read(line, Tz::UTC).unwrap() else {
            panic!("a call")
        };
        assert!(call_id.starts_with("cdr-"), "{call_id}");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].reason, Some(EndReason::NoAnswer));
        // The agent whose phone rang.
        assert_eq!(
            events[0].agent.as_ref().unwrap().extension.as_deref(),
            Some("102")
        );
        // The same line is the same call in every run.
        let Record::Call { call_id: again, .. } = read(line, Tz::UTC).unwrap() else {
            panic!("a call")
        };
        assert_eq!(call_id, again);
    }

    #[test]
    fn a_call_placed_by_an_extension_is_outbound_and_one_between_extensions_is_left_out() {
        let out = r#""","101","+442079460000","from-internal","""Ann"" <101>","PJSIP/101-00000003","PJSIP/trunk-00000004","Dial","PJSIP/trunk/+442079460000","2024-05-01 11:00:00","2024-05-01 11:00:05","2024-05-01 11:01:05","65","60","ANSWERED","DOCUMENTATION","1714561200.3""#;
        let Record::Call { events, .. } = read(out, Tz::UTC).unwrap() else {
            panic!("a call")
        };
        assert_eq!(events[0].direction, Some(Direction::Outbound));
        assert_eq!(
            events[1].agent.as_ref().unwrap().extension.as_deref(),
            Some("101")
        );
        let internal = r#""","101","2001","from-internal","<101>","PJSIP/101-5","PJSIP/2001-6","Dial","","2024-05-01 11:00:00","","2024-05-01 11:00:09","9","0","NO ANSWER","DOCUMENTATION""#;
        assert_eq!(read(internal, Tz::UTC).unwrap(), Record::Internal);
    }

    #[test]
    fn busy_failed_and_congestion_are_read_and_anything_else_is_refused() {
        for (disp, reason) in [
            ("BUSY", EndReason::Busy),
            ("FAILED", EndReason::Failed),
            ("CONGESTION", EndReason::Failed),
        ] {
            let line = format!(
                r#""","4155550100","600","from-pstn","","SIP/t-1","","Dial","","2024-05-01 10:00:00","","2024-05-01 10:00:03",3,0,"{disp}","DOCUMENTATION""#
            );
            let Record::Call { events, .. } = read(&line, Tz::UTC).unwrap() else {
                panic!("a call")
            };
            assert_eq!(events.last().unwrap().reason, Some(reason), "{disp}");
        }
        let bad = r#""","4155550100","600","from-pstn","","SIP/t-1","","Dial","","2024-05-01 10:00:00","","2024-05-01 10:00:03",3,0,"MAYBE","DOCUMENTATION""#;
        assert!(read(bad, Tz::UTC).unwrap_err().contains("MAYBE"));
        let short = r#""","4155550100","600""#;
        assert!(read(short, Tz::UTC).unwrap_err().contains("3 fields"));
        let when = r#""","4155550100","600","from-pstn","","SIP/t-1","","Dial","","yesterday","","2024-05-01 10:00:03",3,0,"BUSY","DOCUMENTATION""#;
        assert!(read(when, Tz::UTC).unwrap_err().contains("start"));
    }

    #[test]
    fn the_records_of_one_call_rung_on_two_phones_make_one_answered_call() {
        // Dial(PJSIP/101&PJSIP/102): one record per phone, the caller's uniqueid
        // on both; 102 answered.
        let rows = [
            r#""","+14155550100","600","from-pstn","<+14155550100>","PJSIP/trunk-01","PJSIP/101-02","Dial","PJSIP/101&PJSIP/102","2024-05-01 09:00:00","","2024-05-01 09:00:06","6","0","NO ANSWER","DOCUMENTATION","1714554000.20""#,
            r#""","+14155550100","600","from-pstn","<+14155550100>","PJSIP/trunk-01","PJSIP/102-03","Dial","PJSIP/101&PJSIP/102","2024-05-01 09:00:00","2024-05-01 09:00:06","2024-05-01 09:01:36","96","90","ANSWERED","DOCUMENTATION","1714554000.20""#,
        ];
        let mut events = Vec::new();
        for row in rows {
            let Record::Call { call_id, events: e } = read(row, Tz::UTC).unwrap() else {
                panic!("a call")
            };
            assert_eq!(call_id, "1714554000.20");
            events.extend(e);
        }
        let mut ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 5, "each leg's events are its own: {ids:?}");
        // In either order, the call is answered by 102 with 90 s of talk, and
        // 101's phone rang.
        for order in [events.clone(), events.iter().rev().cloned().collect()] {
            let plan = deskbridge_core::CallPlan::default();
            let first = order.iter().find(|e| e.direction.is_some()).unwrap();
            let mut call = deskbridge_core::Interaction::start("g", &plan, first).unwrap();
            for e in &order {
                call.apply(e);
            }
            assert_eq!(call.outcome(), Some(deskbridge_core::Outcome::Answered));
            assert_eq!(call.talk_seconds(), Some(90));
            let agent = call.last_agent().unwrap();
            assert_eq!(agent.extension.as_deref(), Some("102"));
            assert!(
                call.rang
                    .iter()
                    .any(|a| a.extension.as_deref() == Some("101"))
            );
        }
    }
}
