//! The standard trace played into a helpdesk's emulator through deskbridge,
//! cold then warm, and what it cost in the helpdesk's requests (`Run`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use deskbridge_bench::trace::{self, Call, Kind, Trace};
use serde_json::{Value, json};

use crate::account::{self, Account, Counts};
use crate::{AGENTS, Args, TOKEN, start_deskbridge, wrap_up};

pub(crate) struct Run {
    label: &'static str,
    pub(crate) helpdesk: &'static str,
    calls: usize,
    drained: Duration,
    endpoints: BTreeMap<String, u64>,
    rate_limited: u64,
    during_retry_after: u64,
    pub(crate) failed_calls: usize,
    wrap_ups: WrapUps,
}

/// What became of the run's wrap-ups (`--wrap-up`).
#[derive(Debug, Clone, Copy, Default)]
struct WrapUps {
    /// Calls with a wrap-up on their ticket.
    on_ticket: usize,
    /// Of those, written after the call's comment, by a write of their own
    /// (`add_wrap_up`).
    late: usize,
}

impl Run {
    pub(crate) fn total(&self) -> u64 {
        self.endpoints.values().sum()
    }

    pub(crate) fn per_call(&self, n: u64) -> f64 {
        n as f64 / self.calls as f64
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "run": self.label,
            "calls": self.calls,
            "requests": self.total(),
            "requests_per_call": self.per_call(self.total()),
            "by_endpoint_per_call": self.endpoints.iter().map(|(k, v)| (k.clone(), self.per_call(*v))).collect::<BTreeMap<_, _>>(),
            "drain_seconds": self.drained.as_secs_f64(),
            "rate_limited_429": self.rate_limited,
            "requests_during_retry_after": self.during_retry_after,
            "calls_failed": self.failed_calls,
            "wrap_ups_on_ticket": self.wrap_ups.on_ticket,
            "wrap_ups_written_late": self.wrap_ups.late,
        })
    }

    pub(crate) fn print(&self) {
        println!(
            "{} cache: {} calls, {} {} requests = {:.2} per call; drained in {:.1} s; 429s: {}; calls failed: {}",
            self.label,
            self.calls,
            self.total(),
            self.helpdesk,
            self.per_call(self.total()),
            self.drained.as_secs_f64(),
            self.rate_limited,
            self.failed_calls
        );
        if self.wrap_ups.on_ticket > 0 {
            println!(
                "    wrap-ups on their ticket: {}, of which written late by a write of their own: {}",
                self.wrap_ups.on_ticket, self.wrap_ups.late
            );
        }
        for (endpoint, n) in &self.endpoints {
            println!(
                "    {:<52} {:>6}  {:.3}/call",
                endpoint,
                n,
                self.per_call(*n)
            );
        }
    }
}

