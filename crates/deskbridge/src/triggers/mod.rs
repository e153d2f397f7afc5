//! CRM triggers' delivery: workers of their own (never the calls' workers, so a
//! slow receiver never holds up a call) claim due notifications from the
//! store's outbox, send them ([`send`]), and record the core's verdict
//! ([`RetrySchedule::judge`]): delivered, retried later (not before a 429's or
//! 503's `Retry-After`), or kept as a dead letter.
//!
//! Redirects are not followed: a 3xx is a failed attempt like any other non-2xx
//! answer. Following one would send the notification (and its signature) to an
//! address the admin never configured, and each hop would have to be checked
//! for private addresses again; a receiver that moved is fixed in the config.

pub mod cli;
mod send;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::trigger::{RetrySchedule, Secret, Verdict, shown_url};
use deskbridge_store::outbox::AttemptOutcome;
use deskbridge_store::{Delivery, GroupTriggers, Store};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;

pub use send::{Sender, retry_after};

/// The triggers of the groups whose backend is the built-in backend `tenant`.
pub fn of_tenant(config: &Config, tenant: &str) -> Vec<GroupTriggers> {
    config
        .groups
        .iter()
        .filter(|g| g.backend.as_deref().unwrap_or("builtin") == tenant)
        .filter(|g| !g.triggers.is_empty())
        .map(|g| GroupTriggers {
            group: g.name.clone(),
            triggers: g.triggers.iter().map(|t| t.trigger()).collect(),
        })
        .collect()
}

/// The signing secrets of each (group, endpoint), as configured now: a secret
/// rotated in the config signs the next attempt of a notification made before.
pub type Secrets = HashMap<(String, String), Vec<Secret>>;

fn secrets(config: &Config) -> Secrets {
    let mut out = Secrets::new();
    for g in &config.groups {
        for t in &g.triggers {
            let secrets = t.secrets();
            if !secrets.is_empty() {
                out.entry((g.name.clone(), t.url.clone()))
                    .or_insert(secrets);
            }
        }
    }
    out
}

/// How many notifications are sent at once: a slow receiver holds one sender.
const SENDERS: usize = 4;

/// How often an idle sender looks for due notifications.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// The delivery workers, started with the server when any group has triggers.
pub struct Deliveries {
    tasks: JoinSet<()>,
}

impl Deliveries {
    /// Waits up to `grace` for attempts in flight; after it, they are abandoned
    /// and their leases run out, so the next start sends them again (with the
    /// same `webhook-id`).
    pub async fn finish(mut self, grace: Duration) {
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all).await.is_err() {
            self.tasks.abort_all();
        }
    }
}

