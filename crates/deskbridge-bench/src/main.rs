//! `deskbridge-bench`: plays the standard trace through deskbridge into a
//! helpdesk's emulator (Zendesk, or Freshdesk with `--helpdesk freshdesk`) and
//! prints what it cost: requests per call by endpoint, time to drain, and 429s,
//! first with a cold cache, then again (new calls, same callers) with the cache
//! warm.
//!
//! Time is compressed by `--time-scale` (ringing, talk and recording delays are
//! divided by it) so the run takes seconds, not hours.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use deskbridge_bench::trace::{self, Call, Kind, Trace};
use serde_json::{Value, json};

use account::{Account, Counts, Helpdesk};

#[derive(Parser)]
#[command(about = "Standard trace → deskbridge → a helpdesk's emulator: requests per call")]
struct Args {
    /// The helpdesk the trace plays into (its emulator).
    #[arg(long, value_enum, default_value = "zendesk")]
    helpdesk: Helpdesk,
    /// With `--helpdesk freshdesk`: the account's plan (growth, pro,
    /// enterprise), whose per-minute and per-endpoint limits the emulator
    /// keeps in real minutes (run with `--time-scale 1`).
    #[arg(long, default_value = "growth")]
    plan: String,
    /// With `--helpdesk freshdesk`: the backend's `call_in_description` (a
    /// call's private comment as a new ticket's description, one request).
    #[arg(long)]
    call_in_description: bool,
    #[arg(long, default_value_t = 1000)]
    calls: usize,
    #[arg(long, default_value_t = 400)]
    numbers: usize,
    /// The account's limit (the emulator enforces it; deskbridge is told the same).
    #[arg(long, default_value_t = 2500)]
    rpm: u32,
    /// The account's limit on ticket updates a minute: 100, or 300 with the High
    /// Volume add-on that 2,500 rpm comes with ("Rate limits", Update Ticket).
    /// deskbridge keeps it in wall-clock minutes while the trace plays
    /// `--time-scale` times faster, so deskbridge is told this times the time
    /// scale: the limit per minute of the trace. (Unscaled, the compressed
    /// trace's comments on existing tickets, about 90 in a run of seconds,
    /// are held back and retried, and a retried comment first reads the
    /// ticket's comments: requests a real hour of these calls never makes.)
    #[arg(long, default_value_t = 300)]
    ticket_updates_per_minute: u32,
    /// Real seconds of the trace per second of the run.
    #[arg(long, default_value_t = 100.0)]
    time_scale: f64,
    /// Seconds between call starts in the trace.
    #[arg(long, default_value_t = 0.6)]
    call_every_s: f64,
    /// Share of the callers who already exist in Zendesk, each with an open ticket
    /// (the tickets the IVR numbers point at).
    #[arg(long, default_value_t = 0.3)]
    known_share: f64,
    /// Store the known callers' numbers as people type them ("(415) 200-0037",
    /// "415-200-0074", "+1 415 200 0111", "1 415 200 0148" in turn) instead of
    /// E.164: Zendesk's `phone:` search finds these only with a wildcard.
    #[arg(long)]
    typed_numbers: bool,
    #[arg(long)]
    json: bool,
    /// Instead of the trace: measure durable ingest, sending this many events (in
    /// batches of `--batch`, from `--clients` concurrent clients) to deskbridge on
    /// SQLite with the built-in CRM, and report events acknowledged per second.
    #[arg(long)]
    ingest: Option<usize>,
    #[arg(long, default_value_t = 50)]
    batch: usize,
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// The group's `pop_on` for the trace: `answered` pops every answered call
    /// for its agent (the "2.5 with a pop on every answered call" target).
    #[arg(long, default_value = "off")]
    pop_on: String,
    /// The group's `pop_action`.
    #[arg(long, default_value = "ticket_by_ani")]
    pop_action: String,
    /// Instead of the trace: measure screen pop latency, ringing this many
    /// calls one after another (half from callers seen before, half new), from
    /// posting the ringing event to the pop recorded on the call.
    #[arg(long)]
    pop_latency: Option<usize>,
    /// Instead of the trace's replay in compressed time: the HTTP load generator
    /// (`load.rs`). The trace's `--calls` over `--numbers`, `--batch` calls'
    /// events per request (1: one event per request), from `--concurrency`
    /// clients, at `--rate` events/s (default: as fast as possible); waits until
    /// every call is synced.
    #[arg(long)]
    load: bool,
    #[arg(long)]
    rate: Option<f64>,
    /// With `--load`: milliseconds a call talks before its `ended` event (a
    /// call that ended before its pop ran pops nobody).
    #[arg(long, default_value_t = 0)]
    talk_ms: u64,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// A running deskbridge to load (repeat for several instances); without it
    /// the run starts its own.
    #[arg(long)]
    url: Vec<String>,
    /// The group's ingest token, with `--url`.
    #[arg(long)]
    token: Option<String>,
    /// Start deskbridge on this PostgreSQL (a fresh schema) instead of SQLite.
    #[arg(long)]
    database_url: Option<String>,
    /// deskbridge instances to start (with `--database-url`).
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Start deskbridge with the Zendesk emulator as its helpdesk (and count its
    /// requests per call) instead of the built-in CRM.
    #[arg(long)]
    emulator: bool,
    /// Keep the Zendesk account's local mirror (`mirror = true`), loaded
    /// before the trace starts: known callers and IVR tickets are answered
    /// from it, first-time callers are created without a search. The export
    /// requests of the load are not counted; the polls during the run are.
    #[arg(long)]
    mirror: bool,
    /// Instead of the trace: caller lookups and routing answers over HTTP
    /// against the built-in CRM with 20,000 contacts (`lookup.rs`): this many
    /// one after another, then five times as many from `--clients` clients.
    #[arg(long)]
    lookup: Option<usize>,
    /// Instead of the trace: this many clients that never read their answers
    /// against deskbridge with `max_connections = 64`, for `--seconds`,
    /// timing `/healthz` and an authenticated ingest meanwhile (`flood.rs`).
    #[arg(long)]
    flood: Option<usize>,
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// The trace's answered calls are wrapped up by their agents
    /// (`[groups.wrap_up]` with a code each, `wrap_up.rs`), some seconds
    /// after they end, while their comment waits for it.
    #[arg(long)]
    wrap_up: bool,
    /// A prefix for this run's call ids (runs against one instance must differ).
    #[arg(long, default_value = "load")]
    run: String,
}

mod account;
mod flood;
mod ingest;
mod load;
mod lookup;
mod pop_latency;
mod wrap_up;

/// deskbridge in this process, with `config_text` as its config file and its
/// data in `dir`, listening on a free port.
async fn start_deskbridge(
    dir: &tempfile::TempDir,
    config_text: &str,
) -> anyhow::Result<deskbridge::app::Running> {
    let path = dir.path().join("bench.toml");
    std::fs::write(&path, config_text)?;
    let overrides = deskbridge::config::Overrides {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().join("data")),
        database_url: None,
    };
    let config = deskbridge::config::Config::load(Some(&path), overrides)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    deskbridge::app::start(config).await
}

