//! The standard trace of DESIGN.md, generated from a fixed seed so every run is the
//! same: 1,000 inbound calls over 400 distinct numbers written in mixed local and
//! international formats (so 60% come from numbers seen before); 80% answered after
//! ringing 2-20 s, 12% missed, 8% voicemail; 20% carry `zendesk_ticket`; 5%
//! `ticket_assignment=agent`; recordings 1-60 s after the end.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Answered,
    Missed,
    Voicemail,
}

/// One call of the trace. Times are seconds from the call's start.
#[derive(Debug, Clone)]
pub struct Call {
    pub index: usize,
    /// Which of the distinct numbers calls.
    pub number: usize,
    /// The number as this call's PBX wrote it.
    pub written: String,
    pub kind: Kind,
    pub ring_s: u32,
    pub talk_s: u32,
    /// Seconds after the end that the recording arrives (answered calls).
    pub recording_after_s: u32,
    /// Carries the caller's ticket number from the IVR.
    pub ivr_ticket: bool,
    pub agent_mode: bool,
    pub agent: usize,
}

pub struct Trace {
    pub numbers: Vec<String>,
    pub calls: Vec<Call>,
}

pub const SEED: u64 = 20261122;

/// The E.164 form of distinct number `n`: +1 415 555 01xx and onwards, valid NANP.
pub fn e164(n: usize) -> String {
    format!("+1415{:07}", 2_000_000 + n * 37)
}

fn written(e164: &str, style: u32) -> String {
    let d = &e164[2..]; // 10 digits
    let (a, b, c) = (&d[..3], &d[3..6], &d[6..]);
    match style {
        0 => e164.to_string(),
        1 => format!("({a}) {b}-{c}"),
        2 => format!("{a}.{b}.{c}"),
        3 => format!("1 {a} {b} {c}"),
        _ => format!("+1 {a}-{b}-{c}"),
    }
}

pub fn generate(calls: usize, distinct: usize, agents: usize) -> Trace {
    let mut rng = StdRng::seed_from_u64(SEED);
    let numbers: Vec<String> = (0..distinct).map(e164).collect();
    let mut seen: Vec<usize> = Vec::new();
    let mut out = Vec::with_capacity(calls);
    for index in 0..calls {
        let new_left = distinct - seen.len();
        let slots_left = calls - index;
        let new = new_left > 0
            && (seen.is_empty()
                || slots_left <= new_left
                || rng.random_bool(new_left as f64 / slots_left as f64));
        let number = match new {
            true => {
                seen.push(seen.len());
                seen.len() - 1
            }
            false => seen[rng.random_range(0..seen.len())],
        };
        let roll = rng.random_range(0..100);
        let kind = match roll {
            0..80 => Kind::Answered,
            80..92 => Kind::Missed,
            _ => Kind::Voicemail,
        };
        out.push(Call {
            index,
            number,
            written: written(&numbers[number], rng.random_range(0..5)),
            kind,
            ring_s: rng.random_range(2..=20),
            talk_s: rng.random_range(20..=600),
            recording_after_s: rng.random_range(1..=60),
            ivr_ticket: rng.random_range(0..100) < 20,
            agent_mode: kind == Kind::Answered && rng.random_range(0..100) < 5,
            agent: rng.random_range(0..agents.max(1)),
        });
    }
    Trace {
        numbers,
        calls: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_trace_has_the_designed_mix() {
        let t = generate(1000, 400, 5);
        assert_eq!(t.calls.len(), 1000);
        let distinct: std::collections::HashSet<_> = t.calls.iter().map(|c| c.number).collect();
        assert_eq!(distinct.len(), 400);
        let share = |f: &dyn Fn(&Call) -> bool| t.calls.iter().filter(|c| f(c)).count();
        let answered = share(&|c| c.kind == Kind::Answered);
        assert!((760..=840).contains(&answered), "{answered}");
        let ivr = share(&|c| c.ivr_ticket);
        assert!((170..=230).contains(&ivr), "{ivr}");
        // Same seed, same trace.
        let again = generate(1000, 400, 5);
        assert!(
            t.calls
                .iter()
                .zip(&again.calls)
                .all(|(a, b)| a.written == b.written && a.kind == b.kind)
        );
        // Every written form is a valid number.
        for c in &t.calls {
            assert_eq!(
                deskbridge_core_phone(&c.written),
                t.numbers[c.number],
                "{}",
                c.written
            );
        }
    }

    fn deskbridge_core_phone(raw: &str) -> String {
        deskbridge::adapters::native::event(
            &serde_json::json!({"id": "x", "call_id": "c", "type": "ringing", "from": raw}),
            Default::default(),
            chrono::Utc::now(),
        )
        .unwrap()
        .from
        .unwrap()
        .to_string()
    }
}
