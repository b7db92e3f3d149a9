//! e2e: a fleet of SecurityGroupTightenings on one central flow-log bucket (issue 13): `n`
//! groups in the estate's VPC, each with a broad rule and a tightening of its own, all reading
//! the same S3 prefix of 30 daily objects. Measures the time until every one has a plan, the
//! GetObject and ListObjectsV2 calls that reached moto (through a recording proxy) and the
//! operator's peak RSS.

use super::estate::{tcp, Estate};
use super::proxy::FaultProxy;
use super::tightening::wait_plan;
use super::{env, flowlogs, to_json, Operator, Scenario, TestAccount};
use serde_json::Value;
use std::time::Instant;

/// Days of flow logs in the bucket, and of each tightening's window.
pub const DAYS: u32 = 30;

/// What one fleet took.
pub struct Numbers {
    pub resources: usize,
    /// Objects in the bucket (all inside the window).
    pub objects: usize,
    /// GetObject calls on the bucket that reached moto.
    pub get_objects: usize,
    /// ListObjectsV2 calls on the bucket.
    pub lists: usize,
    /// From the first apply until the last resource had a plan.
    pub seconds: f64,
    /// The operator's peak RSS when it was ready, and after every plan (KiB).
    pub rss_ready_kib: u64,
    pub rss_peak_kib: u64,
    /// Each resource's `status.evidence`.
    pub evidence: Vec<Value>,
    /// Each resource's plan.
    pub plans: Vec<Value>,
    /// The operator (still running), for its metrics.
    pub operator: Operator,
    pub scenario: Scenario,
}

/// `VmHWM` (peak resident set) of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn yaml(account: &TestAccount, estate: &Estate, index: usize, group: &str) -> String {
    format!(
        "apiVersion: sgtightener.io/v1alpha1\nkind: SecurityGroupTightening\n\
         metadata: {{name: fleet-{index}}}\nspec:\n  region: {region}\n  accountId: \"{id}\"\n  \
         roleArn: {role}\n  groups: {{ids: [{group}]}}\n  \
         evidence: {{days: {DAYS}, attribution: Vpc, s3: {{bucket: {bucket}, prefix: AWSLogs/}}}}\n",
        region = env().region,
        id = account.id,
        role = account.role_arn,
        bucket = estate.bucket,
    )
}

/// `n` groups with the rule `tcp:443 10.0.0.0/16` in the estate's VPC.
async fn groups(account: &TestAccount, estate: &Estate, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        let made = chunk.iter().map(|i| async move {
            let id = account
                .create_group(&estate.vpc, &format!("fleet-{i}"), &[("fleet", "e2e")])
                .await;
            account
                .ec2()
                .authorize_security_group_ingress()
                .group_id(&id)
                .ip_permissions(tcp(443, &[("10.0.0.0/16", "datacentre")]))
                .send()
                .await
                .expect("authorise the fleet group's rule");
            id
        });
        ids.extend(futures::future::join_all(made).await);
    }
    ids
}

/// Builds the estate and its 30 days of logs — the estate's 74 sources a day, or `sources`
/// distinct sources in 10.0.0.0/16 on tcp/443 when given — starts an operator whose AWS calls go
/// through a recording proxy, applies `n` tightenings and waits until each has a plan.
pub async fn measure(name: &str, n: usize, sources: Option<u32>) -> Numbers {
    let s = Scenario::start(name).await;
    let account = s.aws_account().await;
    let estate = Estate::create(&account).await;
    match sources {
        None => flowlogs::upload_days(&account, &estate, DAYS, |_| false).await,
        Some(count) => {
            let to = flowlogs::Interface {
                id: &estate.eni,
                address: super::estate::ENI_IP,
            };
            let sources = [([10, 0, 0, 0], count, 443)];
            flowlogs::upload_days_to(&account, &estate, to, &sources, DAYS, "fleet").await;
        }
    }
    let groups = groups(&account, &estate, n).await;
    let proxy = FaultProxy::record(&env().moto_url).await;
    let url = proxy.url.clone();
    let operator = s
        .operator_with(|b| b.config(move |c| c.aws.endpoint_url = url))
        .await;
    let rss_ready_kib = peak_rss_kib(operator.pid());
    let started = Instant::now();
    let mut api = None;
    for (index, group) in groups.iter().enumerate() {
        let created = s.apply_yaml(&yaml(&account, &estate, index, group)).await;
        if api.is_none() {
            api = Some(s.api_for(&created[0]).await);
        }
    }
    let api = api.expect("at least one resource");
    let mut done = Vec::new();
    for index in 0..n {
        done.push(wait_plan(&api, &format!("fleet-{index}")).await);
    }
    let seconds = started.elapsed().as_secs_f64();
    let bucket = format!("/{}", estate.bucket);
    Numbers {
        resources: n,
        objects: DAYS as usize,
        get_objects: proxy.lines_with(&[&bucket, "x-id=GetObject"]),
        lists: proxy.lines_with(&[&bucket, "list-type=2"]),
        seconds,
        rss_ready_kib,
        rss_peak_kib: peak_rss_kib(operator.pid()),
        evidence: done
            .iter()
            .map(|o| to_json(o)["status"]["evidence"].clone())
            .collect(),
        plans: done
            .iter()
            .map(|o| to_json(o)["status"]["plan"].clone())
            .collect(),
        operator,
        scenario: s,
    }
}
