//! Telemetry layer: per-resource status gauges, for every kind alike — `resource_ready` (1 when
//! `Ready=True`, labelled with the reason) and `plans_awaiting_approval` (1 while a plan with
//! changes waits for a person's approval). Fed from each object's conditions by the runner.

use crate::domain::conditions::{find, reasons, types, Condition, Status};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::Mutex;

/// Labels: one resource of a kind.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindResourceLabels {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// Labels: one resource of a kind and the reason of its `Ready` condition.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReadyLabels {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub reason: String,
}

/// `Ready` reasons that mean a plan with changes waits for a person: approve it (or the current
/// one, after a mismatch or a stale plan).
pub const AWAITING_APPROVAL_REASONS: [&str; 4] = [
    reasons::AWAITING_APPROVAL,
    reasons::APPROVAL_MISMATCH,
    reasons::PLAN_STALE,
    reasons::EVIDENCE_STALE,
];

/// The per-resource status gauges.
#[derive(Debug, Default)]
pub struct StatusMetrics {
    /// 1 when the resource's `Ready` is True, else 0; one series per resource, its reason as a label.
    pub ready: Family<ReadyLabels, Gauge>,
    /// 1 while the resource's plan awaits approval; absent otherwise.
    pub awaiting_approval: Family<KindResourceLabels, Gauge>,
    /// The reason label each resource's `ready` series has now, to drop it when it changes.
    reasons: Mutex<HashMap<KindResourceLabels, String>>,
}

impl StatusMetrics {
    /// Registers the families (names without the registry's `sgtightener_` prefix).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "resource_ready",
            "1 when the resource's Ready condition is True, else 0; labelled with its reason",
            self.ready.clone(),
        );
        registry.register(
            "plans_awaiting_approval",
            "1 for each resource whose plan waits for a person's approval",
            self.awaiting_approval.clone(),
        );
    }

    /// Records what `conditions` say about one resource: its `Ready` status and reason, and
    /// whether its plan awaits approval. No `Ready` condition yet: reason `Unknown`, value 0.
    pub fn observe(&self, resource: KindResourceLabels, conditions: &[Condition]) {
        let ready = find(conditions, types::READY);
        let reason = ready.map_or("Unknown", |c| c.reason.as_str()).to_owned();
        let value = i64::from(ready.is_some_and(|c| c.status == Status::True.as_str()));
        let previous = self
            .reasons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(resource.clone(), reason.clone());
        if let Some(old) = previous.filter(|old| *old != reason) {
            self.ready.remove(&ready_labels(&resource, old));
        }
        let awaiting = AWAITING_APPROVAL_REASONS.contains(&reason.as_str());
        self.ready
            .get_or_create(&ready_labels(&resource, reason))
            .set(value);
        if awaiting {
            self.awaiting_approval.get_or_create(&resource).set(1);
        } else {
            self.awaiting_approval.remove(&resource);
        }
    }

    /// Drops every series of a resource that is gone.
    pub fn forget(&self, resource: &KindResourceLabels) {
        let reason = self
            .reasons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(resource);
        if let Some(reason) = reason {
            self.ready.remove(&ready_labels(resource, reason));
        }
        self.awaiting_approval.remove(resource);
    }
}

fn ready_labels(resource: &KindResourceLabels, reason: String) -> ReadyLabels {
    ReadyLabels {
        kind: resource.kind.clone(),
        namespace: resource.namespace.clone(),
        name: resource.name.clone(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::conditions::{mark_ready, mark_stalled};

    fn text(metrics: &StatusMetrics) -> String {
        let mut registry = Registry::with_prefix("sgtightener");
        metrics.register(&mut registry);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        out
    }

    fn web() -> KindResourceLabels {
        KindResourceLabels {
            kind: "SecurityGroupTightening".into(),
            namespace: "payments".into(),
            name: "web".into(),
        }
    }

    #[test]
    fn ready_follows_the_condition_and_keeps_one_series_per_resource() {
        let metrics = StatusMetrics::default();
        let now = jiff::Timestamp::UNIX_EPOCH;
        let mut conditions = Vec::new();
        metrics.observe(web(), &conditions);
        assert!(text(&metrics).contains("sgtightener_resource_ready{kind=\"SecurityGroupTightening\",namespace=\"payments\",name=\"web\",reason=\"Unknown\"} 0"));
        mark_ready(
            &mut conditions,
            reasons::AWAITING_APPROVAL,
            "plan abc",
            Some(1),
            now,
        );
        metrics.observe(web(), &conditions);
        let out = text(&metrics);
        assert!(out.contains("reason=\"AwaitingApproval\"} 1"), "{out}");
        assert!(
            !out.contains("reason=\"Unknown\""),
            "the old reason's series is dropped: {out}"
        );
        assert!(out.contains("sgtightener_plans_awaiting_approval{kind=\"SecurityGroupTightening\",namespace=\"payments\",name=\"web\"} 1"), "{out}");

        mark_stalled(
            &mut conditions,
            reasons::APPLY_HALTED,
            "halted",
            Some(2),
            now,
        );
        metrics.observe(web(), &conditions);
        let out = text(&metrics);
        assert!(out.contains("reason=\"ApplyHalted\"} 0"), "{out}");
        assert!(
            !out.contains("sgtightener_plans_awaiting_approval{"),
            "{out}"
        );

        metrics.forget(&web());
        assert!(!text(&metrics).contains("name=\"web\""));
    }

    #[test]
    fn a_mismatched_or_stale_approval_still_awaits_a_person() {
        let metrics = StatusMetrics::default();
        let now = jiff::Timestamp::UNIX_EPOCH;
        for reason in [
            reasons::APPROVAL_MISMATCH,
            reasons::PLAN_STALE,
            reasons::EVIDENCE_STALE,
        ] {
            let mut conditions = Vec::new();
            mark_stalled(
                &mut conditions,
                reason,
                "approve the current plan",
                Some(1),
                now,
            );
            metrics.observe(web(), &conditions);
            assert!(
                text(&metrics).contains("sgtightener_plans_awaiting_approval{"),
                "{reason}"
            );
        }
        let mut conditions = Vec::new();
        mark_ready(
            &mut conditions,
            reasons::APPLIED,
            "plan abc is applied",
            Some(1),
            now,
        );
        metrics.observe(web(), &conditions);
        assert!(!text(&metrics).contains("sgtightener_plans_awaiting_approval{"));
    }
}
