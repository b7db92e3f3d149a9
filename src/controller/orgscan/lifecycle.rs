//! Controller layer: the scan's schedule and what a scan leaves in status — `Scanning` while it
//! runs; then totals, ranking, failures, the `Ready`, `Complete` and `Compliant` conditions,
//! the `ScanComplete` event (and `CriticalFindings` when compliance is lost), the metrics, and
//! when the next scan is due.

use super::report::Report;
use crate::controller::report::EventKind;
use crate::crd::orgscan::{
    AccountRisk, ReportLocation, ScanFailure, ScanPhase, ScanSummary, SeverityCounts,
};
use crate::domain::conditions::{format_time, reasons, types, Status};
use crate::domain::risk::tally::{scan_due, LastAttempt, ScanDue, ScanReason, Tally};
use crate::metrics::{Metrics, ResourceLabels};
use jiff::{SignedDuration, Timestamp};
use kube::runtime::controller::Action;
use kube::ResourceExt;
use std::collections::BTreeSet;
use std::time::Duration;

/// Accounts in `status.topAccounts`.
pub const TOP_ACCOUNTS: usize = 20;
/// After a failed attempt (nothing scanned, or the reports not written), the next attempt comes
/// at the latest after this.
const RETRY_FAILED: Duration = Duration::from_secs(300);

/// Whether a scan is due now, and why.
pub fn due(report: &Report<'_>, inputs: &str) -> ScanDue {
    let status = &report.status;
    let last = status
        .inputs_hash
        .as_deref()
        .map(|inputs_hash| LastAttempt {
            inputs_hash,
            next_scan_at: status
                .next_scan_at
                .as_deref()
                .and_then(|t| t.parse().ok())
                .unwrap_or(report.now),
        });
    scan_due(last, inputs, report.now)
}

/// After a failed attempt, the next one comes at the latest after this.
pub fn retry_after(interval: Duration) -> Duration {
    interval.min(RETRY_FAILED)
}

/// Not due: wait until `next`, writing nothing. The status was written by the last attempt;
/// this reconcile may even have been handed an older copy of it (woken by that attempt's first
/// write), which must not be written back over the attempt's result.
pub fn idle(report: &mut Report<'_>, next: Timestamp) -> Action {
    report.status = report.previous.clone();
    let wait = report.now.duration_until(next).unsigned_abs();
    Action::requeue(wait.max(Duration::from_secs(1)))
}

/// Marks the scan as running and writes it, before the first AWS call of the scan. The attempt
/// is recorded first (its inputs, a retry time), so a failure is retried then — not at once on
/// the controller's own status write.
pub async fn scanning(
    report: &mut Report<'_>,
    reason: ScanReason,
    inputs: &str,
    interval: Duration,
) -> Result<(), crate::controller::Error> {
    let why = match reason {
        ScanReason::First => "first scan",
        ScanReason::InputsChanged => "the spec or the sgtightener.io/rescan annotation changed",
        ScanReason::Due => "the next scan is due",
    };
    report.status.inputs_hash = Some(inputs.to_owned());
    let retry = SignedDuration::try_from(retry_after(interval)).unwrap_or_default();
    report.status.next_scan_at = Some(format_time(report.now + retry));
    let spec = &report.object.spec;
    let message = format!("scanning ({why}) in {} region(s)", spec.regions.len());
    report.status.phase = ScanPhase::Scanning;
    report.condition(
        types::RECONCILING,
        Status::True,
        reasons::PROGRESSING,
        &message,
    );
    // Ready and observedGeneration keep what the last finished reconcile said until this scan
    // ends: kstatus reads the older observedGeneration as "in progress".
    let generation = report.status.observed_generation;
    report.status.observed_generation = report.previous.observed_generation;
    let written = report.checkpoint().await;
    report.status.observed_generation = generation;
    written
}

/// A finished scan, as the report sees it.
pub struct Finished<'a> {
    /// Findings per account.
    pub tally: &'a Tally,
    /// Accounts entered with the role.
    pub scanned_accounts: u32,
    /// Account × region pairs not (fully) read, forbidden accounts included.
    pub failed_pairs: u32,
    /// Every failure: forbidden accounts, accounts not entered, regions not read.
    pub failures: Vec<ScanFailure>,
    /// Accounts the scan was asked to cover.
    pub accounts: usize,
    /// When it started.
    pub started_at: Timestamp,
    /// When it finished.
    pub finished_at: Timestamp,
    /// How long it took.
    pub took: Duration,
    /// Where its report is.
    pub report: ReportLocation,
    /// The spec's interval.
    pub interval: Duration,
}

