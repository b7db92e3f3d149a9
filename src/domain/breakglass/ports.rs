//! Domain layer (pure): break-glass port specs (`all`, `icmp`, `tcp:443`, `tcp:8000-8100`,
//! `udp:53`) and bare port ranges (`443`, `8000-8100`), parsed strictly with errors naming the value.

use super::BreakGlassError;
use crate::domain::rules::{PortRange, Traffic};
use crate::domain::snapshot::{IpPermission, IpRange};
use std::fmt;
use std::str::FromStr;

/// What a break-glass rule opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortSpec {
    /// Every protocol and port (`all`, AWS protocol `-1`).
    All,
    /// ICMP; `None` type means every type, `None` code every code (`icmp`, `icmp:all`, `icmp:8`, `icmp:8/0`).
    Icmp {
        /// ICMP type.
        icmp_type: Option<u8>,
        /// ICMP code.
        code: Option<u8>,
    },
    /// TCP ports `from..=to`.
    Tcp(u16, u16),
    /// UDP ports `from..=to`.
    Udp(u16, u16),
}

fn error(value: &str, reason: impl Into<String>) -> BreakGlassError {
    BreakGlassError::InvalidPortSpec {
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Parses `443` or `8000-8100` into an inclusive range.
pub fn parse_port_range(value: &str) -> Result<(u16, u16), BreakGlassError> {
    let text = value.trim();
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let port = |p: &str| -> Result<u16, BreakGlassError> {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error(value, "expected PORT or FROM-TO with decimal ports"));
        }
        p.parse::<u32>()
            .ok()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| error(value, format!("port {p} is out of range 0-65535")))
    };
    let (low, high) = (port(low)?, port(high)?);
    if high < low {
        return Err(error(
            value,
            format!("range ends ({high}) before it starts ({low})"),
        ));
    }
    Ok((low, high))
}

fn parse_icmp(value: &str, rest: Option<&str>) -> Result<PortSpec, BreakGlassError> {
    let field = |t: &str| -> Result<Option<u8>, BreakGlassError> {
        match t {
            "all" | "-1" => Ok(None),
            n => n
                .parse::<u8>()
                .map(Some)
                .map_err(|_| error(value, format!("ICMP type/code {n:?} is not 0-255 or all"))),
        }
    };
    let (icmp_type, code) = match rest {
        None => (None, None),
        Some(rest) => match rest.split_once('/') {
            Some((t, c)) => (field(t)?, field(c)?),
            None => (field(rest)?, None),
        },
    };
    if icmp_type.is_none() && code.is_some() {
        return Err(error(value, "an ICMP code needs an ICMP type"));
    }
    Ok(PortSpec::Icmp { icmp_type, code })
}

impl FromStr for PortSpec {
    type Err = BreakGlassError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let text = value.trim().to_ascii_lowercase();
        let (protocol, rest) = match text.split_once(':') {
            Some((p, r)) => (p, Some(r)),
            None => (text.as_str(), None),
        };
        match (protocol, rest) {
            ("all", None) => Ok(PortSpec::All),
            ("icmp", rest) => parse_icmp(value, rest),
            ("tcp", Some(r)) => parse_port_range(r)
                .map(|(a, b)| PortSpec::Tcp(a, b))
                .map_err(|_| range_error(value, r)),
            ("udp", Some(r)) => parse_port_range(r)
                .map(|(a, b)| PortSpec::Udp(a, b))
                .map_err(|_| range_error(value, r)),
            ("tcp" | "udp", None) => {
                Err(error(value, "needs ports, e.g. tcp:443 or tcp:8000-8100"))
            }
            _ => Err(error(
                value,
                "expected all, icmp, tcp:PORT, tcp:FROM-TO, udp:PORT or udp:FROM-TO",
            )),
        }
    }
}

fn range_error(value: &str, range: &str) -> BreakGlassError {
    match parse_port_range(range) {
        Err(BreakGlassError::InvalidPortSpec { reason, .. }) => error(value, reason),
        _ => error(value, "invalid port range"),
    }
}

