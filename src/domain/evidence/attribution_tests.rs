//! Domain layer (pure): unit tests of flow attribution.

use super::*;
use crate::domain::network::Vpc;
use crate::domain::rules::parse_traffic;
use crate::domain::snapshot::{GroupIdentifier, PrivateIpAddress};

fn target(group: &str, vpc: &str, traffic: &str, cidr: &str) -> RuleTarget {
    RuleTarget {
        group_id: group.into(),
        vpc_id: Some(vpc.into()),
        traffic: parse_traffic(traffic).unwrap(),
        cidr: cidr.parse().unwrap(),
    }
}

fn flow(source: &str, destination: &str, interface: Option<&str>, protocol: u8, port: u16) -> Flow {
    Flow {
        source: source.parse().unwrap(),
        destination: destination.parse().unwrap(),
        interface_id: interface.map(String::from),
        protocol,
        port,
        records: 1,
    }
}

fn eni(id: &str, address: &str, groups: &[&str], vpc: &str) -> NetworkInterface {
    NetworkInterface {
        network_interface_id: id.into(),
        private_ip_address: Some(address.into()),
        private_ip_addresses: vec![PrivateIpAddress {
            private_ip_address: address.into(),
            primary: true,
        }],
        groups: groups
            .iter()
            .map(|g| GroupIdentifier {
                group_id: g.to_string(),
                group_name: None,
            })
            .collect(),
        vpc_id: Some(vpc.into()),
        subnet_id: None,
    }
}

fn estate() -> (Vec<RuleTarget>, InterfaceIndex) {
    let targets = vec![
        target("sg-web", "vpc-1", "tcp:443", "10.0.0.0/16"),
        target("sg-db", "vpc-1", "tcp:5432", "10.0.0.0/16"),
    ];
    let enis = [
        eni("eni-web", "10.1.0.10", &["sg-web"], "vpc-1"),
        eni("eni-db", "10.1.0.20", &["sg-db"], "vpc-1"),
        eni("eni-other", "10.2.0.30", &["sg-x"], "vpc-2"),
    ];
    (targets, InterfaceIndex::new(&enis))
}

#[test]
fn a_flow_counts_only_for_rules_of_the_group_whose_eni_it_reached() {
    let (targets, index) = estate();
    let flows = [
        flow("10.0.1.1", "10.1.0.10", None, 6, 443),
        flow("10.0.1.2", "10.1.0.20", None, 6, 443),
    ];
    let out = attribute(&targets, &flows, Some(&index), AttributionMode::Group);
    assert_eq!(
        out.sources[0],
        vec![u32::from("10.0.1.1".parse::<Ipv4Addr>().unwrap())]
    );
    assert!(
        out.sources[1].is_empty(),
        "port 443 to the database ENI is no evidence for tcp:5432"
    );
    assert_eq!((out.attributed_flows, out.unattributed_flows), (1, 1));
}

#[test]
fn the_interface_id_wins_over_the_destination_address() {
    let (targets, index) = estate();
    let flows = [flow("10.0.1.1", "10.9.9.9", Some("eni-web"), 6, 443)];
    let out = attribute(&targets, &flows, Some(&index), AttributionMode::Group);
    assert_eq!(out.sources[0].len(), 1);
}

#[test]
fn protocol_port_and_source_must_all_match_the_rule() {
    let (targets, index) = estate();
    let flows = [
        flow("10.0.1.1", "10.1.0.10", None, 17, 443),
        flow("10.0.1.1", "10.1.0.10", None, 6, 80),
        flow("10.5.1.1", "10.1.0.10", None, 6, 443),
    ];
    let out = attribute(&targets, &flows, Some(&index), AttributionMode::Group);
    assert!(out.sources.iter().all(Vec::is_empty));
    assert_eq!(out.unattributed_flows, 3);
}

#[test]
fn looser_modes_accept_destinations_outside_the_group() {
    let (targets, index) = estate();
    let to_db = [flow("10.0.1.1", "10.1.0.20", None, 6, 443)];
    let to_other_vpc = [flow("10.0.1.1", "10.2.0.30", None, 6, 443)];
    let cases = [
        (AttributionMode::Vpc, &to_db, 1),
        (AttributionMode::Vpc, &to_other_vpc, 0),
        (AttributionMode::Region, &to_other_vpc, 1),
        (AttributionMode::Group, &to_other_vpc, 0),
    ];
    for (mode, flows, expected) in cases {
        let out = attribute(&targets, flows, Some(&index), mode);
        assert_eq!(out.sources[0].len(), expected, "{mode:?}");
    }
}

#[test]
fn without_eni_data_a_flow_counts_for_every_matching_rule() {
    let targets = vec![
        target("sg-a", "vpc-1", "tcp:443", "10.0.0.0/16"),
        target("sg-b", "vpc-2", "tcp:443", "10.0.0.0/8"),
        target("sg-c", "vpc-2", "tcp:22", "10.0.0.0/8"),
    ];
    let flows = [
        flow("10.0.1.1", "192.168.0.1", None, 6, 443),
        flow("10.0.1.1", "192.168.0.2", None, 6, 443),
    ];
    let out = attribute(&targets, &flows, None, AttributionMode::Group);
    assert_eq!(
        out.sources.iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 1, 0],
        "duplicates collapse to one source"
    );
}

