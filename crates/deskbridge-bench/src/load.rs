//! `--load`: the HTTP load generator. Sends the standard trace's calls (or a larger
//! trace: `--calls`, `--numbers`) to deskbridge over HTTP, one event per request
//! (`--batch 1`) or in batches, at `--rate` events a second or as fast as
//! `--concurrency` clients go, to one or several instances (`--url`, repeated), and
//! waits until every call is `sync: done` (as `/api/v1/calls/stream` announces it,
//! `sync_watch.rs`). Prints throughput, ack latency, the
//! time from a call's last ack to its sync, errors, and (with `--emulator`) the
//! helpdesk requests per call. With `--pop-on answered` (or `ringing`) each
//! answered call pops for its agent, and the time from sending the event that
//! made the pop to the pop recorded on the call (its `pops[0].at`, the
//! server's clock, on this machine) is printed as "pop published".
//!
//! Without `--url` it starts what it measures itself: deskbridge on SQLite (or on
//! PostgreSQL with `--database-url`, in a fresh schema; `--instances` of them), with
//! the built-in CRM or the Zendesk emulator. A call's events go in order (its next
//! event only once the last was acknowledged), as a phone system sends them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use deskbridge_bench::trace;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::sync_watch::{Seen, SyncWatch};

/// What to send and where.
pub struct LoadArgs {
    pub calls: usize,
    pub numbers: usize,
    /// Events a second, or as fast as possible.
    pub rate: Option<f64>,
    pub concurrency: usize,
    /// Events per request (1: one event per request).
    pub batch: usize,
    pub urls: Vec<String>,
    pub token: Option<String>,
    pub database_url: Option<String>,
    pub instances: usize,
    pub emulator: bool,
    /// The group's `pop_on` (`off`, `ringing`, `answered`).
    pub pop_on: String,
    /// Held before a call's `ended` event, as a caller talks: a call that
    /// ended before its pop ran gets none (nobody to show it to).
    pub talk: Duration,
    /// A label that keeps this run's ids apart from another run's on the same
    /// instance.
    pub run: String,
}

struct Started {
    urls: Vec<String>,
    token: String,
    instances: Vec<deskbridge::app::Running>,
    emulator: Option<zendesk_emulator::RunningEmulator>,
    _dirs: Vec<tempfile::TempDir>,
    schema: Option<String>,
}

/// The events of one call, in the order a phone system sends them.
fn call_events(run: &str, call: &trace::Call, pop_on: &str) -> Vec<Value> {
    let id = format!("{run}-{}", call.index);
    let ev = |n: u32, mut body: Value| {
        body["id"] = json!(format!("{id}-{n}"));
        body["call_id"] = json!(id);
        body
    };
    let agent = json!({"email": format!("agent{}@acme.com", call.agent)});
    let mut ringing = json!({"type": "ringing", "direction": "inbound", "from": call.written,
                             "to": "+14155550199", "queue": "support"});
    // A pop on ringing goes to the agent whose phone rings.
    if pop_on == "ringing" && call.kind == trace::Kind::Answered {
        ringing["agent"] = agent.clone();
    }
    let mut out = vec![ev(1, ringing)];
    match call.kind {
        trace::Kind::Answered => {
            out.push(ev(2, json!({"type": "answered", "agent": agent})));
            out.push(ev(3, json!({"type": "ended", "reason": "completed"})));
        }
        trace::Kind::Missed => out.push(ev(3, json!({"type": "ended", "reason": "no_answer"}))),
        trace::Kind::Voicemail => {
            out.push(ev(2, json!({"type": "voicemail", "recording_url": format!("https://pbx.example.com/vm/{id}.mp3")})));
            out.push(ev(3, json!({"type": "ended", "reason": "no_answer"})));
        }
    }
    out
}

#[derive(Default)]
struct Tally {
    /// Ack latency of each request, in microseconds.
    acks: Vec<u64>,
    /// When each call's last event was acknowledged.
    last_ack: Vec<(String, Instant)>,
    /// When the event that pops was sent, per call (with `--pop-on`).
    pop_sent: Vec<(String, chrono::DateTime<chrono::Utc>)>,
    errors: std::collections::BTreeMap<String, u64>,
}

