//! Screen pop latency: the time from posting a call's ringing event to the pop
//! recorded on the call (what the agent page's stream and `GET /api/v1/calls`
//! show), measured on the store's change stream. deskbridge runs in-process on
//! SQLite with a Zendesk backend (the emulator, in-process too) and
//! `pop_on = "ringing"`; the time includes the durable ingest, the fast lane's
//! claim, the pop step (and its Zendesk requests) and the commit of its record.

use std::time::{Duration, Instant};

use deskbridge_store::Change;
use serde_json::json;
use zendesk_emulator::{Emulator, EmulatorConfig, SeedTicket, SeedUser};

const TOKEN: &str = "bench-pop-token-0123456789";

/// The account's budget for this run: large enough that no pop waits for it.
/// The run rings calls back to back, far faster than any plan's rate (each pop
/// of a cached caller is one request), and a pop waiting for the budget would
/// measure the plan, not the pop.
const RPM: u32 = 1_000_000;

/// The pops' p99 over every call rung, for `--smoke` to judge.
#[derive(Debug, Clone, Copy)]
pub struct PopFigures {
    pub p99_ms: f64,
}

pub async fn run(calls: usize, action: &str) -> anyhow::Result<PopFigures> {
    let mut emu_cfg = EmulatorConfig::new("admin@acme.com", "bench-token");
    emu_cfg.search_lag = Duration::from_secs(120);
    let emu = Emulator::new(emu_cfg).start("127.0.0.1:0").await?;
    let agent = emu.seed_agent("ann@acme.com", "Ann Example");
    let known: Vec<String> = (0..calls / 2).map(|n| format!("+1415300{n:04}")).collect();
    for (n, number) in known.iter().enumerate() {
        let user = emu.seed_user(SeedUser::end_user(format!("Customer {n}"), number.clone()));
        emu.seed_ticket(SeedTicket::new(user, format!("Order question {n}")));
    }
    let dir = tempfile::tempdir()?;
    let config = format!(
        r#"
[metrics]
enabled = false

[backends.zendesk]
kind = "zendesk"
base_url = "{base}"
email = "admin@acme.com"
api_token = "bench-token"
requests_per_minute = {rpm}

[[agents]]
email = "ann@acme.com"
zendesk_id = "{agent}"

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
pop_on = "ringing"
pop_action = "{action}"
"#,
        base = emu.base_url,
        rpm = RPM,
    );
    let running = super::start_deskbridge(&dir, &config).await?;
    let url = format!("http://{}/api/v1/events", running.addr);
    let http = reqwest::Client::new();
    let store = running.state.store.clone();

    let mut n = 0usize;
    let mut ring = async |from: &str| -> anyhow::Result<Duration> {
        n += 1;
        let call_id = format!("p{n}");
        let body = json!({"id": format!("{call_id}-1"), "call_id": call_id, "type": "ringing",
            "direction": "inbound", "from": from, "to": "+14155550199",
            "agent": {"email": "ann@acme.com"}});
        let mut changes = store.changes();
        let started = Instant::now();
        crate::post_accepted(&http, &url, TOKEN, &body).await?;
        loop {
            let change = tokio::time::timeout(Duration::from_secs(30), changes.recv()).await??;
            if matches!(&change, Change::Call { call_id: c, .. } if *c == call_id) {
                let call = store.call("support", &call_id).await?;
                if call.is_some_and(|c| !c.interaction.pops.is_empty()) {
                    return Ok(started.elapsed());
                }
            }
        }
    };
    // Callers seen before: a first call puts them in deskbridge's cache.
    for number in &known {
        ring(number).await?;
    }
    let mut cached = Vec::new();
    for number in &known {
        cached.push(ring(number).await?);
    }
    let mut uncached = Vec::new();
    for i in 0..calls - calls / 2 {
        uncached.push(ring(&format!("+1415400{i:04}")).await?);
    }
    let stats = emu.stats();
    println!(
        "screen pop latency (pop_on = ringing, pop_action = {action}), ringing event posted -> pop recorded on the call:"
    );
    report("cached caller", &mut cached);
    report("new caller", &mut uncached);
    println!(
        "    pops delivered in the emulator: {} (agent {agent})",
        stats.pop_count()
    );
    running.stop().await?;
    let mut all: Vec<Duration> = cached.into_iter().chain(uncached).collect();
    Ok(PopFigures {
        p99_ms: report("every call", &mut all),
    })
}

/// Prints the samples' p50, p99 and max; the p99 in ms.
fn report(label: &str, samples: &mut [Duration]) -> f64 {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i].as_secs_f64() * 1000.0
    };
    println!(
        "    {label:<14} n={:<5} p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>6.2} ms",
        samples.len(),
        at(0.50),
        at(0.99),
        at(1.0)
    );
    at(0.99)
}
