//! Domain layer (pure): which rules the planner may touch (invariant I2) and port-range merging.

use super::{PortRange, Rule};
use crate::domain::cidr::is_strict_rfc1918;
use ipnet::Ipv4Net;

/// Default prefix threshold: CIDRs shorter than /24 are eligible.
pub const DEFAULT_PREFIX_THRESHOLD: u8 = 24;

/// Description prefix of the rules a BreakGlassExtension adds.
pub const BREAK_GLASS_PREFIX: &str = "sg-tightener break-glass";

/// I2: an IPv4 CIDR wholly inside one RFC 1918 block (10/8, 172.16/12, 192.168/16 — never
/// `192.0.0.0/4`, `0.0.0.0/0` or a public range) with a prefix shorter than `prefix_threshold`.
pub fn is_eligible_cidr(net: Ipv4Net, prefix_threshold: u8) -> bool {
    is_strict_rfc1918(net) && net.prefix_len() < prefix_threshold
}

impl Rule {
    /// True when a BreakGlassExtension added this rule (description prefix [`BREAK_GLASS_PREFIX`]).
    pub fn is_break_glass(&self) -> bool {
        self.description
            .as_deref()
            .is_some_and(|d| d.starts_with(BREAK_GLASS_PREFIX))
    }

    /// The CIDR (network address, host bits cleared) the planner may replace, or `None` when the
    /// rule must stay untouched: an eligible IPv4 CIDR, or a break-glass rule on any RFC 1918
    /// CIDR (superseded once evidence covers its traffic). Never IPv6, group references, prefix
    /// lists or public ranges.
    pub fn eligible_cidr(&self, prefix_threshold: u8) -> Option<Ipv4Net> {
        let net = self.v4_cidr()?.trunc();
        let eligible = is_eligible_cidr(net, prefix_threshold)
            || (self.is_break_glass() && is_strict_rfc1918(net));
        eligible.then_some(net)
    }
}

/// Merges adjacent or overlapping port ranges into the smallest spanning ranges, sorted.
pub fn merge_port_ranges(ranges: &[PortRange]) -> Vec<PortRange> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut merged: Vec<PortRange> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if u32::from(range.from) <= u32::from(last.to) + 1 => {
                last.to = last.to.max(range.to)
            }
            _ => merged.push(range),
        }
    }
    merged
}
