//! Domain layer (pure): attribution of flows to the eligible rules of the groups whose ENIs they
//! reached (DESIGN §5). A flow counts for a rule only if its source lies in the rule's CIDR, its
//! protocol/port fall in the rule, and — in `Group` mode — its destination is an ENI of the
//! rule's group (by interface id, else by destination address).

use super::Flow;
use crate::domain::cidr::Observed;
use crate::domain::rules::Traffic;
use crate::domain::snapshot::NetworkInterface;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

/// How strictly a flow must reach a rule's group to count as its evidence.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum AttributionMode {
    /// The destination is an ENI that carries the rule's group (default).
    #[default]
    Group,
    /// The destination is an ENI in the rule's group's VPC.
    Vpc,
    /// Any destination in the region (seed-like, loosest).
    Region,
}

/// One eligible rule that evidence is gathered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTarget {
    /// The rule's group.
    pub group_id: String,
    /// The group's VPC, when known.
    pub vpc_id: Option<String>,
    /// The rule's protocol and ports.
    pub traffic: Traffic,
    /// The rule's CIDR (network address).
    pub cidr: Ipv4Net,
}

/// Evidence per rule target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    /// Distinct observed source addresses per target (same order as the targets), sorted.
    pub sources: Vec<Vec<u32>>,
    /// Flows that counted for at least one rule.
    pub attributed_flows: u64,
    /// Flows that counted for no rule.
    pub unattributed_flows: u64,
}

/// The groups and VPC of one ENI.
#[derive(Debug, Clone)]
struct Eni {
    groups: Vec<String>,
    vpc_id: Option<String>,
}

/// ENIs by id and by private address, from `describe-network-interfaces`.
#[derive(Debug, Clone, Default)]
pub struct InterfaceIndex {
    enis: Vec<Eni>,
    by_id: HashMap<String, usize>,
    by_address: HashMap<Ipv4Addr, Vec<usize>>,
}

impl InterfaceIndex {
    /// Indexes ENIs by id and by every private IPv4 address.
    pub fn new(interfaces: &[NetworkInterface]) -> InterfaceIndex {
        let mut index = InterfaceIndex::default();
        for (k, eni) in interfaces.iter().enumerate() {
            let groups = eni.groups.iter().map(|g| g.group_id.clone()).collect();
            index.enis.push(Eni {
                groups,
                vpc_id: eni.vpc_id.clone(),
            });
            index.by_id.insert(eni.network_interface_id.clone(), k);
            let addresses = eni.private_ip_address.iter().chain(
                eni.private_ip_addresses
                    .iter()
                    .map(|a| &a.private_ip_address),
            );
            let parsed: BTreeSet<Ipv4Addr> = addresses.filter_map(|a| a.parse().ok()).collect();
            for address in parsed {
                index.by_address.entry(address).or_default().push(k);
            }
        }
        index
    }

    /// The ENIs a flow reached: its interface id when known, else its destination address.
    fn destinations(&self, flow: &Flow) -> Vec<&Eni> {
        if let Some(k) = flow.interface_id.as_ref().and_then(|id| self.by_id.get(id)) {
            return vec![&self.enis[*k]];
        }
        self.by_address
            .get(&flow.destination)
            .map(|ks| ks.iter().map(|k| &self.enis[*k]).collect())
            .unwrap_or_default()
    }
}

/// True when a flow reached the target's group (or VPC, or region) as `mode` requires.
fn reaches(target: &RuleTarget, destinations: &[&Eni], mode: AttributionMode) -> bool {
    match mode {
        AttributionMode::Region => true,
        AttributionMode::Group => destinations
            .iter()
            .any(|e| e.groups.contains(&target.group_id)),
        AttributionMode::Vpc => {
            target.vpc_id.is_some() && destinations.iter().any(|e| e.vpc_id == target.vpc_id)
        }
    }
}

/// Attributes flows to rule targets. Without `interfaces`, a flow is evidence for every target
/// whose CIDR, protocol and port match it, whatever the mode.
pub fn attribute(
    targets: &[RuleTarget],
    flows: &[Flow],
    interfaces: Option<&InterfaceIndex>,
    mode: AttributionMode,
) -> Attribution {
    let mut by_group: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, target) in targets.iter().enumerate() {
        by_group
            .entry(target.group_id.as_str())
            .or_default()
            .push(k);
    }
    let everything: Vec<usize> = (0..targets.len()).collect();
    let mut sources: Vec<Vec<u32>> = vec![Vec::new(); targets.len()];
    let (mut attributed, mut unattributed) = (0u64, 0u64);
    for flow in flows {
        let destinations = interfaces.map(|index| index.destinations(flow));
        let candidates = match (&destinations, mode) {
            (Some(d), AttributionMode::Group) => targets_of_groups(d, &by_group),
            _ => everything.clone(),
        };
        let mut counted = false;
        for k in candidates {
            let target = &targets[k];
            let matches = target.cidr.contains(&flow.source)
                && target.traffic.matches(flow.protocol, flow.port);
            if matches
                && destinations
                    .as_ref()
                    .is_none_or(|d| reaches(target, d, mode))
            {
                sources[k].push(u32::from(flow.source));
                counted = true;
            }
        }
        match counted {
            true => attributed += 1,
            false => unattributed += 1,
        }
    }
    for list in &mut sources {
        list.sort_unstable();
        list.dedup();
    }
    Attribution {
        sources,
        attributed_flows: attributed,
        unattributed_flows: unattributed,
    }
}

/// The targets of every group attached to the destination ENIs, each once, in order.
fn targets_of_groups(destinations: &[&Eni], by_group: &HashMap<&str, Vec<usize>>) -> Vec<usize> {
    let mut out: Vec<usize> = destinations
        .iter()
        .flat_map(|e| e.groups.iter())
        .filter_map(|g| by_group.get(g.as_str()))
        .flatten()
        .copied()
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The observed set of each target: its attributed sources plus the vouched-for `additional`
/// CIDRs, restricted to the target's CIDR and minus `excluded` (which never count).
pub fn observed_sets(
    targets: &[RuleTarget],
    attribution: &Attribution,
    additional: &[Ipv4Net],
    excluded: &[Ipv4Net],
) -> Vec<Observed> {
    targets
        .iter()
        .zip(&attribution.sources)
        .map(|(target, sources)| {
            Observed::build(sources.iter().copied(), additional, excluded, target.cidr)
        })
        .collect()
}

#[cfg(test)]
#[path = "attribution_tests.rs"]
mod tests;
