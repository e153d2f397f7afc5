//! The call comment: what an agent reads in the ticket about a call.

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
    if let Some(line) = crate::callback::comment_line(call) {
        lines.push(line);
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
