//! e2e: the Helm chart (DESIGN §10) — `helm lint`, `helm template`, and the rendered manifests
//! accepted by a server-side dry-run on the real API server in a fresh release namespace.

use crate::support::tools::{helm, kubectl};
use crate::support::Scenario;

fn chart() -> String {
    format!("{}/charts/sg-tightener", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn helm_lint_passes_strictly() {
    let output = helm(&["lint", "--strict", &chart()]).await.expect_success();
    assert!(
        output.stdout.contains("0 chart(s) failed"),
        "{}",
        output.transcript()
    );
}

#[tokio::test]
async fn helm_template_renders_every_object_with_and_without_options() {
    let plain = helm(&[
        "template",
        "sg-tightener",
        &chart(),
        "--namespace",
        "sg-tightener",
    ])
    .await
    .expect_success();
    for kind in [
        "kind: ServiceAccount",
        "kind: ConfigMap",
        "kind: ClusterRole",
        "kind: ClusterRoleBinding",
        "kind: Service",
        "kind: Deployment",
    ] {
        assert!(
            plain.stdout.contains(kind),
            "no {kind} rendered:\n{}",
            plain.stdout
        );
    }
    assert!(
        !plain.stdout.contains("kind: ServiceMonitor"),
        "ServiceMonitor is opt-in"
    );
    let options = [
        "template",
        "sg-tightener",
        &chart(),
        "--namespace",
        "sg-tightener",
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "config.leaderElection.enabled=false",
    ];
    let with_options = helm(&options).await.expect_success();
    assert!(
        with_options.stdout.contains("kind: ServiceMonitor"),
        "{}",
        with_options.stdout
    );
}

#[tokio::test]
async fn the_rendered_chart_passes_a_server_side_dry_run() {
    let s = Scenario::start("chart-dry-run").await;
    let rendered = helm(&[
        "template",
        "sg-tightener",
        &chart(),
        "--namespace",
        &s.namespace,
    ])
    .await
    .expect_success();
    let args = [
        "apply",
        "--dry-run=server",
        "--namespace",
        &s.namespace,
        "-f",
        "-",
    ];
    let applied = kubectl(&args, Some(&rendered.stdout))
        .await
        .expect_success();
    for object in [
        "serviceaccount/sg-tightener",
        "configmap/sg-tightener-config",
        "clusterrole.rbac.authorization.k8s.io/sg-tightener",
        "clusterrolebinding.rbac.authorization.k8s.io/sg-tightener",
        "deployment.apps/sg-tightener",
    ] {
        assert!(
            applied
                .stdout
                .contains(&format!("{object} created (server dry run)")),
            "{object} not accepted:\n{}",
            applied.transcript()
        );
    }
    assert!(
        !applied.stderr.contains("Warning:"),
        "the API server warned about the chart:\n{}",
        applied.stderr
    );
}
