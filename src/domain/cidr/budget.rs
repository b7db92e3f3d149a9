//! Domain layer (pure): collapse steps 2 and 3 (DESIGN §4) under one shared rule budget — widen
//! the tolerance in 0.05 steps up to 0.95, then force-fit by always taking the cheapest merge.

use super::merge::greedy_merge;
use super::scan::blocks_at;
use super::{Block, Observed};
use ipnet::Ipv4Net;

/// Tolerance widening step.
pub const TOLERANCE_STEP: f64 = 0.05;
/// The widest tolerance widening reaches before force-fitting.
pub const MAX_TOLERANCE: f64 = 0.95;

/// The result of collapsing one or more rules' sources under one budget.
#[derive(Debug, Clone, PartialEq)]
pub struct CollapseOutcome {
    /// Replacement blocks per input, in input order; each sorted and inside its input's CIDR.
    pub blocks: Vec<Vec<Ipv4Net>>,
    /// The tolerance asked for (clamped to 0..=1).
    pub tolerance_requested: f64,
    /// The tolerance the blocks were computed at.
    pub tolerance_used: f64,
    /// Every widened tolerance tried after the first, in order (empty when the first fitted).
    pub tolerance_steps: Vec<f64>,
    /// Set when blocks were merged beyond tolerance 0.95.
    pub force_fit: Option<ForceFit>,
    /// False only when even one block per input exceeds the budget.
    pub within_budget: bool,
}

/// What force-fitting did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForceFit {
    /// Blocks at tolerance 0.95, before force-fitting.
    pub blocks_before: usize,
    /// Blocks after.
    pub blocks_after: usize,
    /// Never-observed addresses the merges added.
    pub added_addresses: u64,
}

impl CollapseOutcome {
    /// Total number of blocks (rules) over all inputs.
    pub fn rule_count(&self) -> usize {
        self.blocks.iter().map(Vec::len).sum()
    }

    /// Human-readable warnings for the widening steps and the force-fit.
    pub fn warnings(&self, budget: usize) -> Vec<String> {
        let mut out = Vec::new();
        if !self.tolerance_steps.is_empty() {
            let steps: Vec<String> = self
                .tolerance_steps
                .iter()
                .map(|t| format!("{t:.2}"))
                .collect();
            out.push(format!(
                "tolerance widened from {:.2} to {:.2} (steps {}) to fit {budget} rules",
                self.tolerance_requested,
                self.tolerance_used,
                steps.join(", ")
            ));
        }
        if let Some(fit) = &self.force_fit {
            out.push(format!(
                "force-fit: merged {} blocks into {} beyond tolerance {MAX_TOLERANCE:.2}, trusting {} never-observed addresses; request a rules-per-group quota increase from AWS Support to keep precision",
                fit.blocks_before, fit.blocks_after, fit.added_addresses
            ));
        }
        if !self.within_budget {
            out.push(format!("cannot fit {} rules: one rule per replaced rule already exceeds the budget of {budget}", self.rule_count()));
        }
        out
    }
}

/// Collapses one rule's sources inside `within` to at most `budget` blocks.
pub fn collapse(
    observed: &Observed,
    within: Ipv4Net,
    budget: usize,
    tolerance: f64,
) -> CollapseOutcome {
    collapse_shared(&[(observed, within)], budget, tolerance)
}

/// Collapses several rules' sources (each inside its own CIDR) under one shared budget: one
/// tolerance for all, widened together; force-fit merges whichever pair anywhere is cheapest.
/// Blocks never leave their input's CIDR (so never cross an RFC 1918 boundary either).
pub fn collapse_shared(
    inputs: &[(&Observed, Ipv4Net)],
    budget: usize,
    tolerance: f64,
) -> CollapseOutcome {
    let within: Vec<Block> = inputs
        .iter()
        .map(|(_, net)| Block::from_net(*net))
        .collect();
    let requested = round(tolerance.clamp(0.0, 1.0));
    let mut tolerance = requested;
    let mut steps = Vec::new();
    loop {
        let last = tolerance >= MAX_TOLERANCE;
        let limit = if last { usize::MAX } else { budget };
        if let Some(blocks) = pass(inputs, &within, tolerance, limit) {
            let count: usize = blocks.iter().map(Vec::len).sum();
            if count <= budget || last {
                let (blocks, force_fit) = match count > budget {
                    true => force_fit(blocks, budget),
                    false => (blocks, None),
                };
                return outcome(blocks, (requested, tolerance), steps, force_fit, budget);
            }
        }
        tolerance = round((tolerance + TOLERANCE_STEP).min(MAX_TOLERANCE));
        steps.push(tolerance);
    }
}

fn outcome(
    blocks: Vec<Vec<Block>>,
    (requested, used): (f64, f64),
    steps: Vec<f64>,
    force_fit: Option<ForceFit>,
    budget: usize,
) -> CollapseOutcome {
    let blocks: Vec<Vec<Ipv4Net>> = blocks
        .into_iter()
        .map(|bs| bs.into_iter().map(Block::to_net).collect())
        .collect();
    let count: usize = blocks.iter().map(Vec::len).sum();
    CollapseOutcome {
        blocks,
        tolerance_requested: requested,
        tolerance_used: used,
        tolerance_steps: steps,
        force_fit,
        within_budget: count <= budget,
    }
}

/// Rounds away float drift from repeated 0.05 steps.
fn round(t: f64) -> f64 {
    (t * 1e9).round() / 1e9
}

/// Step 1 for every input; `None` once the total is certain to exceed `limit`.
fn pass(
    inputs: &[(&Observed, Ipv4Net)],
    within: &[Block],
    tolerance: f64,
    limit: usize,
) -> Option<Vec<Vec<Block>>> {
    let mut used = 0usize;
    let mut out = Vec::with_capacity(inputs.len());
    for ((observed, _), within) in inputs.iter().zip(within) {
        let blocks = blocks_at(observed, *within, tolerance, limit.checked_sub(used)?)?;
        used += blocks.len();
        out.push(blocks);
    }
    (used <= limit).then_some(out)
}

/// Step 3: merge neighbouring blocks of one input, cheapest covering block first (fewest
/// never-observed addresses added), until the total fits `budget` or every input has one block.
fn force_fit(lists: Vec<Vec<Block>>, budget: usize) -> (Vec<Vec<Block>>, Option<ForceFit>) {
    let before: usize = lists.iter().map(Vec::len).sum();
    let (out, added) = greedy_merge(lists, budget, |cover, a, b| {
        Some(cover.size() - a.size() - b.size())
    });
    let after = out.iter().map(Vec::len).sum();
    (
        out,
        Some(ForceFit {
            blocks_before: before,
            blocks_after: after,
            added_addresses: added,
        }),
    )
}