/// What a load run measured, for `--smoke` to judge.
#[derive(Debug, Clone, Copy)]
pub struct LoadFigures {
    /// Events acknowledged a second while the clients sent.
    pub events_per_s: f64,
    /// The slowest 1% of acknowledgements, in ms.
    pub ack_p99_ms: f64,
    /// Event sent → pop recorded, p99 in ms (with `pop_on`).
    pub pop_p99_ms: Option<f64>,
    /// Calls synced (done or failed) a second, from the first event sent to
    /// the last call synced.
    pub calls_synced_per_s: f64,
    pub calls_failed: usize,
}

pub async fn run(args: LoadArgs) -> anyhow::Result<LoadFigures> {
    let trace = trace::generate(args.calls, args.numbers, crate::AGENTS);
    let started = start(&args).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let calls: Vec<(String, Vec<Value>)> = trace
        .calls
        .iter()
        .map(|c| {
            (
                format!("{}-{}", args.run, c.index),
                call_events(&args.run, c, &args.pop_on),
            )
        })
        .collect();
    let total_events: usize = calls.iter().map(|(_, e)| e.len()).sum();
    let watch = SyncWatch::open(&http, &started.urls[0], &started.token).await?;
    let next_call = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(calls);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let tickets = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    let begin = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..args.concurrency.max(1) {
        let url = format!(
            "{}/api/v1/events",
            started.urls[client % started.urls.len()]
        );
        let (http, token, calls, next_call, tally, tickets, busy) = (
            http.clone(),
            started.token.clone(),
            calls.clone(),
            next_call.clone(),
            tally.clone(),
            tickets.clone(),
            busy.clone(),
        );
        let (batch, rate, pop_on, talk) =
            (args.batch.max(1), args.rate, args.pop_on.clone(), args.talk);
        tasks.spawn(async move {
            let mut acks = Vec::new();
            let mut last_ack = Vec::new();
            let mut pop_sent = Vec::new();
            let mut errors: Vec<String> = Vec::new();
            loop {
                // The next `batch` calls; their events go phase by phase (every
                // call's first event in one request, then every second...).
                let first = next_call.fetch_add(batch, Ordering::Relaxed);
                if first >= calls.len() {
                    break;
                }
                let mine = &calls[first..(first + batch).min(calls.len())];
                let phases = mine.iter().map(|(_, e)| e.len()).max().unwrap_or(0);
                // A request refused for good leaves its calls unfinished: they
                // are counted as errors, not waited for.
                let mut refused = false;
                for phase in 0..phases {
                    let body: Vec<&Value> = mine.iter().filter_map(|(_, e)| e.get(phase)).collect();
                    if !talk.is_zero() && body.iter().any(|e| e["type"] == "ended") {
                        tokio::time::sleep(talk).await;
                    }
                    if let Some(rate) = rate {
                        let ticket = tickets.fetch_add(body.len() as u64, Ordering::Relaxed);
                        let at = begin + Duration::from_secs_f64(ticket as f64 / rate);
                        tokio::time::sleep_until(at.into()).await;
                    }
                    let popping = mine.iter().filter(|(_, e)| {
                        e.get(phase).is_some_and(|e| e["type"] == pop_on.as_str())
                    });
                    let now = chrono::Utc::now();
                    pop_sent.extend(popping.map(|(id, _)| (id.clone(), now)));
                    let payload = match body.as_slice() {
                        [one] => serde_json::to_vec(one)?,
                        many => serde_json::to_vec(many)?,
                    };
                    loop {
                        let sent = Instant::now();
                        let answer = http
                            .post(&url)
                            .bearer_auth(&token)
                            .header("content-type", "application/json")
                            .body(payload.clone())
                            .send()
                            .await;
                        let status = match answer {
                            Ok(resp) => resp.status().as_u16(),
                            Err(e) => {
                                errors.push(format!("transport: {e}"));
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                continue;
                            }
                        };
                        if status == 503 {
                            busy.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                        if status != 202 {
                            errors.push(format!("HTTP {status}"));
                            refused = true;
                            break;
                        }
                        acks.push(sent.elapsed().as_micros() as u64);
                        break;
                    }
                    if refused {
                        break;
                    }
                }
                if !refused {
                    let now = Instant::now();
                    last_ack.extend(mine.iter().map(|(id, _)| (id.clone(), now)));
                }
            }
            let mut t = tally.lock().await;
            t.acks.extend(acks);
            t.last_ack.extend(last_ack);
            t.pop_sent.extend(pop_sent);
            for e in errors {
                *t.errors.entry(e).or_default() += 1;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a client task panicked")??;
    }
    let sent_in = begin.elapsed();
    let commits_before = commit_stats(&started);
    let mut tally = Arc::try_unwrap(tally)
        .map_err(|_| anyhow::anyhow!("a client still holds the tally"))?
        .into_inner();
    let synced = wait_synced(&http, &started, &watch, &tally.last_ack).await?;
    let synced_in = begin.elapsed();

    tally.acks.sort_unstable();
    let mut pop_ms: Vec<u64> = tally
        .pop_sent
        .iter()
        .filter_map(|(id, sent)| {
            let shown = synced.popped_at.get(id)?;
            Some((*shown - *sent).num_milliseconds().max(0) as u64)
        })
        .collect();
    pop_ms.sort_unstable();
    let mut sync_ms: Vec<u64> = synced.latencies_ms;
    sync_ms.sort_unstable();
    let pct = |v: &[u64], p: f64| -> u64 {
        match v.len() {
            0 => 0,
            n => v[((n as f64 * p).ceil() as usize).clamp(1, n) - 1],
        }
    };
    let target = match args.rate {
        Some(r) => format!("{r:.0} events/s"),
        None => "as fast as possible".into(),
    };
    println!(
        "load: {} calls ({} events) over {} numbers, {} per request, {} clients, {}, {} instance(s), {}",
        args.calls,
        total_events,
        args.numbers,
        match args.batch {
            1 => "1 event".to_string(),
            n => format!("batches of {n} calls' events"),
        },
        args.concurrency,
        target,
        started.urls.len(),
        backend_name(&args, &started),
    );
    println!(
        "  ingest: {} requests acknowledged in {:.2} s = {:.0} events/s ({:.0} requests/s)",
        tally.acks.len(),
        sent_in.as_secs_f64(),
        total_events as f64 / sent_in.as_secs_f64(),
        tally.acks.len() as f64 / sent_in.as_secs_f64(),
    );
    println!(
        "  ack latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(&tally.acks, 0.50) as f64 / 1000.0,
        pct(&tally.acks, 0.99) as f64 / 1000.0,
        tally.acks.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
    if let Some((commits, events)) = commits_before {
        println!(
            "  group commits: {commits} durable commits = {:.0} commits/s, {:.1} events per commit",
            commits as f64 / sent_in.as_secs_f64(),
            events as f64 / commits.max(1) as f64,
        );
    }
    println!(
        "  synced: all {} calls `sync: done` (or failed) {:.2} s after the start; last ack → synced p50 {} ms, p99 {} ms (as announced on /calls/stream)",
        synced.done + synced.failed,
        synced_in.as_secs_f64(),
        pct(&sync_ms, 0.50),
        pct(&sync_ms, 0.99),
    );
    if args.pop_on != "off" {
        println!(
            "  pop published: {} of {} calls popped; event sent → pop recorded p50 {} ms, p99 {} ms, max {} ms",
            pop_ms.len(),
            tally.pop_sent.len(),
            pct(&pop_ms, 0.50),
            pct(&pop_ms, 0.99),
            pop_ms.last().copied().unwrap_or(0),
        );
    }
    let errors: u64 = tally.errors.values().sum();
    println!(
        "  errors: {errors} {:?}; 503 busy answers (retried): {}; calls failed: {}",
        tally.errors,
        busy.load(Ordering::Relaxed),
        synced.failed
    );
    if let Some(emu) = &started.emulator {
        let stats = emu.stats();
        let requests: u64 = stats.endpoints.values().sum();
        println!(
            "  helpdesk: {requests} Zendesk requests = {:.2} per call",
            requests as f64 / args.calls as f64
        );
    }
    stop(started).await?;
    Ok(LoadFigures {
        events_per_s: total_events as f64 / sent_in.as_secs_f64(),
        ack_p99_ms: pct(&tally.acks, 0.99) as f64 / 1000.0,
        pop_p99_ms: (args.pop_on != "off" && !pop_ms.is_empty()).then(|| pct(&pop_ms, 0.99) as f64),
        calls_synced_per_s: (synced.done + synced.failed) as f64 / synced_in.as_secs_f64(),
        calls_failed: synced.failed,
    })
}

/// The trace's agents in the directory: a pop goes to the agent of the call.
fn agents_config() -> String {
    (0..crate::AGENTS)
        .map(|i| format!("[[agents]]\nemail = \"agent{i}@acme.com\"\nname = \"Agent {i}\"\n"))
        .collect()
}

fn backend_name(args: &LoadArgs, started: &Started) -> String {
    if !args.urls.is_empty() {
        return "running deskbridge".into();
    }
    let db = match &started.schema {
        Some(schema) => format!("PostgreSQL (schema {schema})"),
        None => "SQLite (synchronous=FULL)".into(),
    };
    let helpdesk = match args.emulator {
        true => "Zendesk emulator",
        false => "built-in CRM",
    };
    format!("{db}, {helpdesk}")
}

/// Group commits and their events, summed over the instances this run started.
fn commit_stats(started: &Started) -> Option<(u64, u64)> {
    if started.instances.is_empty() {
        return None;
    }
    let sum = |f: fn(&deskbridge::ingest::committer::CommitStats) -> u64| {
        started
            .instances
            .iter()
            .map(|r| f(&r.state.commits.stats))
            .sum::<u64>()
    };
    Some((
        sum(|s| s.commits.load(Ordering::Relaxed)),
        sum(|s| s.events.load(Ordering::Relaxed)),
    ))
}

struct Synced {
    done: usize,
    failed: usize,
    latencies_ms: Vec<u64>,
    /// When each call's first pop was recorded (calls that popped).
    popped_at: std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>,
}

/// Waits until every call is `done` or `failed`, as the change stream
/// announces it (`sync_watch.rs`); after the stream missed changes, the calls
/// still pending are asked once each.
async fn wait_synced(
    http: &reqwest::Client,
    started: &Started,
    watch: &SyncWatch,
    last_ack: &[(String, Instant)],
) -> anyhow::Result<Synced> {
    let mut pending: Vec<(String, Instant)> = last_ack.to_vec();
    let mut synced = Synced {
        done: 0,
        failed: 0,
        latencies_ms: Vec::new(),
        popped_at: Default::default(),
    };
    let deadline = Instant::now() + Duration::from_secs(1800);
    // Once at first: calls synced before the stream opened are not announced again.
    let mut ask = true;
    while !pending.is_empty() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} calls still pending after 30 minutes",
            pending.len()
        );
        if ask {
            poll_pending(http, started, watch, &pending).await;
        }
        let mut still = Vec::new();
        for (id, acked) in pending {
            match watch.seen(&id) {
                Some(seen) => {
                    if seen.failed {
                        synced.failed += 1;
                        continue;
                    }
                    synced.done += 1;
                    if let Some(at) = seen.popped_at {
                        synced.popped_at.insert(id, at);
                    }
                    let after = seen.at.saturating_duration_since(acked);
                    synced.latencies_ms.push(after.as_millis() as u64);
                }
                None => still.push((id, acked)),
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            ask = watch.take_unsure();
        }
    }
    Ok(synced)
}

/// Asks for each pending call once, 32 at a time, and notes those synced.
async fn poll_pending(
    http: &reqwest::Client,
    started: &Started,
    watch: &SyncWatch,
    pending: &[(String, Instant)],
) {
    let base = started.urls[0].clone();
    for chunk in pending.chunks(32) {
        let answers = futures_util::future::join_all(chunk.iter().map(|(id, _)| {
            let req = http
                .get(format!("{base}/api/v1/calls/{id}"))
                .bearer_auth(&started.token);
            async move { req.send().await?.json::<Value>().await }
        }))
        .await;
        for ((id, _), answer) in chunk.iter().zip(answers) {
            if let Some(seen) = answer.ok().and_then(|c| Seen::of(&c, Instant::now())) {
                watch.note(id, seen);
            }
        }
    }
}

async fn start(args: &LoadArgs) -> anyhow::Result<Started> {
    if !args.urls.is_empty() {
        let token = args
            .token
            .clone()
            .context("--url needs --token (the group's ingest token)")?;
        return Ok(Started {
            urls: args
                .urls
                .iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            token,
            instances: Vec::new(),
            emulator: None,
            _dirs: Vec::new(),
            schema: None,
        });
    }
    anyhow::ensure!(
        args.instances <= 1 || args.database_url.is_some(),
        "several --instances share a database: give --database-url (PostgreSQL)"
    );
    let schema = match &args.database_url {
        Some(url) => Some(fresh_schema(url).await?),
        None => None,
    };
    let emulator = match args.emulator {
        true => {
            let mut cfg = zendesk_emulator::EmulatorConfig::new("admin@acme.com", "bench-token");
            cfg.requests_per_minute = Some(1_000_000);
            let emu = zendesk_emulator::Emulator::new(cfg)
                .start("127.0.0.1:0")
                .await?;
            for i in 0..crate::AGENTS {
                emu.seed_agent(&format!("agent{i}@acme.com"), &format!("Agent {i}"));
            }
            Some(emu)
        }
        false => None,
    };
    let backend = match &emulator {
        Some(emu) => format!(
            r#"
[backends.zendesk]
kind = "zendesk"
base_url = "{}"
email = "admin@acme.com"
api_token = "bench-token"
requests_per_minute = 1000000
"#,
            emu.base_url
        ),
        None => "[backends.crm]\nkind = \"builtin\"\n".into(),
    };
    let config_text = format!(
        r#"
[jobs]
workers = 8
{backend}
{agents}
[[groups]]
name = "support"
backend = "{name}"
tokens = ["{token}"]
wait_for_recording_seconds = 0
pop_on = "{pop_on}"
"#,
        name = if emulator.is_some() { "zendesk" } else { "crm" },
        token = crate::TOKEN,
        pop_on = args.pop_on,
        agents = agents_config(),
    );
    let mut dirs = Vec::new();
    let mut instances = Vec::new();
    for _ in 0..args.instances.max(1) {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("load.toml");
        std::fs::write(&path, &config_text)?;
        let overrides = deskbridge::config::Overrides {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().join("data")),
            database_url: match (&args.database_url, &schema) {
                (Some(url), Some(schema)) => Some(schema_url(url, schema)),
                _ => None,
            },
        };
        let config = deskbridge::config::Config::load(Some(&path), overrides)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        instances.push(deskbridge::app::start(config).await?);
        dirs.push(dir);
    }
    Ok(Started {
        urls: instances
            .iter()
            .map(|r| format!("http://{}", r.addr))
            .collect(),
        token: crate::TOKEN.to_string(),
        instances,
        emulator,
        _dirs: dirs,
        schema,
    })
}

fn schema_url(base: &str, schema: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema}")
}

/// A new, empty schema for this run (dropped at the end).
async fn fresh_schema(url: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let name = format!(
        "deskbridge_load_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&mut conn)
        .await?;
    Ok(name)
}

async fn stop(started: Started) -> anyhow::Result<()> {
    for running in started.instances {
        running.stop().await?;
    }
    Ok(())
}
