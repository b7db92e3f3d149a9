//! e2e: SecurityGroupTightening evidence in every delivery format (issue 8) — a bucket of Parquet
//! objects only, under Hive-compatible hourly prefixes, is planned like gzip text.

use crate::support::estate::Estate;
use crate::support::flowlogs::{upload_days_parquet, SOURCES};
use crate::support::tightening::{plan, wait_condition, wait_plan, World};
use crate::support::{to_json, Scenario};
use crate::tightening::check_plan;

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
