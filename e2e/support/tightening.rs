//! e2e: what the SecurityGroupTightening scenarios share — the estate and its flow logs in a
//! moto account of the test's own, the resource's YAML, waiting for a plan, approving a hash, and
//! reading rule strings (`tcp:443 10.0.10.0/27`) out of a plan.

use super::cluster::wait_for_within;
use super::estate::Estate;
use super::{condition, env, flowlogs, to_json, Scenario, TestAccount};
use ipnet::IpNet;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How long a plan (90 days of logs read) or an apply may take.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// One tightening scenario's world.
pub struct World {
    pub s: Scenario,
    pub account: TestAccount,
    pub estate: Estate,
}

impl World {
    /// The estate with 90 days of flow logs, except the days (0 = yesterday) `skip` names.
    pub async fn new(name: &str, skip: impl Fn(u32) -> bool) -> World {
        let s = Scenario::start(name).await;
        let account = s.aws_account().await;
        let estate = Estate::create(&account).await;
        flowlogs::upload_days(&account, &estate, 90, skip).await;
        World { s, account, estate }
    }

    /// A SecurityGroupTightening `name` of the payments group; `extra` is appended to its spec
    /// (indented two spaces).
    pub fn yaml(&self, name: &str, groups: &[&str], extra: &str) -> String {
        let ids = groups.join(", ");
        format!(
            "apiVersion: sgtightener.io/v1alpha1\nkind: SecurityGroupTightening\n\
             metadata: {{name: {name}}}\nspec:\n  region: {region}\n  accountId: \"{id}\"\n  \
             roleArn: {role}\n  groups: {{ids: [{ids}]}}\n  \
             evidence: {{days: 90, s3: {{bucket: {bucket}, prefix: AWSLogs/}}}}\n{extra}",
            region = env().region,
            id = self.account.id,
            role = self.account.role_arn,
            bucket = self.estate.bucket,
        )
    }

    /// Creates the resource; returns its API.
    pub async fn create(&self, yaml: &str) -> Api<DynamicObject> {
        let created = self.s.apply_yaml(yaml).await;
        self.s.api_for(&created[0]).await
    }
}

/// Waits until the latest generation has a plan in status (`Planned=True`); returns the object.
pub async fn wait_plan(api: &Api<DynamicObject>, name: &str) -> DynamicObject {
    wait_for_within(
        api,
        name,
        "show a plan for its latest generation",
        TIMEOUT,
        |o| {
            let j = to_json(o);
            j["status"]["observedGeneration"] == j["metadata"]["generation"]
                && j["status"]["plan"]["hash"].is_string()
                && condition(o, "Planned").is_some_and(|c| c["status"] == "True")
        },
    )
    .await
}

/// Waits until condition `type_` has `status` and `reason` (any when empty) for the latest generation.
pub async fn wait_condition(
    api: &Api<DynamicObject>,
    name: &str,
    type_: &str,
    status: &str,
    reason: &str,
) -> DynamicObject {
    let what = format!("{type_}={status} ({reason})");
    wait_for_within(api, name, &what, TIMEOUT, |o| {
        let j = to_json(o);
        j["status"]["observedGeneration"] == j["metadata"]["generation"]
            && condition(o, type_).is_some_and(|c| {
                c["status"] == status && (reason.is_empty() || c["reason"] == reason)
            })
    })
    .await
}

/// Waits for the plan of the latest generation, approves its hash and waits until it is
/// applied; returns the plan.
pub async fn approve_and_apply(api: &Api<DynamicObject>, name: &str) -> Value {
    let planned = plan(&wait_plan(api, name).await);
    let hash = planned["hash"].as_str().expect("hash").to_owned();
    patch_spec(api, name, json!({ "approved": hash })).await;
    wait_condition(api, name, "Applied", "True", "").await;
    planned
}

/// Merge-patches the spec.
pub async fn patch_spec(api: &Api<DynamicObject>, name: &str, spec: Value) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "spec": spec })),
    )
    .await
    .unwrap_or_else(|e| panic!("patch {name}: {e}"));
}

/// The plan in `o`'s status.
pub fn plan(o: &DynamicObject) -> Value {
    to_json(o)["status"]["plan"].clone()
}

/// A plan group's `key` (`revoke` / `authorise`) rule strings.
pub fn plan_rules(plan: &Value, group: &str, key: &str) -> Vec<String> {
    plan["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["groupId"] == group)
        .flat_map(|g| g[key].as_array().cloned().unwrap_or_default())
        .map(|r| r.as_str().expect("rule string").to_owned())
        .collect()
}

/// The rules `group` has once `plan` is applied to `original` (rule strings).
pub fn applied_rules(
    original: &std::collections::BTreeSet<String>,
    plan: &Value,
    group: &str,
) -> std::collections::BTreeSet<String> {
    let revoke = plan_rules(plan, group, "revoke");
    original
        .iter()
        .filter(|r| !revoke.contains(r))
        .cloned()
        .chain(plan_rules(plan, group, "authorise"))
        .collect()
}

/// `tcp:443 10.0.10.0/27` → (`tcp:443`, 10.0.10.0/27).
pub fn parse_rule(rule: &str) -> (String, IpNet) {
    let (ports, cidr) = rule
        .split_once(' ')
        .unwrap_or_else(|| panic!("rule {rule}"));
    let net = cidr.parse().unwrap_or_else(|e| panic!("rule {rule}: {e}"));
    (ports.to_owned(), net)
}

/// Prints how long something took (the scenarios' timings).
pub fn timing(what: &str, since: Instant) {
    eprintln!("timing: {what}: {:.1} s", since.elapsed().as_secs_f64());
}
