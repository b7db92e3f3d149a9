//! Domain layer (pure): break-glass rules from rejected flows — filter the flows, map destinations
//! to groups through their ENIs, summarise AWS service sources, and collapse the remaining sources
//! per (protocol, port) through a collapse seam.

use super::aws_ranges::AwsIpRanges;
use super::ports::PortSpec;
use super::validate::is_private;
use super::BreakGlassError;
use crate::domain::evidence::Flow;
use crate::domain::snapshot::{IpPermission, IpRange, NetworkInterface};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

/// The collapse seam: the sources seen for one (protocol, port) → the blocks that cover them.
/// [`exact_collapse`] is lossless; the tolerance-based collapse of `domain::cidr` (DESIGN §4)
/// plugs in here as a closure capturing `tolerance` and the budget.
pub type Collapse<'a> = &'a dyn Fn(&[Ipv4Addr]) -> Vec<Ipv4Net>;

/// Lossless collapse: exact aggregation of the sources (adjacent /32s merge, nothing is added).
pub fn exact_collapse(sources: &[Ipv4Addr]) -> Vec<Ipv4Net> {
    let hosts: Vec<Ipv4Net> = sources.iter().map(|a| Ipv4Net::from(*a)).collect();
    Ipv4Net::aggregate(&hosts)
}

/// Which rejected flows qualify for break-glass rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowFilter {
    /// Destination port ranges to keep (`fromRejectedFlows.ports`); `None` keeps every port.
    pub ports: Option<Vec<(u16, u16)>>,
    /// Keep public (non-RFC 1918) sources too.
    pub include_public: bool,
}

/// Keeps TCP/UDP flows whose port passes the filter and whose source is private (or public when
/// allowed). ICMP and other protocols have no port to scope a rule to and are dropped.
pub fn filter_flows<'f>(flows: &'f [Flow], filter: &FlowFilter) -> Vec<&'f Flow> {
    let port_ok = |port: u16| {
        filter
            .ports
            .as_ref()
            .is_none_or(|ranges| ranges.iter().any(|(a, b)| (*a..=*b).contains(&port)))
    };
    flows
        .iter()
        .filter(|f| PortSpec::for_flow(f.protocol, f.port).is_some())
        .filter(|f| filter.include_public || is_private(&Ipv4Net::from(f.source)))
        .filter(|f| port_ok(f.port))
        .collect()
}

/// Public sources summarised into one AWS service prefix, per (protocol, port).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsServiceSummary {
    /// The published service prefix that replaces the individual sources.
    pub cidr: Ipv4Net,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Destination port.
    pub port: u16,
    /// The AWS service.
    pub service: String,
    /// Its region.
    pub region: String,
}

/// Splits flows into those whose source lies in an AWS service prefix (summarised, one entry per
/// prefix, protocol and port) and the rest (kept as they are).
pub fn split_aws_service_flows<'f>(
    flows: &[&'f Flow],
    ranges: &AwsIpRanges,
) -> (Vec<&'f Flow>, Vec<AwsServiceSummary>) {
    let mut regular = Vec::new();
    let mut summaries = BTreeSet::new();
    for flow in flows {
        match (
            ranges.classify_addr(flow.source),
            PortSpec::for_flow(flow.protocol, flow.port),
        ) {
            (Some(service), Some(spec)) => {
                summaries.insert(AwsServiceSummary {
                    cidr: service.prefix,
                    protocol: spec.aws_fields().0.to_string(),
                    port: flow.port,
                    service: service.service.clone(),
                    region: service.region.clone(),
                });
            }
            _ => regular.push(*flow),
        }
    }
    (regular, summaries.into_iter().collect())
}

/// One permission per (protocol, port), one range per service prefix, the service and region in
/// the description so the rule explains itself.
pub fn aws_service_permissions(
    summaries: &[AwsServiceSummary],
    description: &str,
) -> Vec<IpPermission> {
    let mut by_port: BTreeMap<(String, u16), Vec<IpRange>> = BTreeMap::new();
    for s in summaries {
        let ranges = by_port.entry((s.protocol.clone(), s.port)).or_default();
        if ranges.iter().all(|r| r.cidr_ip != s.cidr.to_string()) {
            let label = format!("{description} ({} {})", s.service, s.region);
            ranges.push(IpRange {
                cidr_ip: s.cidr.to_string(),
                description: Some(label.chars().take(255).collect()),
            });
        }
    }
    by_port
        .into_iter()
        .map(|((protocol, port), ip_ranges)| {
            let spec = if protocol == "udp" {
                PortSpec::Udp(port, port)
            } else {
                PortSpec::Tcp(port, port)
            };
            spec.permission(ip_ranges)
        })
        .collect()
}