fn count(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn counts(c: &crate::domain::risk::SeverityCounts) -> SeverityCounts {
    SeverityCounts {
        critical: count(c.critical),
        high: count(c.high),
        medium: count(c.medium),
        low: count(c.low),
    }
}

/// The totals of a finished scan, as `status.lastScan` and the report show them.
pub fn summary(report: &Report<'_>, done: &Finished<'_>) -> ScanSummary {
    ScanSummary {
        started_at: format_time(done.started_at),
        finished_at: Some(format_time(done.finished_at)),
        accounts: done.scanned_accounts,
        regions: count(report.object.spec.regions.len() as u64),
        findings: counts(&done.tally.totals()),
        failed_pairs: done.failed_pairs,
    }
}

/// Puts a finished scan into status, events and metrics; returns when to look again.
pub async fn scanned(report: &mut Report<'_>, metrics: &Metrics, done: Finished<'_>) -> Action {
    let tally = done.tally;
    let totals = counts(&tally.totals());
    report.status.last_scan = Some(summary(report, &done));
    report.status.top_accounts = tally
        .ranked(TOP_ACCOUNTS)
        .into_iter()
        .map(|a| AccountRisk {
            risk_score: a.risk_score,
            critical: count(a.counts.critical),
            high: count(a.counts.high),
            medium: count(a.counts.medium),
            low: count(a.counts.low),
            account_name: a.account_name,
            account_id: a.account_id,
        })
        .collect();
    report.status.report = Some(done.report.clone());
    report.status.failures = done.failures.clone();
    conditions(report, &done, totals).await;
    record_metrics(report, metrics, &done);
    let wait = match report.status.phase {
        ScanPhase::Failed => retry_after(done.interval),
        _ => done.interval,
    };
    let next = done.finished_at + SignedDuration::try_from(wait).unwrap_or_default();
    report.status.next_scan_at = Some(format_time(next));
    Action::requeue(wait)
}

async fn conditions(report: &mut Report<'_>, done: &Finished<'_>, totals: SeverityCounts) {
    let scanned = done.scanned_accounts;
    let regions = report.object.spec.regions.len();
    let found = format!(
        "{} critical, {} high, {} medium, {} low",
        totals.critical, totals.high, totals.medium, totals.low
    );
    let summary = format!("scanned {scanned} account(s) × {regions} region(s): {found}");
    let failures = &done.failures;
    report.status.phase = match (failures.is_empty(), scanned) {
        (true, _) => ScanPhase::Complete,
        (false, 0) => ScanPhase::Failed,
        (false, _) => ScanPhase::Partial,
    };
    if failures.is_empty() {
        let message = format!("every account and region was scanned; {summary}");
        report.condition(
            types::COMPLETE,
            Status::True,
            reasons::SCAN_COMPLETE,
            &message,
        );
    } else {
        let message = format!(
            "{} of {} account(s) not fully scanned, e.g. {} {}: {}; see status.failures",
            failed_accounts(failures),
            done.accounts,
            failures[0].account_id,
            failures[0].region,
            failures[0].reason
        );
        report.condition(
            types::COMPLETE,
            Status::False,
            reasons::SCAN_INCOMPLETE,
            &message,
        );
    }
    compliance(report, totals).await;
    if report.status.phase == ScanPhase::Failed {
        report.stalled(
            reasons::SCAN_INCOMPLETE,
            "no account could be scanned; see status.failures",
        );
    } else {
        let reason = match report.status.phase {
            ScanPhase::Complete => reasons::SCAN_COMPLETE,
            _ => reasons::SCAN_INCOMPLETE,
        };
        report.ready(reason, &summary);
    }
    let note = format!(
        "{summary}; {} failure(s); took {:.1?}",
        failures.len(),
        done.took
    );
    report
        .event(EventKind::Normal, reasons::SCAN_COMPLETE, note)
        .await;
}

async fn compliance(report: &mut Report<'_>, totals: SeverityCounts) {
    if totals.critical == 0 {
        let message = "no rule is open to the world on a critical port";
        report.condition(
            types::COMPLIANT,
            Status::True,
            reasons::NO_CRITICAL_FINDINGS,
            message,
        );
        return;
    }
    let riskiest = report
        .status
        .top_accounts
        .first()
        .map(|a| a.account_id.clone())
        .unwrap_or_default();
    let message = format!(
        "{} CRITICAL finding(s): rules open to the world on a critical port; riskiest account {riskiest}",
        totals.critical
    );
    let flipped = report.flipped(types::COMPLIANT, Status::False);
    report.condition(
        types::COMPLIANT,
        Status::False,
        reasons::CRITICAL_FINDINGS,
        &message,
    );
    if flipped {
        report
            .event(EventKind::Warning, reasons::CRITICAL_FINDINGS, message)
            .await;
    }
}

fn failed_accounts(failures: &[ScanFailure]) -> usize {
    failures
        .iter()
        .map(|f| f.account_id.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

fn record_metrics(report: &Report<'_>, metrics: &Metrics, done: &Finished<'_>) {
    let namespace = report.object.namespace().unwrap_or_default();
    let name = report.object.name_any();
    let resource = ResourceLabels {
        namespace: namespace.clone(),
        name: name.clone(),
    };
    let tally = done.tally;
    let per_account = tally
        .counts()
        .map(|(id, c)| (id, [c.critical, c.high, c.medium, c.low]));
    metrics.record_scan_accounts(&namespace, &name, per_account);
    let totals = tally.totals();
    let severities = [
        ("critical", totals.critical),
        ("high", totals.high),
        ("medium", totals.medium),
        ("low", totals.low),
    ];
    for (severity, value) in severities {
        let labels = crate::metrics::SeverityLabels {
            namespace: namespace.clone(),
            name: name.clone(),
            severity,
        };
        metrics
            .scan_findings
            .get_or_create(&labels)
            .set(i64::try_from(value).unwrap_or(i64::MAX));
    }
    metrics
        .scan_duration_seconds
        .get_or_create(&resource)
        .set(done.took.as_secs_f64());
    metrics
        .scan_accounts_failed
        .get_or_create(&resource)
        .set(failed_accounts(&done.failures) as i64);
}
