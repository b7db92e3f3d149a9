//! Domain layer (pure): diagnosis after an apply (sg_diagnose) — REJECTed flows from private
//! sources to the in-scope groups' ENIs that no current rule of those groups covers. Those are
//! the sources the tightening may have locked out; the user vouches for them in
//! `additionalSources` and approves a new plan.

use crate::domain::breakglass::{is_private, DestinationIndex};
use crate::domain::evidence::Flow;
use crate::domain::rules::{ingress_rules, Rule, Source};
use crate::domain::snapshot::{NetworkInterface, SecurityGroup};
use ipnet::Ipv4Net;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

/// One rejected (source, protocol, port) and where it was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Source address.
    pub source: Ipv4Addr,
    /// IANA protocol number.
    pub protocol: u8,
    /// Destination port (0 without ports).
    pub port: u16,
    /// In-scope groups on the ENIs that rejected it, sorted.
    pub group_ids: Vec<String>,
    /// Flow-log records that carried it.
    pub flows: u64,
}

/// The rejected private sources that no current rule of the receiving in-scope groups covers,
/// sorted by source, protocol and port. `flows` are REJECT flows; `groups` the live in-scope
/// groups; `interfaces` their ENIs (to attribute by interface id or destination address).
pub fn rejected_sources(
    flows: &[Flow],
    groups: &[SecurityGroup],
    interfaces: &[NetworkInterface],
) -> Vec<Rejected> {
    let rules: HashMap<&str, Vec<Rule>> = groups
        .iter()
        .map(|g| (g.group_id.as_str(), ingress_rules(g).unwrap_or_default()))
        .collect();
    let by_interface = interface_groups(interfaces);
    let by_destination = DestinationIndex::from_interfaces(interfaces);
    let mut found: BTreeMap<(Ipv4Addr, u8, u16), (BTreeSet<String>, u64)> = BTreeMap::new();
    for flow in flows
        .iter()
        .filter(|f| is_private(&Ipv4Net::from(f.source)))
    {
        let receiving: BTreeSet<&str> = match flow.interface_id.as_deref() {
            Some(id) => by_interface
                .get(id)
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect(),
            None => by_destination.groups_of(flow.destination).collect(),
        };
        let in_scope: Vec<&str> = receiving
            .into_iter()
            .filter(|g| rules.contains_key(g))
            .collect();
        if in_scope.is_empty() || in_scope.iter().any(|g| covers(&rules[g], flow)) {
            continue;
        }
        let entry = found
            .entry((flow.source, flow.protocol, flow.port))
            .or_default();
        entry.0.extend(in_scope.iter().map(|g| g.to_string()));
        entry.1 += flow.records;
    }
    found
        .into_iter()
        .map(|((source, protocol, port), (groups, records))| Rejected {
            source,
            protocol,
            port,
            group_ids: groups.into_iter().collect(),
            flows: records,
        })
        .collect()
}

fn interface_groups(interfaces: &[NetworkInterface]) -> HashMap<&str, Vec<String>> {
    interfaces
        .iter()
        .map(|eni| {
            let groups = eni.groups.iter().map(|g| g.group_id.clone()).collect();
            (eni.network_interface_id.as_str(), groups)
        })
        .collect()
}

/// True when some IPv4 rule allows the flow's protocol, port and source.
fn covers(rules: &[Rule], flow: &Flow) -> bool {
    rules.iter().any(|rule| {
        rule.traffic.matches(flow.protocol, flow.port)
            && matches!(rule.source, Source::V4(net) if net.contains(&flow.source))
    })
}

/// The protocol as status spells it: `tcp`, `udp`, `icmp`, else the number.
pub fn protocol_name(protocol: u8) -> String {
    match protocol {
        6 => "tcp".into(),
        17 => "udp".into(),
        1 => "icmp".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::permissions_from_strings;
    use crate::domain::snapshot::GroupIdentifier;

    fn flow(source: &str, destination: &str, port: u16, eni: Option<&str>) -> Flow {
        Flow {
            source: source.parse().unwrap(),
            destination: destination.parse().unwrap(),
            interface_id: eni.map(String::from),
            protocol: 6,
            port,
            records: 3,
        }
    }

    fn setup() -> (Vec<SecurityGroup>, Vec<NetworkInterface>) {
        let rules = ["tcp:443 10.0.10.0/27".to_string()];
        let group = SecurityGroup {
            group_id: "sg-1".into(),
            ip_permissions: permissions_from_strings(&rules, |_| None).unwrap(),
            ..SecurityGroup::default()
        };
        let eni = NetworkInterface {
            network_interface_id: "eni-1".into(),
            private_ip_address: Some("10.1.0.5".into()),
            groups: vec![GroupIdentifier {
                group_id: "sg-1".into(),
                group_name: None,
            }],
            ..NetworkInterface::default()
        };
        (vec![group], vec![eni])
    }

    #[test]
    fn an_uncovered_private_source_to_an_in_scope_eni_is_reported_once_per_port() {
        let (groups, enis) = setup();
        let flows = [
            flow("10.0.99.7", "10.1.0.5", 443, Some("eni-1")),
            flow("10.0.99.7", "10.1.0.5", 443, None),
        ];
        let found = rejected_sources(&flows, &groups, &enis);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].group_ids, ["sg-1"]);
        assert_eq!((found[0].port, found[0].flows), (443, 6));
    }

    #[test]
    fn covered_public_and_foreign_traffic_is_not_reported() {
        let (groups, enis) = setup();
        let flows = [
            flow("10.0.10.3", "10.1.0.5", 443, None),
            flow("8.8.8.8", "10.1.0.5", 443, None),
            flow("10.0.99.7", "10.7.7.7", 443, None),
            flow("10.0.99.7", "10.1.0.5", 443, Some("eni-other")),
        ];
        assert!(rejected_sources(&flows, &groups, &enis).is_empty());
    }
}
