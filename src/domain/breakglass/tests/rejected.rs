//! Domain layer (pure): tests for flow mode end to end and its tolerance collapse.

use super::*;
use crate::domain::cidr::rfc1918_home;
use proptest::prelude::*;
use std::net::Ipv4Addr;

#[test]
fn rejected_flows_become_rules_only_on_the_groups_of_the_enis_that_rejected_them() {
    let flows = [
        flow("10.0.99.7", "10.100.1.10", 6, 443),
        flow("10.0.99.8", "10.100.1.10", 6, 443),
        flow("10.0.99.9", "10.100.1.20", 6, 5432),
        flow("10.0.99.9", "10.100.9.9", 6, 5432),
        flow("8.8.8.8", "10.100.1.10", 6, 443),
    ];
    let index = DestinationIndex::from_interfaces(&[
        eni(&["10.100.1.10"], &["sg-aaaaaaaa"]),
        eni(&["10.100.1.20"], &["sg-bbbbbbbb", "sg-cccccccc"]),
    ]);
    let attributed = attribute(&flows, &FlowFilter::default(), &index);
    assert_eq!(
        (attributed.kept, attributed.unattributed),
        (4, 1),
        "the public source is filtered out, one destination has no ENI"
    );
    let groups: Vec<&str> = attributed.by_group.keys().map(String::as_str).collect();
    assert_eq!(groups, ["sg-aaaaaaaa", "sg-bbbbbbbb", "sg-cccccccc"]);
    let shaping = Shaping {
        tolerance: 0.5,
        broadest_prefix: 16,
        room: 60,
    };
    let want = group_rules(&attributed.by_group["sg-aaaaaaaa"], None, "d", shaping);
    let rules: Vec<String> = want.rules.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        rules,
        ["tcp:443 10.0.99.6/31", "tcp:443 10.0.99.8/31"],
        "each source widened within the tolerance (half of each /31 seen)"
    );
    let want = group_rules(&attributed.by_group["sg-bbbbbbbb"], None, "d", shaping);
    assert_eq!(want.rules[0].to_string(), "tcp:5432 10.0.99.8/31");
    assert_eq!(want.rules[0].description.as_deref(), Some("d"));
}

#[test]
fn aws_service_sources_become_their_prefix_when_ranges_are_known() {
    let ranges = AwsIpRanges::from_entries([
        ("3.5.140.0/22", "af-south-1", "S3"),
        ("3.0.0.0/8", "GLOBAL", "AMAZON"),
    ]);
    let flows = [
        flow("3.5.140.7", "10.100.1.10", 6, 443),
        flow("3.5.141.9", "10.100.1.10", 6, 443),
        flow("3.9.9.9", "10.100.1.10", 6, 443),
    ];
    let refs: Vec<&Flow> = flows.iter().collect();
    let shaping = Shaping {
        tolerance: 0.5,
        broadest_prefix: 16,
        room: 60,
    };
    let want = group_rules(&refs, Some(&ranges), "d", shaping);
    let rules: Vec<String> = want.rules.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        rules,
        ["tcp:443 3.5.140.0/22", "tcp:443 3.9.9.9/32"],
        "never the AMAZON catch-all: 3.9.9.9 stays a host route"
    );
    assert_eq!(want.summaries.len(), 1);
    let counted = service_sources(&refs, &ranges);
    assert_eq!((counted[0].0.service.as_str(), counted[0].1), ("S3", 2));
    assert_eq!(public_sources(&refs).len(), 3);
}

#[test]
fn the_room_is_shared_between_ports_and_blocks_never_exceed_the_broadest_prefix() {
    let sources: Vec<Ipv4Addr> = (0..200u32)
        .map(|i| Ipv4Addr::from(0x0A00_0000 + i * 70_000))
        .collect();
    let collapse = ToleranceCollapse {
        tolerance: 0.5,
        budget: 2,
        broadest_prefix: 16,
    };
    let blocks = collapse.blocks(&sources);
    assert!(blocks.iter().all(|b| b.prefix_len() >= 16), "{blocks:?}");
    assert!(blocks.len() > 2, "splitting to /16 costs rules, honestly");
}

proptest! {
    /// Every rejected source is allowed by a block; no block is broader than the broadest
    /// prefix or leaves its source's RFC 1918 block; public sources stay host routes.
    #[test]
    fn the_collapse_covers_every_source_and_respects_the_limits(
        raw in proptest::collection::vec(any::<u32>(), 1..60),
        private in proptest::collection::vec(0u32..(1 << 20), 0..60),
        budget in 1usize..10,
        tolerance in 0.0f64..0.95,
        broadest in 8u8..24,
    ) {
        let mut sources: Vec<Ipv4Addr> = raw.iter().map(|a| Ipv4Addr::from(*a)).collect();
        sources.extend(private.iter().map(|a| Ipv4Addr::from(0x0A00_0000 | a)));
        let collapse = ToleranceCollapse { tolerance, budget, broadest_prefix: broadest };
        let blocks = collapse.blocks(&sources);
        for source in &sources {
            let host = ipnet::Ipv4Net::from(*source);
            let home = rfc1918_home(host);
            let holder = blocks.iter().find(|b| b.contains(source));
            prop_assert!(holder.is_some(), "{} not covered by {:?}", source, blocks);
            let holder = holder.unwrap();
            prop_assert_eq!(rfc1918_home(*holder), home, "{} left its home block", holder);
            if home.is_none() {
                prop_assert_eq!(holder.prefix_len(), 32);
            }
        }
        prop_assert!(blocks.iter().all(|b| b.prefix_len() >= broadest));
    }
}
