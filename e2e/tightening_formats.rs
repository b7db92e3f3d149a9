//! e2e: SecurityGroupTightening evidence in every delivery format (issue 8) — a bucket of Parquet
//! objects only, under Hive-compatible hourly prefixes, is planned like gzip text; a CloudWatch
//! Logs group in a custom format (fields in their own order, clients behind a NAT in
//! `pkt-srcaddr`) is planned from the packet sources, read with FilterLogEvents.

use crate::support::estate::{flow_log_to_log_group, Estate, ENI_IP};
use crate::support::flowlogs::{upload_days_parquet, SOURCES};
use crate::support::names::unique_name;
use crate::support::tightening::{plan, wait_condition, wait_plan, World};
use crate::support::{env, to_json, Scenario};
use crate::tightening::check_plan;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use jiff::{Timestamp, ToSpan};

#[tokio::test]
async fn a_parquet_only_bucket_with_hive_hourly_prefixes_is_planned() {
    let s = Scenario::start("sgt-parquet").await;
    let account = s.aws_account().await;
    let estate = Estate::create(&account).await;
    upload_days_parquet(&account, &estate, 90, |_| false).await;
    let w = World { s, account, estate };
    let group = w.estate.group.clone();
    let _operator = w.s.operator().await;
    let api = w.create(&w.yaml("payments", &[&group], "")).await;
    let planned = wait_plan(&api, "payments").await;
    check_plan(&plan(&planned), &group);
    let complete = wait_condition(&api, "payments", "EvidenceComplete", "True", "").await;
    let evidence = &to_json(&complete)["status"]["evidence"];
    let per_day: u64 = SOURCES.iter().map(|(_, count, _)| u64::from(*count)).sum();
    assert_eq!(evidence["records"], 90 * per_day, "{evidence:#}");
}

/// The flow log's custom format: fields in an order of its own, the packet addresses included.
const LOG_FORMAT: &str = "${action} ${log-status} ${interface-id} ${pkt-srcaddr} ${srcaddr} \
                          ${dstaddr} ${pkt-dstaddr} ${protocol} ${dstport} ${start} ${end} ${vpc-id}";
/// The NAT gateway's address every client's traffic arrives from (inside every eligible rule's
/// block of 10.0.0.0/16 only on tcp:443; a plan built from it would lock the real clients out).
const NAT: &str = "10.0.99.1";

/// `days` whole days of ACCEPT events from every source in [`SOURCES`], the 443 clients behind
/// the NAT (its address in `srcaddr`, theirs in `pkt-srcaddr`).
fn events(eni: &str, vpc: &str, days: i64) -> Vec<InputLogEvent> {
    let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut events = Vec::new();
    for back in (1..=days).rev() {
        let nine = (today - back.days())
            .to_zoned(jiff::tz::TimeZone::UTC)
            .expect("midnight")
            .timestamp()
            .as_second()
            + 9 * 3600;
        for (base, count, port) in SOURCES {
            for n in 0..count {
                let client = std::net::Ipv4Addr::from(u32::from_be_bytes(base) + n).to_string();
                let (src, pkt) = match port {
                    443 => (NAT, client.as_str()),
                    _ => (client.as_str(), "-"),
                };
                let start = nine + i64::from(n) * 60;
                let message = format!(
                    "ACCEPT OK {eni} {pkt} {src} {ENI_IP} - 6 {port} {start} {} {vpc}",
                    start + 60
                );
                events.push(
                    InputLogEvent::builder()
                        .timestamp(start * 1000)
                        .message(message)
                        .build()
                        .expect("event"),
                );
            }
        }
    }
    events.sort_by_key(|e| e.timestamp());
    events
}

#[tokio::test]
async fn a_custom_format_log_group_is_planned_from_the_packet_sources() {
    let s = Scenario::start("sgt-custom-format").await;
    let account = s.aws_account().await;
    let estate = Estate::create(&account).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(account.sdk_config());
    let log_group = format!("/vpc/{}", unique_name("flow-logs"));
    logs.create_log_group()
        .log_group_name(&log_group)
        .send()
        .await
        .expect("log group");
    logs.create_log_stream()
        .log_group_name(&log_group)
        .log_stream_name(&estate.eni)
        .send()
        .await
        .expect("log stream");
    logs.put_log_events()
        .log_group_name(&log_group)
        .log_stream_name(&estate.eni)
        .set_log_events(Some(events(&estate.eni, &estate.vpc, 7)))
        .send()
        .await
        .expect("put log events");
    flow_log_to_log_group(&account, &estate.vpc, &log_group, LOG_FORMAT).await;
    let w = World { s, account, estate };
    let group = w.estate.group.clone();
    let _operator = w.s.operator().await;
    let yaml = format!(
        "apiVersion: sgtightener.io/v1alpha1\nkind: SecurityGroupTightening\n\
         metadata: {{name: payments}}\nspec:\n  region: {region}\n  accountId: \"{id}\"\n  \
         roleArn: {role}\n  groups: {{ids: [{group}]}}\n  evidence:\n    days: 7\n    \
         cloudWatch: {{logGroup: \"{log_group}\", mode: Filter, logFormat: \"{LOG_FORMAT}\"}}\n",
        region = env().region,
        id = w.account.id,
        role = w.account.role_arn,
    );
    let api = w.create(&yaml).await;
    let planned = wait_plan(&api, "payments").await;
    let plan = plan(&planned);
    check_plan(&plan, &group);
    let authorised = crate::support::tightening::plan_rules(&plan, &group, "authorise");
    assert!(
        !authorised
            .iter()
            .any(|r| r.ends_with(&format!(" {NAT}/32"))),
        "the NAT's address is not a client: {authorised:?}"
    );
    wait_condition(&api, "payments", "EvidenceComplete", "True", "").await;
}
