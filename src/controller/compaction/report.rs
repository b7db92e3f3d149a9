//! Controller layer: the compaction's report — the shared [`crate::controller::report::Report`]
//! over SecurityGroupCompaction's status — and what the change engine needs to know of the kind
//! ([`Changing`]: its spec's answers and its guard, `domain::tightening::compact_guard`).

use super::spec;
use crate::aws::GroupSelector;
use crate::controller::change::Changing;
use crate::crd::{
    AwsTarget, DeletionPolicy, SecurityGroupCompaction, SecurityGroupCompactionStatus,
};
use crate::domain::plan::Plan;
use crate::domain::tightening::compact_guard::check_compaction;
use crate::domain::tightening::GroupManifest;

/// One compaction reconcile's view of the status.
pub type Report<'a> = crate::controller::change::Report<'a, SecurityGroupCompaction>;

crate::changing_kind!(SecurityGroupCompaction, SecurityGroupCompactionStatus);

impl Changing for SecurityGroupCompaction {
    const SHORT_NAME: &'static str = "sgc";
    const MANIFEST_LABEL: &'static str = "sgtightener.io/compaction";
    const NOTHING_TO_CHANGE: &'static str = "no rules can be merged within spec.ratio";

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

    fn applied_summary(plan: &Plan) -> String {
        let s = &plan.summary;
        let added: u64 = plan.groups.iter().filter_map(|g| g.addresses_added).sum();
        format!(
            "revoked {} rules, authorised {} rules: {} rules saved, {added} never-granted addresses added",
            s.rules_revoked,
            s.rules_authorised,
            s.rules_saved.unwrap_or_default()
        )
    }

    /// Only RFC 1918 CIDR rules that are not break-glass, merged within `spec.ratio`, every
    /// revoked CIDR still covered.
    fn check_group(&self, entry: &GroupManifest) -> Result<(), String> {
        check_compaction(entry, self.spec.ratio)
    }
}
