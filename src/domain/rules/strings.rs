//! Domain layer (pure): rule strings — `tcp:443 10.0.10.0/27`, `tcp:8000-8100 10.0.0.0/16`,
//! `udp:53 …`, `icmp:8/0 …` (type/code; `icmp:8` any code, `icmp:all` every type),
//! `all 10.0.0.0/16` (protocol −1), `proto:50 …` (another IANA number); sources are IPv4 or IPv6
//! CIDRs, `sg-…` references and `pl-…` prefix lists.

use super::{PortRange, Rule, RuleError, Source, Traffic};
use std::fmt;

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.from == self.to {
            true => write!(f, "{}", self.from),
            false => write!(f, "{}-{}", self.from, self.to),
        }
    }
}

fn write_icmp(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    icmp_type: Option<u8>,
    code: Option<u8>,
) -> fmt::Result {
    match (icmp_type, code) {
        (None, _) => write!(f, "{name}:all"),
        (Some(t), None) => write!(f, "{name}:{t}"),
        (Some(t), Some(c)) => write!(f, "{name}:{t}/{c}"),
    }
}

impl fmt::Display for Traffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Traffic::Tcp(range) => write!(f, "tcp:{range}"),
            Traffic::Udp(range) => write!(f, "udp:{range}"),
            Traffic::Icmp { icmp_type, code } => write_icmp(f, "icmp", *icmp_type, *code),
            Traffic::Icmpv6 { icmp_type, code } => write_icmp(f, "icmpv6", *icmp_type, *code),
            Traffic::All => f.write_str("all"),
            Traffic::Protocol(number) => write!(f, "proto:{number}"),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::V4(net) => write!(f, "{net}"),
            Source::V6(net) => write!(f, "{net}"),
            Source::Group { group_id, .. } => f.write_str(group_id),
            Source::PrefixList(id) => f.write_str(id),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.traffic, self.source)
    }
}

impl std::str::FromStr for Rule {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Rule, RuleError> {
        parse_rule(s)
    }
}

/// Parses a rule string (no description).
pub fn parse_rule(text: &str) -> Result<Rule, RuleError> {
    let mut parts = text.split_whitespace();
    let (Some(traffic), Some(source), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(RuleError::Shape(text.to_string()));
    };
    Ok(Rule {
        traffic: parse_traffic(traffic)?,
        source: parse_source(source)?,
        description: None,
    })
}

/// Parses the traffic half of a rule string.
pub fn parse_traffic(text: &str) -> Result<Traffic, RuleError> {
    let (name, detail) = match text.split_once(':') {
        Some((name, detail)) => (name, Some(detail)),
        None => (text, None),
    };
    let ports = |_| RuleError::Ports(text.to_string());
    match (name.to_ascii_lowercase().as_str(), detail) {
        ("all", None) => Ok(Traffic::All),
        ("tcp", Some(detail)) => parse_ports(detail).map(Traffic::Tcp).map_err(ports),
        ("udp", Some(detail)) => parse_ports(detail).map(Traffic::Udp).map_err(ports),
        ("icmp", Some(detail)) => parse_icmp(detail)
            .map(|(icmp_type, code)| Traffic::Icmp { icmp_type, code })
            .map_err(ports),
        ("icmpv6", Some(detail)) => parse_icmp(detail)
            .map(|(icmp_type, code)| Traffic::Icmpv6 { icmp_type, code })
            .map_err(ports),
        ("proto", Some(number)) => number
            .parse()
            .map(Traffic::Protocol)
            .map_err(|_| RuleError::Protocol(text.to_string())),
        _ => Err(RuleError::Protocol(text.to_string())),
    }
}

fn parse_ports(text: &str) -> Result<PortRange, RuleError> {
    let bad = || RuleError::Ports(text.to_string());
    let (from, to) = text.split_once('-').unwrap_or((text, text));
    let (from, to): (u16, u16) = (
        from.parse().map_err(|_| bad())?,
        to.parse().map_err(|_| bad())?,
    );
    (from <= to)
        .then_some(PortRange { from, to })
        .ok_or_else(bad)
}

fn parse_icmp(text: &str) -> Result<(Option<u8>, Option<u8>), RuleError> {
    let bad = || RuleError::Ports(text.to_string());
    let part = |p: &str| -> Result<Option<u8>, RuleError> {
        match p {
            "all" | "-1" => Ok(None),
            number => number.parse().map(Some).map_err(|_| bad()),
        }
    };
    match text.split_once('/') {
        None => Ok((part(text)?, None)),
        Some((t, c)) => match (part(t)?, part(c)?) {
            (None, Some(_)) => Err(bad()),
            pair => Ok(pair),
        },
    }
}

/// Parses the source half of a rule string; a bare IPv4 address means its `/32`.
pub fn parse_source(text: &str) -> Result<Source, RuleError> {
    let bad = || RuleError::Source(text.to_string());
    if text.starts_with("sg-") {
        Ok(Source::Group {
            group_id: text.to_string(),
            user_id: None,
        })
    } else if text.starts_with("pl-") {
        Ok(Source::PrefixList(text.to_string()))
    } else if text.contains(':') {
        text.parse().map(Source::V6).map_err(|_| bad())
    } else if text.contains('/') {
        text.parse().map(Source::V4).map_err(|_| bad())
    } else {
        let addr: std::net::Ipv4Addr = text.parse().map_err(|_| bad())?;
        Ok(Source::V4(ipnet::Ipv4Net::from(addr)))
    }
}
