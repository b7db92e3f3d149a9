//! Controller layer: the tightening's report — the shared [`crate::controller::report::Report`]
//! over SecurityGroupTightening's status — and what the change engine needs to know of the kind
//! ([`Changing`]: its spec's answers and its guard, never widen).

use super::spec;
use crate::aws::GroupSelector;
use crate::controller::change::Changing;
use crate::crd::{
    AwsTarget, DeletionPolicy, SecurityGroupTightening, SecurityGroupTighteningStatus,
};
use crate::domain::tightening::guard::check_group;
use crate::domain::tightening::GroupManifest;
use kube::runtime::controller::Action;

/// One tightening reconcile's view of the status.
pub type Report<'a> = crate::controller::change::Report<'a, SecurityGroupTightening>;

crate::changing_kind!(SecurityGroupTightening, SecurityGroupTighteningStatus);

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