/// deskbridge on the embedded default (no config file: SQLite, the built-in
/// CRM, one group) with its data in `dir`; its generated ingest token.
async fn start_default(
    dir: &tempfile::TempDir,
) -> anyhow::Result<(deskbridge::app::Running, String)> {
    let overrides = deskbridge::config::Overrides {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().join("data")),
        database_url: None,
    };
    let config =
        deskbridge::config::Config::load(None, overrides).map_err(|e| anyhow::anyhow!("{e}"))?;
    let running = deskbridge::app::start(config).await?;
    let token = std::fs::read_to_string(dir.path().join("data/ingest-token"))?;
    Ok((running, token.trim().to_string()))
}

const TOKEN: &str = "bench-ingest-token-0123456789";
const AGENTS: usize = 5;

struct Run {
    label: &'static str,
    helpdesk: &'static str,
    calls: usize,
    drained: Duration,
    endpoints: BTreeMap<String, u64>,
    rate_limited: u64,
    during_retry_after: u64,
    failed_calls: usize,
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
    fn total(&self) -> u64 {
        self.endpoints.values().sum()
    }

    fn per_call(&self, n: u64) -> f64 {
        n as f64 / self.calls as f64
    }

    fn json(&self) -> Value {
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

    fn print(&self) {
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(events) = args.ingest {
        return ingest::run(events, args.batch, args.clients).await;
    }
    if args.load {
        return load::run(load::LoadArgs {
            calls: args.calls,
            numbers: args.numbers,
            rate: args.rate,
            concurrency: args.concurrency,
            batch: args.batch,
            urls: args.url,
            token: args.token,
            database_url: args.database_url,
            instances: args.instances,
            emulator: args.emulator,
            pop_on: args.pop_on,
            talk: Duration::from_millis(args.talk_ms),
            run: args.run,
        })
        .await;
    }
    if let Some(connections) = args.flood {
        return flood::run(connections, args.seconds).await;
    }
    if let Some(lookups) = args.lookup {
        return lookup::run(lookups, args.clients).await;
    }
    if let Some(calls) = args.pop_latency {
        return pop_latency::run(calls, &args.pop_action).await;
    }
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
        &config(&emu, &plan, &agents, &args, wrap_up_field.as_deref()),
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
        play(&http, &base, &trace, &ivr_tickets, label, &args).await?;
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
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&runs.iter().map(Run::json).collect::<Vec<_>>())?
        );
    } else {
        println!(
            "standard trace on {}: {} calls over {} numbers (seed {}), rpm {}, time scale {}x, pop_on {} ({}){}{}",
            emu.name(),
            args.calls,
            args.numbers,
            trace::SEED,
            args.rpm,
            args.time_scale,
            args.pop_on,
            args.pop_action,
            if args.mirror { ", mirror" } else { "" },
            if args.wrap_up {
                ", every answered call wrapped up"
            } else {
                ""
            }
        );
        for r in &runs {
            r.print();
        }
    }
    running.stop().await?;
    Ok(())
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
