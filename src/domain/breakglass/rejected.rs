//! Domain layer (pure): flow mode end to end — rejected flows filtered, attributed to the groups
//! of their destination ENIs, then per group: AWS service sources summarised into their published
//! prefixes, the rest collapsed per (protocol, port) within the group's rule room, as rules.

use super::aws_ranges::{AwsIpRanges, AwsService};
use super::collapse::ToleranceCollapse;
use super::flows::{
    aws_service_permissions, filter_flows, partition_flows_by_group, permissions_from_flows,
    split_aws_service_flows, AwsServiceSummary, DestinationIndex, FlowFilter,
};
use super::perms::merge_permissions;
use super::ports::PortSpec;
use super::validate::is_private;
use crate::domain::evidence::Flow;
use crate::domain::rules::{rules_of_permission, Rule};
use ipnet::Ipv4Net;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// Rejected flows that pass the filter, attributed to groups.
#[derive(Debug, Clone, Default)]
pub struct Attributed<'f> {
    /// Group → its flows (a flow goes to every group of its destination ENI).
    pub by_group: BTreeMap<String, Vec<&'f Flow>>,
    /// Flows that passed the filter.
    pub kept: usize,
    /// Of those, flows whose destination no known ENI owns.
    pub unattributed: usize,
}

/// Filters `flows` and attributes them through `index`.
pub fn attribute<'f>(
    flows: &'f [Flow],
    filter: &FlowFilter,
    index: &DestinationIndex,
) -> Attributed<'f> {
    let kept = filter_flows(flows, filter);
    let by_group = partition_flows_by_group(&kept, index);
    let unattributed = kept
        .iter()
        .filter(|f| index.groups_of(f.destination).next().is_none())
        .count();
    Attributed {
        by_group,
        kept: kept.len(),
        unattributed,
    }
}

/// How one group's rules are shaped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shaping {
    /// `fromRejectedFlows.tolerance`.
    pub tolerance: f64,
    /// `breakGlass.broadestPrefix`.
    pub broadest_prefix: u8,
    /// Rules the group can still take (`maxRules` − rules it has).
    pub room: usize,
}

/// The rules flow mode wants on one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupWant {
    /// The rules (described), sorted.
    pub rules: Vec<Rule>,
    /// AWS service prefixes used instead of individual public sources.
    pub summaries: Vec<AwsServiceSummary>,
}

/// The rules for one group's flows: with `ranges`, public sources inside an AWS service prefix
/// become that prefix; the rest are collapsed per (protocol, port), the room shared evenly.
pub fn group_rules(
    flows: &[&Flow],
    ranges: Option<&AwsIpRanges>,
    description: &str,
    shaping: Shaping,
) -> GroupWant {
    let (regular, summaries) = match ranges {
        Some(ranges) => split_aws_service_flows(flows, ranges),
        None => (flows.to_vec(), Vec::new()),
    };
    let ports: BTreeSet<PortSpec> = regular
        .iter()
        .filter_map(|f| PortSpec::for_flow(f.protocol, f.port))
        .collect();
    let collapse = ToleranceCollapse {
        tolerance: shaping.tolerance,
        budget: (shaping.room / ports.len().max(1)).max(1),
        broadest_prefix: shaping.broadest_prefix,
    };
    let blocks = |sources: &[Ipv4Addr]| collapse.blocks(sources);
    let collapsed = permissions_from_flows(&regular, description, &blocks);
    let services = aws_service_permissions(&summaries, description);
    let mut rules: Vec<Rule> = merge_permissions(&[collapsed.as_slice(), services.as_slice()])
        .iter()
        .filter_map(|p| rules_of_permission(p).ok())
        .flatten()
        .collect();
    rules.sort();
    rules.dedup();
    GroupWant { rules, summaries }
}

/// Distinct public sources per AWS service prefix, for status (most sources first).
pub fn service_sources(flows: &[&Flow], ranges: &AwsIpRanges) -> Vec<(AwsService, u64)> {
    let mut sources: BTreeMap<&AwsService, BTreeSet<Ipv4Addr>> = BTreeMap::new();
    for flow in flows {
        if let Some(service) = ranges.classify_addr(flow.source) {
            sources.entry(service).or_default().insert(flow.source);
        }
    }
    let mut out: Vec<(AwsService, u64)> = sources
        .into_iter()
        .map(|(service, s)| (service.clone(), s.len() as u64))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Distinct public (non-RFC 1918) sources among `flows`, sorted.
pub fn public_sources(flows: &[&Flow]) -> Vec<Ipv4Addr> {
    let public: BTreeSet<Ipv4Addr> = flows
        .iter()
        .map(|f| f.source)
        .filter(|s| !is_private(&Ipv4Net::from(*s)))
        .collect();
    public.into_iter().collect()
}
