//! `deskbridge-bench`: plays the standard trace through deskbridge into a
//! helpdesk's emulator (Zendesk, or Freshdesk with `--helpdesk freshdesk`) and
//! prints what it cost: requests per call by endpoint, time to drain, and 429s,
//! first with a cold cache, then again (new calls, same callers) with the cache
//! warm.
//!
//! Time is compressed by `--time-scale` (ringing, talk and recording delays are
//! divided by it) so the run takes seconds, not hours.

use std::time::Duration;

use clap::Parser;
use deskbridge_bench::trace;

use account::Helpdesk;

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
    /// Each figure of BENCHMARKS.md's performance table at a small size,
    /// failing only when one is ten times worse than its target (`smoke.rs`;
    /// CI runs it). With `--database-url`, PostgreSQL's figures too.
    #[arg(long)]
    smoke: bool,
}

impl Args {
    /// The standard trace, compressed, small, on Zendesk with the mirror: the
    /// smoke's requests per call.
    fn smoke_trace() -> Args {
        Args::parse_from([
            "deskbridge-bench",
            "--calls",
            "300",
            "--numbers",
            "120",
            "--mirror",
        ])
    }
}

mod account;
mod flood;
mod ingest;
mod load;
mod lookup;
mod pop_latency;
mod replay;
mod smoke;
mod sync_watch;
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

/// Posts events to deskbridge's `url` with the group's `token`; anything but
/// a 202 (every event durably accepted) is an error.
async fn post_accepted(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    let resp = http.post(url).bearer_auth(token).json(body).send().await?;
    anyhow::ensure!(
        resp.status().as_u16() == 202,
        "ingest answered {}",
        resp.status()
    );
    Ok(())
}

const TOKEN: &str = "bench-ingest-token-0123456789";
const AGENTS: usize = 5;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The servers it starts in this process log as deskbridge does: errors
    // only unless `RUST_LOG` asks for more (a profile reads their debug
    // lines, `README.md`, "Profiles").
    deskbridge::telemetry::init_at("error");
    if args.smoke {
        return smoke::run(args.database_url).await;
    }
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
        .await
        .map(|_| ());
    }
    if let Some(connections) = args.flood {
        return flood::run(connections, args.seconds).await;
    }
    if let Some(lookups) = args.lookup {
        return lookup::run(lookups, args.clients).await.map(|_| ());
    }
    if let Some(calls) = args.pop_latency {
        return pop_latency::run(calls, &args.pop_action).await.map(|_| ());
    }
    let runs = replay::replay(&args).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&runs.iter().map(replay::Run::json).collect::<Vec<_>>())?
        );
    } else {
        println!(
            "standard trace on {}: {} calls over {} numbers (seed {}), rpm {}, time scale {}x, pop_on {} ({}){}{}",
            runs.first().map_or("", |r| r.helpdesk),
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
    Ok(())
}
