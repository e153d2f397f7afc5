//! The contact center's figures as the store keeps them: hour rows of
//! [`Totals`] per group, queue and agent, added to whenever a call is saved
//! (`sql/figures.rs`), and read back summed per hour for a period.
//!
//! What a call counts for is the core's answer (`deskbridge_core::stats`:
//! `contributions` of the call as it was and as it is, and `revise` between
//! them); the store carries it out in the transaction that saves the call, so
//! the figures never disagree with the calls, and a request sums a few
//! hundred rows instead of recounting a day's calls.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::stats::Totals;

use crate::StoreError;

/// Which rows a read sums: those of `groups` whose hour is in `from..to`,
/// of one queue and one agent when given (summed over the others).
#[derive(Debug, Clone)]
pub struct FiguresFilter {
    pub groups: Vec<String>,
    /// The first hour read (an hour's start, UTC).
    pub from: DateTime<Utc>,
    /// The end (excluded).
    pub to: DateTime<Utc>,
    pub queue: Option<String>,
    /// An agent's key as the figures keep it (`deskbridge_core::stats::agent_key`:
    /// a lowercase email, else an extension or a name): only the calls they
    /// answered.
    pub agent: Option<String>,
}

/// The figures kept per hour.
#[async_trait]
pub trait Figures: Send + Sync {
    /// The totals of every hour of the filter that has any, in time order
    /// (hours without calls are left out; `Period::roll_up` fills them in).
    async fn hourly_figures(
        &self,
        filter: &FiguresFilter,
    ) -> Result<Vec<(DateTime<Utc>, Totals)>, StoreError>;
}
