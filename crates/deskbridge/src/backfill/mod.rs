//! `deskbridge backfill`: imports a call history (Asterisk's Master.csv, or native
//! events one per line) into a group, as if its calls had happened live.
//!
//! Three choices carry the design:
//!
//! - **The live path.** The file's records become the same [`CallEvent`]s the
//!   live adapters make, with ids derived from the call's id, and go through
//!   [`crate::ingest::commit`], the one commit path of every adapter: the journal
//!   ignores an event it has, so the import is idempotent and a second run (after
//!   Ctrl-C, a crash, or on purpose) adds nothing it already added. Events are
//!   committed in chunks ([`Options::chunk`] events, one durable transaction each).
//! - **The bulk lane.** Imported calls start under their group's plan with
//!   [`WorkLane::Bulk`], so their steps are queued in the bulk lane, which a
//!   server's workers never claim: a live call never waits behind history.
//! - **Synced when it returns.** The command then runs bulk workers of its own
//!   ([`crate::worker::spawn_bulk`]) at [`Options::rate`] calls a minute, and
//!   returns once no bulk step is left, so the history is in the helpdesk when the
//!   command finishes, while a running server goes on serving live calls.
//!   Interrupted, the steps stay queued; the next run takes them up.

mod output;
mod source;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono_tz::Tz;
use deskbridge_core::{CallEvent, CallPlan, WorkLane};
use deskbridge_store::StoreError;
use tokio::sync::watch;

use output::{Bars, Listing};
pub use source::Format;
use source::{Content, Item};

use crate::adapters::asterisk_cdr::CdrSettings;
use crate::config::{BackendKind, Config};
use crate::state::{AppState, Group};
use crate::worker::{self, Pace, RetryPolicy};

/// What a run does.
#[derive(Debug, Clone)]
pub struct Options {
    /// The group the calls belong to; needed when several are configured.
    pub group: Option<String>,
    pub format: Format,
    /// Print what would be imported; store nothing.
    pub dry_run: bool,
    /// The PBX clock's zone, for CDR times (default UTC).
    pub timezone: Tz,
    /// A CDR's `src` of at most this many digits is an extension, and the call
    /// outbound (besides the directory's extensions); default 5.
    pub extension_max_digits: usize,
    /// Calls a minute that start their helpdesk work; 0 = as fast as the workers
    /// go. [`default_rate`] when not given.
    pub rate: u32,
    /// Run workers until the imported calls are synced (else leave them queued
    /// for a later run).
    pub sync: bool,
    /// Events per durable commit.
    pub chunk: usize,
    pub workers: usize,
    pub retry: RetryPolicy,
    /// Draw progress bars (on a terminal).
    pub progress: bool,
}

impl Options {
    /// The defaults for a config: its workers (at most 4) and retry policy.
    pub fn new(config: &Config, format: Format) -> Options {
        Options {
            group: None,
            format,
            dry_run: false,
            timezone: Tz::UTC,
            extension_max_digits: 5,
            rate: 0,
            sync: true,
            chunk: 500,
            workers: config.jobs.workers.clamp(1, 4),
            retry: RetryPolicy::from(&config.jobs),
            progress: false,
        }
    }
}

/// The default pace for a group's calls: none for the built-in CRM (it is this
/// database), a tenth of the account's requests per minute for Zendesk (a call
/// costs about three requests, so the import takes under a third of the budget
/// and leaves the rest to live calls).
pub fn default_rate(config: &Config, group: Option<&str>) -> u32 {
    let backend = match group {
        Some(name) => config
            .groups
            .iter()
            .find(|g| g.name == name)
            .and_then(|g| g.backend.clone()),
        None => config.groups.first().and_then(|g| g.backend.clone()),
    };
    match backend.and_then(|b| config.backends.get(&b)) {
        Some(b) if b.kind == BackendKind::Zendesk => (b.requests_per_minute() / 10).max(1),
        _ => 0,
    }
}

/// A line that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: u64,
    pub reason: String,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records read (lines, without blank ones).
    pub read: u64,
    /// Distinct calls in the good records.
    pub calls: u64,
    /// Events stored by this run.
    pub imported: u64,
    /// Events stored by an earlier run (or live).
    pub already_there: u64,
    /// Records with nothing to import (calls between two extensions).
    pub left_out: u64,
    pub bad: Vec<BadLine>,
    /// Bulk steps still queued when the run ended (0 once synced).
    pub unsynced: u64,
    /// Stopped by Ctrl-C while syncing.
    pub interrupted: bool,
    /// Imported calls whose helpdesk work failed for good (this run's or an
    /// earlier one's; at most [`FAILED_SHOWN`] of them read).
    pub failed: Vec<deskbridge_store::FailedStep>,
}

