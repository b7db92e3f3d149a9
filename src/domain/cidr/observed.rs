//! Domain layer (pure): the set of observed source addresses of one rule, as sorted disjoint
//! intervals with prefix sums, answering "how many observed addresses lie in `[lo, hi]`" in
//! O(log n).

use super::Block;
use ipnet::Ipv4Net;

/// Observed addresses: sorted, disjoint, non-adjacent inclusive intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    starts: Vec<u32>,
    ends: Vec<u32>,
    /// `before[i]` = addresses in intervals `0..i`; one longer than `starts`.
    before: Vec<u64>,
}

impl Observed {
    /// From single addresses (any order, duplicates allowed).
    pub fn from_addresses(addresses: impl IntoIterator<Item = u32>) -> Observed {
        Observed::from_ranges(addresses.into_iter().map(|a| (a, a)))
    }

    /// From inclusive ranges (any order; overlapping and adjacent ranges are joined).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u32, u32)>) -> Observed {
        let mut ranges: Vec<(u32, u32)> = ranges.into_iter().filter(|(lo, hi)| lo <= hi).collect();
        ranges.sort_unstable();
        let mut out = Observed::default();
        for (lo, hi) in ranges {
            match out.ends.last_mut() {
                Some(end) if u64::from(lo) <= u64::from(*end) + 1 => *end = (*end).max(hi),
                _ => {
                    out.starts.push(lo);
                    out.ends.push(hi);
                }
            }
        }
        out.rebuild_sums();
        out
    }

    /// Observed addresses `addresses`, plus the vouched-for `additional` blocks, restricted to
    /// `within` and minus every `excluded` block (DESIGN §5: excluded sources never count).
    pub fn build(
        addresses: impl IntoIterator<Item = u32>,
        additional: &[Ipv4Net],
        excluded: &[Ipv4Net],
        within: Ipv4Net,
    ) -> Observed {
        let ranges = addresses
            .into_iter()
            .map(|a| (a, a))
            .chain(additional.iter().map(|n| range_of(*n)));
        Observed::from_ranges(ranges)
            .clip(range_of(within))
            .subtract(excluded)
    }

    fn rebuild_sums(&mut self) {
        self.before.clear();
        self.before.push(0);
        let mut total = 0u64;
        for (s, e) in self.starts.iter().zip(&self.ends) {
            total += u64::from(e - s) + 1;
            self.before.push(total);
        }
    }

    /// Only the addresses inside `[lo, hi]`.
    pub fn clip(&self, (lo, hi): (u32, u32)) -> Observed {
        Observed::from_ranges(self.intervals().filter_map(|(s, e)| {
            let (s, e) = (s.max(lo), e.min(hi));
            (s <= e).then_some((s, e))
        }))
    }

    /// These addresses minus every address of `excluded`.
    pub fn subtract(&self, excluded: &[Ipv4Net]) -> Observed {
        if excluded.is_empty() {
            return self.clone();
        }
        let cut = Observed::from_ranges(excluded.iter().map(|n| range_of(*n)));
        let mut kept = Vec::new();
        for (s, e) in self.intervals() {
            let mut from = u64::from(s);
            for (cs, ce) in cut.intervals().filter(|&(cs, ce)| ce >= s && cs <= e) {
                if u64::from(cs) > from {
                    kept.push((from as u32, cs - 1));
                }
                from = u64::from(ce) + 1;
            }
            if from <= u64::from(e) {
                kept.push((from as u32, e));
            }
        }
        Observed::from_ranges(kept)
    }

    /// The intervals, in order.
    pub fn intervals(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.starts.iter().copied().zip(self.ends.iter().copied())
    }

    /// Number of intervals.
    pub fn interval_count(&self) -> usize {
        self.starts.len()
    }

    /// Start and end of interval `i`.
    pub fn interval(&self, i: usize) -> (u32, u32) {
        (self.starts[i], self.ends[i])
    }

    /// Index of the first interval that ends at or after `addr` (`interval_count()` if none).
    pub fn first_ending_at_or_after(&self, addr: u32) -> usize {
        self.ends.partition_point(|&e| e < addr)
    }

    /// True when nothing was observed.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Number of observed addresses.
    pub fn total(&self) -> u64 {
        *self.before.last().unwrap_or(&0)
    }

    /// True when `addr` was observed.
    pub fn contains(&self, addr: u32) -> bool {
        self.count_in(addr, addr) == 1
    }

    /// Observed addresses in `[lo, hi]`.
    pub fn count_in(&self, lo: u32, hi: u32) -> u64 {
        self.count_in_range(lo, hi, 0, self.starts.len()).0
    }

    /// Observed addresses in `block`.
    pub fn count_in_block(&self, block: Block) -> u64 {
        self.count_in(block.start, block.end())
    }

    /// Observed addresses in `[lo, hi]`, searching only intervals `from..to` (the caller knows
    /// no other interval overlaps). Also returns the index range of the overlapping intervals,
    /// so a narrower query can search inside it.
    pub(crate) fn count_in_range(
        &self,
        lo: u32,
        hi: u32,
        from: usize,
        to: usize,
    ) -> (u64, usize, usize) {
        let first = from + self.ends[from..to].partition_point(|&e| e < lo);
        let last = from + self.starts[from..to].partition_point(|&s| s <= hi);
        if first >= last {
            return (0, first, first);
        }
        let whole = self.before[last] - self.before[first];
        let cut_left = u64::from(lo.saturating_sub(self.starts[first]));
        let cut_right = u64::from(self.ends[last - 1].saturating_sub(hi));
        (whole - cut_left - cut_right, first, last)
    }
}

/// `net` as an inclusive `(first, last)` range.
pub fn range_of(net: Ipv4Net) -> (u32, u32) {
    let block = Block::from_net(net);
    (block.start, block.end())
}
