//! Domain layer (pure): the compaction plan (DESIGN §6.4, sg_compact) — per group and traffic,
//! merge RFC 1918 CIDRs of any prefix into covering blocks whose never-granted share is at most
//! `ratio`, never across RFC 1918 blocks, to save rules. Unlike tightening this widens access
//! on purpose, by at most `ratio` of each new block.

use super::group::GroupOutcome;
use super::model::{GroupPlan, Plan};
use super::options::DEFAULT_MAX_RULES;
use super::tighten::{assemble, parse_groups, PlanError};
use crate::domain::cidr::{compact_nets, compactable, range_of, Block, Observed};
use crate::domain::rules::{ipv4_addresses, Rule, Traffic};
use crate::domain::snapshot::SecurityGroup;
use ipnet::Ipv4Net;
use std::collections::{BTreeMap, BTreeSet};

/// The knobs of a compaction plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactOptions {
    /// Largest never-granted share a merged block may have, 0..=1.
    pub ratio: f64,
    /// Rules-per-group limit: groups still above it after compaction get a warning.
    pub max_rules: u32,
}

impl Default for CompactOptions {
    fn default() -> CompactOptions {
        CompactOptions {
            ratio: 0.0,
            max_rules: DEFAULT_MAX_RULES,
        }
    }
}

/// Total and compactable rule counts of a group (AWS counting). Break-glass rules are never
/// compactable: their BreakGlassExtension owns them.
pub fn count_group(rules: &[Rule]) -> (usize, usize) {
    (
        rules.len(),
        rules
            .iter()
            .filter(|r| compactable_cidr(r).is_some())
            .count(),
    )
}

/// The CIDR (host bits cleared) of a rule compaction may merge: an IPv4 CIDR inside one RFC 1918
/// block, not a break-glass rule. `None` for every other rule (SG references, prefix lists,
/// IPv6, public CIDRs, break-glass rules), which compaction never touches.
pub fn compactable_cidr(rule: &Rule) -> Option<Ipv4Net> {
    rule.v4_cidr()
        .map(|n| n.trunc())
        .filter(|n| compactable(*n) && !rule.is_break_glass())
}

/// Builds the compaction plan for `groups`.
pub fn build_compact_plan(
    groups: &[SecurityGroup],
    options: &CompactOptions,
) -> Result<Plan, PlanError> {
    let parsed = parse_groups(groups)?;
    let outcomes = parsed
        .iter()
        .map(|(group, rules)| compact_group(group, rules, options))
        .collect();
    Ok(assemble(groups, outcomes))
}

/// Compacts one group, traffic by traffic.
fn compact_group(group: &SecurityGroup, rules: &[Rule], options: &CompactOptions) -> GroupOutcome {
    let mut by_traffic: BTreeMap<Traffic, Vec<&Rule>> = BTreeMap::new();
    for rule in rules.iter().filter(|r| compactable_cidr(r).is_some()) {
        by_traffic.entry(rule.traffic).or_default().push(rule);
    }
    let (mut revoke, mut authorise) = (Vec::new(), Vec::new());
    let mut added = 0;
    for (traffic, members) in &by_traffic {
        let current: Vec<Ipv4Net> = members.iter().filter_map(|r| r.v4_cidr()).collect();
        let compacted: BTreeSet<Ipv4Net> =
            compact_nets(&current, options.ratio).into_iter().collect();
        added += never_granted(&current, &compacted);
        revoke.extend(
            members
                .iter()
                .filter(|r| r.v4_cidr().is_some_and(|n| !compacted.contains(&n.trunc())))
                .map(|r| (*r).clone()),
        );
        let existing: BTreeSet<Ipv4Net> = current.iter().map(Ipv4Net::trunc).collect();
        authorise.extend(
            compacted
                .iter()
                .filter(|n| !existing.contains(n))
                .map(|n| Rule::v4(*traffic, *n)),
        );
    }
    let saved = revoke.len().saturating_sub(authorise.len());
    let (total, compactable_count) = count_group(rules);
    let mut warnings = Vec::new();
    let projected = total - saved;
    if projected > options.max_rules as usize {
        warnings.push(format!("still {projected} rules after compaction, above maxRules {}: raise the ratio or request a quota increase", options.max_rules));
    }
    let interruption =
        !authorise.is_empty() && total + authorise.len() > options.max_rules as usize;
    if interruption {
        warnings.push(format!("make-before-break does not fit: {total} current + {} new rules exceed maxRules {}; the apply revokes first", authorise.len(), options.max_rules));
    }
    let untouched = total - compactable_count;
    let plan = GroupPlan {
        current_rules: Some(total as u32),
        projected_rules: Some(projected as u32),
        addresses_added: Some(added),
        group_id: group.group_id.clone(),
        revoke: revoke.iter().map(ToString::to_string).collect(),
        authorise: authorise.iter().map(ToString::to_string).collect(),
        untouched_rules: untouched as u32,
        budget: options.max_rules.saturating_sub(untouched as u32),
        tolerance_used: options.ratio,
        interruption,
        warnings,
        rules_saved: Some(saved as u32),
        ..GroupPlan::default()
    };
    GroupOutcome {
        addresses_before: ipv4_addresses(&revoke),
        addresses_after: ipv4_addresses(&authorise),
        plan,
    }
}

/// Addresses inside `cover` (disjoint blocks covering every net of `granted`) that none of
/// `granted` allowed.
pub fn never_granted<'a>(granted: &[Ipv4Net], cover: impl IntoIterator<Item = &'a Ipv4Net>) -> u64 {
    let granted = Observed::from_ranges(granted.iter().map(|n| range_of(*n)));
    cover
        .into_iter()
        .map(|n| {
            let block = Block::from_net(*n);
            block.size() - granted.count_in_block(block)
        })
        .sum()
}
