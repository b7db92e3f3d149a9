//! Controller layer: the scan's report — the shared [`crate::controller::report::Report`] over
//! OrgRiskScan's status, and what a failed attempt leaves in the phase.

use super::store::Store;
use crate::controller::report::{KindStatus, Reported};
use crate::controller::Error;
use crate::crd::orgscan::ScanPhase;
use crate::crd::{OrgRiskScan, OrgRiskScanStatus};
use crate::domain::conditions::Condition;

/// One scan reconcile's view of the status.
pub type Report<'a> = crate::controller::report::Report<'a, OrgRiskScan, dyn Store + 'a>;

impl KindStatus for OrgRiskScanStatus {
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

impl Reported for OrgRiskScan {
    type Status = OrgRiskScanStatus;

    fn current_status(&self) -> Option<&OrgRiskScanStatus> {
        self.status.as_ref()
    }
}

/// Reports a failed reconcile (`Ready=False`), writes it, and marks the phase `Failed` when a
/// scan was running or none has finished yet (a finished scan's results stay in status).
pub async fn failed(report: &mut Report<'_>, error: &Error) {
    report.failed_conditions(error);
    let scanning = report.status.phase == ScanPhase::Scanning;
    if scanning || report.status.last_scan.is_none() {
        report.status.phase = ScanPhase::Failed;
    }
    report.write_failed().await;
}
