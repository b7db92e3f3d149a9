//! Controller layer: the tightening's report — the shared [`crate::controller::report::Report`]
//! over SecurityGroupTightening's status — and what the change engine needs to know of the kind
//! ([`Changing`]: its spec's answers and its guard, never widen).

use super::spec;
use crate::aws::GroupSelector;
use crate::controller::change::{ChangeStatus, Changing};
use crate::controller::report::{KindStatus, Reported};
use crate::crd::{
    AppliedRecord, AwsTarget, DeletionPolicy, PlanPhase, SecurityGroupTightening,
    SecurityGroupTighteningStatus,
};
use crate::domain::conditions::Condition;
use crate::domain::plan::Plan;
use crate::domain::tightening::guard::check_group;
use crate::domain::tightening::GroupManifest;
use kube::runtime::controller::Action;

/// One tightening reconcile's view of the status.
pub type Report<'a> = crate::controller::change::Report<'a, SecurityGroupTightening>;

impl KindStatus for SecurityGroupTighteningStatus {
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    fn conditions_mut(&mut self) -> &mut Vec<Condition> {
        &mut self.conditions
    }

    fn observed_generation(&self) -> Option<i64> {
        self.observed_generation
    }

    fn set_observed_generation(&mut self, generation: Option<i64>) {
        self.observed_generation = generation;
    }
}

impl ChangeStatus for SecurityGroupTighteningStatus {
    fn phase(&self) -> PlanPhase {
        self.phase
    }

    fn set_phase(&mut self, phase: PlanPhase) {
        self.phase = phase;
    }

    fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    fn plan_mut(&mut self) -> &mut Option<Plan> {
        &mut self.plan
    }

    fn set_plan_short_hash(&mut self, short: Option<String>) {
        self.plan_short_hash = short;
    }

    fn applied(&self) -> Option<&AppliedRecord> {
        self.applied.as_ref()
    }

    fn applied_mut(&mut self) -> &mut Option<AppliedRecord> {
        &mut self.applied
    }
}

impl Reported for SecurityGroupTightening {
    type Status = SecurityGroupTighteningStatus;

    fn current_status(&self) -> Option<&SecurityGroupTighteningStatus> {
        self.status.as_ref()
    }
}

impl Changing for SecurityGroupTightening {
    const SHORT_NAME: &'static str = "sgt";
    const MANIFEST_LABEL: &'static str = "sgtightener.io/tightening";
    const NOTHING_TO_CHANGE: &'static str = "no rule can be tightened from the evidence";

    fn target(&self) -> &AwsTarget {
        &self.spec.target
    }

    fn selector(&self) -> GroupSelector {
        spec::selector(&self.spec)
    }

    fn approved(&self) -> &str {
        &self.spec.approved
    }

    fn revert_requested(&self) -> bool {
        self.spec.revert
    }

    fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy
    }

    /// Never widen (DESIGN I1): every authorised rule lies inside a revoked rule.
    fn check_group(&self, entry: &GroupManifest) -> Result<(), String> {
        check_group(entry)
    }

    /// Diagnosis runs every `spec.diagnose.interval` while the plan is applied.
    fn applied_requeue(&self) -> Action {
        match spec::diagnose_interval(&self.spec) {
            Ok(interval) if self.spec.diagnose.enabled => Action::requeue(interval),
            _ => Action::await_change(),
        }
    }
}
