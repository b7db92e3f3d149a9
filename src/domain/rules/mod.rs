//! Domain layer (pure): rule model, eligibility, rule counting, port-range merge, rule strings.
//! Depends on std, ipnet and the snapshot shapes.
//!
//! A [`Rule`] is one AWS rule as AWS counts them: one protocol/port range and one source (an IPv4
//! CIDR, an IPv6 CIDR, a security-group reference or a prefix list). Rules print as rule strings
//! (`tcp:443 10.0.10.0/27`, see [`strings`]) and convert back to `IpPermission`s ([`permissions`]).

use crate::domain::snapshot::{IpPermission, SecurityGroup};
use ipnet::{Ipv4Net, Ipv6Net};

mod eligibility;
mod permissions;
mod strings;

pub use eligibility::{
    is_eligible_cidr, merge_port_ranges, BREAK_GLASS_PREFIX, DEFAULT_PREFIX_THRESHOLD,
};
pub use permissions::{description_lookup, permissions_from_strings, to_permissions};
pub use strings::{parse_rule, parse_source, parse_traffic};

/// The protocol and ports (or ICMP type/code) a rule allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Traffic {
    /// TCP on a port range.
    Tcp(PortRange),
    /// UDP on a port range.
    Udp(PortRange),
    /// ICMP: a type (`None` = every type) and a code (`None` = every code).
    Icmp {
        icmp_type: Option<u8>,
        code: Option<u8>,
    },
    /// ICMPv6, like [`Traffic::Icmp`].
    Icmpv6 {
        icmp_type: Option<u8>,
        code: Option<u8>,
    },
    /// Every protocol (AWS `-1`).
    All,
    /// Another IANA protocol number (ports do not apply).
    Protocol(u8),
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    /// First port.
    pub from: u16,
    /// Last port (≥ `from`).
    pub to: u16,
}

impl PortRange {
    /// Every port, 0–65535.
    pub const ALL: PortRange = PortRange {
        from: 0,
        to: u16::MAX,
    };

    /// True when `port` lies in the range.
    pub fn contains(self, port: u16) -> bool {
        (self.from..=self.to).contains(&port)
    }
}

impl Traffic {
    /// True when a flow of IANA `protocol` to `port` falls in this traffic. Flow logs carry no
    /// ICMP type or code, so any ICMP flow matches any ICMP rule.
    pub fn matches(&self, protocol: u8, port: u16) -> bool {
        match self {
            Traffic::Tcp(range) => protocol == 6 && range.contains(port),
            Traffic::Udp(range) => protocol == 17 && range.contains(port),
            Traffic::Icmp { .. } => protocol == 1,
            Traffic::Icmpv6 { .. } => protocol == 58,
            Traffic::All => true,
            Traffic::Protocol(number) => protocol == *number,
        }
    }

    /// The IANA protocol number and port range of TCP and UDP traffic.
    pub fn port_range(&self) -> Option<(u8, PortRange)> {
        match self {
            Traffic::Tcp(range) => Some((6, *range)),
            Traffic::Udp(range) => Some((17, *range)),
            _ => None,
        }
    }

    /// The same protocol on another port range (TCP and UDP only).
    pub fn with_ports(&self, range: PortRange) -> Traffic {
        match self {
            Traffic::Tcp(_) => Traffic::Tcp(range),
            Traffic::Udp(_) => Traffic::Udp(range),
            other => *other,
        }
    }
}

/// Where a rule lets traffic come from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// An IPv4 CIDR (as AWS stores it; host bits kept).
    V4(Ipv4Net),
    /// An IPv6 CIDR.
    V6(Ipv6Net),
    /// A security-group reference.
    Group {
        group_id: String,
        user_id: Option<String>,
    },
    /// A managed prefix list.
    PrefixList(String),
}

/// One rule as AWS counts them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    /// Protocol and ports.
    pub traffic: Traffic,
    /// The single source.
    pub source: Source,
    /// The rule's description, if any (not part of the rule string).
    pub description: Option<String>,
}

impl Rule {
    /// An IPv4 rule without description.
    pub fn v4(traffic: Traffic, cidr: Ipv4Net) -> Rule {
        Rule {
            traffic,
            source: Source::V4(cidr),
            description: None,
        }
    }

    /// The IPv4 CIDR source, if that is what the source is.
    pub fn v4_cidr(&self) -> Option<Ipv4Net> {
        match self.source {
            Source::V4(net) => Some(net),
            _ => None,
        }
    }
}

