//! Domain layer (pure): the tightening of one security group — shared budget, no-evidence policy,
//! replacements inside each rule's CIDR (I1), port merging, make-before-break (I7) and warnings.

use super::model::GroupPlan;
use super::options::{IacTag, NoEvidence, PlanOptions};
use super::ports::{drop_contained, merge_ports, Replacements};
use crate::domain::cidr::{collapse_shared, CollapseOutcome, Observed};
use crate::domain::rules::{ipv4_addresses, Rule};
use crate::domain::snapshot::SecurityGroup;
use ipnet::Ipv4Net;
use std::collections::BTreeSet;

/// An eligible rule of the group with its evidence.
pub(super) struct EligibleRule<'a> {
    /// Index into the group's rules.
    pub index: usize,
    /// The rule's CIDR (network address).
    pub cidr: Ipv4Net,
    /// Observed sources inside `cidr`.
    pub observed: &'a Observed,
}

/// One group's plan and its address totals.
pub(super) struct GroupOutcome {
    pub plan: GroupPlan,
    pub addresses_before: u64,
    pub addresses_after: u64,
}

/// The rules a group keeps, revokes and replaces, before replacements are computed.
struct Triage<'a> {
    revoke: Vec<&'a Rule>,
    replaced: Vec<&'a EligibleRule<'a>>,
    untouched: usize,
    warnings: Vec<String>,
}

/// Plans one group: `rules` are its ingress rules, `eligible` those the planner may replace.
pub(super) fn plan_group(
    group: &SecurityGroup,
    rules: &[Rule],
    eligible: &[EligibleRule],
    options: &PlanOptions,
) -> GroupOutcome {
    let mut triage = triage(rules, eligible, options.no_evidence);
    let budget = (options.max_rules as usize).saturating_sub(triage.untouched);
    let inputs: Vec<(&Observed, Ipv4Net)> = triage
        .replaced
        .iter()
        .map(|e| (e.observed, e.cidr))
        .collect();
    let outcome = collapse_shared(&inputs, budget, options.tolerance);
    if !outcome.within_budget {
        return refused(group, &triage, budget, options.max_rules);
    }
    if !inputs.is_empty() {
        triage.warnings.extend(outcome.warnings(budget));
    }
    let (mut authorise, ports_merged) = replacements(rules, &triage.replaced, &outcome);
    triage
        .revoke
        .extend(triage.replaced.iter().map(|e| &rules[e.index]));
    let mut revoke: Vec<Rule> = triage.revoke.iter().map(|r| (*r).clone()).collect();
    drop_no_ops(rules, &mut revoke, &mut authorise);
    let mut warnings = triage.warnings;
    warnings.extend(
        revoke
            .iter()
            .filter(|r| r.is_break_glass())
            .map(|r| format!("break-glass rule {r} superseded: the evidence covers its traffic")),
    );
    let interruption = interruption(
        rules.len(),
        &revoke,
        &authorise,
        options.max_rules,
        &mut warnings,
    );
    if !revoke.is_empty() || !authorise.is_empty() {
        if let Some(tag) = IacTag::owner(group, &options.iac_tags) {
            warnings.push(format!("group is owned by infrastructure as code ({tag}): the next IaC apply would undo this change unless its source is updated too"));
        }
    }
    let plan = GroupPlan {
        group_id: group.group_id.clone(),
        revoke: revoke.iter().map(ToString::to_string).collect(),
        authorise: authorise.iter().map(ToString::to_string).collect(),
        untouched_rules: triage.untouched as u32,
        budget: budget as u32,
        tolerance_used: if inputs.is_empty() {
            options.tolerance
        } else {
            outcome.tolerance_used
        },
        tolerance_steps: outcome.tolerance_steps.clone(),
        force_fit: outcome.force_fit.is_some(),
        ports_merged,
        interruption,
        warnings,
        rules_saved: None,
        current_rules: None,
        projected_rules: None,
        addresses_added: None,
        refused: None,
    };
    GroupOutcome {
        addresses_before: ipv4_addresses(&revoke),
        addresses_after: ipv4_addresses(&authorise),
        plan,
    }
}

