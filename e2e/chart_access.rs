//! e2e: who may do what, as the real API server decides — the chart's operator rules are exactly
//! `sg_tightener::controller::access`; its ServiceAccount, checked with `kubectl auth can-i`, may
//! do what the operator needs and nothing more; and the approval policy lets only approvers
//! change `spec.approved`, `spec.revert` and `spec.deletionPolicy` (users impersonated).

use crate::support::chart_rbac::{apply_in_place, render, service_account_user};
use crate::support::names::unique_name;
use crate::support::objects::parse_yaml;
use crate::support::tools::kubectl;
use crate::support::{env, eventually, sample, Scenario, DEFAULT_TIMEOUT};
use kube::api::DynamicObject;
use sg_tightener::config::ControllerConfig;
use sg_tightener::controller::access::{self, Rule};
use std::collections::BTreeSet;

type Triple = (String, String, String);

/// `(group, resource, verb)` of every rule of the `kind` objects named `name` in `yaml`, with
/// their resourceNames.
fn rendered_rules(yaml: &str, kind: &str, name: &str) -> BTreeSet<(Triple, Vec<String>)> {
    let mut triples = BTreeSet::new();
    let objects = parse_yaml(yaml);
    let selected = objects
        .iter()
        .filter(|o| kind_of(o) == kind && o.metadata.name.as_deref() == Some(name));
    for object in selected {
        for rule in object.data["rules"].as_array().expect("rules") {
            let strings = |key: &str| -> Vec<String> {
                rule[key]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| v.as_str().unwrap_or("").to_owned())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            for group in strings("apiGroups") {
                for resource in strings("resources") {
                    for verb in strings("verbs") {
                        let triple = (group.clone(), resource.clone(), verb);
                        triples.insert((triple, strings("resourceNames")));
                    }
                }
            }
        }
    }
    triples
}

fn kind_of(object: &DynamicObject) -> String {
    object
        .types
        .as_ref()
        .map(|t| t.kind.clone())
        .unwrap_or_default()
}

fn expected(rules: &[Rule]) -> BTreeSet<(Triple, Vec<String>)> {
    rules
        .iter()
        .flat_map(|r| {
            r.triples()
                .into_iter()
                .map(|t| (t, r.resource_names.clone()))
        })
        .collect()
}

#[tokio::test]
async fn the_chart_grants_exactly_what_the_operator_calls() {
    let scratch = env().scratch_dir(&unique_name("chart-rules"));
    let mut config = ControllerConfig::default();
    let cluster = render("r", "ops", &config, &[], &[], &scratch).await;
    let watched = expected(&access::watched());
    assert_eq!(
        rendered_rules(&cluster, "ClusterRole", "r-sg-tightener"),
        watched,
        "the ClusterRole differs from controller::access::watched()"
    );
    assert_eq!(
        rendered_rules(&cluster, "Role", "r-sg-tightener-leader-election"),
        expected(&access::lease("sg-tightener")),
        "the leader-election Role differs from controller::access::lease()"
    );
    assert_eq!(
        rendered_rules(&cluster, "Role", "r-sg-tightener-claims"),
        expected(&access::claims()),
        "the group claims' Role differs from controller::access::claims()"
    );

    config.watch_namespaces = vec!["team-a".into(), "team-b".into()];
    config.leader_election.lease_name = "other-lease".into();
    config.break_glass.aws_ip_ranges.config_map = "sg-tightener/ip-ranges".into();
    let confined = render("r", "ops", &config, &[], &[], &scratch).await;
    let objects = parse_yaml(&confined);
    let roles: Vec<_> = objects
        .iter()
        .filter(|o| kind_of(o) == "Role" && o.metadata.name.as_deref() == Some("r-sg-tightener"))
        .filter_map(|o| o.metadata.namespace.clone())
        .collect();
    assert_eq!(
        roles,
        ["team-a", "team-b"],
        "one Role per watched namespace"
    );
    assert_eq!(rendered_rules(&confined, "Role", "r-sg-tightener"), watched);
    assert_eq!(
        rendered_rules(&confined, "Role", "r-sg-tightener-leader-election"),
        expected(&access::lease("other-lease"))
    );
    assert_eq!(
        rendered_rules(&confined, "Role", "r-sg-tightener-ip-ranges"),
        expected(&access::ip_ranges("sg-tightener/ip-ranges")),
        "the ip-ranges ConfigMap is read by name where it lives"
    );
    let bound_cluster_wide = objects.iter().any(|o| kind_of(o) == "ClusterRoleBinding");
    assert!(
        !bound_cluster_wide,
        "confined to namespaces, the operator is bound to no ClusterRole"
    );
}