/// Starts the senders; `instance` names this process in the leases.
pub fn spawn(
    config: &Config,
    store: Arc<dyn Store>,
    instance: &str,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Deliveries> {
    let mut tasks = JoinSet::new();
    let any = config.groups.iter().any(|g| !g.triggers.is_empty());
    if !any {
        return Ok(Deliveries { tasks });
    }
    let sender = Arc::new(Sender::new(
        config.triggers.timeout(),
        config.triggers.allow_private_networks,
        secrets(config),
    )?);
    let schedule = Arc::new(config.triggers.schedule());
    // Long enough for an attempt, so a live sender never loses its lease.
    let lease = config.triggers.timeout() * 2 + Duration::from_secs(10);
    for n in 0..SENDERS {
        let owner = format!("{instance}/t{n}");
        tasks.spawn(run(
            store.clone(),
            sender.clone(),
            schedule.clone(),
            owner,
            lease,
            stop.clone(),
        ));
    }
    tasks.spawn(gauges(store, stop));
    Ok(Deliveries { tasks })
}

/// How often the backlog gauges are refreshed.
const GAUGES_EVERY: Duration = Duration::from_secs(5);

/// Per endpoint: `deskbridge_trigger_pending`, `deskbridge_trigger_retrying`
/// and `deskbridge_trigger_oldest_pending_seconds` (0 once it caught up).
/// Every instance reports the shared outbox; read one instance's, or the max.
async fn gauges(store: Arc<dyn Store>, mut stop: watch::Receiver<bool>) {
    let mut known = std::collections::BTreeSet::new();
    while !*stop.borrow() {
        match store.backlog().await {
            Ok(backlog) => {
                let now = chrono::Utc::now();
                let behind: std::collections::BTreeSet<String> =
                    backlog.iter().map(|b| shown_url(&b.endpoint)).collect();
                for b in &backlog {
                    let e = shown_url(&b.endpoint);
                    metrics::gauge!("deskbridge_trigger_pending", "endpoint" => e.clone())
                        .set(b.pending as f64);
                    metrics::gauge!("deskbridge_trigger_retrying", "endpoint" => e.clone())
                        .set(b.retrying as f64);
                    let age = (now - b.oldest).num_milliseconds().max(0) as f64 / 1000.0;
                    metrics::gauge!("deskbridge_trigger_oldest_pending_seconds", "endpoint" => e)
                        .set(age);
                }
                for e in known.difference(&behind) {
                    for name in [
                        "deskbridge_trigger_pending",
                        "deskbridge_trigger_retrying",
                        "deskbridge_trigger_oldest_pending_seconds",
                    ] {
                        metrics::gauge!(name, "endpoint" => e.clone()).set(0.0);
                    }
                }
                known.extend(behind);
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the triggers' backlog"),
        }
        tokio::select! {
            _ = tokio::time::sleep(GAUGES_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn run(
    store: Arc<dyn Store>,
    sender: Arc<Sender>,
    schedule: Arc<RetrySchedule>,
    owner: String,
    lease: Duration,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let claimed = match store.claim_delivery(&owner, lease).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim a trigger notification");
                None
            }
        };
        let Some(delivery) = claimed else {
            tokio::select! {
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = stop.changed() => {}
            }
            continue;
        };
        deliver(&*store, &sender, &schedule, &owner, &delivery).await;
    }
}

async fn deliver(
    store: &dyn Store,
    sender: &Sender,
    schedule: &RetrySchedule,
    owner: &str,
    d: &Delivery,
) {
    let tried = sender.send(d).await;
    let attempts = u32::try_from(d.attempts).unwrap_or(u32::MAX);
    let verdict = match tried.dead {
        true => Verdict::DeadLetter,
        false => schedule.judge(attempts, &tried.attempt),
    };
    let outcome_label = match &verdict {
        Verdict::Delivered => "delivered",
        Verdict::RetryIn(_) => "retrying",
        Verdict::DeadLetter => "failed",
    };
    metrics::counter!(
        "deskbridge_trigger_attempts_total",
        "endpoint" => shown_url(&d.endpoint),
        "outcome" => outcome_label,
    )
    .increment(1);
    match &verdict {
        Verdict::Delivered => {
            tracing::debug!(id = d.id, endpoint = %shown_url(&d.endpoint), "trigger notification delivered")
        }
        Verdict::RetryIn(wait) => tracing::info!(
            id = d.id,
            endpoint = %shown_url(&d.endpoint),
            attempt = d.attempts,
            retry_in_s = wait.as_secs_f64(),
            reason = %tried.excerpt,
            "trigger notification not delivered; retrying"
        ),
        Verdict::DeadLetter => tracing::warn!(
            id = d.id,
            endpoint = %shown_url(&d.endpoint),
            attempts = d.attempts,
            reason = %tried.excerpt,
            "trigger notification failed for good (a dead letter; replay it once the receiver is fixed)"
        ),
    }
    let outcome = AttemptOutcome {
        verdict,
        status: tried.status,
        excerpt: tried.excerpt,
    };
    match store.record_attempt(d, owner, &outcome).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            id = d.id,
            "a trigger notification's lease was lost mid-attempt"
        ),
        Err(e) => tracing::warn!(id = d.id, error = %e, "cannot record a trigger attempt"),
    }
}
