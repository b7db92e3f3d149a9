//! e2e: the Helm chart's access for an operator — render the chart's ServiceAccount and RBAC for
//! an operator's configuration (`watchNamespaces`, leader election), apply them, wait until the
//! API server's authorizer sees them, and a kubeconfig that impersonates that ServiceAccount. An
//! operator started this way can do exactly what the chart grants: a Kubernetes call the chart
//! does not grant fails its scenario with `Forbidden`.

use super::cluster::{client, E2E_MANAGER};
use super::env::env;
use super::objects::{api_for, parse_yaml};
use super::poll::eventually;
use super::tools::helm;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::ResourceExt;
use sg_tightener::config::ControllerConfig;
use std::path::{Path, PathBuf};

/// The chart in this checkout.
pub fn chart_dir() -> String {
    format!("{}/charts/sg-tightener", env!("CARGO_MANIFEST_DIR"))
}

/// `helm template <release>` of the chart in `namespace` with `config` as `.Values.config` and
/// `--set` pairs; only the templates named in `show_only` (all when empty). Values go through a
/// file, so the chart's values.schema.json checks the configuration too.
pub async fn render(
    release: &str,
    namespace: &str,
    config: &ControllerConfig,
    set: &[&str],
    show_only: &[&str],
    scratch: &Path,
) -> String {
    let values = scratch.join(format!("values-{release}.yaml"));
    let text = serde_yaml::to_string(&serde_yaml::Mapping::from_iter([(
        "config".into(),
        serde_yaml::to_value(config).expect("the config serialises"),
    )]))
    .expect("values serialise");
    std::fs::write(&values, text).expect("write the values file");
    let chart = chart_dir();
    let values_path = values.display().to_string();
    let mut args = vec![
        "template",
        release,
        &chart,
        "--namespace",
        namespace,
        "-f",
        &values_path,
    ];
    for pair in set {
        args.extend(["--set", pair]);
    }
    for template in show_only {
        args.extend(["--show-only", template]);
    }
    helm(&args).await.expect_success().stdout
}

/// Server-side applies every object of `yaml` in the namespace it names (`default_namespace`
/// when it names none); returns `kind/name` of each.
pub async fn apply_in_place(yaml: &str, default_namespace: &str) -> Vec<String> {
    let client = client().await;
    let mut applied = Vec::new();
    for mut object in parse_yaml(yaml) {
        let namespace = object
            .namespace()
            .unwrap_or_else(|| default_namespace.to_owned());
        let api = api_for(&client, &namespace, &object).await;
        object.metadata.namespace = None;
        let name = object.name_any();
        let params = PatchParams::apply(E2E_MANAGER).force();
        api.patch(&name, &params, &Patch::Apply(&object))
            .await
            .unwrap_or_else(|e| panic!("apply of {}/{name} refused: {e}", api.resource_url()));
        let kind = object.types.map(|t| t.kind).unwrap_or_default();
        applied.push(format!("{kind}/{name}"));
    }
    applied
}

/// Whether `user` may `verb` `resource` (`group`) in `namespace`, as the API server decides now.
pub async fn allowed(user: &str, verb: &str, group: &str, resource: &str, namespace: &str) -> bool {
    let (resource, subresource) = match resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_owned())),
        None => (resource, None),
    };
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.to_owned()),
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(namespace.to_owned()),
                verb: Some(verb.to_owned()),
                group: Some(group.to_owned()),
                resource: Some(resource.to_owned()),
                subresource,
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let created = Api::<SubjectAccessReview>::all(client().await)
        .create(&PostParams::default(), &review)
        .await
        .unwrap_or_else(|e| panic!("SubjectAccessReview refused: {e}"));
    created.status.is_some_and(|s| s.allowed)
}

/// The ServiceAccount user name of the chart release `release` installed in `namespace`.
pub fn service_account_user(release: &str, namespace: &str) -> String {
    format!("system:serviceaccount:{namespace}:{release}-sg-tightener")
}

/// Renders and applies the chart's ServiceAccount and RBAC for an operator with `config`,
/// released as `release` in `namespace`; waits until the authorizer lets it list the kinds where
/// it watches. Returns the ServiceAccount's user name.
pub async fn install(
    release: &str,
    namespace: &str,
    config: &ControllerConfig,
    scratch: &Path,
) -> String {
    let show = ["templates/serviceaccount.yaml", "templates/rbac.yaml"];
    let yaml = render(release, namespace, config, &[], &show, scratch).await;
    apply_in_place(&yaml, namespace).await;
    let user = service_account_user(release, namespace);
    let watched = config
        .watch_namespaces
        .first()
        .cloned()
        .unwrap_or_else(|| namespace.to_owned());
    let what = format!("{user} to be allowed to list securitygrouptightenings in {watched}");
    eventually(&what, super::DEFAULT_TIMEOUT, || async {
        let ok = allowed(
            &user,
            "list",
            "sgtightener.io",
            "securitygrouptightenings",
            &watched,
        )
        .await;
        ok.then_some(()).ok_or_else(|| "not yet".to_owned())
    })
    .await;
    user
}

/// A copy of the environment's kubeconfig in `dir` that impersonates `user`.
pub fn impersonating_kubeconfig(user: &str, dir: &Path) -> PathBuf {
    let source = &env().kubeconfig;
    let text = std::fs::read_to_string(source)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
    let mut config: serde_yaml::Value = serde_yaml::from_str(&text).expect("kubeconfig is YAML");
    let users = config["users"]
        .as_sequence_mut()
        .expect("the kubeconfig has users");
    for entry in users {
        entry["user"]["as"] = user.into();
    }
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        serde_yaml::to_string(&config).expect("kubeconfig serialises"),
    )
    .expect("write the kubeconfig");
    path
}
