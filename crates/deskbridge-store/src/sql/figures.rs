//! The figures' SQL: hour rows (in stripes, [`ADD_ROWS`]) added to as calls
//! are saved, and summed for a period (`hour_rows!`). Nothing here decides
//! what a call counts for: the core's `contributions` (by the thresholds on
//! the call's plan) and `revise` say what to add; this adds it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::Interaction;
use deskbridge_core::stats::{Totals, TotalsKey, contributions, revise};

use super::{Conn, Db, SqlStore};
use crate::StoreError;
use crate::figures::{Figures, FiguresFilter};
use crate::rows::DbRow;
use crate::time::to_text;

type Row = <Db as sqlx::Database>::Row;

/// What a call counted for in the figures as it was read, before this
/// transaction changed it: saving it adds only the difference, so a call
/// counted once and changed by a late event is never counted twice.
#[derive(Debug, Default)]
pub(super) struct Counted(Vec<(TotalsKey, Totals)>);

impl Counted {
    /// A call not stored before counted for nothing.
    pub(super) fn nothing() -> Counted {
        Counted::default()
    }

    /// What the stored call counts for.
    pub(super) fn of(call: &Interaction) -> Counted {
        Counted(counts(call))
    }
}

/// What a call counts for, by its own group's thresholds (on its plan: the
/// store never asks the application for them).
fn counts(call: &Interaction) -> Vec<(TotalsKey, Totals)> {
    contributions(call, &call.plan.thresholds)
}

/// An hour row's columns, as both tables of hour rows have them: what a read
/// sums, and (with the stripe) what [`ADD_ROWS`] writes, in `figure_rows!`'s
/// order.
macro_rules! figure_columns {
    () => {
        "hour, group_name, queue, agent, offered, answered, answered_within, abandoned,
         short_abandoned, missed, transferred, wait_ms, talk_ms"
    };
}

/// Adds the rows' changes, given as one JSON array (`figure_rows!`): one
/// statement, with the same text whatever the number of rows.
///
/// A statement's text is its prepared-statement cache key: a multi-row
/// `VALUES` list has a text per row count, was prepared anew on most group
/// commits and pushed the commit's own statements out of the connection's
/// cache (measured on SQLite: about 15% fewer events a second than no
/// figures at all, stop 40); a statement per row costs a round trip each on
/// PostgreSQL. One fixed text is neither.
///
/// Each row goes to the stripe of the connection (`figure_rows!`, migration
/// 0017): on PostgreSQL, group commits running side by side add to rows of
/// their own, where one row per key made each wait for the lock of the
/// commit ahead (11-13 ms a commit under load, stop 41). A read sums a key's
/// stripes (`hour_rows!`).
const ADD_ROWS: &str = concat!(
    "INSERT INTO hourly_figure_stripes (",
    figure_columns!(),
    ", stripe) ",
    figure_rows!(),
    " ON CONFLICT (hour, group_name, queue, agent, stripe) DO UPDATE SET
    offered = hourly_figure_stripes.offered + excluded.offered,
    answered = hourly_figure_stripes.answered + excluded.answered,
    answered_within = hourly_figure_stripes.answered_within + excluded.answered_within,
    abandoned = hourly_figure_stripes.abandoned + excluded.abandoned,
    short_abandoned = hourly_figure_stripes.short_abandoned + excluded.short_abandoned,
    missed = hourly_figure_stripes.missed + excluded.missed,
    transferred = hourly_figure_stripes.transferred + excluded.transferred,
    wait_ms = hourly_figure_stripes.wait_ms + excluded.wait_ms,
    talk_ms = hourly_figure_stripes.talk_ms + excluded.talk_ms"
);

/// Every hour row, for a read to sum: the stripes this release adds to, and
/// the rows of `hourly_figures`, which the release before kept one per key and
/// which its instances still add to during a rolling upgrade (migration 0017).
/// A later release moves those into the stripes and reads one table.
macro_rules! hour_rows {
    () => {
        concat!(
            "(SELECT ",
            figure_columns!(),
            " FROM hourly_figure_stripes UNION ALL SELECT ",
            figure_columns!(),
            " FROM hourly_figures) AS f"
        )
    };
}

