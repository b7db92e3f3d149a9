//! Domain layer (pure): the tightening's next step. Plain facts in (spec values, what status says,
//! the live snapshot hash), one [`Step`] out. The reconciler observes, asks, then acts.

/// Everything the decision depends on, observed before any AWS mutation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts<'a> {
    /// `spec.approved` (empty = not approved).
    pub approved: &'a str,
    /// `spec.revert`.
    pub revert: bool,
    /// `spec.evidence.requireFullWindow`.
    pub require_full_window: bool,
    /// The hash of the plan inputs now (spec fields and the replan annotation).
    pub inputs_hash: &'a str,
    /// The live ingress rules' hash now.
    pub live_snapshot_hash: &'a str,
    /// The plan in status, if any.
    pub plan: Option<PlanFacts<'a>>,
    /// The apply record in status, if any.
    pub applied: Option<AppliedFacts<'a>>,
    /// True when the evidence behind the plan in status covered its whole window.
    pub evidence_complete: bool,
    /// True when the evidence behind the plan in status is older than `evidence.maxAge`.
    pub evidence_stale: bool,
    /// True when diagnosis is enabled and its interval has passed since the last check.
    pub diagnose_due: bool,
}

/// What status says about the current plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanFacts<'a> {
    /// `status.plan.hash`.
    pub hash: &'a str,
    /// `status.plan.snapshotHash`.
    pub snapshot_hash: &'a str,
    /// `status.plan.inputsHash`.
    pub inputs_hash: &'a str,
    /// True when the plan revokes and authorises nothing.
    pub empty: bool,
}

/// What status says about the last apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppliedFacts<'a> {
    /// `status.applied.planHash`.
    pub plan_hash: &'a str,
    /// `status.applied.finishedAt` is set.
    pub finished: bool,
    /// The apply stopped on a failed AWS call (`phase: Halted`).
    pub halted: bool,
    /// `status.applied.revertedAt` is set.
    pub reverted: bool,
    /// A revert of this apply began (`status.applied.revertStartedAt`) and may have changed AWS.
    pub revert_started: bool,
}

impl AppliedFacts<'_> {
    /// The applied rules are live: started, no revert begun, not reverted.
    fn in_effect(&self) -> bool {
        !self.reverted && !self.revert_started
    }
}

/// Why a plan is (re)computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanReason {
    /// No plan yet.
    Created,
    /// A plan input (spec field or replan annotation) changed.
    InputsChanged,
    /// The live rules drifted from the plan's snapshot while it awaited approval.
    /// `approved_stale` is true when `spec.approved` named that (now stale) plan.
    SnapshotDrift { approved_stale: bool },
    /// `spec.approved` names the plan but its evidence is older than `evidence.maxAge` (an
    /// approval months later, or a plan waiting for complete evidence): read it again.
    EvidenceStale,
}

/// Why an approved plan is not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `requireFullWindow` and the evidence has gaps or is younger than the window.
    EvidenceIncomplete,
}

/// The one next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Collect evidence and compute the plan.
    Plan(PlanReason),
    /// Wait for `spec.approved`; `mismatch` when it is set to another hash.
    AwaitApproval { mismatch: bool },
    /// Approved but must not be applied.
    Refuse(Refusal),
    /// Start applying the approved plan (write-ahead first).
    Apply,
    /// An apply was started and not finished (restart mid-apply): finish it.
    ResumeApply,
    /// The apply stopped on a failed call; only a revert (or a new plan after it) moves on.
    Halted,
    /// Restore the pre-apply rules.
    Revert,
    /// A revert began and was not verified, and `spec.revert` is false again: AWS may hold the
    /// pre-apply rules, so the plan must not be reported as applied. Only a finished revert (or
    /// a new plan after it) moves on.
    RevertUnfinished,
    /// Look for rejected traffic after the apply.
    Diagnose,
    /// Nothing to do: applied, reverted, or a plan without changes.
    Nothing,
}

/// The next step for `facts`. Order matters: a revert request beats everything, an unfinished
/// apply is finished before anything is re-planned, a plan is recomputed before it is judged.
pub fn decide(facts: &Facts) -> Step {
    if let Some(step) = revert_step(facts) {
        return step;
    }
    if let Some(step) = apply_in_progress(facts) {
        return step;
    }
    if let Some(reason) = plan_reason(facts) {
        return Step::Plan(reason);
    }
    let plan = facts
        .plan
        .expect("plan_reason returns Created without a plan");
    if applied_in_effect(facts, plan.hash) {
        return if facts.diagnose_due {
            Step::Diagnose
        } else {
            Step::Nothing
        };
    }
    approval_step(facts, plan)
}

fn revert_step(facts: &Facts) -> Option<Step> {
    if !facts.revert {
        return None;
    }
    Some(match facts.applied {
        Some(applied) if !applied.reverted => Step::Revert,
        _ => Step::Nothing,
    })
}

fn apply_in_progress(facts: &Facts) -> Option<Step> {
    let applied = facts.applied?;
    if applied.revert_started && !applied.reverted {
        return Some(Step::RevertUnfinished);
    }
    if applied.finished || applied.reverted {
        return None;
    }
    Some(if applied.halted {
        Step::Halted
    } else {
        Step::ResumeApply
    })
}

fn applied_in_effect(facts: &Facts, plan_hash: &str) -> bool {
    facts
        .applied
        .is_some_and(|a| a.plan_hash == plan_hash && a.in_effect())
}

fn plan_reason(facts: &Facts) -> Option<PlanReason> {
    let Some(plan) = facts.plan else {
        return Some(PlanReason::Created);
    };
    if plan.inputs_hash != facts.inputs_hash {
        return Some(PlanReason::InputsChanged);
    }
    let drifted = plan.snapshot_hash != facts.live_snapshot_hash;
    let approved = !facts.approved.is_empty() && facts.approved == plan.hash;
    if drifted && !applied_in_effect(facts, plan.hash) {
        return Some(PlanReason::SnapshotDrift {
            approved_stale: approved,
        });
    }
    if approved && facts.evidence_stale && !applied_in_effect(facts, plan.hash) {
        return Some(PlanReason::EvidenceStale);
    }
    None
}

fn approval_step(facts: &Facts, plan: PlanFacts) -> Step {
    if facts.approved.is_empty() {
        return Step::AwaitApproval { mismatch: false };
    }
    if facts.approved != plan.hash {
        return Step::AwaitApproval { mismatch: true };
    }
    if facts.require_full_window && !facts.evidence_complete {
        return Step::Refuse(Refusal::EvidenceIncomplete);
    }
    if plan.empty {
        return Step::Nothing;
    }
    Step::Apply
}
