//! `deskbridge triggers list-failed` and `deskbridge triggers replay`: the dead
//! letters of the config's groups, read and replayed straight from the database
//! (no server needed; a running server sends the replayed ones).

use std::io::Write;

use chrono::{DateTime, Utc};
use deskbridge_store::{DeliveryStatus, Store};

use crate::config::Config;

/// The groups whose notifications the command sees: the config's.
fn groups(config: &Config) -> Vec<String> {
    match config.groups.is_empty() {
        true => vec!["default".into()],
        false => config.groups.iter().map(|g| g.name.clone()).collect(),
    }
}

/// Prints the dead letters, newest first: id, when made, attempts, endpoint,
/// last answer.
pub async fn list_failed(
    config: &Config,
    store: &dyn Store,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let failed = store
        .deliveries(&groups(config), Some(DeliveryStatus::Failed), 500)
        .await?;
    for d in &failed {
        writeln!(
            out,
            "{}\t{}\t{}\t{} attempt(s)\t{}\t{}",
            d.id,
            d.created_at.to_rfc3339(),
            d.group,
            d.attempts,
            d.endpoint,
            d.last_error.as_deref().unwrap_or("")
        )?;
    }
    Ok(failed.len())
}

/// What to replay.
pub enum Replay {
    Id(i64),
    Since(DateTime<Utc>),
}

/// Reads `--since`: RFC 3339, or a date (midnight UTC).
pub fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            format!("--since {text:?} is not a time: write 2026-11-29T08:00:00Z or 2026-11-29")
        })
}

/// Makes dead letters pending again; how many.
pub async fn replay(config: &Config, store: &dyn Store, what: Replay) -> anyhow::Result<u64> {
    let groups = groups(config);
    match what {
        Replay::Id(id) => {
            let Some(d) = store.delivery(id).await? else {
                anyhow::bail!("no notification {id}");
            };
            if !groups.contains(&d.group) {
                anyhow::bail!(
                    "notification {id} is group {:?}'s, not this config's",
                    d.group
                );
            }
            match store.replay_delivery(id).await? {
                Some(true) => Ok(1),
                Some(false) => anyhow::bail!(
                    "notification {id} is {}, not failed: only a dead letter is replayed",
                    d.status.as_str()
                ),
                None => anyhow::bail!("no notification {id}"),
            }
        }
        Replay::Since(since) => Ok(store.replay_failed_since(&groups, since).await?),
    }
}