/// How many failed calls a run reads back and counts.
pub const FAILED_SHOWN: u32 = 1000;

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "read {} lines: {} calls; {} events imported, {} already there; {} left out \
             (between extensions); {} bad lines",
            self.read,
            self.calls,
            self.imported,
            self.already_there,
            self.left_out,
            self.bad.len()
        )
    }
}

/// Imports `path` into the group. Bad lines are written to `err` as they are
/// met; the dry run's listing and the summary to `out`.
pub async fn run(
    state: Arc<AppState>,
    path: &Path,
    options: &Options,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> anyhow::Result<Summary> {
    let group = pick_group(&state, options.group.as_deref())?;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let directory = state.directory.agents();
    let cdr = CdrSettings {
        extension_max_digits: options.extension_max_digits,
        ..CdrSettings::new(options.timezone, group.region, &directory)
    };
    let items = source::items(Box::new(file), options.format, &group, cdr);

    let bars = Bars::new(options.progress, size);
    let mut summary = Summary::default();
    let mut calls = std::collections::HashSet::new();
    let mut listing = Listing::default();
    let plan = CallPlan {
        lane: WorkLane::Bulk,
        ..group.plan.clone()
    };
    let mut chunk = Chunk::default();
    for Item {
        line,
        bytes,
        content,
    } in items
    {
        summary.read += 1;
        bars.read.set_position(bytes);
        match content {
            Content::Bad(reason) => report_bad(&bars, err, &mut summary, line, reason),
            Content::LeftOut => summary.left_out += 1,
            Content::Events(events) => {
                for e in &events {
                    calls.insert(e.call_id.clone());
                }
                if options.dry_run {
                    listing.add(events);
                    continue;
                }
                chunk.push(line, events);
                if chunk.len() >= options.chunk {
                    commit(&state, &group, &plan, &mut chunk, &mut summary, &bars, err).await?;
                }
            }
        }
        bars.tally(&summary);
    }
    commit(&state, &group, &plan, &mut chunk, &mut summary, &bars, err).await?;
    bars.tally(&summary);
    bars.read.finish();
    summary.calls = calls.len() as u64;

    if options.dry_run {
        listing.print(&group, &state, out)?;
        writeln!(out, "dry run: nothing stored. {summary}")?;
        return Ok(summary);
    }
    if options.sync {
        summary.interrupted = sync(&state, options, &bars).await?;
    }
    summary.unsynced = state.store.active_steps(WorkLane::Bulk).await?;
    summary.failed = state
        .store
        .failed_steps(WorkLane::Bulk, FAILED_SHOWN)
        .await?;
    for f in summary.failed.iter().take(10) {
        let why = f.error.as_deref().unwrap_or("no reason recorded");
        writeln!(
            err,
            "call {} ({}) failed to sync at {}: {why}",
            f.call_id, f.group, f.step
        )?;
    }
    let synced = match (summary.unsynced, summary.interrupted) {
        (0, _) => "all synced".to_string(),
        (n, true) => format!("interrupted: {n} steps still queued (run again to sync them)"),
        (n, false) => format!("{n} steps still queued (run again to sync them)"),
    };
    let failed = match summary.failed.len() {
        0 => String::new(),
        n => format!(
            "; {n} imported calls failed to sync (listed above; GET /api/v1/calls/{{id}} \
             says why)"
        ),
    };
    writeln!(out, "{summary}; {synced}{failed}")?;
    Ok(summary)
}

fn pick_group(state: &AppState, name: Option<&str>) -> anyhow::Result<Arc<Group>> {
    let names = || {
        state
            .groups
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => state.group(name).cloned().ok_or_else(|| {
            anyhow::anyhow!(
                "--group {name:?} is not configured; the groups are: {}",
                names()
            )
        }),
        None if state.groups.len() == 1 => Ok(state.groups[0].clone()),
        None => anyhow::bail!(
            "several groups are configured; name the one the calls belong to with --group ({})",
            names()
        ),
    }
}

fn report_bad(
    bars: &Bars,
    err: &mut (dyn Write + Send),
    summary: &mut Summary,
    line: u64,
    reason: String,
) {
    bars.multi.suspend(|| {
        let _ = writeln!(err, "line {line}: {reason}");
    });
    summary.bad.push(BadLine { line, reason });
}

/// Events waiting for their commit, each with its line.
#[derive(Default)]
struct Chunk {
    events: Vec<(u64, CallEvent)>,
}

impl Chunk {
    fn push(&mut self, line: u64, events: Vec<CallEvent>) {
        self.events.extend(events.into_iter().map(|e| (line, e)));
    }

    fn len(&self) -> usize {
        self.events.len()
    }
}

/// Commits the chunk through the ingest path, in one transaction. An event the
/// store refuses (a call's first event without a direction; a call grown too
/// large) makes its line bad, and the rest is committed without it.
async fn commit(
    state: &AppState,
    group: &Group,
    plan: &CallPlan,
    chunk: &mut Chunk,
    summary: &mut Summary,
    bars: &Bars,
    err: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let mut pending = std::mem::take(&mut chunk.events);
    while !pending.is_empty() {
        let events: Vec<_> = pending
            .iter()
            .map(|(_, e)| deskbridge_store::GroupEvent {
                plan: plan.clone(),
                ..crate::ingest::for_group(group, e.clone())
            })
            .collect();
        match crate::ingest::commit(state, crate::ingest::Source::Backfill, &events).await {
            Ok(report) => {
                summary.imported += report.accepted as u64;
                summary.already_there += report.duplicates as u64;
                fault_point();
                return Ok(());
            }
            Err(StoreError::Apply { index, source }) => {
                let (line, _) = pending.remove(index);
                report_bad(bars, err, summary, line, source.to_string());
            }
            Err(StoreError::CallTooLarge { call_id, .. }) => {
                // Whose lines: every event of that call in the chunk.
                let (bad, rest): (Vec<_>, Vec<_>) =
                    pending.into_iter().partition(|(_, e)| e.call_id == call_id);
                let mut lines: Vec<u64> = bad.iter().map(|(l, _)| *l).collect();
                lines.dedup();
                for line in lines {
                    let why = format!("call {call_id:?} would grow past the size of a call");
                    report_bad(bars, err, summary, line, why);
                }
                pending = rest;
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context("storing the calls (what was committed stays; run again to go on)"));
            }
        }
    }
    Ok(())
}

