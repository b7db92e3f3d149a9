//! Domain layer (pure): tests for break-glass validation, flow shaping and per-group decisions.

use super::*;
use crate::domain::evidence::Flow;
use crate::domain::snapshot::{
    GroupIdentifier, IpPermission, IpRange, NetworkInterface, PrivateIpAddress,
};
use ipnet::Ipv4Net;

mod aws;
mod flows;
mod ledger;
mod perms;
mod rejected;
mod request;

pub(super) fn net(text: &str) -> Ipv4Net {
    text.parse().unwrap()
}

pub(super) fn flow(source: &str, destination: &str, protocol: u8, port: u16) -> Flow {
    Flow {
        source: source.parse().unwrap(),
        destination: destination.parse().unwrap(),
        interface_id: None,
        protocol,
        port,
        records: 1,
    }
}

/// An ENI owning `addresses` (the first one primary) with `groups` attached.
pub(super) fn eni(addresses: &[&str], groups: &[&str]) -> NetworkInterface {
    NetworkInterface {
        network_interface_id: format!("eni-{}", addresses[0]),
        private_ip_address: Some(addresses[0].to_string()),
        private_ip_addresses: addresses
            .iter()
            .map(|a| PrivateIpAddress {
                private_ip_address: a.to_string(),
                primary: false,
            })
            .collect(),
        groups: groups
            .iter()
            .map(|g| GroupIdentifier {
                group_id: g.to_string(),
                group_name: None,
            })
            .collect(),
        ..Default::default()
    }
}

pub(super) fn tcp(port: i32, cidrs: &[&str]) -> IpPermission {
    PortSpec::Tcp(port as u16, port as u16).permission(
        cidrs
            .iter()
            .map(|c| IpRange {
                cidr_ip: c.to_string(),
                description: None,
            })
            .collect(),
    )
}

pub(super) fn cidrs(permission: &IpPermission) -> Vec<&str> {
    permission
        .ip_ranges
        .iter()
        .map(|r| r.cidr_ip.as_str())
        .collect()
}
#[test]
fn port_specs_parse_into_what_they_open() {
    let cases = [
        ("all", PortSpec::All),
        (
            "icmp",
            PortSpec::Icmp {
                icmp_type: None,
                code: None,
            },
        ),
        (
            "icmp:all",
            PortSpec::Icmp {
                icmp_type: None,
                code: None,
            },
        ),
        (
            "icmp:8/0",
            PortSpec::Icmp {
                icmp_type: Some(8),
                code: Some(0),
            },
        ),
        ("tcp:443", PortSpec::Tcp(443, 443)),
        (" TCP:8000-8100 ", PortSpec::Tcp(8000, 8100)),
        ("udp:53", PortSpec::Udp(53, 53)),
        ("tcp:0-65535", PortSpec::Tcp(0, 65535)),
    ];
    for (text, expected) in cases {
        assert_eq!(text.parse::<PortSpec>(), Ok(expected), "{text}");
    }
}

#[test]
fn bad_port_specs_are_refused_with_the_value_in_the_message() {
    for text in [
        "",
        "tcp",
        "tcp:",
        "tcp:70000",
        "tcp:100-50",
        "tcp:-1",
        "tcp:1-2-3",
        "sctp:1",
        "udp:abc",
        "icmp:300",
        "icmp:all/0",
        "all:1",
    ] {
        let error = text.parse::<PortSpec>().unwrap_err();
        assert!(
            error.to_string().contains(&format!("{text:?}")),
            "{text}: {error}"
        );
    }
    let error = "tcp:100-50".parse::<PortSpec>().unwrap_err().to_string();
    assert!(error.contains("before it starts"), "{error}");
}

#[test]
fn port_specs_print_as_rule_string_prefixes_and_map_to_aws_fields() {
    let cases = [
        ("all", "all", ("-1", None, None)),
        ("icmp", "icmp:all", ("icmp", Some(-1), Some(-1))),
        ("icmp:8/0", "icmp:8/0", ("icmp", Some(8), Some(0))),
        ("tcp:443", "tcp:443", ("tcp", Some(443), Some(443))),
        (
            "udp:8000-8100",
            "udp:8000-8100",
            ("udp", Some(8000), Some(8100)),
        ),
    ];
    for (text, shown, fields) in cases {
        let spec: PortSpec = text.parse().unwrap();
        assert_eq!(spec.to_string(), shown);
        assert_eq!(spec.aws_fields(), fields);
        assert_eq!(
            PortSpec::from_permission(&spec.permission(vec![])),
            Some(spec),
            "{text} round-trips"
        );
    }
}

