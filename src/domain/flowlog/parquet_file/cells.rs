//! Domain layer (pure): one Parquet value as the flow-log reader needs it — an address parsed,
//! an interface interned, a number, an action or a status — and one row of such cells read back
//! as a sink entry. A dictionary value becomes a cell once per dictionary page; rows then copy
//! cells, so the work per row is independent of the values' text.
//!
//! The meaning of every value (null, `-`, empty, a number in a string column, text in a number
//! column) is the row-by-row reader's (`lanes.rs`), which reads a row like a text line.

use super::super::aggregate::{Key, NO_INTERFACE};
use super::super::record::{address, interface, optional_number, Action, Address};
use super::super::{Aggregator, Entry};

/// A column's value made ready for rows: from a string, from an integer, or null.
pub(super) trait Cell: Copy {
    /// A null value (or a column the file does not have).
    const NULL: Self;
    /// A BYTE_ARRAY value.
    fn text(value: &[u8], aggregator: &mut Aggregator) -> Self;
    /// An INT32 or INT64 value.
    fn int(value: i64) -> Self;
}

/// An address column's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Addr {
    /// Null, empty or `-`: a packet-level address falls back to the interface-level one.
    Missing,
    V4(u32),
    V6,
    Bad,
    /// A number column: the row is malformed, whichever address it would have used.
    NotText,
}

impl Cell for Addr {
    const NULL: Self = Addr::Missing;
    fn text(value: &[u8], _: &mut Aggregator) -> Self {
        if value.is_empty() || value == b"-" {
            return Addr::Missing;
        }
        match address(b"", value) {
            Some(Address::V4(address)) => Addr::V4(address.to_bits()),
            Some(Address::V6) => Addr::V6,
            None => Addr::Bad,
        }
    }
    fn int(_: i64) -> Self {
        Addr::NotText
    }
}

impl Addr {
    /// The packet-level address when present, else the interface-level one (which must be).
    fn or(self, interface: Addr) -> Addr {
        match (self, interface) {
            (Addr::NotText, _) | (_, Addr::NotText) | (Addr::Missing, Addr::Missing) => Addr::Bad,
            (Addr::Missing, interface) => interface,
            (packet, _) => packet,
        }
    }
}

/// An `interface-id` value, interned in the aggregator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Iface {
    /// Null, empty or `-`.
    None,
    Id(u32),
    /// Not UTF-8: no interface for NODATA, a malformed record otherwise.
    NotText,
    Bad,
}

impl Cell for Iface {
    const NULL: Self = Iface::None;
    fn text(value: &[u8], aggregator: &mut Aggregator) -> Self {
        match interface(value) {
            Some(None) => Iface::None,
            Some(Some(id)) => Iface::Id(aggregator.interface_index(Some(id))),
            None => Iface::NotText,
        }
    }
    fn int(_: i64) -> Self {
        Iface::Bad
    }
}

/// A number column's value (`start`, `end`, `dstport`, `protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Num {
    /// Null, empty or `-`.
    Missing,
    Value(i64),
    Bad,
}

impl Cell for Num {
    const NULL: Self = Num::Missing;
    fn text(value: &[u8], _: &mut Aggregator) -> Self {
        match optional_number(value) {
            Some(None) => Num::Missing,
            Some(Some(value)) => Num::Value(value),
            None => Num::Bad,
        }
    }
    fn int(value: i64) -> Self {
        Num::Value(value)
    }
}

impl Num {
    /// `Some(None)` when missing, `None` when not a number (a malformed row).
    fn optional(self) -> Option<Option<i64>> {
        match self {
            Num::Missing => Some(None),
            Num::Value(value) => Some(Some(value)),
            Num::Bad => None,
        }
    }
}

/// An `action` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Act {
    Missing,
    Accept,
    Reject,
    Bad,
}

impl Cell for Act {
    const NULL: Self = Act::Missing;
    fn text(value: &[u8], _: &mut Aggregator) -> Self {
        match value {
            b"" | b"-" => Act::Missing,
            b"ACCEPT" => Act::Accept,
            b"REJECT" => Act::Reject,
            _ => Act::Bad,
        }
    }
    fn int(_: i64) -> Self {
        Act::Bad
    }
}

/// A `log-status` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// `OK`, or no status at all.
    Ok,
    NoData,
    SkipData,
    Bad,
}

impl Cell for Status {
    const NULL: Self = Status::Ok;
    fn text(value: &[u8], _: &mut Aggregator) -> Self {
        match value {
            b"" | b"-" | b"OK" => Status::Ok,
            b"NODATA" => Status::NoData,
            b"SKIPDATA" => Status::SkipData,
            _ => Status::Bad,
        }
    }
    fn int(_: i64) -> Self {
        Status::Bad
    }
}

/// The cells of one row.
#[derive(Debug, Clone, Copy)]
pub(super) struct Row {
    pub(super) src: Addr,
    pub(super) dst: Addr,
    pub(super) pkt_src: Addr,
    pub(super) pkt_dst: Addr,
    pub(super) interface: Iface,
    pub(super) port: Num,
    pub(super) protocol: Num,
    pub(super) start: Num,
    pub(super) end: Num,
    pub(super) action: Act,
    pub(super) status: Status,
}

impl Row {
    /// The row as the sink takes it, read like the same values in a text line.
    pub(super) fn entry(&self) -> Entry {
        self.interpret().unwrap_or(Entry::Malformed)
    }

    fn interpret(&self) -> Option<Entry> {
        let start = self.start.optional()?;
        let end = self.end.optional()?;
        match self.status {
            Status::Ok => {}
            Status::NoData => {
                let interface = match self.interface {
                    Iface::Id(index) => index,
                    Iface::None | Iface::NotText => NO_INTERFACE,
                    Iface::Bad => return None,
                };
                return Some(Entry::NoData {
                    start,
                    end,
                    interface,
                });
            }
            Status::SkipData => return Some(Entry::SkipData { start, end }),
            Status::Bad => return None,
        }
        let (source, destination) = match (self.pkt_src.or(self.src), self.pkt_dst.or(self.dst)) {
            (Addr::V4(source), Addr::V4(destination)) => (source, destination),
            (Addr::Bad, _) | (_, Addr::Bad) => return None,
            _ => return Some(Entry::Ipv6),
        };
        let action = match self.action {
            Act::Missing => None,
            Act::Accept => Some(Action::Accept),
            Act::Reject => Some(Action::Reject),
            Act::Bad => return None,
        };
        let interface = match self.interface {
            Iface::None => NO_INTERFACE,
            Iface::Id(index) => index,
            Iface::NotText | Iface::Bad => return None,
        };
        let protocol = self.protocol.optional()??;
        let port = match self.port.optional()? {
            None => 0,
            Some(port) => u16::try_from(port).ok()?,
        };
        Some(Entry::Record {
            key: Key {
                source,
                destination,
                interface,
                protocol: u8::try_from(protocol).ok()?,
                port,
            },
            start,
            end,
            action,
        })
    }
}