async fn can_i(user: &str, verb: &str, resource: &str, namespace: &str) -> bool {
    let args = [
        "auth",
        "can-i",
        verb,
        resource,
        "--namespace",
        namespace,
        "--as",
        user,
    ];
    let output = kubectl(&args, None).await;
    match output.stdout.trim() {
        "yes" => true,
        "no" => false,
        _ => panic!("kubectl auth can-i: {}", output.transcript()),
    }
}

#[tokio::test]
async fn the_rendered_service_account_may_do_what_the_operator_needs_and_no_more() {
    let s = Scenario::start("chart-can-i").await;
    let elsewhere = Scenario::start("chart-can-i-other").await;
    let scratch = env().scratch_dir(&unique_name("chart-can-i"));
    let release = unique_name("can-i");
    let config = ControllerConfig {
        watch_namespaces: vec![s.namespace.clone()],
        ..ControllerConfig::default()
    };
    let yaml = render(&release, &s.namespace, &config, &[], &[], &scratch).await;
    let rbac: String = parse_yaml(&yaml)
        .into_iter()
        .filter(|o| kind_of(o).contains("Role") || kind_of(o) == "ServiceAccount")
        .map(|o| format!("---\n{}", serde_yaml::to_string(&o).expect("yaml")))
        .collect();
    apply_in_place(&rbac, &s.namespace).await;
    let user = service_account_user(&release, &s.namespace);
    let ns = s.namespace.as_str();
    eventually(
        "the RoleBinding to take effect",
        DEFAULT_TIMEOUT,
        || async {
            let ok = can_i(
                &user,
                "watch",
                "securitygrouptightenings.sgtightener.io",
                ns,
            )
            .await;
            ok.then_some(()).ok_or_else(|| "no".to_owned())
        },
    )
    .await;
    let other = elsewhere.namespace.as_str();
    let (leases, events) = ("leases.coordination.k8s.io", "events.events.k8s.io");
    let sgt = "securitygrouptightenings.sgtightener.io";
    // (verb, resource, namespace, allowed): what the operator needs, and what it must not do.
    let checks = [
        ("list", sgt, ns, true),
        (
            "patch",
            "breakglassextensions.sgtightener.io/status",
            ns,
            true,
        ),
        ("patch", "orgriskscans.sgtightener.io", ns, true),
        (
            "patch",
            "securitygroupcompactions.sgtightener.io/status",
            ns,
            true,
        ),
        ("create", events, ns, true),
        ("create", "configmaps", ns, true),
        ("get", "configmaps", ns, true),
        ("create", leases, ns, true),
        (
            "update",
            "leases.coordination.k8s.io/sg-tightener",
            ns,
            true,
        ),
        ("get", "secrets", ns, false),
        ("list", "secrets", ns, false),
        ("get", "pods", ns, false),
        ("create", "pods", ns, false),
        // Old manifests are garbage-collected, group claims (release namespace) released.
        ("delete", "configmaps", ns, true),
        ("list", "configmaps", ns, true),
        ("update", "configmaps", ns, false),
        // A group claim's holder is read to see whether it still exists.
        ("get", sgt, ns, true),
        ("get", "breakglassextensions.sgtightener.io", ns, false),
        ("delete", sgt, ns, false),
        (
            "update",
            "securitygrouptightenings.sgtightener.io/status",
            ns,
            false,
        ),
        ("create", "events", ns, false),
        (
            "patch",
            "leases.coordination.k8s.io/sg-tightener",
            ns,
            false,
        ),
        (
            "update",
            "leases.coordination.k8s.io/another-lease",
            ns,
            false,
        ),
        ("list", sgt, other, false),
        ("create", "configmaps", other, false),
        ("list", sgt, "default", false),
    ];
    for (verb, resource, namespace, expected) in checks {
        assert_eq!(
            can_i(&user, verb, resource, namespace).await,
            expected,
            "{user}: can-i {verb} {resource} in {namespace}"
        );
    }
}

/// A merge patch of `spec` on tightening `name` as `user` in `groups`; `Err(stderr)` when refused.
async fn patch_as(
    namespace: &str,
    name: &str,
    spec: &str,
    user: &str,
    groups: &[&str],
) -> Result<(), String> {
    let patch = format!("{{\"spec\":{spec}}}");
    let mut args = vec![
        "patch",
        "sgt",
        name,
        "--namespace",
        namespace,
        "--type",
        "merge",
        "-p",
        &patch,
        "--as",
        user,
    ];
    for group in groups {
        args.extend(["--as-group", group]);
    }
    let output = kubectl(&args, None).await;
    if output.code == Some(0) {
        Ok(())
    } else {
        Err(output.stderr)
    }
}

