//! Controller layer: (re)computing the tightening plan — ENIs, VPCs and flow logs, evidence
//! (cached up to `evidence.maxAge`), the pure planner, per-interface coverage — and reporting
//! it: `status.plan` with its approve command, `status.evidence`, `Planned` and
//! `EvidenceComplete` (every gap named), the plan metrics, and `PlanReady` when the plan changed.

use super::observe::{self, Collected, Freshness, NetworkView};
use super::report::Report;
use super::{spec, Deps};
use crate::aws::{SecurityGroups, Target};
use crate::controller::change::names::approve_command;
use crate::controller::change::Changing;
use crate::controller::report::EventKind;
use crate::controller::Error;
use crate::crd::tightening::{EvidenceSummary, FlowLogSummary};
use crate::crd::{short_hash, PlanPhase, SecurityGroupTightening};
use crate::domain::conditions::{format_time, reasons, types, Status};
use crate::domain::evidence::coverage::evidence_gaps;
use crate::domain::evidence::coverage::interfaces::{
    interface_coverage, interface_gaps, InterfaceCoverage,
};
use crate::domain::network::Destination;
use crate::domain::plan::{build_plan, Evidence, Plan, Tightening};
use crate::domain::snapshot::SecurityGroup;
use crate::domain::tightening::readmit::{pre_apply_groups, rebase};
use crate::domain::tightening::{Manifest, PlanReason};
use crate::metrics::PlanLabels;
use kube::ResourceExt;
use std::collections::BTreeSet;

/// Everything a plan is computed from.
pub struct Planning<'a> {
    /// Shared dependencies.
    pub deps: &'a Deps<'a>,
    /// The resolved AWS target.
    pub target: &'a Target,
    /// Security groups in the target.
    pub sg: &'a dyn SecurityGroups,
    /// The live in-scope groups.
    pub groups: &'a [SecurityGroup],
}

impl Planning<'_> {
    /// Computes the plan and records it in `report`.
    pub async fn run(
        &self,
        report: &mut Report<'_>,
        inputs: &str,
        reason: PlanReason,
    ) -> Result<(), Error> {
        let object = report.object;
        let d = self.deps;
        let network = observe::network(d.aws, self.target, self.sg, self.groups).await?;
        let max_age = spec::evidence_max_age(&object.spec).map_err(Error::InvalidSpec)?;
        let freshness = Freshness {
            now: d.now,
            fresh_since: d.now - jiff::SignedDuration::from_secs(max_age.as_secs() as i64),
        };
        let collected = observe::evidence(
            d.aws,
            self.target,
            object,
            inputs,
            &network.in_scope,
            d.cache,
            freshness,
        )
        .await?;
        let document = &collected.document;
        let evidence = Evidence {
            flows: &document.flows,
            interfaces: Some(&network.known),
            vpcs: Some(&network.vpcs),
        };
        let options = spec::plan_options(&object.spec);
        let chained = self.applied_manifest(report).await?;
        let planned_from = match &chained {
            Some((_, manifest)) => pre_apply_groups(self.groups, manifest)
                .map_err(|e| Error::Plan(format!("the rules before the first apply: {e}")))?,
            None => self.groups.to_vec(),
        };
        let tightening = build_plan(&planned_from, &evidence, &options)
            .map_err(|e| Error::Plan(e.to_string()))?;
        let mut plan = tightening.plan.clone();
        if let Some((name, _)) = &chained {
            plan = rebase(plan, self.groups, &planned_from, options.max_rules, name)
                .map_err(|e| Error::Plan(e.to_string()))?;
        }
        plan.inputs_hash = inputs.to_owned();
        plan.generated_at = Some(format_time(d.now));
        let namespace = object.namespace().unwrap_or_default();
        plan.approve_command = Some(approve_command(
            SecurityGroupTightening::SHORT_NAME,
            &namespace,
            &object.name_any(),
            &plan.hash,
        ));
        let per_interface = interface_coverage(
            &network.in_scope,
            &network.flow_logs,
            &spec::flow_log_destination(&object.spec).unwrap_or(Destination::AnyS3),
            document.coverage.interfaces_with_records.as_deref(),
        );
        let mut summary = summary(&collected, &tightening, &object.spec);
        add_interfaces(&mut summary, &network, &per_interface);
        let mut gaps = evidence_gaps(document);
        gaps.extend(interface_gaps(&per_interface, &summary.source));
        record(report, plan, summary, &gaps, reason).await;
        self.metrics(report);
        Ok(())
    }

    /// The manifest of the apply whose rules are live (finished, no revert begun), if any: a
    /// plan after it is computed from the rules before the first apply of the chain
    /// (`domain::tightening::readmit`), so a source the apply locked out can be re-admitted.
    async fn applied_manifest(
        &self,
        report: &Report<'_>,
    ) -> Result<Option<(String, Manifest)>, Error> {
        let Some(applied) = report.status.applied.as_ref() else {
            return Ok(None);
        };
        if applied.finished_at.is_none()
            || applied.reverted_at.is_some()
            || applied.revert_started_at.is_some()
        {
            return Ok(None);
        }
        let namespace = report.object.namespace().unwrap_or_default();
        let name = applied.manifest_config_map.clone();
        let manifest = self.deps.store.get_manifest(&namespace, &name).await?;
        Ok(manifest.map(|m| (name, m)))
    }

    fn metrics(&self, report: &Report<'_>) {
        let Some(plan) = &report.status.plan else {
            return;
        };
        let object = report.object;
        for (stage, value) in [
            ("before", plan.summary.addresses_before),
            ("after", plan.summary.addresses_after),
        ] {
            let labels = PlanLabels {
                namespace: object.namespace().unwrap_or_default(),
                name: object.name_any(),
                stage,
            };
            self.deps
                .metrics
                .plan_addresses
                .get_or_create(&labels)
                .set(value as i64);
        }
    }
}

