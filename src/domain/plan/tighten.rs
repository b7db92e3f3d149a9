//! Domain layer (pure): the tightening plan (DESIGN §6.1) over a set of groups — find the
//! eligible rules, attribute the evidence to them, plan each group, total and hash.

use super::group::{plan_group, EligibleRule, GroupOutcome};
use super::hash::{plan_hash, snapshot_hash};
use super::model::{Plan, PlanSummary};
use super::options::PlanOptions;
use crate::domain::evidence::attribution::{attribute, observed_sets, InterfaceIndex, RuleTarget};
use crate::domain::evidence::Flow;
use crate::domain::network::Vpc;
use crate::domain::rules::{ingress_rules, Rule, RuleError};
use crate::domain::snapshot::{NetworkInterface, SecurityGroup};
use std::collections::BTreeSet;

/// The evidence a plan is built from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence<'a> {
    /// Distinct flow tuples (ACCEPTed traffic).
    pub flows: &'a [Flow],
    /// ENIs for attribution; without them every flow is evidence for every matching rule.
    /// Give every ENI of the groups' VPCs that exists today: a flow to any other interface is
    /// taken to have reached one that no longer exists.
    pub interfaces: Option<&'a [NetworkInterface]>,
    /// The groups' VPCs: a flow to a vanished interface counts only for groups whose VPC holds
    /// its destination (without them, for every group whose rule matches it).
    pub vpcs: Option<&'a [Vpc]>,
}

/// A tightening plan and how the evidence was attributed.
#[derive(Debug, Clone, PartialEq)]
pub struct Tightening {
    /// The plan (hash and snapshot hash set; `generatedAt`, `inputsHash`, `approveCommand` left
    /// for the caller).
    pub plan: Plan,
    /// Flows that counted for at least one eligible rule.
    pub attributed_flows: u64,
    /// Flows that counted for none.
    pub unattributed_flows: u64,
    /// Attributed flows to interfaces that no longer exist.
    pub vanished_flows: u64,
    /// Distinct interfaces among `vanished_flows`.
    pub vanished_interfaces: u64,
    /// Sources kept in the plan only because of `vanished_flows` (distinct per group, summed).
    pub vanished_sources: u64,
}

/// Why a plan could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A group's snapshot holds a rule the model cannot read.
    #[error("group {group_id}: {source}")]
    Rule { group_id: String, source: RuleError },
}

/// Every group's ingress rules, groups sorted by id.
pub(super) fn parse_groups(
    groups: &[SecurityGroup],
) -> Result<Vec<(&SecurityGroup, Vec<Rule>)>, PlanError> {
    let mut sorted: Vec<&SecurityGroup> = groups.iter().collect();
    sorted.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    sorted
        .into_iter()
        .map(|g| {
            ingress_rules(g)
                .map(|rules| (g, rules))
                .map_err(|source| PlanError::Rule {
                    group_id: g.group_id.clone(),
                    source,
                })
        })
        .collect()
}

/// Builds the tightening plan for `groups` (all in scope) from `evidence`.
pub fn build_plan(
    groups: &[SecurityGroup],
    evidence: &Evidence,
    options: &PlanOptions,
) -> Result<Tightening, PlanError> {
    let parsed = parse_groups(groups)?;
    let (targets, owners) = targets(&parsed, options.prefix_threshold);
    let index = evidence
        .interfaces
        .map(|i| InterfaceIndex::new(i).with_vpcs(evidence.vpcs.unwrap_or_default()));
    let attribution = attribute(
        &targets,
        evidence.flows,
        index.as_ref(),
        options.attribution,
    );
    let observed = observed_sets(
        &targets,
        &attribution,
        &options.additional_sources,
        &options.exclude_sources,
    );
    let mut vanished_sources = 0;
    let outcomes: Vec<GroupOutcome> = parsed
        .iter()
        .enumerate()
        .map(|(g, (group, rules))| {
            let range = owners.partition_point(|o| o.0 < g)..owners.partition_point(|o| o.0 <= g);
            let eligible: Vec<EligibleRule> = range
                .clone()
                .map(|k| EligibleRule {
                    index: owners[k].1,
                    cidr: targets[k].cidr,
                    observed: &observed[k],
                })
                .collect();
            let mut outcome = plan_group(group, rules, &eligible, options);
            let kept = kept_for_vanished(&attribution.vanished_only[range], options);
            if kept > 0 && outcome.plan.refused.is_none() {
                vanished_sources += kept;
                outcome.plan.warnings.push(vanished_warning(kept));
            }
            outcome
        })
        .collect();
    let plan = assemble(groups, outcomes);
    Ok(Tightening {
        plan,
        attributed_flows: attribution.attributed_flows,
        unattributed_flows: attribution.unattributed_flows,
        vanished_flows: attribution.vanished_flows,
        vanished_interfaces: attribution.vanished_interfaces,
        vanished_sources,
    })
}

