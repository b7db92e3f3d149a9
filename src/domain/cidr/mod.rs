//! Domain layer (pure): CIDR collapse, force-fit, RFC 1918 home blocks, address counting
//! (DESIGN §4). Depends on std and ipnet only.
//!
//! Addresses are `u32`s and blocks are aligned `(start, prefix)` pairs; observed sources are kept
//! as sorted disjoint intervals with prefix sums, so "how many observed addresses lie in this
//! block" is two binary searches. That keeps the collapse O(n log n) in the number of sources.

use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

mod addresses;
mod budget;
mod compact;
mod merge;
mod observed;
mod scan;

pub use addresses::{collapse_addresses, AddressCollapse};
pub use budget::{
    collapse, collapse_shared, CollapseOutcome, ForceFit, MAX_TOLERANCE, TOLERANCE_STEP,
};
pub use compact::{compact_nets, compactable};
pub use observed::{range_of, Observed};
pub use scan::{blocks_at, merge_lossless};

/// An aligned IPv4 block: `start` has its low `32 − prefix` bits clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Block {
    /// First address of the block.
    pub start: u32,
    /// Prefix length, 0..=32.
    pub prefix: u8,
}

impl Block {
    /// The block of length `prefix` that contains `addr`.
    pub fn containing(addr: u32, prefix: u8) -> Block {
        Block {
            start: addr & mask(prefix),
            prefix,
        }
    }

    /// The block equal to `net` (host bits are cleared).
    pub fn from_net(net: Ipv4Net) -> Block {
        Block::containing(u32::from(net.network()), net.prefix_len())
    }

    /// This block as an [`Ipv4Net`].
    pub fn to_net(self) -> Ipv4Net {
        Ipv4Net::new(Ipv4Addr::from(self.start), self.prefix).expect("prefix is at most 32")
    }

    /// Last address of the block.
    pub fn end(self) -> u32 {
        self.start | !mask(self.prefix)
    }

    /// Number of addresses in the block.
    pub fn size(self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// True when `addr` lies in the block.
    pub fn contains_addr(self, addr: u32) -> bool {
        addr & mask(self.prefix) == self.start
    }

    /// True when `other` lies wholly inside this block (equal blocks included).
    pub fn contains(self, other: Block) -> bool {
        other.prefix >= self.prefix && self.contains_addr(other.start)
    }

    /// The smallest block containing both `self` and `other`.
    pub fn cover(self, other: Block) -> Block {
        let lo = self.start.min(other.start);
        let hi = self.end().max(other.end());
        let prefix = (lo ^ hi).leading_zeros() as u8;
        Block::containing(lo, prefix)
    }
}

/// The netmask of a prefix length as a `u32`.
fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

/// The three RFC 1918 private blocks: 10/8, 172.16/12, 192.168/16.
pub const RFC1918: [Block; 3] = [
    Block {
        start: 0x0A00_0000,
        prefix: 8,
    },
    Block {
        start: 0xAC10_0000,
        prefix: 12,
    },
    Block {
        start: 0xC0A8_0000,
        prefix: 16,
    },
];

/// The RFC 1918 block that wholly contains `net` ("strict RFC 1918": containment, not overlap —
/// `192.0.0.0/4` overlaps 192.168/16 but has no home). The home blocks themselves have a home.
pub fn rfc1918_home(net: Ipv4Net) -> Option<Ipv4Net> {
    let block = Block::from_net(net);
    RFC1918
        .iter()
        .find(|home| home.contains(block))
        .map(|home| home.to_net())
}

/// True when `net` lies wholly inside one RFC 1918 block.
pub fn is_strict_rfc1918(net: Ipv4Net) -> bool {
    rfc1918_home(net).is_some()
}

/// Addresses in `net`.
pub fn net_size(net: Ipv4Net) -> u64 {
    Block::from_net(net).size()
}

/// Addresses trusted by a list of blocks, summed (overlaps counted twice, as AWS rules would).
pub fn address_count(nets: &[Ipv4Net]) -> u64 {
    nets.iter().map(|n| net_size(*n)).sum()
}

#[cfg(test)]
mod tests;