/// Adds to the hour rows what the saved calls' figures changed by (each
/// call as saved against what it counted for as read), in the caller's
/// transaction: one statement ([`ADD_ROWS`]), none when no call's figures
/// changed (a call still ringing, a late recording).
///
/// The changes are summed per row first: PostgreSQL refuses a statement
/// that updates one row twice, and in key order, so that two instances'
/// transactions take the rows' locks in the same order and cannot deadlock.
pub(super) async fn revise_figures(
    conn: &mut Conn,
    saved: &[(&Interaction, &Counted)],
) -> Result<(), StoreError> {
    let mut changes: BTreeMap<TotalsKey, Totals> = BTreeMap::new();
    for (call, before) in saved {
        for (key, change) in revise(&before.0, &counts(call)) {
            *changes.entry(key).or_default() += change;
        }
    }
    let changes: Vec<(TotalsKey, Totals)> =
        changes.into_iter().filter(|(_, t)| !t.is_zero()).collect();
    if changes.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = changes
        .iter()
        .map(|(key, t)| {
            serde_json::json!([
                to_text(key.hour),
                key.group,
                key.queue.as_deref().unwrap_or(""),
                key.agent.as_deref().unwrap_or(""),
                t.offered,
                t.answered,
                t.answered_within,
                t.abandoned,
                t.short_abandoned,
                t.missed,
                t.transferred,
                t.wait_ms,
                t.talk_ms,
            ])
        })
        .collect();
    sqlx::query(ADD_ROWS)
        .bind(serde_json::Value::Array(rows).to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[async_trait]
impl Figures for SqlStore {
    async fn hourly_figures(
        &self,
        filter: &FiguresFilter,
    ) -> Result<Vec<(DateTime<Utc>, Totals)>, StoreError> {
        if filter.groups.is_empty() {
            return Ok(Vec::new());
        }
        // PostgreSQL sums BIGINTs into NUMERIC: cast back.
        let rows = sqlx::query(concat!(
            "SELECT hour,
                CAST(sum(offered) AS BIGINT) AS offered,
                CAST(sum(answered) AS BIGINT) AS answered,
                CAST(sum(answered_within) AS BIGINT) AS answered_within,
                CAST(sum(abandoned) AS BIGINT) AS abandoned,
                CAST(sum(short_abandoned) AS BIGINT) AS short_abandoned,
                CAST(sum(missed) AS BIGINT) AS missed,
                CAST(sum(transferred) AS BIGINT) AS transferred,
                CAST(sum(wait_ms) AS BIGINT) AS wait_ms,
                CAST(sum(talk_ms) AS BIGINT) AS talk_ms
             FROM ",
            hour_rows!(),
            " WHERE hour >= $1 AND hour < $2 AND group_name ",
            in_json_array!("$3"),
            " AND ($4 IS NULL OR queue = $4) AND ($5 IS NULL OR agent = $5)
             GROUP BY hour ORDER BY hour"
        ))
        .bind(to_text(filter.from))
        .bind(to_text(filter.to))
        .bind(serde_json::to_string(&filter.groups)?)
        .bind(filter.queue.as_deref())
        .bind(filter.agent.as_deref())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| Ok((row.time("hour")?, totals(row)?)))
            .collect()
    }
}

fn totals(row: &Row) -> Result<Totals, StoreError> {
    Ok(Totals {
        offered: row.int("offered")?,
        answered: row.int("answered")?,
        answered_within: row.int("answered_within")?,
        abandoned: row.int("abandoned")?,
        short_abandoned: row.int("short_abandoned")?,
        missed: row.int("missed")?,
        transferred: row.int("transferred")?,
        wait_ms: row.int("wait_ms")?,
        talk_ms: row.int("talk_ms")?,
    })
}
