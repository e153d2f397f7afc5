//! The demo's calls: a small cast of callers and agents and a few minutes of the
//! calls a support line gets (answered, missed, voicemail, a repeat caller, a call
//! the agent files by hand), written as the native events a phone system sends.
//!
//! Times are seconds of the demo at speed 1; [`Scene::events`] gives each event
//! with its offset from the start, so the player only sleeps and posts.

use serde_json::{Value, json};

/// An agent of the demo's directory (and of its Zendesk account).
#[derive(Debug, Clone, Copy)]
pub struct Agent {
    pub email: &'static str,
    pub name: &'static str,
    pub extension: &'static str,
    pub admin: bool,
}

/// The agent the newcomer signs in as: most calls ring them.
pub const ANN: Agent = Agent {
    email: "ann@demo.example",
    name: "Ann Lee",
    extension: "101",
    admin: true,
};

/// A second agent, so the page shows that an agent sees only their own calls.
pub const BOB: Agent = Agent {
    email: "bob@demo.example",
    name: "Bob Ortiz",
    extension: "102",
    admin: false,
};

pub const AGENTS: [Agent; 2] = [ANN, BOB];

/// A caller; `known` ones exist in the helpdesk with an open ticket.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub name: &'static str,
    /// As the phone system sends it (local formats too: deskbridge normalizes).
    pub number: &'static str,
    pub known: Option<KnownCaller>,
}

/// What the helpdesk already holds for a known caller.
#[derive(Debug, Clone, Copy)]
pub struct KnownCaller {
    pub email: &'static str,
    pub open_ticket: &'static str,
}

pub const MARIA: Caller = Caller {
    name: "Maria Garcia",
    number: "(415) 555-0101",
    known: Some(KnownCaller {
        email: "maria.garcia@example.com",
        open_ticket: "Invoice shows the wrong plan",
    }),
};

pub const CHEN: Caller = Caller {
    name: "Chen Wei",
    number: "+1 415 555 0102",
    known: Some(KnownCaller {
        email: "chen.wei@example.com",
        open_ticket: "Router keeps dropping the connection",
    }),
};

pub const NEW_CALLER: Caller = Caller {
    name: "a first-time caller",
    number: "415-555-0177",
    known: None,
};

pub const SHARED_LINE: Caller = Caller {
    name: "a client's front desk",
    number: "+14155550188",
    known: None,
};

pub const CALLERS: [Caller; 4] = [MARIA, CHEN, NEW_CALLER, SHARED_LINE];

/// How a call goes.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    /// Rings `ring` seconds, is answered, talks `talk` seconds; the recording
    /// follows a few seconds after the end.
    Answered { ring: f64, talk: f64 },
    /// Rings `ring` seconds and nobody answers.
    Missed { ring: f64 },
    /// Rings, then the caller leaves a voicemail.
    Voicemail { ring: f64 },
    /// The agent calls the caller back: the customer's phone rings `ring`
    /// seconds and they talk `talk` seconds. The callback a missed call of
    /// theirs opened closes itself.
    CallBack { ring: f64, talk: f64 },
}

/// One call of the demo.
#[derive(Debug, Clone, Copy)]
pub struct Scene {
    /// Seconds from the start of the demo.
    pub at: f64,
    pub caller: Caller,
    pub agent: Agent,
    pub outcome: Outcome,
    /// `ticket_assignment=agent`: the agent picks the ticket on the card.
    pub agent_decides: bool,
}

/// The demo's calls, about three minutes at speed 1. The first rings within
/// ten seconds, so a newcomer sees a pop as soon as they have signed in.
pub const SCENES: [Scene; 7] = [
    Scene {
        at: 8.0,
        caller: MARIA,
        agent: ANN,
        outcome: Outcome::Answered {
            ring: 8.0,
            talk: 25.0,
        },
        agent_decides: false,
    },
    Scene {
        at: 45.0,
        caller: NEW_CALLER,
        agent: ANN,
        outcome: Outcome::Missed { ring: 15.0 },
        agent_decides: false,
    },
    Scene {
        at: 55.0,
        caller: CHEN,
        agent: BOB,
        outcome: Outcome::Answered {
            ring: 5.0,
            talk: 20.0,
        },
        agent_decides: false,
    },
    Scene {
        at: 75.0,
        caller: CHEN,
        agent: ANN,
        outcome: Outcome::Voicemail { ring: 12.0 },
        agent_decides: false,
    },
    Scene {
        at: 100.0,
        caller: MARIA,
        agent: ANN,
        outcome: Outcome::Answered {
            ring: 6.0,
            talk: 15.0,
        },
        agent_decides: false,
    },
    Scene {
        at: 130.0,
        caller: SHARED_LINE,
        agent: ANN,
        outcome: Outcome::Answered {
            ring: 6.0,
            talk: 20.0,
        },
        agent_decides: true,
    },
    Scene {
        at: 165.0,
        caller: NEW_CALLER,
        agent: ANN,
        outcome: Outcome::CallBack {
            ring: 5.0,
            talk: 15.0,
        },
        agent_decides: false,
    },
];

