//! Domain layer (pure): what break-glass adds to one group — merged permissions, minus what the
//! group already allows, within its rule budget — and what it may revoke (reference counting).

use super::ports::PortSpec;
use crate::domain::snapshot::{IpPermission, SecurityGroup};
use ipnet::Ipv4Net;
use std::collections::{BTreeMap, BTreeSet};

/// Combines permission lists: one permission per (protocol, from, to), identical CIDRs once.
pub fn merge_permissions(lists: &[&[IpPermission]]) -> Vec<IpPermission> {
    let mut merged: BTreeMap<(String, Option<i32>, Option<i32>), IpPermission> = BTreeMap::new();
    for permission in lists.iter().flat_map(|l| l.iter()) {
        let key = (
            permission.ip_protocol.clone(),
            permission.from_port,
            permission.to_port,
        );
        let slot = merged.entry(key).or_insert_with(|| IpPermission {
            ip_ranges: Vec::new(),
            ..permission.clone()
        });
        for range in &permission.ip_ranges {
            if slot.ip_ranges.iter().all(|r| r.cidr_ip != range.cidr_ip) {
                slot.ip_ranges.push(range.clone());
            }
        }
    }
    merged
        .into_values()
        .filter(|p| !p.ip_ranges.is_empty())
        .collect()
}

pub use crate::domain::rules::rule_count;

/// True when `existing` allows at least everything `wanted` opens (protocol and ports).
fn ports_cover(existing: &IpPermission, wanted: &IpPermission) -> bool {
    match (
        PortSpec::from_permission(existing),
        PortSpec::from_permission(wanted),
    ) {
        (Some(PortSpec::All), _) => true,
        (Some(PortSpec::Tcp(a, b)), Some(PortSpec::Tcp(c, d)))
        | (Some(PortSpec::Udp(a, b)), Some(PortSpec::Udp(c, d))) => a <= c && d <= b,
        (
            Some(PortSpec::Icmp {
                icmp_type: t,
                code: k,
            }),
            Some(PortSpec::Icmp {
                icmp_type: wt,
                code: wk,
            }),
        ) => (t.is_none() || t == wt) && (k.is_none() || k == wk),
        _ => false,
    }
}

/// Drops the CIDRs of `wanted` that an existing IPv4 rule of `group` already covers on the same
/// protocol and ports (or on all traffic), so budgets are honest and AWS sees no duplicates.
pub fn filter_existing(wanted: &[IpPermission], group: &SecurityGroup) -> Vec<IpPermission> {
    wanted
        .iter()
        .filter_map(|permission| {
            let covering: Vec<Ipv4Net> = group
                .ip_permissions
                .iter()
                .filter(|e| ports_cover(e, permission))
                .flat_map(|e| {
                    e.ip_ranges
                        .iter()
                        .filter_map(|r| r.cidr_ip.parse::<Ipv4Net>().ok())
                })
                .collect();
            let keep: Vec<_> = permission
                .ip_ranges
                .iter()
                .filter(|r| {
                    r.cidr_ip
                        .parse::<Ipv4Net>()
                        .is_ok_and(|c| !covering.iter().any(|e| e.contains(&c)))
                })
                .cloned()
                .collect();
            (!keep.is_empty()).then(|| IpPermission {
                ip_ranges: keep,
                ..permission.clone()
            })
        })
        .collect()
}

/// The break-glass decision for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupDecision {
    /// Authorise `permissions` (`existing + would_add ≤ maxRules`).
    Add {
        /// What to authorise.
        permissions: Vec<IpPermission>,
        /// Rules the group has now.
        existing: usize,
        /// Rules this adds.
        would_add: usize,
    },
    /// The group already allows everything wanted.
    AlreadyPresent,
    /// Adding would exceed `maxRules`; the group is skipped, the others proceed.
    SkippedBudget {
        /// Rules the group has now.
        existing: usize,
        /// Rules this would have added.
        would_add: usize,
    },
    /// The group does not exist (in this account and region).
    NotFound,
    /// No flow was attributed to the group.
    NoFlowsForGroup,
}

impl GroupDecision {
    /// The status word of `status.groups[].status` (DESIGN §6.2).
    pub fn status(&self) -> &'static str {
        match self {
            GroupDecision::Add { .. } => "Added",
            GroupDecision::AlreadyPresent => "AlreadyPresent",
            GroupDecision::SkippedBudget { .. } => "SkippedBudget",
            GroupDecision::NotFound => "NotFound",
            GroupDecision::NoFlowsForGroup => "NoFlowsForGroup",
        }
    }
}

/// Decides what to add to `group` (`None` when it was not found), honouring `max_rules`.
pub fn decide_group(
    group: Option<&SecurityGroup>,
    wanted: &[IpPermission],
    max_rules: usize,
) -> GroupDecision {
    if wanted.iter().all(|p| p.ip_ranges.is_empty()) {
        return GroupDecision::NoFlowsForGroup;
    }
    let Some(group) = group else {
        return GroupDecision::NotFound;
    };
    let permissions = filter_existing(wanted, group);
    if permissions.is_empty() {
        return GroupDecision::AlreadyPresent;
    }
    let existing = rule_count(&group.ip_permissions);
    let would_add = rule_count(&permissions);
    if existing + would_add > max_rules {
        return GroupDecision::SkippedBudget {
            existing,
            would_add,
        };
    }
    GroupDecision::Add {
        permissions,
        existing,
        would_add,
    }
}

/// Rule strings (`tcp:443 10.0.0.0/24`) of the IPv4 ranges of `permissions`, sorted.
pub fn rule_strings(permissions: &[IpPermission]) -> Vec<String> {
    let mut rules: Vec<String> = permissions
        .iter()
        .filter_map(|p| PortSpec::from_permission(p).map(|spec| (spec, p)))
        .flat_map(|(spec, p)| {
            p.ip_ranges
                .iter()
                .map(move |r| format!("{spec} {}", r.cidr_ip))
        })
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

/// What an expiring or deleted extension may revoke: the rules it added, minus those another live
/// extension also granted and those that existed before it (DESIGN I10).
pub fn rules_to_revoke<'r>(
    added: &'r [String],
    other_live: &[String],
    preexisting: &[String],
) -> Vec<&'r str> {
    let keep: BTreeSet<&str> = other_live
        .iter()
        .chain(preexisting)
        .map(String::as_str)
        .collect();
    let mut revoke: Vec<&str> = added
        .iter()
        .map(String::as_str)
        .filter(|r| !keep.contains(r))
        .collect();
    revoke.sort_unstable();
    revoke.dedup();
    revoke
}
