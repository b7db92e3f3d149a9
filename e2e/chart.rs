//! e2e: the Helm chart (DESIGN §10) — `helm lint` with good and bad values (values.schema.json),
//! `helm template` of every option, and the rendered manifests accepted by a server-side dry-run
//! on the real API server, cluster-wide and confined to namespaces.

use crate::support::chart_rbac::chart_dir;
use crate::support::tools::{helm, kubectl};
use crate::support::Scenario;

fn chart() -> String {
    chart_dir()
}

/// Every optional object switched on (the monitoring kinds need the Prometheus Operator's CRDs,
/// which this API server does not have: they are rendered, not applied).
const ALL_OPTIONS: &[&str] = &[
    "approval.enabled=true",
    "approval.groups={platform-approvers}",
    "networkPolicy.enabled=true",
    "networkPolicy.apiServer.cidrs={10.0.0.1/32}",
    "podDisruptionBudget.enabled=true",
    "replicaCount=2",
];

async fn template(namespace: &str, set: &[&str]) -> String {
    let chart = chart();
    let mut args = vec!["template", "sg-tightener", &chart, "--namespace", namespace];
    for pair in set {
        args.extend(["--set", pair]);
    }
    helm(&args).await.expect_success().stdout
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
async fn helm_lint_refuses_bad_values_naming_the_field() {
    let cases = [
        (
            "--set",
            "config.reconcile.concurrency=0",
            "/config/reconcile/concurrency",
        ),
        (
            "--set",
            "config.aws.maxAttempts=21",
            "/config/aws/maxAttempts",
        ),
        (
            "--set",
            "config.watchNamespaces={Team_A}",
            "/config/watchNamespaces/0",
        ),
        (
            "--set",
            "config.breakGlass.maxExpiresAfter=3d",
            "/config/breakGlass/maxExpiresAfter",
        ),
        (
            "--set",
            "config.orgScan.defaultRoleName=has space",
            "/config/orgScan/defaultRoleName",
        ),
        (
            "--set",
            "config.leaderElection.leaseName=Leader",
            "/config/leaderElection/leaseName",
        ),
        (
            "--set-json",
            r#"config.tenancy=[{"namespaces":["*"],"accounts":["12345"]}]"#,
            "/config/tenancy/0/accounts/0",
        ),
        ("--set", "config.typo=1", "/config"),
        ("--set", "image.digest=latest", "/image/digest"),
        ("--set", "logging.format=xml", "/logging/format"),
        ("--set", "approval.enabled=true", "/approval/groups"),
    ];
    for (flag, value, field) in cases {
        let output = helm(&["lint", &chart(), flag, value]).await;
        assert_ne!(output.code, Some(0), "{value} passed helm lint");
        assert!(
            output.stdout.contains(&format!("at '{field}'")),
            "{value}: the error does not name {field}:\n{}",
            output.transcript()
        );
    }
}

#[tokio::test]
async fn helm_template_renders_every_object_with_and_without_options() {
    let plain = template("sg-tightener", &[]).await;
    for kind in [
        "kind: ServiceAccount",
        "kind: ConfigMap",
        "kind: ClusterRole",
        "kind: ClusterRoleBinding",
        "kind: Service",
        "kind: Deployment",
    ] {
        assert!(plain.contains(kind), "no {kind} rendered:\n{plain}");
    }
    for opt_in in [
        "kind: ServiceMonitor",
        "kind: PrometheusRule",
        "kind: NetworkPolicy",
        "kind: PodDisruptionBudget",
        "kind: ValidatingAdmissionPolicy",
    ] {
        assert!(!plain.contains(opt_in), "{opt_in} is opt-in");
    }
    assert!(plain.contains("image: \"sg-tightener:0.1.0\""), "{plain}");
    let digest = format!("sha256:{}", "0a".repeat(32));
    let mut options = ALL_OPTIONS.to_vec();
    let digest_value = format!("image.digest={digest}");
    options.extend([
        "metrics.serviceMonitor.enabled=true",
        "metrics.prometheusRule.enabled=true",
        "config.leaderElection.enabled=false",
        &digest_value,
    ]);
    let all = template("sg-tightener", &options).await;
    for kind in [
        "kind: ServiceMonitor",
        "kind: PrometheusRule",
        "kind: NetworkPolicy",
        "kind: PodDisruptionBudget",
        "kind: ValidatingAdmissionPolicy\n",
        "kind: ValidatingAdmissionPolicyBinding",
        "alert: SgTightenerApplyHalted",
        "startupProbe:",
    ] {
        assert!(all.contains(kind), "no {kind} rendered:\n{all}");
    }
    assert!(
        all.contains(&format!("image: \"sg-tightener@{digest}\"")),
        "a digest pins the image:\n{all}"
    );
    assert!(
        !all.contains("-leader-election"),
        "no Lease Role without leader election"
    );
}

/// `kubectl apply --dry-run=server` of `rendered`; asserts every `kind/name` was accepted
/// without warnings.
async fn dry_run(namespace: &str, rendered: &str, expected: &[&str]) {
    let args = [
        "apply",
        "--dry-run=server",
        "--namespace",
        namespace,
        "-f",
        "-",
    ];
    let applied = kubectl(&args, Some(rendered)).await.expect_success();
    for object in expected {
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

#[tokio::test]
async fn the_rendered_chart_passes_a_server_side_dry_run() {
    let s = Scenario::start("chart-dry-run").await;
    let rendered = template(&s.namespace, &[]).await;
    dry_run(
        &s.namespace,
        &rendered,
        &[
            "serviceaccount/sg-tightener",
            "configmap/sg-tightener-config",
            "clusterrole.rbac.authorization.k8s.io/sg-tightener",
            "clusterrole.rbac.authorization.k8s.io/sg-tightener-view",
            "clusterrole.rbac.authorization.k8s.io/sg-tightener-edit",
            "clusterrolebinding.rbac.authorization.k8s.io/sg-tightener",
            "role.rbac.authorization.k8s.io/sg-tightener-leader-election",
            "deployment.apps/sg-tightener",
        ],
    )
    .await;
}

#[tokio::test]
async fn the_chart_confined_to_namespaces_with_every_option_passes_a_server_side_dry_run() {
    let s = Scenario::start("chart-dry-run-ns").await;
    let watched = format!("config.watchNamespaces={{{}}}", s.namespace);
    let mut options = ALL_OPTIONS.to_vec();
    options.push(&watched);
    let rendered = template(&s.namespace, &options).await;
    assert!(!rendered.contains("kind: ClusterRoleBinding"), "{rendered}");
    dry_run(
        &s.namespace,
        &rendered,
        &[
            "role.rbac.authorization.k8s.io/sg-tightener",
            "rolebinding.rbac.authorization.k8s.io/sg-tightener",
            "networkpolicy.networking.k8s.io/sg-tightener",
            "poddisruptionbudget.policy/sg-tightener",
            "validatingadmissionpolicy.admissionregistration.k8s.io/sg-tightener-approval",
            "validatingadmissionpolicybinding.admissionregistration.k8s.io/sg-tightener-approval",
            "deployment.apps/sg-tightener",
        ],
    )
    .await;
}
