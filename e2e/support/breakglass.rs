//! e2e: what the BreakGlassExtension scenarios share — two groups in a VPC of a test's own moto
//! account, the extension's YAML, waiting on its phase and conditions, and reading the groups'
//! rules (with descriptions) through the AWS SDK.

use super::cluster::wait_for_within;
use super::estate::{rules, rules_with_descriptions, tcp};
use super::{env, to_json, Scenario, TestAccount};
use kube::api::{Api, DynamicObject};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long an extension may take to reach a state (generous: the machine may be compiling).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The description prefix of every break-glass rule.
pub const PREFIX: &str = "sg-tightener break-glass";

/// One break-glass scenario's world: two empty groups.
pub struct World {
    pub s: Scenario,
    pub account: TestAccount,
    pub vpc: String,
    pub groups: [String; 2],
}

impl World {
    /// A scenario with two groups (no ingress rule yet) in a fresh VPC of a fresh account.
    pub async fn new(name: &str) -> World {
        let s = Scenario::start(name).await;
        let account = s.aws_account().await;
        let vpc = account.create_vpc("10.100.0.0/16").await;
        let first = account
            .create_group(&vpc, "payments-app", &[("team", "payments")])
            .await;
        let second = account
            .create_group(&vpc, "payments-db", &[("team", "payments")])
            .await;
        World {
            s,
            account,
            vpc,
            groups: [first, second],
        }
    }

    /// An explicit extension `name` of `cidrs` on `ports` for `groups`; `extra` spec lines are
    /// appended (indented two spaces).
    pub fn explicit(
        &self,
        name: &str,
        groups: &[&str],
        cidrs: &[&str],
        ports: &[&str],
        extra: &str,
    ) -> String {
        format!(
            "apiVersion: sgtightener.io/v1alpha1\nkind: BreakGlassExtension\nmetadata: {{name: {name}}}\n\
             spec:\n  region: {region}\n  accountId: \"{id}\"\n  roleArn: {role}\n  \
             reason: DR failover {name}\n  groupIds: [{groups}]\n  \
             rules: {{cidrs: [{cidrs}], ports: [{ports}]}}\n{extra}",
            region = env().region,
            id = self.account.id,
            role = self.account.role_arn,
            groups = groups.join(", "),
            cidrs = cidrs.join(", "),
            ports = ports.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", "),
        )
    }

    /// Creates the extension (as `kubectl create`); returns its API.
    pub async fn create(&self, yaml: &str) -> Api<DynamicObject> {
        let created = self
            .s
            .create_yaml(yaml)
            .await
            .unwrap_or_else(|e| panic!("the API server refused the extension: {e}\n{yaml}"));
        self.s.api_for(&created).await
    }

    /// Adds rules on `port` to `group` behind the operator's back (rules "from before").
    pub async fn authorise(&self, group: &str, port: i32, cidrs: &[(&str, &str)]) {
        self.account
            .ec2()
            .authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(tcp(port, cidrs))
            .send()
            .await
            .unwrap_or_else(|e| panic!("authorise {cidrs:?} on {group}: {e:?}"));
    }

    /// A group's rules as rule strings.
    pub async fn rules(&self, group: &str) -> BTreeSet<String> {
        rules(&self.account, group).await
    }

    /// A group's rules with their descriptions (`tcp:443 10.4.0.0/16 (description)`).
    pub async fn described(&self, group: &str) -> BTreeSet<String> {
        rules_with_descriptions(&self.account, group).await
    }
}

/// Waits until the latest generation has been reconciled and `check` holds on the object.
pub async fn wait_until(
    api: &Api<DynamicObject>,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let seen = wait_for_within(api, name, what, TIMEOUT, |o| {
        let j = to_json(o);
        j["status"]["observedGeneration"] == j["metadata"]["generation"] && check(&j)
    })
    .await;
    to_json(&seen)
}

/// Waits for `status.phase == phase` at the latest generation.
pub async fn wait_phase(api: &Api<DynamicObject>, name: &str, phase: &str) -> Value {
    wait_until(api, name, &format!("phase {phase}"), |j| {
        j["status"]["phase"] == phase
    })
    .await
}

/// `status.groups[]` entry of `group`.
pub fn group_status<'j>(status: &'j Value, group: &str) -> &'j Value {
    status["status"]["groups"]
        .as_array()
        .and_then(|groups| groups.iter().find(|g| g["groupId"] == group))
        .unwrap_or_else(|| panic!("no status for {group}: {status:#}"))
}
