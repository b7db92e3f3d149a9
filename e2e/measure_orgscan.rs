//! e2e measurement (not part of `make test`; `make measure-orgscan`): an OrgRiskScan of 50
//! member accounts × 2 regions in moto, through a recording proxy — prints the scan time, the
//! AWS calls per operation and per account, and the operator's peak RSS. Numbers, not timed
//! assertions; it only asserts that every account was scanned.

// The e2e crate's support, shared; this target uses only part of what it re-exports.
#[allow(unused_imports)]
#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use support::org::{ec2_in, MEMBER_ROLE, REGIONS};
use support::proxy::FaultProxy;
use support::{env, to_json, wait_for, Scenario, TestAccount};

const MEMBERS: usize = 50;

/// `VmHWM` (peak resident set) and `VmRSS` of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

async fn member(org: &aws_sdk_organizations::Client, i: usize) -> String {
    let created = org
        .create_account()
        .account_name(format!("member-{i}"))
        .email(format!(
            "member-{i}-{}@example.com",
            support::names::unique_u64()
        ))
        .send()
        .await
        .expect("create_account");
    let id = created.create_account_status().and_then(|s| s.account_id());
    id.expect("an account id").to_owned()
}

/// One VPC (its default NACL) and one group with three permissive rules per region.
async fn estate(id: &str) {
    let account = TestAccount::enter(id, MEMBER_ROLE).await;
    for region in REGIONS {
        let ec2 = ec2_in(&account, region);
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .expect("vpc");
        let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).expect("vpc id");
        let group = ec2
            .create_security_group()
            .vpc_id(vpc_id)
            .group_name("web")
            .description("measure")
            .send()
            .await
            .expect("group");
        let range = |c: &str| aws_sdk_ec2::types::IpRange::builder().cidr_ip(c).build();
        let rule = aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .ip_ranges(range("0.0.0.0/0"))
            .ip_ranges(range("10.0.0.0/16"))
            .ip_ranges(range("10.1.0.0/20"))
            .build();
        ec2.authorize_security_group_ingress()
            .group_id(group.group_id().expect("group id"))
            .ip_permissions(rule)
            .send()
            .await
            .expect("authorize");
    }
}

#[tokio::test]
async fn measure_a_scan_of_50_accounts_in_2_regions() {
    let s = Scenario::start("ors-measure").await;
    let management = TestAccount::new().await;
    let org = aws_sdk_organizations::Client::new(management.sdk_config());
    let features = aws_sdk_organizations::types::OrganizationFeatureSet::All;
    org.create_organization()
        .feature_set(features)
        .send()
        .await
        .expect("org");
    let roots = org.list_roots().send().await.expect("roots");
    let root = roots.roots()[0].id().expect("root").to_owned();
    for i in 0..MEMBERS {
        estate(&member(&org, i).await).await;
    }
    let proxy = FaultProxy::start(&env().moto_url, "NoSuchActionIsHeld").await;
    let credentials = management.credentials_env().await;
    let url = proxy.url.clone();
    let operator = s
        .operator_with(|b| {
            let b = b.config(move |c| c.aws.endpoint_url = url);
            credentials.iter().fold(b, |b, (k, v)| b.env(k, v))
        })
        .await;
    let (hwm_before, _) = memory_kib(operator.pid());
    let yaml = format!(
        "apiVersion: sgtightener.io/v1alpha1\nkind: OrgRiskScan\nmetadata: {{name: measure}}\n\
         spec:\n  organization: {{parentId: {root}}}\n  regions: [{}]\n  maxConcurrency: 16\n",
        REGIONS.join(", ")
    );
    let created = s.apply_yaml(&yaml).await;
    let api = s.api_for(&created[0]).await;
    let done = wait_for(&api, "measure", "finish its scan", |o| {
        to_json(o)["status"]["lastScan"]["finishedAt"].is_string()
    })
    .await;
    let status = &to_json(&done)["status"];
    let (hwm, rss) = memory_kib(operator.pid());
    let accounts = status["lastScan"]["accounts"].as_u64().unwrap_or(0);
    assert_eq!(
        accounts as usize,
        MEMBERS + 1,
        "every member and the management account: {status:#}"
    );
    let mut calls: BTreeMap<String, usize> = BTreeMap::new();
    for action in proxy.actions() {
        *calls.entry(action).or_default() += 1;
    }
    let (_, metrics) = operator.get("/metrics").await;
    let seconds = metrics
        .lines()
        .find(|l| l.starts_with("sgtightener_scan_duration_seconds{"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or_default();
    let total: usize = calls.values().sum();
    eprintln!(
        "measure: {accounts} accounts x {} regions, scan {seconds:.2} s",
        REGIONS.len()
    );
    eprintln!("measure: requests through the proxy by action ('-' = REST: S3): {calls:?}");
    eprintln!(
        "measure: {total} requests, {:.2} per account",
        total as f64 / accounts as f64
    );
    eprintln!("measure: operator peak RSS {hwm_before} KiB before, {hwm} KiB after the scan (RSS now {rss} KiB)");
    let aws_calls: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("sgtightener_aws_calls_total"))
        .collect();
    eprintln!("measure: operator metrics\n{}", aws_calls.join("\n"));
}
