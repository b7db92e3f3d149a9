//! Domain layer (pure): compaction (DESIGN §6.4) — merge RFC 1918 CIDRs of any prefix into
//! covering blocks whose never-granted share is at most `ratio`, never across RFC 1918 blocks.

use super::merge::greedy_merge;
use super::observed::range_of;
use super::scan::{fits, merge_lossless};
use super::{Block, Observed, RFC1918};
use ipnet::Ipv4Net;

/// True when `net` may be compacted: it lies wholly inside one RFC 1918 block (any prefix).
pub fn compactable(net: Ipv4Net) -> bool {
    super::is_strict_rfc1918(net)
}

/// Compacts `nets` (all compactable; others are returned unchanged): neighbours merge into their
/// smallest covering block when at most `ratio` of it was never granted by any of `nets`,
/// fewest never-granted addresses first, until no merge qualifies. Every input stays covered;
/// with `ratio` 0 only lossless merges happen.
pub fn compact_nets(nets: &[Ipv4Net], ratio: f64) -> Vec<Ipv4Net> {
    let ratio = ratio.clamp(0.0, 1.0);
    let mut per_home: Vec<Vec<Block>> = vec![Vec::new(); RFC1918.len()];
    let mut others = Vec::new();
    for net in nets {
        let block = Block::from_net(*net);
        match RFC1918.iter().position(|home| home.contains(block)) {
            Some(k) => per_home[k].push(block),
            None => others.push(*net),
        }
    }
    let lists: Vec<Vec<Block>> = per_home.into_iter().map(merge_lossless).collect();
    let granted = Observed::from_ranges(nets.iter().map(|n| range_of(*n)));
    let (merged, _) = greedy_merge(lists, 0, |cover, _, _| {
        let count = granted.count_in_block(cover);
        fits(cover.size(), count, ratio).then(|| cover.size() - count)
    });
    let mut out: Vec<Ipv4Net> = merged.into_iter().flatten().map(Block::to_net).collect();
    out.extend(others);
    out.sort_by_key(|n| (u32::from(n.network()), n.prefix_len()));
    out
}