#[test]
fn vouched_sources_join_inside_each_rule_and_excluded_ones_never_count() {
    let targets = vec![
        target("sg-a", "vpc-1", "tcp:443", "10.0.0.0/16"),
        target("sg-a", "vpc-1", "tcp:22", "10.4.0.0/16"),
    ];
    let flows = [
        flow("10.0.99.1", "10.1.0.10", None, 6, 443),
        flow("10.0.1.1", "10.1.0.10", None, 6, 443),
    ];
    let attribution = attribute(&targets, &flows, None, AttributionMode::Group);
    let sets = observed_sets(
        &targets,
        &attribution,
        &["10.4.0.0/30".parse().unwrap()],
        &["10.0.99.0/24".parse().unwrap()],
    );
    assert_eq!((sets[0].total(), sets[1].total()), (1, 4));
}

fn vpc(id: &str, cidrs: &[&str]) -> Vpc {
    Vpc {
        vpc_id: id.into(),
        cidr_block: cidrs.first().map(|c| c.to_string()),
        cidr_block_association_set: cidrs
            .iter()
            .map(|c| crate::domain::network::VpcCidrBlock {
                cidr_block: c.to_string(),
            })
            .collect(),
    }
}

fn churned() -> (Vec<RuleTarget>, InterfaceIndex) {
    let targets = vec![
        target("sg-web", "vpc-1", "tcp:443", "10.0.0.0/16"),
        target("sg-api", "vpc-1", "tcp:443", "10.0.0.0/8"),
        target("sg-db", "vpc-1", "tcp:5432", "10.0.0.0/16"),
        target("sg-far", "vpc-2", "tcp:443", "10.0.0.0/16"),
    ];
    let enis = [eni("eni-web", "10.1.0.10", &["sg-web"], "vpc-1")];
    let vpcs = [
        vpc("vpc-1", &["10.1.0.0/16"]),
        vpc("vpc-2", &["10.2.0.0/16"]),
    ];
    (targets, InterfaceIndex::new(&enis).with_vpcs(&vpcs))
}

#[test]
fn a_flow_to_a_vanished_interface_counts_for_every_matching_rule_of_its_vpc() {
    let (targets, index) = churned();
    let flows = [flow("10.0.1.1", "10.1.0.99", Some("eni-gone"), 6, 443)];
    for mode in [AttributionMode::Group, AttributionMode::Vpc] {
        let out = attribute(&targets, &flows, Some(&index), mode);
        let counted: Vec<usize> = out.sources.iter().map(Vec::len).collect();
        assert_eq!(
            counted,
            [1, 1, 0, 0],
            "{mode:?}: web and api match in vpc-1; db's port and vpc-2's range do not"
        );
        assert_eq!(
            (
                out.attributed_flows,
                out.vanished_flows,
                out.vanished_interfaces
            ),
            (1, 1, 1)
        );
        assert_eq!(out.vanished_only[0], out.sources[0]);
    }
}

#[test]
fn a_vanished_destination_outside_every_in_scope_vpc_counts_for_nothing() {
    let (targets, index) = churned();
    let flows = [flow("10.0.1.1", "10.7.0.1", Some("eni-gone"), 6, 443)];
    let out = attribute(&targets, &flows, Some(&index), AttributionMode::Group);
    assert!(out.sources.iter().all(Vec::is_empty));
    assert_eq!((out.unattributed_flows, out.vanished_flows), (1, 0));
}

#[test]
fn without_vpc_ranges_a_vanished_flow_counts_for_every_matching_rule() {
    let (targets, _) = churned();
    let index = InterfaceIndex::new(&[eni("eni-web", "10.1.0.10", &["sg-web"], "vpc-1")]);
    let flows = [flow("10.0.1.1", "10.7.0.1", None, 6, 443)];
    let out = attribute(&targets, &flows, Some(&index), AttributionMode::Group);
    assert_eq!(
        out.sources.iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 1, 0, 1]
    );
    assert_eq!(out.vanished_interfaces, 0, "no interface id was given");
}

#[test]
fn sources_also_seen_on_a_live_interface_are_not_kept_because_of_vanished_ones() {
    let (targets, index) = churned();
    let flows = [
        flow("10.0.1.1", "10.1.0.10", Some("eni-web"), 6, 443),
        flow("10.0.1.1", "10.1.0.99", Some("eni-gone"), 6, 443),
        flow("10.0.1.2", "10.1.0.99", Some("eni-gone"), 6, 443),
    ];
    let out = attribute(&targets, &flows, Some(&index), AttributionMode::Group);
    let two = u32::from("10.0.1.2".parse::<Ipv4Addr>().unwrap());
    assert_eq!(out.sources[0].len(), 2);
    assert_eq!(out.vanished_only[0], vec![two]);
    assert_eq!(out.vanished_only[1].len(), 2, "sg-api saw neither live");
}

#[test]
fn a_live_interface_of_a_group_out_of_scope_is_not_a_vanished_one() {
    let (targets, _) = churned();
    let enis = [
        eni("eni-web", "10.1.0.10", &["sg-web"], "vpc-1"),
        eni("eni-batch", "10.1.0.50", &["sg-batch"], "vpc-1"),
    ];
    let index = InterfaceIndex::new(&enis).with_vpcs(&[vpc("vpc-1", &["10.1.0.0/16"])]);
    let flows = [flow("10.0.1.1", "10.1.0.50", Some("eni-batch"), 6, 443)];
    let out = attribute(&targets, &flows, Some(&index), AttributionMode::Group);
    assert!(out.sources.iter().all(Vec::is_empty));
    assert_eq!(out.vanished_flows, 0);
}
