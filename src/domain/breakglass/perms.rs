//! Domain layer (pure): break-glass permissions — merged per (protocol, ports), counted as AWS
//! counts rules, printed as rule strings. What a group gets and what may be revoked is decided
//! in `ledger`.

use super::ports::PortSpec;
use crate::domain::snapshot::IpPermission;
use std::collections::BTreeMap;

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
