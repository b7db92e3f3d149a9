//! Controller layer: the Kubernetes access the operator needs — every kind of API call the code
//! makes, as RBAC rules, each with the code that makes it. The Helm chart grants exactly these
//! (an e2e test renders the chart and compares), and e2e operators run as the chart's
//! ServiceAccount, so a new call that is not granted fails its scenario with `Forbidden`.
//!
//! When code starts calling a new Kubernetes API: add it here and to the chart's
//! `sg-tightener.operatorRules` (or the leader-election Role) in `charts/sg-tightener/templates/`.

use crate::crd::all_crds;

/// One RBAC rule: verbs on resources of one API group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// API group (`""` for the core group).
    pub api_group: &'static str,
    /// Resource names, `plural` or `plural/subresource`.
    pub resources: Vec<String>,
    /// Verbs.
    pub verbs: &'static [&'static str],
    /// Object names the rule is limited to; empty = any.
    pub resource_names: Vec<String>,
    /// Which code makes these calls.
    pub why: &'static str,
}

impl Rule {
    fn new(
        api_group: &'static str,
        resources: Vec<String>,
        verbs: &'static [&'static str],
        why: &'static str,
    ) -> Self {
        Rule {
            api_group,
            resources,
            verbs,
            resource_names: Vec::new(),
            why,
        }
    }

    /// `(group, resource, verb)` for every pair the rule grants.
    pub fn triples(&self) -> Vec<(String, String, String)> {
        self.resources
            .iter()
            .flat_map(|resource| {
                self.verbs.iter().map(move |verb| {
                    (
                        self.api_group.to_owned(),
                        resource.clone(),
                        (*verb).to_owned(),
                    )
                })
            })
            .collect()
    }
}

fn kinds(suffix: &str) -> Vec<String> {
    all_crds()
        .iter()
        .map(|crd| format!("{}{suffix}", crd.spec.names.plural))
        .collect()
}

/// What the operator calls in each namespace it watches (cluster-wide without `watchNamespaces`).
pub fn watched() -> Vec<Rule> {
    vec![
        Rule::new(
            "sgtightener.io",
            kinds(""),
            &["list", "watch", "patch"],
            "list, watch: one controller per kind (controller::runner); patch: the finalizer \
             sgtightener.io/cleanup (kube-runtime's finalizer helper, a JSON patch)",
        ),
        Rule::new(
            "sgtightener.io",
            kinds("/status"),
            &["patch"],
            "server-side apply of the status (controller::status::apply_status)",
        ),
        Rule::new(
            "events.k8s.io",
            vec!["events".into()],
            &["create", "patch"],
            "events on transitions (controller::context::Events): kube's Recorder creates an \
             event and patches its series when the same event repeats within minutes",
        ),
        Rule::new(
            "",
            vec!["configmaps".into()],
            &["get", "list", "create", "patch", "delete"],
            "write-ahead apply manifests (controller::change::store): read by name, written \
             by server-side apply, which needs create for a new ConfigMap; a resource's manifests \
             listed by label (status.applied is recovered from them) and the oldest deleted beyond \
             manifests.keep; DESIGN also keeps scan reports and the ip-ranges.json cache in \
             ConfigMaps",
        ),
        Rule::new(
            "sgtightener.io",
            vec![
                "securitygrouptightenings".into(),
                "securitygroupcompactions".into(),
            ],
            &["get"],
            "a group claim's holder still exists, else its claim is taken over \
             (controller::claims)",
        ),
    ]
}

/// What the operator calls on group claims, in its own namespace (the release namespace).
pub fn claims() -> Vec<Rule> {
    vec![Rule::new(
        "",
        vec!["configmaps".into()],
        &["get", "list", "create", "delete"],
        "one actor per group (controller::claims): a claim is created if absent, read, listed by \
         holder and deleted when released",
    )]
}

/// What the operator calls on its leader-election Lease `lease_name`, in the Lease's namespace.
pub fn lease(lease_name: &str) -> Vec<Rule> {
    let leases = || vec!["leases".to_owned()];
    vec![
        Rule::new(
            "coordination.k8s.io",
            leases(),
            &["create"],
            "the first replica creates the Lease (controller::leader); create cannot be limited by name",
        ),
        Rule {
            resource_names: vec![lease_name.to_owned()],
            ..Rule::new(
                "coordination.k8s.io",
                leases(),
                &["get", "update"],
                "read, take, renew and release the Lease (controller::leader: get, replace)",
            )
        },
    ]
}

/// What the operator calls on the `breakGlass.awsIpRanges.configMap` `namespace/name`, in its
/// namespace (which need not be watched).
pub fn ip_ranges(config_map: &str) -> Vec<Rule> {
    let name = config_map
        .split_once('/')
        .map(|(_, name)| name)
        .unwrap_or_default();
    vec![Rule {
        resource_names: vec![name.to_owned()],
        ..Rule::new(
            "",
            vec!["configmaps".into()],
            &["get"],
            "the ip-ranges.json ConfigMap break-glass summarises AWS sources with \
             (controller::breakglass::store)",
        )
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_its_status_is_covered_and_nothing_sensitive_is() {
        let triples: Vec<_> = watched().iter().flat_map(Rule::triples).collect();
        for crd in all_crds() {
            let plural = &crd.spec.names.plural;
            let has = |resource: &str, verb: &str| {
                triples.contains(&("sgtightener.io".into(), resource.into(), verb.into()))
            };
            assert!(has(plural, "watch") && has(plural, "list"), "{plural}");
            assert!(has(&format!("{plural}/status"), "patch"), "{plural}/status");
        }
        for (group, resource, verb) in &triples {
            assert_ne!(
                resource, "secrets",
                "the controller never reads secrets (I13)"
            );
            assert!(
                verb != "delete" || resource == "configmaps",
                "the controller deletes only ConfigMaps ({group}/{resource})"
            );
            assert!(!resource.contains('*') && verb != "*", "no wildcards");
        }
    }

    #[test]
    fn the_lease_is_read_and_renewed_by_name_only() {
        let rules = lease("sg-tightener");
        assert!(rules[0].resource_names.is_empty() && rules[0].verbs == ["create"]);
        assert_eq!(rules[1].resource_names, ["sg-tightener"]);
    }
}
