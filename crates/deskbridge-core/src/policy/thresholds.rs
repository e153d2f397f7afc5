//! A group's thresholds for its contact-center figures.
//!
//! Plain data of the group's policy, copied onto each call's plan
//! ([`super::CallPlan`]): the store counts a call into the figures when it
//! saves it, inside its own transaction, and must judge it by its own group's
//! thresholds without asking the application. What the thresholds mean is
//! `crate::stats`' to say; they live here so that the policy (which every
//! call carries) does not depend on the module that counts calls.

use serde::{Deserialize, Serialize};

/// A group's thresholds for its figures (`service_level_seconds`,
/// `short_abandon_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// A call answered after waiting at most this long was answered in time.
    pub service_level_seconds: u64,
    /// A caller who hung up after waiting less than this is a short abandon:
    /// most likely a wrong number or a wrong IVR choice, not a caller the
    /// contact center failed. 0: every hang-up while waiting is an abandon.
    pub short_abandon_seconds: u64,
}

impl Default for Thresholds {
    /// 20 seconds: the common "80/20" target's threshold. No short abandons
    /// unless the group sets them, as Talkdesk and RingCentral leave them off
    /// until an admin turns them on.
    fn default() -> Self {
        Thresholds {
            service_level_seconds: 20,
            short_abandon_seconds: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CallPlan, Policy};
    use super::Thresholds;

    #[test]
    fn a_calls_plan_carries_its_groups_thresholds_and_an_older_plan_reads_the_defaults() {
        let policy = Policy {
            thresholds: Thresholds {
                service_level_seconds: 30,
                short_abandon_seconds: 5,
            },
            ..Policy::default()
        };
        let plan = CallPlan::of(&policy);
        assert_eq!(plan.thresholds, policy.thresholds);
        let stored = serde_json::to_value(&plan).unwrap();
        let read: CallPlan = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(read.thresholds, policy.thresholds);
        // A call stored before plans had thresholds.
        let mut older = stored;
        older.as_object_mut().unwrap().remove("thresholds");
        let read: CallPlan = serde_json::from_value(older).unwrap();
        assert_eq!(read.thresholds, Thresholds::default());
    }
}
