//! What a run shows: the progress bars (on a terminal) and the dry run's
//! listing of calls.

use std::io::Write;

use deskbridge_core::{CallEvent, Interaction};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Summary;
use crate::state::{AppState, Group};

/// The progress bars: lines read (by bytes of the file) and steps synced, on
/// standard error, drawn only on a terminal.
pub(super) struct Bars {
    pub(super) multi: MultiProgress,
    pub(super) read: ProgressBar,
}

impl Bars {
    pub(super) fn new(draw: bool, size: u64) -> Bars {
        let multi = MultiProgress::with_draw_target(match draw {
            true => ProgressDrawTarget::stderr(),
            false => ProgressDrawTarget::hidden(),
        });
        let read = multi.add(ProgressBar::new(size));
        read.set_style(style("read    ", "{binary_bytes_per_sec}"));
        Bars { multi, read }
    }

    /// The counts so far, beside the read bar.
    pub(super) fn tally(&self, summary: &Summary) {
        self.read.set_message(format!(
            "{} lines, {} events imported, {} already there, {} bad",
            summary.read,
            summary.imported,
            summary.already_there,
            summary.bad.len()
        ));
    }

    pub(super) fn synced(&self, steps: u64) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(steps));
        bar.set_style(style("synced  ", "{per_sec} steps"));
        bar
    }
}

fn style(label: &str, rate: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!(
        "{label}[{{bar:30}}] {{percent:>3}}% {rate} eta {{eta}} {{msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// The dry run's calls, in the file's order.
#[derive(Default)]
pub(super) struct Listing {
    order: Vec<String>,
    calls: std::collections::HashMap<String, Vec<CallEvent>>,
}

impl Listing {
    pub(super) fn add(&mut self, events: Vec<CallEvent>) {
        for e in events {
            let call = self.calls.entry(e.call_id.clone()).or_default();
            if call.is_empty() {
                self.order.push(e.call_id.clone());
            }
            call.push(e);
        }
    }

    /// One line per call: id, time, caller, outcome, agent, as the core reads
    /// the call from its events.
    pub(super) fn print(
        &self,
        group: &Group,
        state: &AppState,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        for id in &self.order {
            let mut events = self.calls[id].clone();
            events.sort_by_key(|e| e.at);
            let Some(first) = events.iter().find(|e| e.direction.is_some()) else {
                writeln!(
                    out,
                    "{id}: no event says the call's direction; it would be refused"
                )?;
                continue;
            };
            let Ok(mut call) = Interaction::start(&group.name, &group.plan, first) else {
                continue;
            };
            for e in &events {
                call.apply(e);
            }
            let outcome = call.outcome().map_or("not ended", |o| o.as_str());
            let caller = call
                .customer_phone()
                .map_or("unknown".to_string(), |p| p.to_string());
            let agent = call
                .last_agent()
                .or(call.rang.last())
                .map_or(
                    "-".to_string(),
                    |a| match deskbridge_core::decide::directory_match(&state.directory.agents(), a)
                    {
                        Some((d, _)) => d.email.clone(),
                        None => a.label(),
                    },
                );
            let talk = call
                .talk_seconds()
                .filter(|s| *s > 0)
                .map_or(String::new(), |s| format!(" talk {s}s"));
            writeln!(
                out,
                "{id}  {}  {} {caller}  {outcome}{talk}  agent {agent}",
                call.first_at.format("%Y-%m-%d %H:%M:%S UTC"),
                call.direction,
            )?;
        }
        Ok(())
    }
}
