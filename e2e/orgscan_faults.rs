//! e2e: an OrgRiskScan whose role cannot be assumed in one account (STS refuses it through the
//! fault proxy): that account is a failure entry, every other account is scanned, and the scan
//! says it is not complete; and `classify --fail-on critical` as a CI gate on a world-open SSH
//! rule read from moto (issue 10).

use crate::orgscan::{check_counts, operator_as_management, scan, scan_yaml};
use crate::support::binary::operator_binary;
use crate::support::org::Org;
use crate::support::proxy::FaultProxy;
use crate::support::{condition, env, to_json, Scenario};
use serde_json::{json, Value};

#[tokio::test]
async fn an_account_whose_role_cannot_be_assumed_is_a_failure_and_the_rest_is_scanned() {
    let s = Scenario::start("ors-denied").await;
    let org = Org::create().await;
    let denied = org.members[1].id.clone();
    let proxy = FaultProxy::deny_assume_role(&env().moto_url, &denied).await;
    let _operator = operator_as_management(&s, &org, Some(&proxy.url)).await;
    let done = scan(&s, &scan_yaml("estate", &org.root, ""), "estate").await;
    let status = &to_json(&done)["status"];
    let failures = status["failures"].as_array().cloned().unwrap_or_default();
    assert_eq!(failures.len(), 1, "{status:#}");
    assert_eq!(
        (
            failures[0]["accountId"].as_str(),
            failures[0]["region"].as_str()
        ),
        (Some(denied.as_str()), Some(""))
    );
    let reason = failures[0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("AccessDenied") && reason.contains(&denied),
        "{reason}"
    );
    let scanned: Vec<(String, String)> = org
        .active_under("root")
        .into_iter()
        .filter(|(id, _)| *id != denied)
        .collect();
    check_counts(status, &scanned).await;
    assert_eq!(status["phase"], "Partial");
    let complete = condition(&done, "Complete").unwrap();
    assert_eq!(
        (complete["status"].as_str(), complete["reason"].as_str()),
        (Some("False"), Some("ScanIncomplete"))
    );
    assert_eq!(
        status["lastScan"]["failedPairs"], 2,
        "the account's two regions"
    );
    assert!(proxy.actions().iter().any(|a| a == "AssumeRole"));
}

/// `aws ec2 describe-security-groups` JSON of one group, rebuilt from the SDK's answer.
fn cli_json(group: &aws_sdk_ec2::types::SecurityGroup) -> Value {
    let permissions: Vec<Value> = group
        .ip_permissions()
        .iter()
        .map(|p| {
            let ranges: Vec<Value> =
                p.ip_ranges().iter().map(|r| json!({"CidrIp": r.cidr_ip()})).collect();
            json!({"IpProtocol": p.ip_protocol(), "FromPort": p.from_port(), "ToPort": p.to_port(), "IpRanges": ranges})
        })
        .collect();
    json!({"SecurityGroups": [{"GroupId": group.group_id(), "GroupName": group.group_name(),
        "VpcId": group.vpc_id(), "OwnerId": group.owner_id(), "IpPermissions": permissions}]})
}

#[tokio::test]
async fn classify_fails_a_ci_gate_on_a_world_open_ssh_rule() {
    let s = Scenario::start("ors-classify").await;
    let account = s.aws_account().await;
    let vpc = account.create_vpc("10.0.0.0/16").await;
    let group = account
        .create_group(&vpc, "bastion", &[("team", "ops")])
        .await;
    let ec2 = account.ec2();
    let ssh = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(
            aws_sdk_ec2::types::IpRange::builder()
                .cidr_ip("0.0.0.0/0")
                .build(),
        )
        .build();
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(ssh)
        .send()
        .await
        .expect("authorize");
    let described = ec2
        .describe_security_groups()
        .group_ids(&group)
        .send()
        .await
        .expect("describe");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sgs.json");
    std::fs::write(&path, cli_json(&described.security_groups()[0]).to_string()).unwrap();
    let gate = |fail_on: &str| {
        std::process::Command::new(operator_binary())
            .args(["classify", "--groups"])
            .arg(&path)
            .args(["--fail-on", fail_on])
            .output()
            .expect("run classify")
    };
    let failed = gate("critical");
    assert_eq!(
        failed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    let report: Value =
        serde_json::from_slice(&failed.stdout).expect("the report is still printed");
    assert_eq!(report["counts"]["critical"], 1);
    assert_eq!(report["findings"][0]["resourceId"], group.as_str());
}