/// Test hook for resuming: with `DESKBRIDGE_FAULT_BACKFILL_ABORT_AFTER_COMMITS=<n>`,
/// the process dies right after its n-th commit, mid-file, as a crash or a
/// SIGKILL would stop it. Never set it in production.
fn fault_point() {
    static COMMITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let Some(limit) = std::env::var("DESKBRIDGE_FAULT_BACKFILL_ABORT_AFTER_COMMITS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    if COMMITS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 >= limit {
        eprintln!("fault injection: aborting after {limit} commits");
        std::process::abort();
    }
}

/// Runs bulk workers until no bulk step is left, or Ctrl-C: then the steps in
/// flight finish (up to 15 s) and the rest waits for the next run. Returns
/// whether it was interrupted.
async fn sync(state: &Arc<AppState>, options: &Options, bars: &Bars) -> anyhow::Result<bool> {
    let total = state.store.active_steps(WorkLane::Bulk).await?;
    if total == 0 {
        return Ok(false);
    }
    // Listening for Ctrl-C only from here: before, it stops the process at once,
    // which loses nothing (every commit is whole).
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let bar = bars.synced(total);
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = worker::spawn_bulk(
        state.clone(),
        options.workers,
        options.retry,
        Arc::new(Pace::new(options.rate)),
        stop_rx,
    );
    let mut changes = state.store.changes();
    let mut total = total;
    let result = loop {
        let left = match state.store.active_steps(WorkLane::Bulk).await {
            Ok(n) => n,
            Err(e) => break Err(anyhow::Error::new(e)),
        };
        // Steps are added as calls move on (a ticket after the caller is
        // known): the bar counts every step seen.
        if left > total.saturating_sub(bar.position()) {
            total = bar.position() + left;
            bar.set_length(total);
        }
        bar.set_position(total - left);
        if left == 0 {
            break Ok(false);
        }
        tokio::select! {
            _ = changes.recv() => {},
            _ = tokio::time::sleep(Duration::from_millis(500)) => {},
            _ = &mut ctrl_c => break Ok(true),
        }
    };
    bar.finish();
    let _ = stop_tx.send(true);
    workers.finish(Duration::from_secs(15)).await;
    result
}