/// Distinct sources of one group that only flows to vanished interfaces gave its rules, less
/// the excluded ones (which never count).
fn kept_for_vanished(vanished_only: &[Vec<u32>], options: &PlanOptions) -> u64 {
    let sources: BTreeSet<u32> = vanished_only.iter().flatten().copied().collect();
    let excluded = |s: &u32| {
        let address = std::net::Ipv4Addr::from(*s);
        options.exclude_sources.iter().any(|e| e.contains(&address))
    };
    sources.iter().filter(|s| !excluded(s)).count() as u64
}

fn vanished_warning(kept: u64) -> String {
    format!(
        "{kept} source(s) kept only because of flows to network interfaces that no longer exist: \
         such a flow counts for every group whose rule matches it in the destination's VPC, so \
         the plan may allow more than this group needs (re-plan once the window holds only \
         today's interfaces to tighten further)"
    )
}

/// The eligible rules of every group as attribution targets, with (group, rule) indices.
fn targets(
    parsed: &[(&SecurityGroup, Vec<Rule>)],
    prefix_threshold: u8,
) -> (Vec<RuleTarget>, Vec<(usize, usize)>) {
    let (mut targets, mut owners) = (Vec::new(), Vec::new());
    for (g, (group, rules)) in parsed.iter().enumerate() {
        for (r, rule) in rules.iter().enumerate() {
            if let Some(cidr) = rule.eligible_cidr(prefix_threshold) {
                targets.push(RuleTarget {
                    group_id: group.group_id.clone(),
                    vpc_id: group.vpc_id.clone(),
                    traffic: rule.traffic,
                    cidr,
                });
                owners.push((g, r));
            }
        }
    }
    (targets, owners)
}

/// Totals, snapshot hash and plan hash around the group plans.
pub(super) fn assemble(groups: &[SecurityGroup], outcomes: Vec<GroupOutcome>) -> Plan {
    let before: u64 = outcomes.iter().map(|o| o.addresses_before).sum();
    let after: u64 = outcomes.iter().map(|o| o.addresses_after).sum();
    let saved: Option<u32> = outcomes.iter().map(|o| o.plan.rules_saved).sum();
    let summary = PlanSummary {
        groups: outcomes.len() as u32,
        rules_revoked: outcomes.iter().map(|o| o.plan.revoke.len() as u32).sum(),
        rules_authorised: outcomes.iter().map(|o| o.plan.authorise.len() as u32).sum(),
        addresses_before: before,
        addresses_after: after,
        reduction_percent: reduction_percent(before, after),
        rules_saved: saved,
    };
    let mut plan = Plan {
        snapshot_hash: snapshot_hash(groups),
        summary,
        groups: outcomes.into_iter().map(|o| o.plan).collect(),
        ..Plan::default()
    };
    plan.hash = plan_hash(&plan);
    plan
}

/// `100 · (before − after) / before`, two decimals; 0 when nothing was trusted before.
pub fn reduction_percent(before: u64, after: u64) -> f64 {
    if before == 0 {
        return 0.0;
    }
    let percent = 100.0 * (before as f64 - after as f64) / before as f64;
    (percent * 100.0).round() / 100.0
}
