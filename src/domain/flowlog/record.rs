//! Domain layer (pure): one flow-log line → one record, without allocating. Fields are byte slices
//! of the line; addresses and numbers are parsed in place.

use super::format::{Format, Role, ROLES};
use std::net::Ipv4Addr;

/// ACCEPT or REJECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The security group and NACL allowed the traffic.
    Accept,
    /// The traffic was rejected.
    Reject,
}

/// One parsed record with data (`log-status OK`), borrowing from its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Original source (`pkt-srcaddr` when present and not `-`, else `srcaddr`).
    pub source: Ipv4Addr,
    /// Original destination (`pkt-dstaddr` when present and not `-`, else `dstaddr`).
    pub destination: Ipv4Addr,
    /// The ENI the record was captured on, if the format has it and it is not `-`.
    pub interface_id: Option<&'a str>,
    /// IANA protocol number.
    pub protocol: u8,
    /// Destination port (0 when `-`).
    pub port: u16,
    /// Capture window start (Unix seconds), if the format has it.
    pub start: Option<i64>,
    /// Capture window end (Unix seconds), if the format has it.
    pub end: Option<i64>,
    /// ACCEPT or REJECT, if the format has it.
    pub action: Option<Action>,
}

/// What a line turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A record with data.
    Record(Record<'a>),
    /// `NODATA`: no traffic in the capture window (not a gap).
    NoData {
        /// Capture window start (Unix seconds), when known.
        start: Option<i64>,
        /// Capture window end (Unix seconds), when known.
        end: Option<i64>,
        /// The interface that was logged, when the format has it.
        interface_id: Option<&'a str>,
    },
    /// `SKIPDATA`: AWS lost records in the capture window (a gap).
    SkipData {
        /// Capture window start (Unix seconds), when known.
        start: Option<i64>,
        /// Capture window end (Unix seconds), when known.
        end: Option<i64>,
    },
    /// An IPv6 record (the domain tightens IPv4 rules only).
    Ipv6,
    /// An empty or whitespace-only line.
    Blank,
    /// Anything else.
    Malformed,
}

/// The whitespace-separated tokens of a line.
pub(crate) fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| *b == b' ' || *b == b'\t')
        .filter(|t| !t.is_empty())
}

/// Parses one line (without its newline) in `format`.
pub fn parse_line<'a>(format: &Format, line: &'a [u8]) -> Line<'a> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut slots: [&[u8]; ROLES] = [&[]; ROLES];
    let roles = format.roles();
    let mut count = 0;
    for token in tokens(line) {
        match roles.get(count) {
            Some(Role::Other) => {}
            Some(role) => slots[*role as usize] = token,
            None => return Line::Malformed,
        }
        count += 1;
    }
    if count == 0 {
        return Line::Blank;
    }
    if count != roles.len() {
        return Line::Malformed;
    }
    interpret(&slots).unwrap_or(Line::Malformed)
}

fn interpret<'a>(slots: &[&'a [u8]; ROLES]) -> Option<Line<'a>> {
    let slot = |role: Role| slots[role as usize];
    let start = optional_number(slot(Role::Start))?;
    let end = optional_number(slot(Role::End))?;
    match slot(Role::Status) {
        b"" | b"OK" => {}
        b"NODATA" => {
            let interface_id = interface(slot(Role::Interface)).flatten();
            return Some(Line::NoData {
                start,
                end,
                interface_id,
            });
        }
        b"SKIPDATA" => return Some(Line::SkipData { start, end }),
        _ => return None,
    }
    let source = address(slot(Role::PktSrc), slot(Role::Src))?;
    let destination = address(slot(Role::PktDst), slot(Role::Dst))?;
    let (source, destination) = match (source, destination) {
        (Address::V4(s), Address::V4(d)) => (s, d),
        _ => return Some(Line::Ipv6),
    };
    let action = match slot(Role::Action) {
        b"" => None,
        b"ACCEPT" => Some(Action::Accept),
        b"REJECT" => Some(Action::Reject),
        _ => return None,
    };
    Some(Line::Record(Record {
        source,
        destination,
        interface_id: interface(slot(Role::Interface))?,
        protocol: number(slot(Role::Protocol))?,
        port: match slot(Role::DstPort) {
            b"-" => 0,
            port => number(port)?,
        },
        start,
        end,
        action,
    }))
}

pub(super) enum Address {
    V4(Ipv4Addr),
    V6,
}

/// The packet-level address when present and not `-`, else the interface-level one.
pub(super) fn address(packet: &[u8], interface: &[u8]) -> Option<Address> {
    let chosen = if packet.is_empty() || packet == b"-" {
        interface
    } else {
        packet
    };
    if chosen.contains(&b':') {
        let text = std::str::from_utf8(chosen).ok()?;
        return text.parse::<std::net::Ipv6Addr>().ok().map(|_| Address::V6);
    }
    let text = std::str::from_utf8(chosen).ok()?;
    text.parse::<Ipv4Addr>().ok().map(Address::V4)
}

pub(super) fn interface(value: &[u8]) -> Option<Option<&str>> {
    match value {
        b"" | b"-" => Some(None),
        id => std::str::from_utf8(id).ok().map(Some),
    }
}

/// An unsigned decimal that fits `T`; no sign, no spaces.
pub(super) fn number<T: TryFrom<u64>>(value: &[u8]) -> Option<T> {
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    let mut total: u64 = 0;
    for b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        total = total * 10 + u64::from(b - b'0');
    }
    T::try_from(total).ok()
}

/// A timestamp field: absent or `-` → `None`; digits → `Some`; anything else fails the line.
pub(super) fn optional_number(value: &[u8]) -> Option<Option<i64>> {
    match value {
        b"" | b"-" => Some(None),
        digits => number::<i64>(digits).map(Some),
    }
}