/// A group whose rule budget cannot hold one replacement per replaced rule (DESIGN I4): the plan
/// leaves it unchanged and says why, rather than planning it over the limit.
fn refused(group: &SecurityGroup, triage: &Triage, budget: usize, max_rules: u32) -> GroupOutcome {
    let replaced = triage.replaced.len();
    let reason = format!(
        "{} untouched rules + at least {replaced} replacement rules (one per tightened rule) exceed maxRules {max_rules}: the group is left unchanged. Raise spec.collapse.maxRules (within the AWS quota) or remove rules from the group",
        triage.untouched
    );
    let plan = GroupPlan {
        group_id: group.group_id.clone(),
        untouched_rules: triage.untouched as u32,
        budget: budget as u32,
        refused: Some(reason),
        warnings: triage.warnings.clone(),
        ..GroupPlan::default()
    };
    GroupOutcome {
        plan,
        addresses_before: 0,
        addresses_after: 0,
    }
}

/// Splits eligible rules into replaced (with evidence), kept and revoked (without).
fn triage<'a>(
    rules: &'a [Rule],
    eligible: &'a [EligibleRule<'a>],
    policy: NoEvidence,
) -> Triage<'a> {
    let mut t = Triage {
        revoke: Vec::new(),
        replaced: Vec::new(),
        untouched: rules.len() - eligible.len(),
        warnings: Vec::new(),
    };
    for e in eligible {
        let rule = &rules[e.index];
        if !e.observed.is_empty() {
            t.replaced.push(e);
        } else if rule.is_break_glass() {
            t.untouched += 1;
            t.warnings.push(format!(
                "break-glass rule {rule} kept: no evidence covers its traffic yet"
            ));
        } else if policy == NoEvidence::Keep {
            t.untouched += 1;
            t.warnings
                .push(format!("no evidence for {rule}: kept (noEvidence: Keep)"));
        } else {
            t.revoke.push(rule);
            t.warnings.push(format!(
                "no evidence for {rule}: revoked without replacement (noEvidence: Revoke)"
            ));
        }
    }
    t
}

/// The replacement rules: each replaced rule's blocks on its own traffic, then port-merged.
fn replacements(
    rules: &[Rule],
    replaced: &[&EligibleRule],
    outcome: &CollapseOutcome,
) -> (Vec<Rule>, bool) {
    let mut by_traffic = Replacements::new();
    for (e, blocks) in replaced.iter().zip(&outcome.blocks) {
        by_traffic
            .entry(rules[e.index].traffic)
            .or_default()
            .extend(blocks);
    }
    for set in by_traffic.values_mut() {
        *set = drop_contained(std::mem::take(set));
    }
    let merged = merge_ports(&mut by_traffic);
    let mut out: Vec<Rule> = by_traffic
        .into_iter()
        .flat_map(|(t, nets)| nets.into_iter().map(move |n| Rule::v4(t, n)))
        .collect();
    out.sort();
    (out, merged)
}

/// Drops replacements the group already has (AWS refuses duplicates) and rules that would be
/// revoked and authorised again unchanged.
fn drop_no_ops(rules: &[Rule], revoke: &mut Vec<Rule>, authorise: &mut Vec<Rule>) {
    let revoked: BTreeSet<String> = revoke.iter().map(ToString::to_string).collect();
    let staying: BTreeSet<String> = rules
        .iter()
        .map(ToString::to_string)
        .filter(|s| !revoked.contains(s))
        .collect();
    authorise.retain(|r| !staying.contains(&r.to_string()));
    let both: BTreeSet<String> = authorise
        .iter()
        .map(ToString::to_string)
        .filter(|s| revoked.contains(s))
        .collect();
    revoke.retain(|r| !both.contains(&r.to_string()));
    authorise.retain(|r| !both.contains(&r.to_string()));
    revoke.sort();
    revoke.dedup();
}

/// I7: true when the current rules plus the new ones exceed `max_rules`, so the apply must revoke
/// before it authorises; the warning names the traffic that briefly loses access.
fn interruption(
    current: usize,
    revoke: &[Rule],
    authorise: &[Rule],
    max_rules: u32,
    warnings: &mut Vec<String>,
) -> bool {
    if authorise.is_empty() || current + authorise.len() <= max_rules as usize {
        return false;
    }
    let traffic: BTreeSet<String> = revoke.iter().map(|r| r.traffic.to_string()).collect();
    warnings.push(format!(
        "make-before-break does not fit: {current} current + {} new rules exceed maxRules {max_rules}; the apply revokes first, so {} briefly lose access from the revoked ranges",
        authorise.len(),
        traffic.into_iter().collect::<Vec<_>>().join(", ")
    ));
    true
}