fn delta(before: &Counts, after: &Counts) -> BTreeMap<String, u64> {
    after
        .endpoints
        .iter()
        .map(|(k, v)| (k.clone(), v - before.endpoints.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// The trace played twice into a helpdesk's emulator through deskbridge:
/// cold (deskbridge knows nothing yet), then warm.
pub(crate) async fn replay(args: &Args) -> anyhow::Result<Vec<Run>> {
    let trace = trace::generate(args.calls, args.numbers, AGENTS);

    let plan = account::Plan {
        rpm: args.rpm,
        freshdesk_plan: match args.plan.as_str() {
            "pro" => "pro",
            "enterprise" => "enterprise",
            _ => "growth",
        },
        call_in_description: args.call_in_description,
    };
    let emu = Account::start(args.helpdesk, &plan).await?;
    let (agents, ivr_tickets) = emu.seed(&trace, AGENTS, args.known_share, args.typed_numbers);
    let wrap_up_field = args.wrap_up.then(|| emu.seed_wrap_up_field());
    if args.mirror {
        emu.settle_for_mirror();
    }
    let dir = tempfile::tempdir()?;
    let running = start_deskbridge(
        &dir,
        &config(&emu, &plan, &agents, args, wrap_up_field.as_deref()),
    )
    .await?;
    if args.mirror {
        let loading = Instant::now();
        loop {
            let state = deskbridge_mirror::mirror_state(&running.state.mirrors, "desk").await;
            if state.as_ref().is_some_and(|s| s.is_current()) {
                break;
            }
            anyhow::ensure!(
                loading.elapsed() < Duration::from_secs(120),
                "the mirror did not load in 120 s: {state:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !args.json {
            println!(
                "mirror loaded in {:.1} s with {} requests",
                loading.elapsed().as_secs_f64(),
                emu.mirror_load_requests()
            );
        }
    }
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();

    let mut runs = Vec::new();
    for label in ["cold", "warm"] {
        let before = emu.counts();
        let started = Instant::now();
        play(&http, &base, &trace, &ivr_tickets, label, args).await?;
        let (failed, wrap_ups) = drain(&http, &base, &trace, label).await?;
        let after = emu.counts();
        runs.push(Run {
            label,
            helpdesk: emu.name(),
            calls: trace.calls.len(),
            drained: started.elapsed(),
            endpoints: delta(&before, &after),
            rate_limited: after.rate_limited - before.rate_limited,
            during_retry_after: after.during_retry_after - before.during_retry_after,
            failed_calls: failed,
            wrap_ups,
        });
    }
    running.stop().await?;
    Ok(runs)
}

fn config(
    emu: &Account,
    plan: &account::Plan,
    agents: &[u64],
    args: &Args,
    wrap_up_field: Option<&str>,
) -> String {
    let directory: String = agents
        .iter()
        .enumerate()
        .map(|(i, id)| {
            format!(
                "[[agents]]\nemail = \"agent{i}@acme.com\"\n{}token = \"{}\"\n\n",
                emu.agent_id_key(*id),
                wrap_up::agent_token(i)
            )
        })
        .collect();
    let wait = (60.0 / args.time_scale).ceil() as u64 + 1;
    let updates = (f64::from(args.ticket_updates_per_minute) * args.time_scale).ceil() as u64;
    format!(
        r#"
[jobs]
workers = 8

{backend}
{directory}
[[groups]]
name = "support"
backend = "desk"
tokens = ["{TOKEN}"]
wait_for_recording_seconds = {wait}
agent_timeout_seconds = 2
pop_on = "{pop_on}"
pop_action = "{pop_action}"
{wrap_up}
"#,
        backend = emu.backend(plan, updates, args.mirror),
        pop_on = args.pop_on,
        pop_action = args.pop_action,
        wrap_up = match wrap_up_field {
            Some(field) => format!(
                "[groups.wrap_up]\ncodes = {:?}\nseconds = {wait}\ncustom_field = \"{field}\"\n",
                wrap_up::CODES,
            ),
            None => String::new(),
        },
    )
}

fn events(call: &Call, label: &str, ivr: Option<u64>) -> Vec<(f64, Value)> {
    let id = format!("{label}-{}", call.index);
    let ev = |n: u32, body: Value| {
        let mut body = body;
        body["id"] = json!(format!("{id}-{n}"));
        body["call_id"] = json!(id);
        body
    };
    let mut attributes = json!({});
    if call.ivr_ticket {
        attributes["zendesk_ticket"] = json!(ivr.map_or("0".to_string(), |t| t.to_string()));
    }
    if call.agent_mode {
        attributes["ticket_assignment"] = json!("agent");
    }
    let agent = json!({"email": format!("agent{}@acme.com", call.agent)});
    let ring = f64::from(call.ring_s);
    let mut out = vec![(
        0.0,
        ev(
            1,
            json!({"type": "ringing", "direction": "inbound", "from": call.written,
                     "to": "+14155550199", "attributes": attributes, "queue": "support"}),
        ),
    )];
    match call.kind {
        Kind::Answered => {
            let end = ring + f64::from(call.talk_s);
            out.push((ring, ev(2, json!({"type": "answered", "agent": agent}))));
            out.push((end, ev(3, json!({"type": "ended", "reason": "completed"}))));
            out.push((
                end + f64::from(call.recording_after_s),
                ev(4, json!({"type": "recording", "recording_url": format!("https://pbx.example.com/rec/{id}.mp3")})),
            ));
        }
        Kind::Missed => out.push((ring, ev(3, json!({"type": "ended", "reason": "no_answer"})))),
        Kind::Voicemail => {
            out.push((ring + 30.0, ev(2, json!({"type": "voicemail", "recording_url": format!("https://pbx.example.com/vm/{id}.mp3")}))));
            out.push((
                ring + 31.0,
                ev(3, json!({"type": "ended", "reason": "no_answer"})),
            ));
        }
    }
    out
}

async fn play(
    http: &reqwest::Client,
    base: &str,
    trace: &Trace,
    ivr_tickets: &BTreeMap<usize, u64>,
    label: &str,
    args: &Args,
) -> anyhow::Result<()> {
    // Each agent signed in once, as on their agent page.
    let mut sessions = Vec::new();
    if args.wrap_up {
        for i in 0..AGENTS {
            sessions.push(wrap_up::sign_in(http, base, i).await?);
        }
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for call in &trace.calls {
        let offset = call.index as f64 * args.call_every_s;
        let wrap = (args.wrap_up && call.kind == Kind::Answered).then(|| {
            let end = offset + f64::from(call.ring_s) + f64::from(call.talk_s);
            (
                Duration::from_secs_f64((end + wrap_up::AFTER_END_S) / args.time_scale),
                sessions[call.agent].clone(),
                format!("{label}-{}", call.index),
                call.index,
            )
        });
        let scaled: Vec<(Duration, Value)> =
            events(call, label, ivr_tickets.get(&call.number).copied())
                .into_iter()
                .map(|(at, body)| {
                    (
                        Duration::from_secs_f64((offset + at) / args.time_scale),
                        body,
                    )
                })
                .collect();
        let http = http.clone();
        let url = format!("{base}/api/v1/events");
        let base = base.to_string();
        tasks.spawn(async move {
            let mut wrap = wrap;
            for (at, body) in scaled {
                if let Some((when, session, call_id, index)) = wrap.take_if(|(w, ..)| *w <= at) {
                    tokio::time::sleep_until((start + when).into()).await;
                    wrap_up::post(&http, &base, &session, &call_id, index).await?;
                }
                tokio::time::sleep_until((start + at).into()).await;
                // Sent again after a connection error or a 503, as a phone
                // system does (an event's id makes the resend harmless).
                let mut tries = 0;
                let resp = loop {
                    tries += 1;
                    match http.post(&url).bearer_auth(TOKEN).json(&body).send().await {
                        Ok(resp) if resp.status().as_u16() != 503 => break resp,
                        Ok(_) | Err(_) if tries < 5 => {
                            tokio::time::sleep(Duration::from_millis(200)).await
                        }
                        Ok(resp) => break resp,
                        Err(e) => return Err(e.into()),
                    }
                };
                anyhow::ensure!(
                    resp.status().as_u16() == 202,
                    "ingest answered {}",
                    resp.status()
                );
            }
            if let Some((when, session, call_id, index)) = wrap {
                tokio::time::sleep_until((start + when).into()).await;
                wrap_up::post(&http, &base, &session, &call_id, index).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a call's task panicked")??;
    }
    Ok(())
}

/// Waits until no call of the run is pending; returns how many failed, and
/// what became of their wrap-ups.
async fn drain(
    http: &reqwest::Client,
    base: &str,
    trace: &Trace,
    label: &str,
) -> anyhow::Result<(usize, WrapUps)> {
    let mut wrap_ups = WrapUps::default();
    let mut pending: Vec<String> = trace
        .calls
        .iter()
        .map(|c| format!("{label}-{}", c.index))
        .collect();
    let failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(900);
    while !pending.is_empty() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} calls still pending after 15 minutes",
            pending.len()
        );
        let mut still = Vec::new();
        for id in pending {
            let call: Value = http
                .get(format!("{base}/api/v1/calls/{id}"))
                .bearer_auth(TOKEN)
                .send()
                .await?
                .json()
                .await?;
            match call["sync"].as_str() {
                Some("done") => {
                    if call["wrap_up"]["on_ticket"] == true {
                        wrap_ups.on_ticket += 1;
                    }
                    let steps = call["steps"].as_array().into_iter().flatten();
                    if steps.into_iter().any(|s| s["step"] == "add_wrap_up") {
                        wrap_ups.late += 1;
                    }
                }
                Some("failed") => {
                    eprintln!("call {id} failed: {}", call["sync_error"]);
                    failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                _ => still.push(id),
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok((failed.load(std::sync::atomic::Ordering::Relaxed), wrap_ups))
}
