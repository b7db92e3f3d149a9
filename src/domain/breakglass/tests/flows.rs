//! Domain layer (pure): tests for break-glass flow shaping and group discovery.

use super::*;
use crate::domain::snapshot::NetworkInterface;
use std::net::Ipv4Addr;

fn partition(flows: &[Flow], interfaces: &[NetworkInterface]) -> Vec<(String, Vec<String>)> {
    let refs: Vec<&Flow> = flows.iter().collect();
    partition_flows_by_group(&refs, &DestinationIndex::from_interfaces(interfaces))
        .into_iter()
        .map(|(g, fs)| (g, fs.iter().map(|f| f.source.to_string()).collect()))
        .collect()
}

#[test]
fn test_single_dst_single_group() {
    let got = partition(
        &[flow("10.0.0.5", "10.1.1.1", 6, 443)],
        &[eni(&["10.1.1.1"], &["sg-aaa"])],
    );
    assert_eq!(
        got,
        vec![("sg-aaa".to_string(), vec!["10.0.0.5".to_string()])]
    );
}

#[test]
fn test_eni_with_multiple_groups() {
    let got = partition(
        &[flow("10.0.0.5", "10.1.1.1", 6, 443)],
        &[eni(&["10.1.1.1"], &["sg-aaa", "sg-bbb"])],
    );
    let groups: Vec<_> = got.iter().map(|(g, _)| g.as_str()).collect();
    assert_eq!(groups, ["sg-aaa", "sg-bbb"]);
}

#[test]
fn test_multiple_dsts_share_a_group() {
    let flows = [
        flow("10.0.0.5", "10.1.1.1", 6, 443),
        flow("10.0.0.6", "10.1.1.2", 6, 443),
    ];
    let got = partition(
        &flows,
        &[
            eni(&["10.1.1.1"], &["sg-aaa"]),
            eni(&["10.1.1.2"], &["sg-aaa"]),
        ],
    );
    assert_eq!(
        got,
        vec![(
            "sg-aaa".to_string(),
            vec!["10.0.0.5".to_string(), "10.0.0.6".to_string()]
        )]
    );
}

#[test]
fn test_unmapped_dst_drops_flow() {
    assert!(partition(&[flow("10.0.0.5", "10.1.1.1", 6, 443)], &[]).is_empty());
    assert!(
        partition(
            &[flow("10.0.0.5", "10.1.1.1", 6, 443)],
            &[eni(&["10.1.1.1"], &[])]
        )
        .is_empty(),
        "an ENI without groups adds none"
    );
}

#[test]
fn secondary_addresses_of_an_eni_map_to_its_groups() {
    let got = partition(
        &[flow("10.0.0.5", "10.1.1.9", 6, 443)],
        &[eni(&["10.1.1.1", "10.1.1.9"], &["sg-aaa"])],
    );
    assert_eq!(got.len(), 1);
}

#[test]
fn auto_discovery_refuses_more_groups_than_max_groups() {
    let flows = [
        flow("10.0.0.5", "10.1.1.1", 6, 443),
        flow("10.0.0.5", "10.1.1.2", 6, 443),
    ];
    let refs: Vec<&Flow> = flows.iter().collect();
    let split = partition_flows_by_group(
        &refs,
        &DestinationIndex::from_interfaces(&[
            eni(&["10.1.1.1"], &["sg-a"]),
            eni(&["10.1.1.2"], &["sg-b"]),
        ]),
    );
    assert_eq!(
        discovered_groups(&split, 2),
        Ok(vec!["sg-a".to_string(), "sg-b".to_string()])
    );
    assert_eq!(
        discovered_groups(&split, 1),
        Err(BreakGlassError::TooManyGroups { found: 2, max: 1 })
    );
}

#[test]
fn flow_filtering_keeps_private_tcp_udp_on_the_chosen_ports() {
    let flows = [
        flow("10.0.0.1", "10.9.0.1", 6, 443),
        flow("8.8.8.8", "10.9.0.1", 6, 443),
        flow("10.0.0.2", "10.9.0.1", 1, 0),
        flow("10.0.0.3", "10.9.0.1", 17, 5432),
        flow("10.0.0.4", "10.9.0.1", 6, 22),
    ];
    let sources = |filter: &FlowFilter| {
        filter_flows(&flows, filter)
            .iter()
            .map(|f| f.source.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        sources(&FlowFilter::default()),
        ["10.0.0.1", "10.0.0.3", "10.0.0.4"]
    );
    assert_eq!(
        sources(&FlowFilter {
            include_public: true,
            ports: None
        }),
        ["10.0.0.1", "8.8.8.8", "10.0.0.3", "10.0.0.4"]
    );
    assert_eq!(
        sources(&FlowFilter {
            include_public: false,
            ports: Some(vec![(443, 443), (5000, 6000)])
        }),
        ["10.0.0.1", "10.0.0.3"]
    );
}

#[test]
fn permissions_from_flows_group_per_protocol_and_port_through_the_collapse_seam() {
    let flows: Vec<Flow> = (0..4)
        .map(|i| flow(&format!("10.0.0.{i}"), "10.9.0.1", 6, 443))
        .chain([flow("10.0.5.5", "10.9.0.1", 17, 53)])
        .collect();
    let refs: Vec<&Flow> = flows.iter().collect();
    let exact = permissions_from_flows(&refs, "d", &exact_collapse);
    assert_eq!(
        rule_strings(&exact),
        ["tcp:443 10.0.0.0/30", "udp:53 10.0.5.5/32"]
    );
    assert!(exact
        .iter()
        .flat_map(|p| &p.ip_ranges)
        .all(|r| r.description.as_deref() == Some("d")));
    let calls = std::cell::Cell::new(0);
    let widen = |sources: &[Ipv4Addr]| {
        calls.set(calls.get() + 1);
        vec![Ipv4Net::new(sources[0], 24).unwrap().trunc()]
    };
    let widened = permissions_from_flows(&refs, "d", &widen);
    assert_eq!(
        rule_strings(&widened),
        ["tcp:443 10.0.0.0/24", "udp:53 10.0.5.0/24"]
    );
    assert_eq!(calls.get(), 2, "one collapse per (protocol, port)");
}

#[test]
fn explicit_mode_opens_every_cidr_on_every_port() {
    let ports: Vec<PortSpec> = ["tcp:443", "tcp:8443", "tcp:443"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    let permissions = explicit_permissions(&[net("10.4.0.0/16"), net("10.5.0.0/16")], &ports, "x");
    assert_eq!(
        rule_strings(&permissions),
        [
            "tcp:443 10.4.0.0/16",
            "tcp:443 10.5.0.0/16",
            "tcp:8443 10.4.0.0/16",
            "tcp:8443 10.5.0.0/16"
        ]
    );
}