#[tokio::test]
async fn only_approvers_may_approve_revert_or_change_the_deletion_policy() {
    let s = Scenario::start("chart-approval").await;
    let scratch = env().scratch_dir(&unique_name("chart-approval"));
    let release = unique_name("approval");
    let approvers = unique_name("approvers");
    let developers = unique_name("developers");
    // Confines the policy to this scenario's namespace (its binding's namespaceSelector).
    let config = ControllerConfig {
        watch_namespaces: vec![s.namespace.clone()],
        ..ControllerConfig::default()
    };
    let groups = format!("approval.groups={{{approvers}}}");
    let show = [
        "templates/approval-policy.yaml",
        "templates/user-roles.yaml",
    ];
    let set = ["approval.enabled=true", &groups];
    let yaml = render(&release, &s.namespace, &config, &set, &show, &scratch).await;
    apply_in_place(&yaml, &s.namespace).await;
    // Both groups may read and edit tightenings (the chart's aggregated view and edit roles,
    // bound directly: this API server runs no controller-manager to aggregate them).
    for role in ["view", "edit"] {
        let cluster_role = format!("{release}-sg-tightener-{role}");
        let binding = format!("people-{role}");
        let args = [
            "create",
            "rolebinding",
            &binding,
            "--namespace",
            &s.namespace,
            "--clusterrole",
            &cluster_role,
            "--group",
            &approvers,
            "--group",
            &developers,
        ];
        kubectl(&args, None).await.expect_success();
    }
    let tightening = sample("securitygrouptightening.yaml");
    let name = tightening.json()["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    s.apply_yaml(&tightening.text).await;
    let hash = "ab".repeat(32);
    let approve = format!("{{\"approved\":\"{hash}\"}}");
    let ns = s.namespace.as_str();
    // The policy is enforced once the API server has loaded it.
    let refusal = eventually(
        "the approval policy to refuse a developer",
        DEFAULT_TIMEOUT,
        || async {
            match patch_as(ns, &name, &approve, "dev", &[&developers]).await {
                Err(refusal) if refusal.contains("ValidatingAdmissionPolicy") => Ok(refusal),
                Err(other) => Err(other),
                Ok(()) => {
                    patch_as(ns, &name, "{\"approved\":\"\"}", "admin", &[&approvers]).await?;
                    Err("the developer's approval was accepted".to_owned())
                }
            }
        },
    )
    .await;
    for needle in [
        "only members of the approver groups",
        approvers.as_str(),
        "dev is in none of them",
    ] {
        assert!(
            refusal.contains(needle),
            "the refusal does not say who may: {refusal}"
        );
    }
    for spec in ["{\"revert\":true}", "{\"deletionPolicy\":\"Revert\"}"] {
        let refused = patch_as(ns, &name, spec, "dev", &[&developers]).await;
        assert!(refused.is_err(), "a developer changed {spec}");
    }
    patch_as(
        ns,
        &name,
        "{\"evidence\":{\"days\":30}}",
        "dev",
        &[&developers],
    )
    .await
    .expect("a developer may change the other fields");
    patch_as(ns, &name, &approve, "alice", &["some-team", &approvers])
        .await
        .expect("an approver may approve");
    patch_as(
        ns,
        &name,
        "{\"revert\":true,\"deletionPolicy\":\"Revert\"}",
        "alice",
        &[&approvers],
    )
    .await
    .expect("an approver may revert and set the deletion policy");
    let created: String = tightening
        .text
        .replace(&format!("name: {name}"), "name: created-approved")
        .lines()
        .filter(|line| !line.starts_with("  namespace:"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(created.contains("  approved: \"\"\n"), "{created}");
    let created = created.replace("  approved: \"\"\n", &format!("  approved: \"{hash}\"\n"));
    let args = [
        "create",
        "--namespace",
        ns,
        "-f",
        "-",
        "--as",
        "dev",
        "--as-group",
        &developers,
    ];
    let output = kubectl(&args, Some(&created)).await;
    assert_ne!(
        output.code,
        Some(0),
        "a developer created an approved tightening: {}",
        output.transcript()
    );
    assert!(
        output
            .stderr
            .contains("only members of the approver groups"),
        "{}",
        output.transcript()
    );
}