/// The number the demo's callers dial.
pub const SUPPORT_LINE: &str = "+14155550199";

/// Seconds between a call's end and its recording.
const RECORDING_AFTER: f64 = 3.0;

impl Scene {
    /// The call's events with their offsets (seconds from the start of the demo),
    /// in the order they happen. `call_id` must be unique per run.
    pub fn events(&self, call_id: &str) -> Vec<(f64, Value)> {
        let mut n = 0;
        let mut event = |body: Value| {
            n += 1;
            let mut body = body;
            body["id"] = json!(format!("{call_id}-{n}"));
            body["call_id"] = json!(call_id);
            body
        };
        let agent = json!({"email": self.agent.email, "name": self.agent.name,
                           "extension": self.agent.extension});
        let mut attributes = json!({});
        if self.agent_decides {
            attributes["ticket_assignment"] = json!("agent");
        }
        let recording = format!("https://pbx.demo.example/recordings/{call_id}.mp3");
        let ringing = match self.outcome {
            Outcome::CallBack { .. } => json!({"type": "ringing", "direction": "outbound",
                "from": SUPPORT_LINE, "to": self.caller.number, "agent": agent}),
            _ => json!({"type": "ringing", "direction": "inbound",
                "from": self.caller.number, "to": SUPPORT_LINE,
                "queue": "support", "agent": agent, "attributes": attributes}),
        };
        let mut out = vec![(self.at, event(ringing))];
        match self.outcome {
            Outcome::Answered { ring, talk } | Outcome::CallBack { ring, talk } => {
                let answered = self.at + ring;
                let ended = answered + talk;
                out.push((answered, event(json!({"type": "answered", "agent": agent}))));
                out.push((
                    ended,
                    event(json!({"type": "ended", "reason": "completed",
                                 "duration_s": talk.round() as u64})),
                ));
                out.push((
                    ended + RECORDING_AFTER,
                    event(json!({"type": "recording", "recording_url": recording})),
                ));
            }
            Outcome::Missed { ring } => out.push((
                self.at + ring,
                event(json!({"type": "ended", "reason": "no_answer"})),
            )),
            Outcome::Voicemail { ring } => {
                out.push((
                    self.at + ring,
                    event(json!({"type": "voicemail", "recording_url": recording})),
                ));
                out.push((
                    self.at + ring + 20.0,
                    event(json!({"type": "ended", "reason": "no_answer"})),
                ));
            }
        }
        out
    }

    /// One line for the terminal as the call starts ringing.
    pub fn describe(&self) -> String {
        let how = match self.outcome {
            Outcome::Answered { .. } if self.agent_decides => {
                "will be answered; the agent picks the ticket on the card"
            }
            Outcome::Answered { .. } => "will be answered",
            Outcome::Missed { .. } => "will be missed",
            Outcome::Voicemail { .. } => "will leave a voicemail",
            Outcome::CallBack { .. } => {
                return format!(
                    "{} calls {} ({}) back: the callback their missed call opened closes itself",
                    self.agent.name, self.caller.name, self.caller.number
                );
            }
        };
        format!(
            "{} ({}) is ringing {}: {how}",
            self.caller.name, self.caller.number, self.agent.name
        )
    }
}

/// When the last event of the demo is sent (seconds at speed 1).
pub fn length() -> f64 {
    SCENES
        .iter()
        .flat_map(|s| s.events("x"))
        .map(|(at, _)| at)
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_starts_ringing_and_ends_once() {
        for (i, scene) in SCENES.iter().enumerate() {
            let events = scene.events(&format!("demo-{i}"));
            assert_eq!(events[0].1["type"], "ringing");
            let ends = events.iter().filter(|(_, e)| e["type"] == "ended").count();
            assert_eq!(ends, 1, "scene {i}");
            assert!(events.windows(2).all(|w| w[0].0 <= w[1].0), "scene {i}");
        }
    }

    #[test]
    fn the_demo_shows_every_kind_of_call_within_a_few_minutes() {
        let has = |f: fn(&Scene) -> bool| SCENES.iter().any(f);
        assert!(has(|s| matches!(s.outcome, Outcome::Missed { .. })));
        assert!(has(|s| matches!(s.outcome, Outcome::Voicemail { .. })));
        assert!(has(|s| s.agent_decides));
        assert!(has(|s| s.agent.email == BOB.email));
        // A missed caller is called back later (the callback closes itself).
        let called_back = SCENES.iter().enumerate().any(|(i, a)| {
            matches!(a.outcome, Outcome::Missed { .. })
                && SCENES[i + 1..].iter().any(|b| {
                    b.caller.number == a.caller.number
                        && matches!(b.outcome, Outcome::CallBack { .. })
                })
        });
        assert!(called_back);
        // A repeat caller: some number calls twice.
        let repeat = SCENES.iter().enumerate().any(|(i, a)| {
            SCENES[i + 1..]
                .iter()
                .any(|b| b.caller.number == a.caller.number)
        });
        assert!(repeat);
        assert!(SCENES[0].at <= 10.0, "a pop within the first minute");
        assert!(length() < 240.0, "a few minutes: {}", length());
    }
}
