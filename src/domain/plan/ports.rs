//! Domain layer (pure): replacement sets per traffic — dropping blocks another block of the same
//! traffic already covers, and merging adjacent or overlapping TCP/UDP port ranges that ended up
//! with identical CIDR sets (seed §5; flagged `portsMerged`).

use crate::domain::rules::{PortRange, Traffic};
use ipnet::Ipv4Net;
use std::collections::BTreeMap;

/// Replacement blocks per traffic.
pub type Replacements = BTreeMap<Traffic, Vec<Ipv4Net>>;

/// Sorts `nets` and drops every block contained in another (no block is widened).
pub fn drop_contained(mut nets: Vec<Ipv4Net>) -> Vec<Ipv4Net> {
    nets.sort_by_key(|n| (u32::from(n.network()), n.prefix_len()));
    let mut out: Vec<Ipv4Net> = Vec::with_capacity(nets.len());
    for net in nets {
        if !out.last().is_some_and(|last| last.contains(&net)) {
            out.push(net);
        }
    }
    out
}

/// Merges TCP and UDP port ranges that touch or overlap and carry identical sets into their
/// spanning range. Returns true when anything merged.
pub fn merge_ports(replacements: &mut Replacements) -> bool {
    let mut merged_any = false;
    for protocol in [6u8, 17] {
        let keys: Vec<Traffic> = replacements
            .keys()
            .copied()
            .filter(|t| t.port_range().is_some_and(|(p, _)| p == protocol))
            .collect();
        let mut entries: Vec<(Traffic, PortRange, Vec<Ipv4Net>)> = Vec::new();
        for key in keys {
            let set = replacements.remove(&key).unwrap_or_default();
            let (_, range) = key.port_range().expect("filtered to TCP/UDP");
            entries.push((key, range, set));
        }
        merged_any |= merge_entries(&mut entries);
        for (traffic, range, set) in entries {
            let slot = replacements.entry(traffic.with_ports(range)).or_default();
            slot.extend(set);
            *slot = drop_contained(std::mem::take(slot));
        }
    }
    merged_any
}

/// Joins entries with equal sets whose ranges touch, until none do.
fn merge_entries(entries: &mut Vec<(Traffic, PortRange, Vec<Ipv4Net>)>) -> bool {
    entries.sort_by_key(|e| e.1);
    let mut merged_any = false;
    let mut k = 0;
    while k < entries.len() {
        let partner = (0..entries.len())
            .find(|&j| j != k && entries[j].2 == entries[k].2 && touch(entries[j].1, entries[k].1));
        match partner {
            Some(j) => {
                let (a, b) = (entries[j].1, entries[k].1);
                entries[j].1 = PortRange {
                    from: a.from.min(b.from),
                    to: a.to.max(b.to),
                };
                entries.remove(k);
                merged_any = true;
                k = 0;
            }
            None => k += 1,
        }
    }
    merged_any
}

/// True when two ranges overlap or are adjacent.
fn touch(a: PortRange, b: PortRange) -> bool {
    u32::from(a.from) <= u32::from(b.to) + 1 && u32::from(b.from) <= u32::from(a.to) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::parse_traffic;

    fn set(cidrs: &[&str]) -> Vec<Ipv4Net> {
        cidrs.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn replacements(entries: &[(&str, &[&str])]) -> Replacements {
        entries
            .iter()
            .map(|(t, c)| (parse_traffic(t).unwrap(), set(c)))
            .collect()
    }

    fn keys(r: &Replacements) -> Vec<String> {
        r.keys().map(ToString::to_string).collect()
    }

    #[test]
    fn adjacent_ranges_with_identical_sets_merge_and_are_flagged() {
        let mut r = replacements(&[("tcp:443", &["10.0.0.0/27"]), ("tcp:444", &["10.0.0.0/27"])]);
        assert!(merge_ports(&mut r));
        assert_eq!(keys(&r), ["tcp:443-444"]);
    }

    #[test]
    fn ranges_with_different_sets_or_a_gap_or_another_protocol_stay_apart() {
        let cases: [&[(&str, &[&str])]; 3] = [
            &[("tcp:443", &["10.0.0.0/27"]), ("tcp:444", &["10.0.0.0/28"])],
            &[("tcp:443", &["10.0.0.0/27"]), ("tcp:445", &["10.0.0.0/27"])],
            &[("tcp:53", &["10.0.0.0/27"]), ("udp:54", &["10.0.0.0/27"])],
        ];
        for case in cases {
            let mut r = replacements(case);
            assert!(!merge_ports(&mut r), "{case:?}");
            assert_eq!(r.len(), 2);
        }
    }

    #[test]
    fn overlapping_ranges_merge_into_their_span_even_when_not_neighbours_in_order() {
        let mut r = replacements(&[
            ("tcp:80-90", &["10.0.0.0/27"]),
            ("tcp:85-86", &["10.0.0.0/28"]),
            ("tcp:88-100", &["10.0.0.0/27"]),
        ]);
        assert!(merge_ports(&mut r));
        assert_eq!(keys(&r), ["tcp:80-100", "tcp:85-86"]);
    }

    #[test]
    fn contained_blocks_are_dropped_and_nothing_widens() {
        let out = drop_contained(set(&[
            "10.0.1.0/24",
            "10.0.0.0/16",
            "10.1.0.0/31",
            "10.1.0.1/32",
        ]));
        assert_eq!(out, set(&["10.0.0.0/16", "10.1.0.0/31"]));
    }
}
