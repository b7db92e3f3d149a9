//! Domain layer (pure): collapse step 1 (DESIGN §4) — for each observed source the widest block
//! inside the rule's CIDR whose gap is within tolerance — and the lossless merge of the result.
//!
//! Widest-first search with two shortcuts that keep it O(n log n):
//! - a block of size `s` can only fit if its parent already holds `(1 − t)·s` observed addresses,
//!   so the search jumps straight past every level that the parent's count rules out;
//! - consecutive sources share their wide ancestors, so the failing levels are cached on a path
//!   and every count only searches the intervals of its parent.

use super::{Block, Observed};

/// The widest-first search for one rule.
struct Scanner<'a> {
    observed: &'a Observed,
    within: Block,
    tolerance: f64,
    /// Blocks already known not to fit, each nested in the previous one.
    path: Vec<Level>,
}

/// One block that did not fit: its count and the index range of its intervals.
struct Level {
    block: Block,
    count: u64,
    from: usize,
    to: usize,
}

/// True when a block of `size` addresses holding `count` observed ones has gap ≤ `tolerance`.
/// (`count` may be an upper bound larger than `size`: then the block is not ruled out.)
pub(super) fn fits(size: u64, count: u64, tolerance: f64) -> bool {
    size.saturating_sub(count) as f64 <= tolerance * size as f64
}

impl Scanner<'_> {
    /// The widest block containing the observed address `x`, inside `within`, that fits.
    fn widest(&mut self, x: u32) -> Block {
        while self
            .path
            .last()
            .is_some_and(|top| !top.block.contains_addr(x))
        {
            self.path.pop();
        }
        loop {
            let (prefix, from, to) = match self.path.last() {
                None => (self.within.prefix, 0, self.observed.interval_count()),
                Some(top) => (
                    self.next_prefix(top.block.prefix, top.count),
                    top.from,
                    top.to,
                ),
            };
            let block = Block::containing(x, prefix);
            let (count, from, to) =
                self.observed
                    .count_in_range(block.start, block.end(), from, to);
            if fits(block.size(), count, self.tolerance) {
                return block;
            }
            self.path.push(Level {
                block,
                count,
                from,
                to,
            });
        }
    }

    /// The widest prefix narrower than `prefix` that a parent holding `count` observed addresses
    /// does not already rule out. A /32 around an observed address always fits.
    fn next_prefix(&self, prefix: u8, count: u64) -> u8 {
        let mut next = prefix + 1;
        while next < 32 && !fits(1u64 << (32 - u32::from(next)), count, self.tolerance) {
            next += 1;
        }
        next
    }
}

/// Collapse step 1 for one rule at one tolerance, merged losslessly. Only observed addresses
/// inside `within` count, and every block lies inside `within`. Returns `None` as soon as the
/// result is certain to need more than `max_rules` blocks (each run of contiguous blocks needs at
/// least one rule), so an over-budget tolerance costs O(max_rules · log n), not a full pass.
pub fn blocks_at(
    observed: &Observed,
    within: Block,
    tolerance: f64,
    max_rules: usize,
) -> Option<Vec<Block>> {
    let tolerance = tolerance.clamp(0.0, 1.0);
    let (lo, hi) = (within.start, within.end());
    let n = observed.interval_count();
    let mut scanner = Scanner {
        observed,
        within,
        tolerance,
        path: Vec::new(),
    };
    let mut out: Vec<Block> = Vec::new();
    let mut runs = 0usize;
    let mut i = observed.first_ending_at_or_after(lo);
    let mut x = match i < n {
        true => observed.interval(i).0.max(lo),
        false => return Some(out),
    };
    while x <= hi {
        let block = scanner.widest(x);
        if out
            .last()
            .is_none_or(|prev| prev.end().checked_add(1) != Some(block.start))
        {
            runs += 1;
            if runs > max_rules {
                return None;
            }
        }
        out.push(block);
        let Some(next) = block.end().checked_add(1) else {
            break;
        };
        while i < n && observed.interval(i).1 < next {
            i += 1;
        }
        if i == n {
            break;
        }
        x = observed.interval(i).0.max(next);
    }
    Some(merge_lossless(out))
}

/// Merges blocks without adding any address: drops blocks contained in others and joins sibling
/// pairs into their parent, repeatedly. The result is sorted and is the fewest blocks that cover
/// exactly the same addresses.
pub fn merge_lossless(mut blocks: Vec<Block>) -> Vec<Block> {
    blocks.sort_unstable();
    let mut stack: Vec<Block> = Vec::with_capacity(blocks.len());
    for block in blocks {
        if stack.last().is_some_and(|top| top.contains(block)) {
            continue;
        }
        stack.push(block);
        while stack.len() >= 2 {
            let (a, b) = (stack[stack.len() - 2], stack[stack.len() - 1]);
            if a.prefix != b.prefix
                || a.prefix == 0
                || Block::containing(a.start, a.prefix - 1)
                    != Block::containing(b.start, a.prefix - 1)
            {
                break;
            }
            stack.truncate(stack.len() - 2);
            stack.push(Block::containing(a.start, a.prefix - 1));
        }
    }
    stack
}
