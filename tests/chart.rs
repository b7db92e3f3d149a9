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
    assert!(
        !operator.contains("\"delete\""),
        "the controller deletes nothing"
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
