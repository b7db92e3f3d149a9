//! Telemetry layer: the Prometheus registry (DESIGN §8) — build info; reconcile count, duration
//! and errors per kind; AWS calls, throttles and call duration per operation; Ready and awaiting
//! approval per resource (`status`); plan addresses, rejected sources, live break-glass rules and
//! scan findings per resource. Labels come from explicit fields.

mod evidence;
mod status;

pub use evidence::EvidenceMetrics;
pub use status::{KindResourceLabels, ReadyLabels, StatusMetrics, AWAITING_APPROVAL_REASONS};

use crate::aws::{Attempt, CallObserver};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Labels: the kind being reconciled (`SecurityGroupTightening`, …).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

/// Labels: a failed reconcile's kind and error reason.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub kind: String,
    pub reason: &'static str,
}

/// Labels: one AWS operation and how the attempt ended.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub service: String,
    pub operation: String,
    pub outcome: &'static str,
}

/// Labels: one AWS operation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub service: String,
    pub operation: String,
}

/// Labels: the operator's build.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: String,
}

/// Labels: one resource.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub namespace: String,
    pub name: String,
}

/// Labels: one resource and a plan stage (`before` or `after`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlanLabels {
    pub namespace: String,
    pub name: String,
    pub stage: &'static str,
}

/// Labels: one security group in one region.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupLabels {
    pub region: String,
    pub group_id: String,
}

/// Labels: how a BreakGlassExtension finds its rules (`explicit` or `rejectedFlows`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModeLabels {
    pub mode: &'static str,
}

/// Labels: one scan and a severity (`critical`, `high`, `medium`, `low`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SeverityLabels {
    pub namespace: String,
    pub name: String,
    pub severity: &'static str,
}

/// Labels: one scan, one account it scanned and a severity.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AccountSeverityLabels {
    pub namespace: String,
    pub name: String,
    pub account: String,
    pub severity: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 10 ms … ~82 s
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

fn apply_histogram() -> Histogram {
    // 0.1 s … ~205 s
    Histogram::new(exponential_buckets(0.1, 2.0, 12))
}

