//! The call comment: what an agent reads in the ticket about a call.

use chrono::{DateTime, Utc};

use crate::agent::AgentRef;
use crate::callback::CallbackMark;
use crate::event::Direction;
use crate::interaction::{Interaction, Outcome};

/// Renders the private comment written when a call ends.
pub fn call_comment(call: &Interaction) -> String {
    let outcome = call.outcome();
    let mut lines = vec![headline(call, outcome)];
    let mut field = |label: &str, value: String| lines.push(format!("{label}: {value}"));
    field("Direction", call.direction.to_string());
    field("From", phone_or_unknown(call.from.as_ref()));
    field("To", phone_or_unknown(call.to.as_ref()));
    match call.agents.as_slice() {
        [] => {}
        [one] => field("Agent", one.label()),
        many => field(
            "Agents",
            many.iter()
                .map(|a| a.label())
                .collect::<Vec<_>>()
                .join(", then "),
        ),
    }
    let started = call
        .ringing_at
        .or(call.answered_at)
        .unwrap_or(call.first_at);
    field(
        "Started",
        started.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    );
    if outcome == Some(Outcome::Answered)
        && let Some(secs) = call.talk_seconds()
    {
        field("Talk time", duration(secs));
    }
    if let Some(o) = outcome {
        field("Outcome", o.as_str().to_string());
    }
    if let Some(q) = &call.queue {
        field("Queue", q.clone());
    }
    if let Some(url) = &call.recording_url {
        field("Recording", url.clone());
    }
    if let Some(line) = callback_line(call) {
        lines.push(line);
    }
    if let Some(w) = &call.wrap_up {
        lines.push(w.line());
    }
    if let Some(t) = &call.transcript {
        lines.push(String::new());
        lines.push("Transcript:".into());
        lines.push(t.clone());
    }
    lines.join("\n")
}

/// The comment added when a recording arrives after the call comment was written.
pub fn recording_comment(call: &Interaction, url: &str) -> String {
    format!(
        "Recording of the {} call from {}: {url}",
        call.direction,
        phone_or_unknown(call.from.as_ref())
    )
}

/// The line a call's comment carries about the callback it acted on.
fn callback_line(call: &Interaction) -> Option<String> {
    let at = |t: DateTime<Utc>| t.format("%H:%M UTC").to_string();
    let calls = |n: u32| match n {
        1 => "1 missed call".to_string(),
        n => format!("{n} missed calls"),
    };
    match call.callback.as_ref()? {
        CallbackMark::Reached { missed, .. } => {
            let who = call
                .agents
                .first()
                .map_or_else(|| "an agent".to_string(), AgentRef::label);
            let when = at(call.answered_at?);
            Some(match call.direction {
                Direction::Outbound => {
                    format!(
                        "Called back by {who} at {when}, reached after {}",
                        calls(*missed)
                    )
                }
                Direction::Inbound => format!(
                    "Callback closed: the customer called again and {who} answered at {when}, after {}",
                    calls(*missed)
                ),
            })
        }
        CallbackMark::Attempt { attempt, of, .. } => {
            Some(format!("Callback attempt {attempt} of {of}: not reached"))
        }
        CallbackMark::Unreached { attempts, .. } => Some(format!(
            "Callback closed unreached after {attempts} unanswered calls"
        )),
        CallbackMark::Folded { missed, .. } => Some(format!(
            "Callback pending: {} from this number",
            calls(*missed)
        )),
        CallbackMark::Opened { .. } => Some("Callback opened for this number".to_string()),
        CallbackMark::None => None,
    }
}

fn headline(call: &Interaction, outcome: Option<Outcome>) -> String {
    let dir = match call.direction {
        crate::event::Direction::Inbound => "Inbound",
        crate::event::Direction::Outbound => "Outbound",
    };
    match outcome {
        Some(Outcome::Answered) => format!("{dir} call answered"),
        Some(Outcome::Missed) => format!("Missed {} call", call.direction),
        Some(Outcome::Voicemail) => "Voicemail".to_string(),
        Some(Outcome::Busy) => format!("{dir} call: busy"),
        Some(Outcome::Abandoned) => format!("{dir} call abandoned by the caller"),
        Some(Outcome::Failed) => format!("{dir} call failed"),
        Some(Outcome::Forwarded) => format!("{dir} call forwarded"),
        None => format!("{dir} call in progress"),
    }
}

fn phone_or_unknown(p: Option<&crate::phone::Phone>) -> String {
    p.map_or_else(|| "unknown".to_string(), |p| p.to_string())
}

fn duration(secs: u64) -> String {
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, s) => format!("{h}h {m}m {s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(125), "2m 5s");
        assert_eq!(duration(3725), "1h 2m 5s");
    }
}
