//! The search index and its lag. Freshdesk's search is an index that "may take a
//! few minutes to get indexed before [updates] appear in search results"
//! (freshdesk-api.md §3, a transcription of the reference), while `GET` and the
//! list filters read the database. So every write queues a copy of the record
//! that search sees only once `search_lag` has passed: until then search finds
//! the version before it, or nothing for a new record — the behaviour that makes
//! a connector that looks callers up by search create duplicates.

use std::collections::BTreeMap;
use std::time::Instant;

/// Each record's versions in write order, with when each becomes searchable.
#[derive(Debug)]
pub(crate) struct Index<T> {
    versions: BTreeMap<u64, Vec<(Instant, T)>>,
}

impl<T> Default for Index<T> {
    fn default() -> Index<T> {
        Index {
            versions: BTreeMap::new(),
        }
    }
}

impl<T: Clone> Index<T> {
    /// Queues a version of record `id` that search sees from `visible_at`.
    /// Versions that a later visible one has replaced are dropped, so a record
    /// written often but never searched keeps few copies.
    pub(crate) fn write(&mut self, id: u64, visible_at: Instant, record: T) {
        let versions = self.versions.entry(id).or_default();
        let now = Instant::now();
        if let Some(latest) = versions.iter().rposition(|(at, _)| *at <= now) {
            versions.drain(..latest);
        }
        versions.push((visible_at, record));
    }

    /// What search sees at `now`: of each record, the latest version written
    /// that is visible. Versions older than that are dropped.
    pub(crate) fn visible(&mut self, now: Instant) -> Vec<T> {
        let mut seen = Vec::new();
        for versions in self.versions.values_mut() {
            if let Some(latest) = versions.iter().rposition(|(at, _)| *at <= now) {
                versions.drain(..latest);
                seen.push(versions[0].1.clone());
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_version_appears_once_its_lag_passed() {
        let start = Instant::now();
        let lag = Duration::from_secs(5);
        let mut index = Index::default();
        index.write(1, start, "seeded");
        index.write(2, start + lag, "new");
        index.write(1, start + lag, "changed");
        assert_eq!(index.visible(start), ["seeded"]);
        assert_eq!(index.visible(start + lag), ["changed", "new"]);
        assert_eq!(index.versions[&1].len(), 1, "old versions dropped");
    }
}
