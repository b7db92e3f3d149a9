//! Helm chart tests (static; `make chart` runs `helm lint` and `helm template`): the chart's
//! default configuration is the repository's `config/controller.yaml`, its RBAC covers exactly the
//! kinds the CRDs define, and its appVersion is the crate's version.

mod support;

use serde_yaml::Value;

fn read_yaml(relative: &str) -> Value {
    let path = support::repo_root().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn read_text(relative: &str) -> String {
    std::fs::read_to_string(support::repo_root().join(relative)).expect("readable")
}

#[test]
fn chart_default_config_is_config_controller_yaml() {
    let values = read_yaml("charts/sg-tightener/values.yaml");
    let config = read_yaml("config/controller.yaml");
    assert_eq!(
        values["config"], config,
        "charts/sg-tightener/values.yaml `.config` and config/controller.yaml differ: keep them equal"
    );
    for section in [
        "aws",
        "tenancy",
        "breakGlass",
        "orgScan",
        "reconcile",
        "leaderElection",
    ] {
        assert!(
            !config[section].is_null(),
            "config/controller.yaml lacks {section}"
        );
    }
    assert_eq!(config["aws"]["endpointUrl"], Value::from(""));
    assert_eq!(config["breakGlass"]["maxExpiresAfter"], Value::from("720h"));
}

#[test]
fn the_operator_rules_name_every_kind_and_nothing_sensitive() {
    let without_comments = |relative: &str| -> String {
        read_text(relative)
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .map(|line| format!("{line}\n"))
            .collect()
    };
    let helpers = without_comments("charts/sg-tightener/templates/_helpers.tpl");
    for crd in sg_tightener::crd::all_crds() {
        let plural = &crd.spec.names.plural;
        for resource in [plural.clone(), format!("{plural}/status")] {
            assert!(
                helpers.contains(&format!("- {resource}\n")),
                "the chart's kind lists lack {resource}"
            );
        }
    }
    let operator = format!(
        "{}{}",
        without_comments("charts/sg-tightener/templates/rbac.yaml"),
        helpers
    );
    assert!(
        !operator.contains("secrets"),
        "the controller never reads secrets (I13)"
    );
    for rule in operator
        .split("- apiGroups:")
        .filter(|r| r.contains("\"delete\""))
    {
        assert!(
            rule.contains("resources: [\"configmaps\"]"),
            "only ConfigMaps are deleted (old manifests, released group claims): {rule}"
        );
    }
    assert!(
        operator.contains("-claims"),
        "the group claims' Role in the release namespace"
    );
    assert!(
        !operator.contains("\"*\""),
        "no wildcard verbs or resources"
    );
}

#[test]
fn chart_app_version_is_the_crate_version() {
    let chart = read_yaml("charts/sg-tightener/Chart.yaml");
    assert_eq!(chart["appVersion"], Value::from(env!("CARGO_PKG_VERSION")));
    assert_eq!(chart["name"], Value::from("sg-tightener"));
}

#[test]
fn deployment_runs_unprivileged_with_probes_and_the_rendered_config() {
    let deployment = read_text("charts/sg-tightener/templates/deployment.yaml");
    for needle in [
        "path: /healthz",
        "path: /readyz",
        "/etc/sg-tightener/controller.yaml",
    ] {
        assert!(deployment.contains(needle), "deployment lacks {needle}");
    }
    let values = read_yaml("charts/sg-tightener/values.yaml");
    assert!(
        deployment.contains("type: Recreate") && deployment.contains(".Values.strategy"),
        "Recreate without leader election, values.strategy with it"
    );
    assert_eq!(
        values["strategy"]["rollingUpdate"]["maxUnavailable"],
        Value::from(0),
        "a one-replica upgrade keeps a ready standby before the leader goes"
    );
    assert_eq!(
        values["securityContext"]["readOnlyRootFilesystem"],
        Value::from(true)
    );
    assert_eq!(
        values["securityContext"]["allowPrivilegeEscalation"],
        Value::from(false)
    );
    assert_eq!(
        values["podSecurityContext"]["runAsNonRoot"],
        Value::from(true)
    );
    assert_eq!(values["logging"]["format"], Value::from("json"));
    assert_eq!(
        values["metrics"]["serviceMonitor"]["enabled"],
        Value::from(false)
    );
}

/// Every family of the operator's registry, each with one series (a family without series is
/// not exposed at all).
fn every_metric_name() -> Vec<String> {
    use sg_tightener::aws::{Attempt, CallObserver};
    use sg_tightener::metrics::{
        GroupLabels, KindResourceLabels, Metrics, ModeLabels, PlanLabels, ResourceLabels,
        SeverityLabels,
    };
    let metrics = Metrics::new();
    let resource = ResourceLabels {
        namespace: "ns".into(),
        name: "a".into(),
    };
    drop(metrics.reconcile_started("SecurityGroupTightening"));
    metrics.reconcile_failed("SecurityGroupTightening", "AwsThrottled");
    metrics.attempt("EC2", "DescribeSecurityGroups", Attempt::Throttled);
    metrics.finished("EC2", "DescribeSecurityGroups", std::time::Duration::ZERO);
    let plan = PlanLabels {
        namespace: "ns".into(),
        name: "a".into(),
        stage: "before",
    };
    metrics.plan_addresses.get_or_create(&plan).set(1);
    metrics.rejected_sources.get_or_create(&resource).set(1);
    let group = GroupLabels {
        region: "af-south-1".into(),
        group_id: "sg-1".into(),
    };
    metrics.breakglass_live_rules.get_or_create(&group).set(1);
    let mode = ModeLabels { mode: "explicit" };
    metrics
        .breakglass_apply_seconds
        .get_or_create(&mode)
        .observe(0.1);
    let severity = SeverityLabels {
        namespace: "ns".into(),
        name: "a".into(),
        severity: "critical",
    };
    metrics.scan_findings.get_or_create(&severity).set(1);
    let kind_resource = KindResourceLabels {
        kind: "SecurityGroupTightening".into(),
        namespace: "ns".into(),
        name: "a".into(),
    };
    metrics.status.observe(kind_resource.clone(), &[]);
    metrics
        .status
        .awaiting_approval
        .get_or_create(&kind_resource)
        .set(1);
    metrics
        .encode()
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .flat_map(|line| {
            let mut words = line.split(' ');
            let name = words.next().unwrap_or_default().to_owned();
            match words.next() {
                Some("counter") => vec![format!("{name}_total")],
                Some("histogram") => ["_bucket", "_sum", "_count"]
                    .iter()
                    .map(|suffix| format!("{name}{suffix}"))
                    .collect(),
                _ => vec![name],
            }
        })
        .collect()
}

#[test]
fn every_alert_reads_metrics_the_operator_exports() {
    let rules = read_yaml("charts/sg-tightener/files/prometheus-rules.yaml");
    let exported = every_metric_name();
    let name = regex::Regex::new(r"sgtightener_[a-z_]+").unwrap();
    let alerts = rules["groups"][0]["rules"].as_sequence().expect("rules");
    assert!(alerts.len() >= 4, "{alerts:?}");
    for alert in alerts {
        let expr = alert["expr"].as_str().expect("expr");
        let title = alert["alert"].as_str().expect("alert name");
        let used: Vec<&str> = name.find_iter(expr).map(|m| m.as_str()).collect();
        assert!(!used.is_empty(), "{title} reads no sg-tightener metric");
        for metric in used {
            assert!(
                exported.iter().any(|e| e == metric),
                "{title} reads {metric}, which the operator does not export ({exported:?})"
            );
        }
        for key in ["summary", "description"] {
            assert!(alert["annotations"][key].is_string(), "{title} lacks {key}");
        }
    }
    let titles: Vec<&str> = alerts.iter().filter_map(|a| a["alert"].as_str()).collect();
    for wanted in [
        "SgTightenerApplyHalted",
        "SgTightenerRejectedTrafficAfterApply",
        "SgTightenerCriticalFindings",
        "SgTightenerReconcileErrors",
    ] {
        assert!(titles.contains(&wanted), "{wanted} missing: {titles:?}");
    }
}