/// `status.evidence` from a collected document and the plan built on it.
fn summary(
    collected: &Collected,
    tightening: &Tightening,
    spec: &crate::crd::SecurityGroupTighteningSpec,
) -> EvidenceSummary {
    let d = &collected.document;
    let sources: BTreeSet<_> = d.flows.iter().map(|f| f.source).collect();
    EvidenceSummary {
        source: spec::evidence_source(spec)
            .map(|s| s.describe())
            .unwrap_or_default(),
        window_start: format_time(d.window.start),
        window_end: format_time(d.window.end),
        records: d.stats.records,
        flows: d.flows.len() as u64,
        sources: sources.len() as u64,
        unattributed_flows: tightening.unattributed_flows,
        malformed_lines: d.stats.malformed,
        days_without_data: d
            .coverage
            .days_without_data
            .iter()
            .map(ToString::to_string)
            .collect(),
        earliest_record: d.coverage.earliest_record.map(format_time),
        collected_at: format_time(collected.at),
        unreadable_objects: d.coverage.unreadable_objects,
        skipped_records: d.coverage.skipped_records,
        vanished_interface_flows: tightening.vanished_flows,
        vanished_interfaces: tightening.vanished_interfaces,
        sources_kept_for_vanished_interfaces: tightening.vanished_sources,
        ..EvidenceSummary::default()
    }
}

/// The per-interface part of `status.evidence`.
fn add_interfaces(
    summary: &mut EvidenceSummary,
    network: &NetworkView,
    coverage: &InterfaceCoverage,
) {
    summary.interfaces = network.in_scope.len() as u64;
    summary.interfaces_without_flow_log = coverage.without_flow_log.clone();
    summary.interfaces_without_records = coverage.without_records.clone();
    summary.flow_logs = coverage
        .flow_logs
        .iter()
        .map(|l| FlowLogSummary {
            id: l.flow_log_id.clone(),
            resource_id: l.resource_id.clone(),
            traffic_type: l.traffic_type.clone(),
            created_at: l.creation_time.clone(),
        })
        .collect();
}

async fn record(
    report: &mut Report<'_>,
    plan: Plan,
    evidence: EvidenceSummary,
    gaps: &[String],
    reason: PlanReason,
) {
    let changed = report
        .previous
        .plan
        .as_ref()
        .is_none_or(|p| p.hash != plan.hash);
    let message = plan_message(&plan, reason, evidence.sources_kept_for_vanished_interfaces);
    report.status.plan_short_hash = Some(short_hash(&plan.hash));
    report.status.plan = Some(plan);
    report.status.evidence = Some(evidence);
    report.phase(PlanPhase::AwaitingApproval);
    report.condition(
        types::PLANNED,
        Status::True,
        reasons::PLAN_READY,
        message.clone(),
    );
    if gaps.is_empty() {
        report.condition(
            types::EVIDENCE_COMPLETE,
            Status::True,
            reasons::EVIDENCE_COMPLETE,
            "every day of the window has flow-log records, every in-scope interface is captured by a flow log and has records, nothing was lost",
        );
    } else {
        let text = format!(
            "the evidence does not cover the whole window: {}",
            gaps.join("; ")
        );
        report.condition(
            types::EVIDENCE_COMPLETE,
            Status::False,
            reasons::EVIDENCE_INCOMPLETE,
            text,
        );
    }
    if changed {
        report
            .event(EventKind::Normal, reasons::PLAN_READY, message)
            .await;
    }
}

fn plan_message(plan: &Plan, reason: PlanReason, kept: u64) -> String {
    let vanished = match kept {
        0 => String::new(),
        n => {
            format!("; {n} source(s) kept only because of flows to interfaces that no longer exist")
        }
    };
    let why = match reason {
        PlanReason::Created => "new resource",
        PlanReason::InputsChanged => "inputs changed",
        PlanReason::SnapshotDrift { .. } => "live rules changed",
        PlanReason::EvidenceStale => "evidence older than maxAge read again",
    };
    let s = &plan.summary;
    format!(
        "plan {} ({why}): {} groups, revoke {} rules, authorise {} rules, trusted addresses {} → {} ({}% fewer){}",
        short_hash(&plan.hash), s.groups, s.rules_revoked, s.rules_authorised, s.addresses_before, s.addresses_after, s.reduction_percent,
        vanished
    )
}
