//! e2e: a BreakGlassExtension from REJECT records in S3 with `autoDiscover` — rules only on the
//! groups whose ENIs rejected the traffic, found by destination private IP (DESIGN §6.2).

use crate::support::breakglass::{group_status, wait_phase, PREFIX};
use crate::support::estate::{self, Estate, ENI_IP};
use crate::support::{env, flowlogs, Scenario};
use serde_json::json;

/// Inside no rule of the payments group on 5432 (its 10.4.0.0/16 and 10.4.200.0/26 do not
/// hold it), so the rejected traffic needs a new rule.
const REJECTED: &str = "10.0.99.7";

#[tokio::test]
async fn rejected_flows_in_s3_open_only_the_groups_whose_enis_rejected_them() {
    let s = Scenario::start("bge-flows").await;
    let account = s.aws_account().await;
    let estate = Estate::create(&account).await;
    let quiet = account
        .create_group(&estate.vpc, "quiet", &[("team", "quiet")])
        .await;
    account
        .ec2()
        .create_network_interface()
        .subnet_id(&estate.subnet)
        .groups(&quiet)
        .private_ip_address("10.100.1.20")
        .send()
        .await
        .expect("an ENI that rejected nothing");
    flowlogs::upload_rejects(&account, &estate, REJECTED, 5432).await;
    let quiet_before = estate::rules(&account, &quiet).await;
    let _operator = s.operator().await;
    let yaml = format!(
        "apiVersion: sgtightener.io/v1alpha1\nkind: BreakGlassExtension\nmetadata: {{name: unblock}}\n\
         spec:\n  region: {region}\n  accountId: \"{id}\"\n  roleArn: {role}\n  reason: INC-5678\n  \
         autoDiscover: {{maxGroups: 5}}\n  \
         fromRejectedFlows: {{s3: {{bucket: {bucket}, prefix: AWSLogs/}}, hours: 2, tolerance: 0, ports: [\"5432\"]}}\n",
        region = env().region,
        id = account.id,
        role = account.role_arn,
        bucket = estate.bucket,
    );
    let created = s.create_yaml(&yaml).await.expect("valid extension");
    let api = s.api_for(&created).await;
    let applied = wait_phase(&api, "unblock", "Applied").await;
    let groups = applied["status"]["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "only the group of {ENI_IP}: {groups:?}");
    let entry = group_status(&applied, &estate.group);
    assert_eq!(
        entry["added"],
        json!([format!("tcp:5432 {REJECTED}/32")]),
        "{entry:#}"
    );
    assert_eq!(applied["status"]["discoveredFlows"], 1);
    let described = estate::rules_with_descriptions(&account, &estate.group).await;
    let rule = format!("tcp:5432 {REJECTED}/32 ({PREFIX}: INC-5678)");
    assert!(described.contains(&rule), "{rule} not in {described:?}");
    assert_eq!(
        estate::rules(&account, &quiet).await,
        quiet_before,
        "no rejects, no rules"
    );
}
