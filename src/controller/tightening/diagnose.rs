//! Controller layer: diagnosis after an apply (sg_diagnose) — REJECT flows over
//! `lookbackHours` to the groups' ENIs that no current rule covers → `status.diagnosis`,
//! `RejectedTraffic`, a Warning event on the transition to True, the rejected-sources metric.

use super::report::Report;
use super::{observe, spec, Deps};
use crate::aws::{SecurityGroups, Target};
use crate::controller::report::EventKind;
use crate::controller::Error;
use crate::crd::tightening::{Diagnosis, RejectedSource};
use crate::domain::conditions::{format_time, reasons, types, Status};
use crate::domain::evidence::Window;
use crate::domain::flowlog::ActionFilter;
use crate::domain::snapshot::SecurityGroup;
use crate::domain::tightening::diagnose::protocol_name;
use crate::domain::tightening::rejected_sources;
use crate::metrics::ResourceLabels;
use kube::runtime::controller::Action;
use kube::ResourceExt;

/// Runs the diagnosis, reports it, and keeps the applied state's conditions.
pub async fn run(
    report: &mut Report<'_>,
    deps: &Deps<'_>,
    target: &Target,
    sg: &dyn SecurityGroups,
    groups: &[SecurityGroup],
) -> Result<Action, Error> {
    let object = report.object;
    let enis = observe::interfaces(sg, groups).await?;
    let hours = i64::from(object.spec.diagnose.lookback_hours);
    let window = Window {
        start: deps.now - jiff::SignedDuration::from_hours(hours),
        end: deps.now,
    };
    let document = observe::read(
        deps.aws,
        target,
        object,
        window,
        ActionFilter::Reject,
        // rejected flows need no per-interface coverage
        &[],
    )
    .await?;
    let found = rejected_sources(&document.flows, groups, &enis);
    let last_seen = format_time(window.end);
    let rejected: Vec<RejectedSource> = found
        .iter()
        .map(|r| RejectedSource {
            source: r.source.to_string(),
            protocol: protocol_name(r.protocol),
            port: r.port,
            group_ids: r.group_ids.clone(),
            flows: r.flows,
            last_seen: last_seen.clone(),
        })
        .collect();
    let labels = ResourceLabels {
        namespace: object.namespace().unwrap_or_default(),
        name: object.name_any(),
    };
    deps.metrics
        .rejected_sources
        .get_or_create(&labels)
        .set(rejected.len() as i64);
    condition(report, &rejected).await;
    report.status.diagnosis = Some(Diagnosis {
        checked_at: format_time(deps.now),
        rejected_sources: rejected,
    });
    let step = crate::domain::tightening::Step::Nothing;
    let action = super::lifecycle::report_step(report, step).await;
    Ok(match spec::diagnose_interval(&object.spec) {
        Ok(interval) => Action::requeue(interval),
        Err(_) => action,
    })
}

async fn condition(report: &mut Report<'_>, rejected: &[RejectedSource]) {
    if rejected.is_empty() {
        report.condition(
            types::REJECTED_TRAFFIC,
            Status::False,
            reasons::NO_REJECTED_TRAFFIC,
            "no rejected private traffic that the rules should allow",
        );
        return;
    }
    let sample: Vec<String> = rejected
        .iter()
        .take(5)
        .map(|r| format!("{} {}:{}", r.source, r.protocol, r.port))
        .collect();
    let message = format!(
        "{} private sources were rejected by the tightened groups (e.g. {}); if they are legitimate add them to spec.evidence.additionalSources and approve the new plan",
        rejected.len(),
        sample.join(", ")
    );
    let was_true =
        crate::domain::conditions::is_true(&report.previous.conditions, types::REJECTED_TRAFFIC);
    report.condition(
        types::REJECTED_TRAFFIC,
        Status::True,
        reasons::REJECTED_TRAFFIC,
        message.clone(),
    );
    if !was_true {
        report
            .event(EventKind::Warning, reasons::REJECTED_TRAFFIC, message)
            .await;
    }
}
