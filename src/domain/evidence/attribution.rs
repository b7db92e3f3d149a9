//! Domain layer (pure): attribution of flows to the eligible rules of the groups whose ENIs they
//! reached (DESIGN §5). A flow counts for a rule only if its source lies in the rule's CIDR, its
//! protocol/port fall in the rule, and — in `Group` mode — its destination is an ENI of the
//! rule's group (by interface id, else by destination address).
//!
//! A flow to an interface that no longer exists (instances replaced inside the window) cannot be
//! tied to a group: it counts, conservatively, for every rule it matches whose group's VPC holds
//! its destination — churn can make a plan less tight, never lock a source out (I3). Candidate
//! rules come from an index of rule CIDRs (one hash lookup per prefix length), so attribution
//! stays linear in flows whatever the number of rules.

use super::Flow;
use crate::domain::cidr::Observed;
use crate::domain::network::Vpc;
use crate::domain::rules::Traffic;
use crate::domain::snapshot::NetworkInterface;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

mod index;
use index::CidrIndex;

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
    /// Per target, the sources that only flows to vanished interfaces gave it (sorted): kept in
    /// the plan because those flows may have reached the target's group.
    pub vanished_only: Vec<Vec<u32>>,
    /// Flows that counted for at least one rule.
    pub attributed_flows: u64,
    /// Flows that counted for no rule.
    pub unattributed_flows: u64,
    /// Of `attributed_flows`, those to an interface that no longer exists (counted for every
    /// matching rule of the destination's VPC).
    pub vanished_flows: u64,
    /// Distinct interface ids among `vanished_flows`.
    pub vanished_interfaces: u64,
}

/// The groups and VPC of one ENI.
#[derive(Debug, Clone)]
struct Eni {
    groups: Vec<String>,
    vpc_id: Option<String>,
}

/// The interfaces that exist today (by id and by private address) and, when known, the address
/// ranges of their VPCs. A flow to an interface the index does not hold reached one that no
/// longer exists; give it every interface of the in-scope VPCs so the two can be told apart.
#[derive(Debug, Clone, Default)]
pub struct InterfaceIndex {
    enis: Vec<Eni>,
    by_id: HashMap<String, usize>,
    by_address: HashMap<Ipv4Addr, Vec<usize>>,
    vpc_ranges: HashMap<String, Vec<Ipv4Net>>,
}

/// Where a flow went, as far as today's interfaces say.
enum Reached<'a> {
    /// Interfaces that exist today.
    Known(Vec<&'a Eni>),
    /// An interface that no longer exists (or an address no interface holds today).
    Vanished,
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

    /// Adds the VPCs' address ranges: a flow to a vanished interface then counts only for groups
    /// whose VPC holds its destination. Without them (or for a VPC not given) it counts for
    /// every group, which is looser but never drops a source.
    pub fn with_vpcs(mut self, vpcs: &[Vpc]) -> InterfaceIndex {
        for vpc in vpcs {
            self.vpc_ranges
                .insert(vpc.vpc_id.clone(), vpc.ipv4_ranges());
        }
        self
    }

    /// The ENIs a flow reached: its interface id when given, else its destination address.
    fn reached(&self, flow: &Flow) -> Reached<'_> {
        let known: Vec<&Eni> = match &flow.interface_id {
            Some(id) => self
                .by_id
                .get(id)
                .map(|k| &self.enis[*k])
                .into_iter()
                .collect(),
            None => self
                .by_address
                .get(&flow.destination)
                .map(|ks| ks.iter().map(|k| &self.enis[*k]).collect())
                .unwrap_or_default(),
        };
        match known.is_empty() {
            true => Reached::Vanished,
            false => Reached::Known(known),
        }
    }

    /// True unless the VPC's ranges are known and none holds `address`.
    fn vpc_may_hold(&self, vpc_id: Option<&str>, address: Ipv4Addr) -> bool {
        vpc_id
            .and_then(|v| self.vpc_ranges.get(v))
            .is_none_or(|ranges| ranges.iter().any(|r| r.contains(&address)))
    }
}

/// True when a flow to `destinations` (which exist) reached the target as `mode` requires.
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

/// Sources gathered per target, split by how the flow was tied to the target.
struct Gathered {
    direct: Vec<Vec<u32>>,
    vanished: Vec<Vec<u32>>,
    attributed: u64,
    unattributed: u64,
    vanished_flows: u64,
    vanished_ids: BTreeSet<String>,
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
    let cidrs = CidrIndex::new(targets.iter().map(|t| t.cidr));
    let mut g = Gathered {
        direct: vec![Vec::new(); targets.len()],
        vanished: vec![Vec::new(); targets.len()],
        attributed: 0,
        unattributed: 0,
        vanished_flows: 0,
        vanished_ids: BTreeSet::new(),
    };
    let mut candidates = Vec::new();
    for flow in flows {
        let matches = |k: &usize| {
            let t = &targets[*k];
            t.cidr.contains(&flow.source) && t.traffic.matches(flow.protocol, flow.port)
        };
        let reached = interfaces.map(|index| index.reached(flow));
        candidates.clear();
        let vanished = match (&reached, mode) {
            (Some(Reached::Known(d)), AttributionMode::Group) => {
                candidates.extend(targets_of_groups(d, &by_group).into_iter().filter(matches));
                false
            }
            (Some(Reached::Known(d)), _) => {
                cidrs.containing(flow.source, &mut candidates);
                candidates.retain(|k| matches(k) && reaches(&targets[*k], d, mode));
                false
            }
            (Some(Reached::Vanished), AttributionMode::Region) | (None, _) => {
                cidrs.containing(flow.source, &mut candidates);
                candidates.retain(matches);
                false
            }
            (Some(Reached::Vanished), _) => {
                let index = interfaces.expect("reached implies an index");
                cidrs.containing(flow.source, &mut candidates);
                candidates.retain(|k| {
                    let vpc = targets[*k].vpc_id.as_deref();
                    matches(k) && index.vpc_may_hold(vpc, flow.destination)
                });
                true
            }
        };
        g.record(flow, &candidates, vanished);
    }
    g.finish()
}

impl Gathered {
    fn record(&mut self, flow: &Flow, candidates: &[usize], vanished: bool) {
        if candidates.is_empty() {
            self.unattributed += 1;
            return;
        }
        self.attributed += 1;
        let lists = if vanished {
            self.vanished_flows += 1;
            self.vanished_ids.extend(flow.interface_id.iter().cloned());
            &mut self.vanished
        } else {
            &mut self.direct
        };
        for k in candidates {
            lists[*k].push(u32::from(flow.source));
        }
    }

    fn finish(mut self) -> Attribution {
        for list in self.direct.iter_mut().chain(self.vanished.iter_mut()) {
            list.sort_unstable();
            list.dedup();
        }
        let vanished_only: Vec<Vec<u32>> = self
            .vanished
            .iter()
            .zip(&self.direct)
            .map(|(v, d)| {
                v.iter()
                    .copied()
                    .filter(|s| d.binary_search(s).is_err())
                    .collect()
            })
            .collect();
        let sources = self
            .direct
            .into_iter()
            .zip(&vanished_only)
            .map(|(mut d, v)| {
                d.extend(v);
                d.sort_unstable();
                d
            })
            .collect();
        Attribution {
            sources,
            vanished_only,
            attributed_flows: self.attributed,
            unattributed_flows: self.unattributed,
            vanished_flows: self.vanished_flows,
            vanished_interfaces: self.vanished_ids.len() as u64,
        }
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