/// Destination address → the groups of the ENI that owns it (AWS evaluates every attached group).
#[derive(Debug, Clone, Default)]
pub struct DestinationIndex {
    groups: HashMap<Ipv4Addr, BTreeSet<String>>,
}

impl DestinationIndex {
    /// Indexes every private address (primary and secondary) of every ENI.
    pub fn from_interfaces(interfaces: &[NetworkInterface]) -> DestinationIndex {
        let mut groups: HashMap<Ipv4Addr, BTreeSet<String>> = HashMap::new();
        for eni in interfaces.iter().filter(|e| !e.groups.is_empty()) {
            let primary = eni.private_ip_address.iter().map(String::as_str);
            let secondary = eni
                .private_ip_addresses
                .iter()
                .map(|p| p.private_ip_address.as_str());
            for address in primary
                .chain(secondary)
                .filter_map(|a| a.parse::<Ipv4Addr>().ok())
            {
                groups
                    .entry(address)
                    .or_default()
                    .extend(eni.groups.iter().map(|g| g.group_id.clone()));
            }
        }
        DestinationIndex { groups }
    }

    /// The groups receiving traffic addressed to `destination` (empty when no ENI has it).
    pub fn groups_of(&self, destination: Ipv4Addr) -> impl Iterator<Item = &str> {
        self.groups
            .get(&destination)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }
}

/// Splits flows by the groups of their destination ENI. A flow goes to every group on that ENI;
/// a flow whose destination no ENI owns is dropped — auto-discovery never invents groups.
pub fn partition_flows_by_group<'f>(
    flows: &[&'f Flow],
    index: &DestinationIndex,
) -> BTreeMap<String, Vec<&'f Flow>> {
    let mut out: BTreeMap<String, Vec<&'f Flow>> = BTreeMap::new();
    for flow in flows {
        for group in index.groups_of(flow.destination) {
            out.entry(group.to_string()).or_default().push(flow);
        }
    }
    out
}

/// Auto-discovery: the groups found, refused when there are more than `max_groups`.
pub fn discovered_groups<V>(
    partition: &BTreeMap<String, V>,
    max_groups: usize,
) -> Result<Vec<String>, BreakGlassError> {
    if partition.len() > max_groups {
        return Err(BreakGlassError::TooManyGroups {
            found: partition.len(),
            max: max_groups,
        });
    }
    Ok(partition.keys().cloned().collect())
}

/// Permissions for one group's flows: sources grouped per (protocol, port), collapsed through
/// `collapse`, each block described with `description`.
pub fn permissions_from_flows(
    flows: &[&Flow],
    description: &str,
    collapse: Collapse<'_>,
) -> Vec<IpPermission> {
    let mut sources: BTreeMap<PortSpec, BTreeSet<Ipv4Addr>> = BTreeMap::new();
    for flow in flows {
        if let Some(spec) = PortSpec::for_flow(flow.protocol, flow.port) {
            sources.entry(spec).or_default().insert(flow.source);
        }
    }
    sources
        .into_iter()
        .map(|(spec, addresses)| {
            let addresses: Vec<Ipv4Addr> = addresses.into_iter().collect();
            let mut blocks = collapse(&addresses);
            blocks.sort();
            blocks.dedup();
            let ranges = blocks
                .iter()
                .map(|b| IpRange {
                    cidr_ip: b.to_string(),
                    description: Some(description.to_string()),
                })
                .collect();
            spec.permission(ranges)
        })
        .collect()
}

/// Explicit mode: every CIDR on every port spec, one permission per spec.
pub fn explicit_permissions(
    cidrs: &[Ipv4Net],
    ports: &[PortSpec],
    description: &str,
) -> Vec<IpPermission> {
    let ranges: Vec<IpRange> = cidrs
        .iter()
        .map(|c| IpRange {
            cidr_ip: c.to_string(),
            description: Some(description.to_string()),
        })
        .collect();
    let specs: BTreeSet<&PortSpec> = ports.iter().collect();
    specs
        .into_iter()
        .map(|spec| spec.permission(ranges.clone()))
        .collect()
}
