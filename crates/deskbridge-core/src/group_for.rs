//! Which of a sender's groups an incoming call or chat belongs to.
//!
//! A token may send for several connector groups (one PBX serving support and
//! sales). Every adapter (native events, Zammad CTI, Amazon Connect, chats)
//! answers the same question the same way, here:
//!
//! 1. the group the event names, if the sender may send for it (else refused:
//!    a typo must not land a call in the wrong helpdesk);
//! 2. the sender's only group;
//! 3. the group that already has the call (a call's later events follow its
//!    first, even when they no longer carry the number that routed it);
//! 4. the group whose number the call dialed (inbound: the number called;
//!    outbound: the number calling out);
//! 5. else the sender's first group.
//!
//! Step 3 needs the store, so the decision is sans-I/O (as the steps are):
//! [`group_for`] answers [`GroupFor::FindCall`] when it needs to know who has
//! the call; the caller looks it up and asks again with the answer.

use std::fmt;

use crate::phone::{Phone, Region};

/// One of the groups the sender may send for, as routing sees it.
#[derive(Debug, Clone, Copy)]
pub struct GroupNumbers<'a> {
    pub name: &'a str,
    /// The group's region: how a number without a country code reads.
    pub region: Region,
    /// The group's own numbers, E.164.
    pub numbers: &'a [String],
}

/// What an incoming event says about where it belongs, as its adapter read it.
#[derive(Debug, Clone, Default)]
pub struct Addressed<'a> {
    /// The group the event names (`group` of a native event or a chat).
    pub group: Option<&'a str>,
    /// The call's (or conversation's) id, to find the group that has it.
    pub call_id: Option<&'a str>,
    /// The numbers of ours the call may have used, as the phone system wrote
    /// them, most likely first.
    pub dialed: Vec<&'a str>,
    /// How the phone system writes numbers (Zammad drops the `+`); `None`:
    /// [`Phone::parse`].
    pub reads_numbers: Option<fn(&str, Region) -> Phone>,
}

/// What the caller knows about which group has the call already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFound {
    /// Not looked up (yet).
    NotAsked,
    /// `groups[i]` has it.
    In(usize),
    /// None of the sender's groups has it.
    Nowhere,
}

/// Why an event went to its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupReason {
    Named,
    OnlyGroup,
    HasTheCall,
    DialedNumber,
    FirstGroup,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupFor<'a> {
    /// The event belongs to `groups[index]`.
    Group { index: usize, reason: GroupReason },
    /// Find which of the groups has this call, then ask again with
    /// [`CallFound::In`] or [`CallFound::Nowhere`].
    FindCall(&'a str),
    /// The event names a group the sender may not send for.
    NotAllowed(GroupNotAllowed),
}

/// An event naming a group its sender may not send for: says which it may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupNotAllowed {
    pub named: String,
    pub allowed: Vec<String>,
}

impl fmt::Display for GroupNotAllowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this token may not send for group {:?}; it sends for: {}",
            self.named,
            self.allowed.join(", ")
        )
    }
}

impl std::error::Error for GroupNotAllowed {}