/// Every metric the operator exports, and the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Always 1, labelled with the operator's version.
    pub build_info: Family<BuildLabels, Gauge>,
    /// AWS call duration in seconds (every attempt and backoff), per operation.
    pub aws_call_duration: Histograms<OperationLabels>,
    /// Ready and awaiting approval, per resource of every kind.
    pub status: StatusMetrics,
    /// Flow-log objects and bytes read, and the shared evidence store, per source.
    pub evidence: std::sync::Arc<EvidenceMetrics>,
    /// Reconciles started, per kind.
    pub reconciles: Family<KindLabels, Counter>,
    /// Reconcile duration in seconds, per kind.
    pub reconcile_duration: Histograms<KindLabels>,
    /// Failed reconciles, per kind and reason.
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    /// AWS attempts (retries included), per operation and outcome.
    pub aws_calls: Family<CallLabels, Counter>,
    /// Throttled AWS attempts, per operation.
    pub aws_throttles: Family<OperationLabels, Counter>,
    /// Addresses the in-scope rules allow before and after the current plan.
    pub plan_addresses: Family<PlanLabels, Gauge>,
    /// Private sources REJECTed by the groups that no rule covers (diagnose).
    pub rejected_sources: Family<ResourceLabels, Gauge>,
    /// Break-glass rules currently present in AWS, per group (as last described).
    pub breakglass_live_rules: Family<GroupLabels, Gauge>,
    /// Seconds from a BreakGlassExtension's creation to its rules being in AWS, per mode.
    pub breakglass_apply_seconds: Histograms<ModeLabels>,
    /// Findings of the last organisation scan, per severity.
    pub scan_findings: Family<SeverityLabels, Gauge>,
    /// 1 while this replica holds the leader Lease (or runs without leader election), else 0.
    pub leader: Gauge,
    /// Findings of the last organisation scan, per account and severity.
    pub scan_account_findings: Family<AccountSeverityLabels, Gauge>,
    /// How long the last organisation scan took, in seconds.
    pub scan_duration_seconds: Family<ResourceLabels, Gauge<f64, AtomicU64>>,
    /// Accounts the last organisation scan could not (fully) scan.
    pub scan_accounts_failed: Family<ResourceLabels, Gauge>,
    /// The accounts each scan has series for, so an account that leaves loses its series.
    scan_accounts: Mutex<HashMap<ResourceLabels, BTreeSet<String>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every metric registered under the `sgtightener_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sgtightener");
        let metrics = Metrics {
            build_info: Family::default(),
            aws_call_duration: Family::new_with_constructor(duration_histogram),
            status: StatusMetrics::default(),
            evidence: std::sync::Arc::default(),
            reconciles: Family::default(),
            reconcile_duration: Family::new_with_constructor(duration_histogram),
            reconcile_errors: Family::default(),
            aws_calls: Family::default(),
            aws_throttles: Family::default(),
            plan_addresses: Family::default(),
            rejected_sources: Family::default(),
            breakglass_live_rules: Family::default(),
            breakglass_apply_seconds: Family::new_with_constructor(apply_histogram),
            scan_findings: Family::default(),
            leader: Gauge::default(),
            scan_account_findings: Family::default(),
            scan_duration_seconds: Family::default(),
            scan_accounts_failed: Family::default(),
            scan_accounts: Mutex::default(),
            registry: Registry::default(),
        };
        let m = &metrics;
        let version = env!("CARGO_PKG_VERSION").to_owned();
        m.build_info.get_or_create(&BuildLabels { version }).set(1);
        registry.register("build_info", "The operator's version", m.build_info.clone());
        registry.register(
            "aws_call_duration_seconds",
            "AWS call duration, retries and backoff included",
            m.aws_call_duration.clone(),
        );
        m.status.register(&mut registry);
        m.evidence.register(&mut registry);
        registry.register("reconciles", "Reconciles started", m.reconciles.clone());
        registry.register(
            "reconcile_duration_seconds",
            "Reconcile duration",
            m.reconcile_duration.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciles that failed",
            m.reconcile_errors.clone(),
        );
        registry.register(
            "aws_calls",
            "AWS call attempts, retries included",
            m.aws_calls.clone(),
        );
        registry.register(
            "aws_throttles",
            "AWS call attempts that were throttled",
            m.aws_throttles.clone(),
        );
        registry.register(
            "plan_addresses",
            "Addresses allowed by the in-scope rules before and after the plan",
            m.plan_addresses.clone(),
        );
        registry.register(
            "rejected_sources",
            "Rejected private sources no rule covers",
            m.rejected_sources.clone(),
        );
        registry.register(
            "breakglass_live_rules",
            "Break-glass rules present in AWS, per group",
            m.breakglass_live_rules.clone(),
        );
        registry.register(
            "breakglass_apply_seconds",
            "Seconds from a BreakGlassExtension's creation to its rules in AWS",
            m.breakglass_apply_seconds.clone(),
        );
        registry.register(
            "scan_findings",
            "Findings of the last organisation scan",
            m.scan_findings.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease, else 0",
            m.leader.clone(),
        );
        registry.register(
            "scan_account_findings",
            "Findings of the last organisation scan per account",
            m.scan_account_findings.clone(),
        );
        registry.register(
            "scan_duration_seconds",
            "Duration of the last organisation scan",
            m.scan_duration_seconds.clone(),
        );
        registry.register(
            "scan_accounts_failed",
            "Accounts the last organisation scan could not fully scan",
            m.scan_accounts_failed.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// Creates the zero series of a kind's reconcile metrics, so dashboards see the kind before
    /// its first reconcile (a family without series is not exposed at all).
    pub fn register_kind(&self, kind: &str) {
        let labels = KindLabels { kind: kind.into() };
        let _ = self.reconciles.get_or_create(&labels);
        let _ = self.reconcile_duration.get_or_create(&labels);
    }

    /// Counts a reconcile of `kind` and times it until the returned guard is dropped.
    pub fn reconcile_started(&self, kind: &str) -> ReconcileTimer {
        let labels = KindLabels { kind: kind.into() };
        self.reconciles.get_or_create(&labels).inc();
        ReconcileTimer {
            histogram: self.reconcile_duration.get_or_create(&labels).clone(),
            start: Instant::now(),
        }
    }

    /// Counts a failed reconcile.
    pub fn reconcile_failed(&self, kind: &str, reason: &'static str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels {
                kind: kind.into(),
                reason,
            })
            .inc();
    }

    /// Drops every per-resource series of a deleted resource.
    pub fn forget_resource(&self, namespace: &str, name: &str) {
        let resource = ResourceLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        self.rejected_sources.remove(&resource);
        for stage in ["before", "after"] {
            self.plan_addresses.remove(&PlanLabels {
                namespace: namespace.into(),
                name: name.into(),
                stage,
            });
        }
        for severity in ["critical", "high", "medium", "low"] {
            self.scan_findings.remove(&SeverityLabels {
                namespace: namespace.into(),
                name: name.into(),
                severity,
            });
        }
        self.scan_duration_seconds.remove(&resource);
        self.scan_accounts_failed.remove(&resource);
        self.record_scan_accounts(namespace, name, std::iter::empty());
    }

    /// Sets one scan's per-account findings (`[critical, high, medium, low]` per account id) and
    /// removes the series of accounts the scan no longer covers.
    pub fn record_scan_accounts<'a>(
        &self,
        namespace: &str,
        name: &str,
        accounts: impl Iterator<Item = (&'a str, [u64; 4])>,
    ) {
        let labels = |account: &str, severity| AccountSeverityLabels {
            namespace: namespace.into(),
            name: name.into(),
            account: account.into(),
            severity,
        };
        let mut now = BTreeSet::new();
        for (account, counts) in accounts {
            for (severity, count) in SEVERITIES.into_iter().zip(counts) {
                let value = i64::try_from(count).unwrap_or(i64::MAX);
                self.scan_account_findings
                    .get_or_create(&labels(account, severity))
                    .set(value);
            }
            now.insert(account.to_owned());
        }
        let resource = ResourceLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        let mut known = self.scan_accounts.lock().unwrap_or_else(|p| p.into_inner());
        let before = known.remove(&resource).unwrap_or_default();
        for gone in before.difference(&now) {
            for severity in SEVERITIES {
                self.scan_account_findings.remove(&labels(gone, severity));
            }
        }
        if !now.is_empty() {
            known.insert(resource, now);
        }
    }
}

/// Severity label values, most severe first.
const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

impl CallObserver for Metrics {
    fn attempt(&self, service: &str, operation: &str, outcome: Attempt) {
        let labels = CallLabels {
            service: service.into(),
            operation: operation.into(),
            outcome: outcome.as_str(),
        };
        self.aws_calls.get_or_create(&labels).inc();
        if outcome == Attempt::Throttled {
            let labels = OperationLabels {
                service: service.into(),
                operation: operation.into(),
            };
            self.aws_throttles.get_or_create(&labels).inc();
        }
    }

    fn finished(&self, service: &str, operation: &str, elapsed: Duration) {
        let labels = OperationLabels {
            service: service.into(),
            operation: operation.into(),
        };
        self.aws_call_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }
}

/// Observes the reconcile's duration when dropped, however the reconcile ends.
#[derive(Debug)]
pub struct ReconcileTimer {
    histogram: Histogram,
    start: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_appears_once_it_has_a_series() {
        let metrics = Metrics::new();
        let empty = metrics.encode();
        assert!(
            empty.contains("\nsgtightener_leader 0\n") && !empty.contains("sgtightener_reconciles"),
            "only the gauges that always have their one series: {empty}"
        );
        metrics.register_kind("BreakGlassExtension");
        let text = metrics.encode();
        assert!(
            text.contains("sgtightener_reconciles_total{kind=\"BreakGlassExtension\"} 0"),
            "{text}"
        );
        assert!(
            text.contains(
                "sgtightener_reconcile_duration_seconds_count{kind=\"BreakGlassExtension\"} 0"
            ),
            "{text}"
        );
    }

    #[test]
    fn every_metric_family_is_exposed_under_its_name() {
        let metrics = Metrics::new();
        let (ns, name) = ("ns".to_owned(), "a".to_owned());
        let resource = ResourceLabels {
            namespace: ns.clone(),
            name: name.clone(),
        };
        drop(metrics.reconcile_started("OrgRiskScan"));
        metrics.reconcile_failed("OrgRiskScan", "AwsThrottled");
        metrics.attempt("EC2", "DescribeSecurityGroups", Attempt::Throttled);
        metrics.finished("EC2", "DescribeSecurityGroups", Duration::from_millis(30));
        let labels = KindResourceLabels {
            kind: "SecurityGroupTightening".into(),
            namespace: ns.clone(),
            name: name.clone(),
        };
        let now = jiff::Timestamp::UNIX_EPOCH;
        let mut conditions = Vec::new();
        let awaiting = crate::domain::conditions::reasons::AWAITING_APPROVAL;
        crate::domain::conditions::mark_ready(&mut conditions, awaiting, "plan", None, now);
        metrics.status.observe(labels, &conditions);
        metrics
            .plan_addresses
            .get_or_create(&PlanLabels {
                namespace: ns.clone(),
                name: name.clone(),
                stage: "before",
            })
            .set(65536);
        metrics.rejected_sources.get_or_create(&resource).set(2);
        metrics
            .breakglass_live_rules
            .get_or_create(&GroupLabels {
                region: "af-south-1".into(),
                group_id: "sg-12345678".into(),
            })
            .set(1);
        metrics
            .breakglass_apply_seconds
            .get_or_create(&ModeLabels { mode: "explicit" })
            .observe(0.4);
        metrics
            .scan_findings
            .get_or_create(&SeverityLabels {
                namespace: ns,
                name,
                severity: "critical",
            })
            .set(4);
        let text = metrics.encode();
        for name in [
            "sgtightener_build_info",
            "sgtightener_aws_call_duration_seconds",
            "sgtightener_resource_ready",
            "sgtightener_plans_awaiting_approval",
            "sgtightener_reconciles",
            "sgtightener_reconcile_duration_seconds",
            "sgtightener_reconcile_errors",
            "sgtightener_aws_calls",
            "sgtightener_aws_throttles",
            "sgtightener_plan_addresses",
            "sgtightener_rejected_sources",
            "sgtightener_breakglass_live_rules",
            "sgtightener_breakglass_apply_seconds",
            "sgtightener_scan_findings",
            "sgtightener_leader",
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} missing from:\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn reconciles_are_counted_and_timed_per_kind() {
        let metrics = Metrics::new();
        drop(metrics.reconcile_started("SecurityGroupTightening"));
        metrics.reconcile_failed("SecurityGroupTightening", "AwsThrottled");
        let text = metrics.encode();
        assert!(
            text.contains("sgtightener_reconciles_total{kind=\"SecurityGroupTightening\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "sgtightener_reconcile_duration_seconds_count{kind=\"SecurityGroupTightening\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("sgtightener_reconcile_errors_total{kind=\"SecurityGroupTightening\",reason=\"AwsThrottled\"} 1"), "{text}");
    }

    #[test]
    fn aws_attempts_and_throttles_are_counted_per_operation() {
        let metrics = Metrics::new();
        metrics.attempt("EC2", "AuthorizeSecurityGroupIngress", Attempt::Throttled);
        metrics.attempt("EC2", "AuthorizeSecurityGroupIngress", Attempt::Succeeded);
        let text = metrics.encode();
        assert!(text.contains("sgtightener_aws_calls_total{service=\"EC2\",operation=\"AuthorizeSecurityGroupIngress\",outcome=\"throttled\"} 1"), "{text}");
        assert!(text.contains("sgtightener_aws_throttles_total{service=\"EC2\",operation=\"AuthorizeSecurityGroupIngress\"} 1"), "{text}");
    }

    #[test]
    fn an_account_that_leaves_a_scan_loses_its_series() {
        let metrics = Metrics::new();
        let series = |account: &str| {
            format!("sgtightener_scan_account_findings{{namespace=\"ns\",name=\"org\",account=\"{account}\",severity=\"critical\"}}")
        };
        let both = [
            ("111111111111", [2, 0, 0, 1]),
            ("222222222222", [0, 1, 0, 0]),
        ];
        metrics.record_scan_accounts("ns", "org", both.into_iter());
        let text = metrics.encode();
        assert!(
            text.contains(&format!("{} 2", series("111111111111"))),
            "{text}"
        );
        assert!(text.contains(&series("222222222222")), "{text}");
        metrics.record_scan_accounts("ns", "org", [("111111111111", [1, 0, 0, 0])].into_iter());
        let text = metrics.encode();
        assert!(
            text.contains(&format!("{} 1", series("111111111111"))),
            "{text}"
        );
        assert!(!text.contains("222222222222"), "{text}");
        metrics.forget_resource("ns", "org");
        assert!(!metrics.encode().contains("111111111111"));
    }

    #[test]
    fn a_deleted_resource_leaves_no_series_behind() {
        let metrics = Metrics::new();
        let resource = ResourceLabels {
            namespace: "ns".into(),
            name: "a".into(),
        };
        metrics.rejected_sources.get_or_create(&resource).set(3);
        metrics
            .plan_addresses
            .get_or_create(&PlanLabels {
                namespace: "ns".into(),
                name: "a".into(),
                stage: "after",
            })
            .set(64);
        assert!(metrics
            .encode()
            .contains("sgtightener_rejected_sources{namespace=\"ns\",name=\"a\"} 3"));
        metrics.forget_resource("ns", "a");
        let text = metrics.encode();
        assert!(!text.contains("name=\"a\""), "{text}");
    }
}