impl fmt::Display for PortSpec {
    /// The rule-string prefix: `all`, `icmp:all`, `icmp:8`, `icmp:8/0`, `tcp:443`, `udp:8000-8100`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = |f: &mut fmt::Formatter<'_>, p: &str, a: u16, b: u16| {
            if a == b {
                write!(f, "{p}:{a}")
            } else {
                write!(f, "{p}:{a}-{b}")
            }
        };
        match *self {
            PortSpec::All => f.write_str("all"),
            PortSpec::Icmp {
                icmp_type: None, ..
            } => f.write_str("icmp:all"),
            PortSpec::Icmp {
                icmp_type: Some(t),
                code: None,
            } => write!(f, "icmp:{t}"),
            PortSpec::Icmp {
                icmp_type: Some(t),
                code: Some(c),
            } => write!(f, "icmp:{t}/{c}"),
            PortSpec::Tcp(a, b) => range(f, "tcp", a, b),
            PortSpec::Udp(a, b) => range(f, "udp", a, b),
        }
    }
}

impl PortSpec {
    /// AWS's (IpProtocol, FromPort, ToPort) for this spec.
    pub fn aws_fields(&self) -> (&'static str, Option<i32>, Option<i32>) {
        let icmp = |v: Option<u8>| Some(v.map_or(-1, i32::from));
        match *self {
            PortSpec::All => ("-1", None, None),
            PortSpec::Icmp { icmp_type, code } => ("icmp", icmp(icmp_type), icmp(code)),
            PortSpec::Tcp(a, b) => ("tcp", Some(a.into()), Some(b.into())),
            PortSpec::Udp(a, b) => ("udp", Some(a.into()), Some(b.into())),
        }
    }

    /// The spec of an AWS permission, when it is one break-glass can express.
    pub fn from_permission(permission: &IpPermission) -> Option<PortSpec> {
        let port = |p: Option<i32>| p.and_then(|p| u16::try_from(p).ok());
        let icmp = |p: Option<i32>| p.and_then(|p| u8::try_from(p).ok());
        match permission.ip_protocol.as_str() {
            "-1" => Some(PortSpec::All),
            "icmp" | "1" => Some(PortSpec::Icmp {
                icmp_type: icmp(permission.from_port),
                code: icmp(permission.to_port),
            }),
            "tcp" | "6" => Some(PortSpec::Tcp(
                port(permission.from_port)?,
                port(permission.to_port)?,
            )),
            "udp" | "17" => Some(PortSpec::Udp(
                port(permission.from_port)?,
                port(permission.to_port)?,
            )),
            _ => None,
        }
    }

    /// The spec for one observed flow's IANA protocol and destination port (TCP and UDP only).
    pub fn for_flow(protocol: u8, port: u16) -> Option<PortSpec> {
        match protocol {
            6 => Some(PortSpec::Tcp(port, port)),
            17 => Some(PortSpec::Udp(port, port)),
            _ => None,
        }
    }

    /// The rule model's traffic for this spec (what rule strings print).
    pub fn traffic(&self) -> Traffic {
        let range = |from, to| PortRange { from, to };
        match *self {
            PortSpec::All => Traffic::All,
            PortSpec::Icmp { icmp_type, code } => Traffic::Icmp { icmp_type, code },
            PortSpec::Tcp(a, b) => Traffic::Tcp(range(a, b)),
            PortSpec::Udp(a, b) => Traffic::Udp(range(a, b)),
        }
    }

    /// An AWS permission for this spec with the given source ranges.
    pub fn permission(&self, ip_ranges: Vec<IpRange>) -> IpPermission {
        let (protocol, from_port, to_port) = self.aws_fields();
        IpPermission {
            ip_protocol: protocol.to_string(),
            from_port,
            to_port,
            ip_ranges,
            ..Default::default()
        }
    }
}
