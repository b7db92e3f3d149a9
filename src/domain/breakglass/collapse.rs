//! Domain layer (pure): the [`Collapse`](super::Collapse) seam wired to the tolerance collapse of
//! `domain::cidr` (DESIGN §4): rejected sources grouped into blocks whose never-seen share is at
//! most the tolerance, within a rule budget, never across an RFC 1918 block (public sources stay
//! `/32`), and never broader than the configuration's `broadestPrefix`.

use crate::domain::cidr::{collapse_addresses, Block};
use ipnet::Ipv4Net;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// How rejected sources are grouped into rule blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToleranceCollapse {
    /// Share of never-seen addresses allowed inside a block (`fromRejectedFlows.tolerance`).
    pub tolerance: f64,
    /// Most blocks wanted for one (protocol, port); widened tolerance, then force-fit, beyond.
    pub budget: usize,
    /// No block may be broader than this prefix (`breakGlass.broadestPrefix`).
    pub broadest_prefix: u8,
}

impl ToleranceCollapse {
    /// The blocks covering `sources`: every source lies in exactly one block.
    pub fn blocks(&self, sources: &[Ipv4Addr]) -> Vec<Ipv4Net> {
        if sources.is_empty() {
            return Vec::new();
        }
        let collapsed = collapse_addresses(sources, self.budget.max(1), self.tolerance);
        let mut sorted: Vec<u32> = sources.iter().map(|a| u32::from(*a)).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out: BTreeSet<Ipv4Net> = BTreeSet::new();
        for block in collapsed.cidrs {
            if block.prefix_len() >= self.broadest_prefix {
                out.insert(block);
            } else {
                out.extend(split_to(block, self.broadest_prefix, &sorted));
            }
        }
        out.into_iter().collect()
    }
}

/// The `/prefix` sub-blocks of `block` that hold at least one of `sorted` (ascending).
fn split_to(block: Ipv4Net, prefix: u8, sorted: &[u32]) -> Vec<Ipv4Net> {
    let outer = Block::from_net(block);
    let first = sorted.partition_point(|a| *a < outer.start);
    let mut out: Vec<Ipv4Net> = Vec::new();
    for address in sorted[first..]
        .iter()
        .take_while(|a| outer.contains_addr(**a))
    {
        let inner = Block::containing(*address, prefix).to_net();
        if out.last() != Some(&inner) {
            out.push(inner);
        }
    }
    out
}
