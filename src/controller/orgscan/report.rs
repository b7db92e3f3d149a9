//! Controller layer: the scan's report — the shared [`crate::controller::report::Report`] over
//! OrgRiskScan's status, and what a failed attempt leaves in the phase.

use super::store::Store;
use crate::controller::Error;
use crate::crd::orgscan::ScanPhase;
use crate::crd::{OrgRiskScan, OrgRiskScanStatus};

/// One scan reconcile's view of the status.
pub type Report<'a> = crate::controller::report::Report<'a, OrgRiskScan, dyn Store + 'a>;

crate::reported_kind!(OrgRiskScan, OrgRiskScanStatus);

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
