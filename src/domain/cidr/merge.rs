//! Domain layer (pure): greedy merging of neighbouring blocks, cheapest first — the engine of
//! force-fit (DESIGN §4 step 3) and of compaction (§6.4). O(m log m) with a heap of candidate
//! pairs and lazily discarded stale entries.

use super::scan::merge_lossless;
use super::Block;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A block in the per-input linked lists.
struct Node {
    block: Block,
    input: usize,
    prev: Option<usize>,
    next: Option<usize>,
    alive: bool,
}

/// A candidate merge: (cost, input, left start, left node, right node) — ties go to the lower
/// input and address, so the result is deterministic.
type Candidate = Reverse<(u64, usize, u32, usize, usize)>;

/// The lists being merged and the queue of candidate merges.
struct Merger<F> {
    nodes: Vec<Node>,
    heap: BinaryHeap<Candidate>,
    cost: F,
}

/// Merges neighbouring blocks of the same input (each list sorted and disjoint) into their
/// smallest covering block, cheapest first, while more than `max_blocks` remain. `cost(cover, a,
/// b)` prices a merge, or refuses it with `None`. A merge also absorbs any neighbour inside the
/// cover. Returns the merged lists (each then merged losslessly) and the addresses added.
pub(super) fn greedy_merge<F>(
    lists: Vec<Vec<Block>>,
    max_blocks: usize,
    cost: F,
) -> (Vec<Vec<Block>>, u64)
where
    F: Fn(Block, Block, Block) -> Option<u64>,
{
    let count: usize = lists.iter().map(Vec::len).sum();
    let mut merger = Merger {
        nodes: Vec::with_capacity(count * 2),
        heap: BinaryHeap::new(),
        cost,
    };
    for (input, list) in lists.iter().enumerate() {
        for (k, block) in list.iter().enumerate() {
            let id = merger.nodes.len();
            let prev = (k > 0).then(|| id - 1);
            let next = (k + 1 < list.len()).then(|| id + 1);
            merger.nodes.push(Node {
                block: *block,
                input,
                prev,
                next,
                alive: true,
            });
        }
    }
    for id in 0..merger.nodes.len() {
        merger.push_candidate(id);
    }
    let (mut count, mut added) = (count, 0u64);
    while count > max_blocks {
        let Some(Reverse((_, _, _, left, right))) = merger.heap.pop() else {
            break;
        };
        let nodes = &merger.nodes;
        if !nodes[left].alive || !nodes[right].alive || nodes[left].next != Some(right) {
            continue;
        }
        let (absorbed, cost) = merger.merge(left, right);
        count -= absorbed - 1;
        added += cost;
    }
    let mut out: Vec<Vec<Block>> = vec![Vec::new(); lists.len()];
    for node in merger.nodes.iter().filter(|n| n.alive) {
        out[node.input].push(node.block);
    }
    (out.into_iter().map(merge_lossless).collect(), added)
}

impl<F: Fn(Block, Block, Block) -> Option<u64>> Merger<F> {
    /// Queues the merge of node `id` with its right neighbour, unless `cost` refuses it.
    fn push_candidate(&mut self, id: usize) {
        let Some(next) = self.nodes[id].next else {
            return;
        };
        let (a, b) = (self.nodes[id].block, self.nodes[next].block);
        if let Some(cost) = (self.cost)(a.cover(b), a, b) {
            self.heap
                .push(Reverse((cost, self.nodes[id].input, a.start, id, next)));
        }
    }

    /// Replaces `left`, `right` and any neighbour inside their covering block with that block.
    /// Returns how many blocks it absorbed and how many addresses it added.
    fn merge(&mut self, left: usize, right: usize) -> (usize, u64) {
        let nodes = &mut self.nodes;
        let cover = nodes[left].block.cover(nodes[right].block);
        let (mut first, mut last) = (left, right);
        while let Some(p) = nodes[first]
            .prev
            .filter(|&p| cover.contains(nodes[p].block))
        {
            first = p;
        }
        while let Some(n) = nodes[last].next.filter(|&n| cover.contains(nodes[n].block)) {
            last = n;
        }
        let (mut absorbed, mut covered, mut id) = (0usize, 0u64, Some(first));
        while let Some(current) = id {
            nodes[current].alive = false;
            absorbed += 1;
            covered += nodes[current].block.size();
            id = if current == last {
                None
            } else {
                nodes[current].next
            };
        }
        let (prev, next, input) = (nodes[first].prev, nodes[last].next, nodes[left].input);
        let new = nodes.len();
        nodes.push(Node {
            block: cover,
            input,
            prev,
            next,
            alive: true,
        });
        if let Some(n) = next {
            nodes[n].prev = Some(new);
        }
        if let Some(p) = prev {
            nodes[p].next = Some(new);
            self.push_candidate(p);
        }
        self.push_candidate(new);
        (absorbed, cover.size() - covered)
    }
}