/// The group an event belongs to (see the module's order of rules). `groups` is
/// never empty: a sender sends for at least one group.
pub fn group_for<'a>(
    event: &Addressed<'a>,
    groups: &[GroupNumbers<'_>],
    found: CallFound,
) -> GroupFor<'a> {
    let chosen = |index, reason| GroupFor::Group { index, reason };
    if let Some(named) = event.group.map(str::trim) {
        return match groups.iter().position(|g| g.name == named) {
            Some(index) => chosen(index, GroupReason::Named),
            None => GroupFor::NotAllowed(GroupNotAllowed {
                named: named.to_string(),
                allowed: groups.iter().map(|g| g.name.to_string()).collect(),
            }),
        };
    }
    if groups.len() <= 1 {
        return chosen(0, GroupReason::OnlyGroup);
    }
    if let Some(call_id) = event.call_id {
        match found {
            CallFound::NotAsked => return GroupFor::FindCall(call_id),
            CallFound::In(index) if index < groups.len() => {
                return chosen(index, GroupReason::HasTheCall);
            }
            CallFound::In(_) | CallFound::Nowhere => {}
        }
    }
    let read = event.reads_numbers.unwrap_or(Phone::parse);
    for raw in &event.dialed {
        let ours = groups.iter().position(|g| {
            read(raw, g.region)
                .e164()
                .is_some_and(|e| g.numbers.iter().any(|n| n == e))
        });
        if let Some(index) = ours {
            return chosen(index, GroupReason::DialedNumber);
        }
    }
    chosen(0, GroupReason::FirstGroup)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(code: &str) -> Region {
        code.parse().expect("a region")
    }

    struct Fleet {
        support: Vec<String>,
        sales: Vec<String>,
    }

    fn fleet() -> Fleet {
        Fleet {
            support: vec!["+14155550100".into()],
            sales: vec!["+4930600000000".into()],
        }
    }

    fn groups(f: &Fleet) -> Vec<GroupNumbers<'_>> {
        vec![
            GroupNumbers {
                name: "support",
                region: region("US"),
                numbers: &f.support,
            },
            GroupNumbers {
                name: "sales",
                region: region("DE"),
                numbers: &f.sales,
            },
        ]
    }

    fn to(index: usize, reason: GroupReason) -> GroupFor<'static> {
        GroupFor::Group { index, reason }
    }

    #[test]
    fn a_named_group_wins_and_a_group_not_allowed_is_refused_with_the_allowed_ones() {
        let f = fleet();
        let g = groups(&f);
        let named = |name| Addressed {
            group: Some(name),
            call_id: Some("c1"),
            dialed: vec!["+14155550100"],
            ..Addressed::default()
        };
        assert_eq!(
            group_for(&named(" sales "), &g, CallFound::NotAsked),
            to(1, GroupReason::Named)
        );
        let GroupFor::NotAllowed(refused) = group_for(&named("billing"), &g, CallFound::NotAsked)
        else {
            panic!("billing is not the sender's")
        };
        assert_eq!(
            refused.to_string(),
            "this token may not send for group \"billing\"; it sends for: support, sales"
        );
    }

    #[test]
    fn a_single_group_takes_everything_without_a_lookup() {
        let f = fleet();
        let g = &groups(&f)[..1];
        let event = Addressed {
            call_id: Some("c1"),
            dialed: vec!["+4930600000000"],
            ..Addressed::default()
        };
        assert_eq!(
            group_for(&event, g, CallFound::NotAsked),
            to(0, GroupReason::OnlyGroup)
        );
    }

    #[test]
    fn a_known_call_stays_in_its_group_whatever_number_it_carries() {
        let f = fleet();
        let g = groups(&f);
        let event = Addressed {
            call_id: Some("c1"),
            dialed: vec!["+14155550100"],
            ..Addressed::default()
        };
        assert_eq!(
            group_for(&event, &g, CallFound::NotAsked),
            GroupFor::FindCall("c1")
        );
        assert_eq!(
            group_for(&event, &g, CallFound::In(1)),
            to(1, GroupReason::HasTheCall)
        );
        // A new call: its dialed number decides.
        assert_eq!(
            group_for(&event, &g, CallFound::Nowhere),
            to(0, GroupReason::DialedNumber)
        );
    }

    #[test]
    fn the_dialed_number_is_read_in_each_groups_region_and_as_the_pbx_writes_it() {
        let f = fleet();
        let g = groups(&f);
        // A Berlin number written nationally reads as sales' number only in
        // sales' region.
        let national = Addressed {
            dialed: vec!["030 600000000"],
            ..Addressed::default()
        };
        assert_eq!(
            group_for(&national, &g, CallFound::NotAsked),
            to(1, GroupReason::DialedNumber)
        );
        // Zammad writes international numbers without the `+`.
        fn zammad(raw: &str, region: Region) -> Phone {
            Phone::parse(&format!("+{raw}"), region)
        }
        let zammad_style = Addressed {
            dialed: vec!["4930600000000"],
            reads_numbers: Some(zammad),
            ..Addressed::default()
        };
        assert_eq!(
            group_for(&zammad_style, &g, CallFound::NotAsked),
            to(1, GroupReason::DialedNumber)
        );
        // The first number that is ours decides (inbound's `to` before `from`).
        let both = Addressed {
            dialed: vec!["+4930600000000", "+14155550100"],
            ..Addressed::default()
        };
        assert_eq!(
            group_for(&both, &g, CallFound::NotAsked),
            to(1, GroupReason::DialedNumber)
        );
    }

    #[test]
    fn nothing_to_go_by_goes_to_the_first_group() {
        let f = fleet();
        let g = groups(&f);
        let unknown = Addressed {
            dialed: vec!["+33100000000", "anonymous"],
            ..Addressed::default()
        };
        assert_eq!(
            group_for(&unknown, &g, CallFound::NotAsked),
            to(0, GroupReason::FirstGroup)
        );
        assert_eq!(
            group_for(&Addressed::default(), &g, CallFound::NotAsked),
            to(0, GroupReason::FirstGroup)
        );
    }
}
