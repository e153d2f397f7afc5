//! `--smoke`: each figure of BENCHMARKS.md's performance table (issue 29) at
//! a small size, in whatever build runs it (CI: the debug build), as a
//! regression guard rather than a measurement.
//!
//! A timed figure fails only when it is ten times worse than its target
//! (below a tenth of a rate, above ten times a latency): a slow or busy
//! machine, or the debug build, cannot trip that, while a change that breaks
//! a path (ingest committing per event, lookups scanning the table) does.
//! Requests per call are counts, not timings, so they are held closer: at
//! most 1.5 times their target. PostgreSQL's figures are shown, not judged,
//! until the work of issue 29 brings them within reach: the release build
//! already misses the batched tenth (845 events/s against 10,000) and is
//! within noise of the single-event one (820 against 500; a CI run with the
//! machine busy measured 449 in the debug build), so judging them would fail
//! runs and guard nothing. Their calls must still all sync. The real
//! figures, release build, with their commands, are in BENCHMARKS.md.

use std::time::Duration;

use crate::load::{self, LoadArgs, LoadFigures};

/// What a figure must stay within.
#[derive(Debug, Clone, Copy)]
enum Goal {
    /// A rate: higher is better.
    AtLeast(f64),
    /// A latency or a cost: lower is better.
    AtMost(f64),
}

struct Figure {
    name: String,
    measured: f64,
    unit: &'static str,
    target: Goal,
    /// How much worse than the target it may be before it fails.
    slack: f64,
    judged: bool,
}

/// Timed figures may be ten times worse than their target.
const TIMED: f64 = 10.0;
/// Counts of requests may be half again their target.
const COUNTED: f64 = 1.5;

impl Figure {
    fn limit(&self) -> f64 {
        match self.target {
            Goal::AtLeast(t) => t / self.slack,
            Goal::AtMost(t) => t * self.slack,
        }
    }

    fn passes(&self) -> bool {
        match self.target {
            Goal::AtLeast(_) => self.measured >= self.limit(),
            Goal::AtMost(_) => self.measured <= self.limit(),
        }
    }

    fn line(&self) -> String {
        let (target, limit) = match self.target {
            Goal::AtLeast(t) => (
                format!("target {t}"),
                format!("fails below {:.2}", self.limit()),
            ),
            Goal::AtMost(t) => (
                format!("target {t}"),
                format!("fails above {:.2}", self.limit()),
            ),
        };
        let verdict = match (self.judged, self.passes()) {
            (false, _) => "shown, not judged",
            (true, true) => "ok",
            (true, false) => "FAILED",
        };
        format!(
            "{:<62} {:>10.2} {:<10} ({target}, {limit}) {verdict}",
            self.name, self.measured, self.unit
        )
    }
}

fn load_args(calls: usize, batch: usize, concurrency: usize, db: Option<&str>) -> LoadArgs {
    LoadArgs {
        calls,
        numbers: calls.min(400),
        rate: None,
        concurrency,
        batch,
        urls: Vec::new(),
        token: None,
        database_url: db.map(str::to_string),
        instances: 1,
        emulator: false,
        pop_on: "off".into(),
        talk: Duration::ZERO,
        run: format!("smoke-{batch}-{}", db.map_or("sqlite", |_| "pg")),
    }
}

/// One database's ingest (`None`: SQLite), one event per request and 50
/// calls' events per request, into `figures`; every call must sync. The
/// batched run's figures, for what else they show.
async fn ingest_on(
    figures: &mut Vec<Figure>,
    db: Option<&str>,
    targets: (f64, f64),
    judged: bool,
) -> anyhow::Result<LoadFigures> {
    let on = db.map_or("SQLite", |_| "PostgreSQL");
    let single = load::run(load_args(600, 1, 64, db)).await?;
    let batched = load::run(load_args(1_000, 50, 8, db)).await?;
    anyhow::ensure!(
        single.calls_failed + batched.calls_failed == 0,
        "calls failed on {on}"
    );
    let rate = |name: String, measured: f64, target: f64| Figure {
        name,
        measured,
        unit: "events/s",
        target: Goal::AtLeast(target),
        slack: TIMED,
        judged,
    };
    figures.push(rate(
        format!("ingest, one event per request, 64 clients, {on}"),
        single.events_per_s,
        targets.0,
    ));
    figures.push(rate(
        format!("ingest, 50 calls' events per request, {on}"),
        batched.events_per_s,
        targets.1,
    ));
    figures.push(Figure {
        name: format!("ack p99, batched, {on}"),
        measured: batched.ack_p99_ms,
        unit: "ms",
        target: Goal::AtMost(100.0),
        slack: TIMED,
        judged,
    });
    Ok(batched)
}