#[test]
fn bare_port_ranges_parse_like_the_seed() {
    assert_eq!(parse_port_range("443"), Ok((443, 443)));
    assert_eq!(parse_port_range("8000-8100"), Ok((8000, 8100)));
    for bad in ["", "abc", "70000", "100-50", "-5", "1-", "443 "] {
        if bad == "443 " {
            assert_eq!(
                parse_port_range(bad),
                Ok((443, 443)),
                "surrounding space is trimmed"
            );
            continue;
        }
        assert!(parse_port_range(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn cidrs_need_a_prefix_and_are_made_canonical() {
    assert_eq!(parse_cidr("10.4.1.7/16"), Ok(net("10.4.0.0/16")));
    assert_eq!(parse_cidr(" 10.0.0.5/32 "), Ok(net("10.0.0.5/32")));
    for bad in ["10.0.0.1", "10.0.0.0/33", "garbage/8", "2001:db8::/32", ""] {
        let error = parse_cidr(bad).unwrap_err();
        assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
    }
}

#[test]
fn the_world_broad_blocks_and_unallowed_public_sources_are_refused() {
    let strict = CidrPolicy::default();
    let open = CidrPolicy {
        broadest_prefix: 0,
        allow_public: true,
    };
    assert!(
        check_cidr(&net("0.0.0.0/0"), &open).is_err(),
        "0.0.0.0/0 is refused whatever the policy"
    );
    assert!(check_cidr(&net("10.0.0.0/8"), &strict).is_err());
    assert!(check_cidr(&net("10.4.0.0/16"), &strict).is_ok());
    assert!(check_cidr(&net("8.8.8.0/24"), &strict).is_err());
    assert!(check_cidr(
        &net("8.8.8.0/24"),
        &CidrPolicy {
            allow_public: true,
            ..strict
        }
    )
    .is_ok());
    let error = check_cidr(&net("10.0.0.0/12"), &strict)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "refused CIDR 10.0.0.0/12: broader than the allowed /16"
    );
    let checked = parse_checked_cidrs(["10.4.0.0/16", "10.5.0.0/8"], &strict)
        .unwrap_err()
        .to_string();
    assert!(checked.contains("10.0.0.0/8"), "{checked}");
}

#[test]
fn group_ids_are_sg_and_8_or_17_lowercase_hex_digits() {
    for good in ["sg-12345678", "sg-0123456789abcdef0", "sg-deadbeef"] {
        assert_eq!(validate_group_id(good), Ok(good));
    }
    for bad in [
        "",
        "sg-",
        "sg-1234567",
        "sg-123456789",
        "sg-DEADBEEF",
        "sg-0123456789abcdef",
        "sg-1234567g",
        "acl-12345678",
        " sg-12345678",
    ] {
        let error = validate_group_id(bad).unwrap_err();
        assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
    }
}

#[test]
fn rule_descriptions_carry_the_prefix_and_only_characters_aws_accepts() {
    assert_eq!(
        rule_description("DR failover INC-1234", None),
        "sg-tightener break-glass: DR failover INC-1234"
    );
    assert_eq!(
        rule_description("x", Some("EC2 eu-west-1")),
        "sg-tightener break-glass: x (EC2 eu-west-1)"
    );
    assert_eq!(
        rule_description("naïve \"quote\"", None),
        "sg-tightener break-glass: na_ve _quote_"
    );
    assert_eq!(
        rule_description(&"a".repeat(400), None).chars().count(),
        MAX_DESCRIPTION
    );
    assert_eq!(rule_description("  ", None), DESCRIPTION_PREFIX);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn spec() -> impl Strategy<Value = PortSpec> {
        let range = (any::<u16>(), any::<u16>()).prop_map(|(a, b)| (a.min(b), a.max(b)));
        prop_oneof![
            Just(PortSpec::All),
            range.clone().prop_map(|(a, b)| PortSpec::Tcp(a, b)),
            range.prop_map(|(a, b)| PortSpec::Udp(a, b)),
            (prop::option::of(any::<u8>()), prop::option::of(any::<u8>())).prop_map(|(t, c)| {
                PortSpec::Icmp {
                    icmp_type: t,
                    code: t.and(c),
                }
            }),
        ]
    }

    proptest! {
        #[test]
        fn every_port_spec_parses_back_from_its_rule_string(spec in spec()) {
            prop_assert_eq!(spec.to_string().parse::<PortSpec>(), Ok(spec));
        }

        #[test]
        fn port_spec_parsing_never_panics(text in "\\PC{0,24}") {
            let _ = text.parse::<PortSpec>();
        }

        #[test]
        fn accepted_cidrs_are_private_and_no_broader_than_allowed(bits in any::<u32>(), prefix in 0u8..=32, broadest in 0u8..=32) {
            let net = Ipv4Net::new(bits.into(), prefix).unwrap().trunc();
            let policy = CidrPolicy { broadest_prefix: broadest, allow_public: false };
            if check_cidr(&net, &policy).is_ok() {
                prop_assert!(net.prefix_len() > 0 && net.prefix_len() >= broadest && is_private(&net));
            }
        }
    }
}