/// Why a permission or rule string could not be turned into rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// An `IpProtocol` or rule-string protocol that is not tcp/udp/icmp/icmpv6/all/0–255.
    #[error("unknown protocol {0:?}")]
    Protocol(String),
    /// Ports out of range or reversed.
    #[error("invalid ports {0:?}")]
    Ports(String),
    /// A source that is not a CIDR, `sg-…` or `pl-…`.
    #[error("invalid source {0:?}")]
    Source(String),
    /// A rule string that is not `<traffic> <source>`.
    #[error("invalid rule {0:?}: expected \"<protocol>[:<ports>] <source>\", e.g. \"tcp:443 10.0.0.0/16\"")]
    Shape(String),
}

/// The traffic of one AWS permission.
pub fn traffic_of(perm: &IpPermission) -> Result<Traffic, RuleError> {
    let ports = || -> Result<PortRange, RuleError> {
        match (perm.from_port, perm.to_port) {
            (None, None) | (Some(-1), Some(-1)) => Ok(PortRange::ALL),
            (Some(from), Some(to)) => match (u16::try_from(from), u16::try_from(to)) {
                (Ok(from), Ok(to)) if from <= to => Ok(PortRange { from, to }),
                _ => Err(RuleError::Ports(format!("{from}-{to}"))),
            },
            (from, to) => Err(RuleError::Ports(format!("{from:?}-{to:?}"))),
        }
    };
    let icmp_part = |v: Option<i32>| v.and_then(|v| u8::try_from(v).ok());
    match perm.ip_protocol.to_ascii_lowercase().as_str() {
        "tcp" | "6" => Ok(Traffic::Tcp(ports()?)),
        "udp" | "17" => Ok(Traffic::Udp(ports()?)),
        "icmp" | "1" => Ok(Traffic::Icmp {
            icmp_type: icmp_part(perm.from_port),
            code: icmp_part(perm.to_port),
        }),
        "icmpv6" | "58" => Ok(Traffic::Icmpv6 {
            icmp_type: icmp_part(perm.from_port),
            code: icmp_part(perm.to_port),
        }),
        "-1" | "all" => Ok(Traffic::All),
        other => other
            .parse::<u8>()
            .map(Traffic::Protocol)
            .map_err(|_| RuleError::Protocol(perm.ip_protocol.clone())),
    }
}

/// The rules of one permission, one per source entry (AWS counting), descriptions kept.
pub fn rules_of_permission(perm: &IpPermission) -> Result<Vec<Rule>, RuleError> {
    let traffic = traffic_of(perm)?;
    let rule = |source, description: &Option<String>| Rule {
        traffic,
        source,
        description: description.clone(),
    };
    let mut out = Vec::with_capacity(rule_count(std::slice::from_ref(perm)));
    for r in &perm.ip_ranges {
        let net = r
            .cidr_ip
            .trim()
            .parse()
            .map_err(|_| RuleError::Source(r.cidr_ip.clone()))?;
        out.push(rule(Source::V4(net), &r.description));
    }
    for r in &perm.ipv6_ranges {
        let net = r
            .cidr_ipv6
            .trim()
            .parse()
            .map_err(|_| RuleError::Source(r.cidr_ipv6.clone()))?;
        out.push(rule(Source::V6(net), &r.description));
    }
    for pair in &perm.user_id_group_pairs {
        let group_id = pair.group_id.clone().unwrap_or_default();
        out.push(rule(
            Source::Group {
                group_id,
                user_id: pair.user_id.clone(),
            },
            &pair.description,
        ));
    }
    for list in &perm.prefix_list_ids {
        out.push(rule(
            Source::PrefixList(list.prefix_list_id.clone()),
            &list.description,
        ));
    }
    Ok(out)
}

/// Every ingress rule of a group (egress is never touched).
pub fn ingress_rules(group: &SecurityGroup) -> Result<Vec<Rule>, RuleError> {
    let mut out = Vec::new();
    for perm in &group.ip_permissions {
        out.extend(rules_of_permission(perm)?);
    }
    Ok(out)
}

/// Rules as AWS counts them: one per IPv4 range, IPv6 range, group pair and prefix list.
pub fn rule_count(perms: &[IpPermission]) -> usize {
    perms
        .iter()
        .map(|p| {
            p.ip_ranges.len()
                + p.ipv6_ranges.len()
                + p.user_id_group_pairs.len()
                + p.prefix_list_ids.len()
        })
        .sum()
}

/// Addresses the IPv4 rules trust, summed over rules (overlaps counted twice, as AWS would).
pub fn ipv4_addresses(rules: &[Rule]) -> u64 {
    rules
        .iter()
        .filter_map(Rule::v4_cidr)
        .map(|net| crate::domain::cidr::net_size(net.trunc()))
        .sum()
}

#[cfg(test)]
mod tests;