/// Runs every figure; fails when a judged one is past its limit. PostgreSQL's
/// figures run when `database_url` names a server.
pub async fn run(database_url: Option<String>) -> anyhow::Result<()> {
    let mut figures = Vec::new();

    let batched = ingest_on(&mut figures, None, (5_000.0, 20_000.0), true).await?;
    figures.push(Figure {
        name: "calls synced end to end, built-in CRM".into(),
        measured: batched.calls_synced_per_s,
        unit: "calls/s",
        // Issue 29: the last round's ~100 a second, doubled.
        target: Goal::AtLeast(200.0),
        slack: TIMED,
        judged: true,
    });
    if let Some(url) = database_url.as_deref() {
        ingest_on(&mut figures, Some(url), (5_000.0, 10_000.0), false).await?;
    }

    // Pops while 64 clients send events, each call talking 300 ms (a call
    // ended before its pop pops nobody). The debug build's pop path is about
    // ten times the release build's here (BENCHMARKS.md: 608 ms against
    // 27.5 ms), so only a release build judges it.
    let mut under_load = load_args(200, 1, 64, None);
    under_load.pop_on = "ringing".into();
    under_load.talk = Duration::from_millis(300);
    under_load.run = "smoke-pops".into();
    let loaded = load::run(under_load).await?;
    figures.push(Figure {
        name: "pop recorded after the ringing event, p99, under ingest".into(),
        measured: loaded.pop_p99_ms.unwrap_or(f64::INFINITY),
        unit: "ms",
        target: Goal::AtMost(20.0),
        slack: TIMED,
        judged: !cfg!(debug_assertions),
    });
    let pops = crate::pop_latency::run(40, "ticket_by_ani").await?;
    figures.push(Figure {
        name: "pop recorded after the ringing event, p99 (quiet)".into(),
        measured: pops.p99_ms,
        unit: "ms",
        target: Goal::AtMost(20.0),
        slack: TIMED,
        judged: true,
    });

    let lookups = crate::lookup::run(300, 4).await?;
    for (name, p99) in [
        ("caller lookup, p99, 20,000 contacts", lookups.lookup_p99),
        ("routing answer, p99, 20,000 contacts", lookups.route_p99),
    ] {
        figures.push(Figure {
            name: name.into(),
            measured: p99.as_secs_f64() * 1000.0,
            unit: "ms",
            target: Goal::AtMost(1.0),
            slack: TIMED,
            judged: true,
        });
    }

    let args = crate::Args::smoke_trace();
    let runs = crate::replay::replay(&args).await?;
    for (run, target, name) in [
        (0, 1.30, "Zendesk requests per call, mirror, cold"),
        (1, 1.02, "Zendesk requests per call, mirror, warm"),
    ] {
        let r = &runs[run];
        anyhow::ensure!(r.failed_calls == 0, "{} calls failed", r.failed_calls);
        figures.push(Figure {
            name: name.into(),
            measured: r.per_call(r.total()),
            unit: "per call",
            target: Goal::AtMost(target),
            slack: COUNTED,
            judged: true,
        });
    }

    println!("\nsmoke figures ({} build):", build());
    for f in &figures {
        println!("  {}", f.line());
    }
    let failed: Vec<&str> = figures
        .iter()
        .filter(|f| f.judged && !f.passes())
        .map(|f| f.name.as_str())
        .collect();
    anyhow::ensure!(
        failed.is_empty(),
        "past ten times their target (or 1.5 for requests per call): {}",
        failed.join("; ")
    );
    Ok(())
}

fn build() -> &'static str {
    match cfg!(debug_assertions) {
        true => "debug",
        false => "release",
    }
}
