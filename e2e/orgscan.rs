//! e2e: OrgRiskScan against an AWS Organization in moto, the operator acting as the management
//! account — the whole organisation ranked exactly as the describes say, reports in a ConfigMap
//! and in S3 (the XLSX read back with a spreadsheet reader), metrics per account; an OU scan
//! covers only its subtree (DESIGN §6.3, issue 10).

use crate::support::names::unique_name;
use crate::support::org::{self, Counts, Org, REGIONS};
use crate::support::{condition, eventually, to_json, wait_for, Operator, Scenario};
use calamine::Reader;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Cursor;
use std::time::Duration;

/// The OrgRiskScan `name` of `parent`, `extra` appended to its spec.
pub fn scan_yaml(name: &str, parent: &str, extra: &str) -> String {
    format!(
        "apiVersion: sgtightener.io/v1alpha1\nkind: OrgRiskScan\nmetadata: {{name: {name}}}\n\
         spec:\n  organization: {{parentId: {parent}}}\n  regions: [{}]\n  maxConcurrency: 4\n{extra}",
        REGIONS.join(", ")
    )
}

/// An operator acting as the organisation's management account (`endpoint`: moto or a proxy).
pub async fn operator_as_management(s: &Scenario, org: &Org, endpoint: Option<&str>) -> Operator {
    let credentials = org.management.credentials_env().await;
    s.operator_with(|b| {
        let b = match endpoint {
            Some(url) => {
                let url = url.to_owned();
                b.config(move |c| c.aws.endpoint_url = url)
            }
            None => b,
        };
        credentials.iter().fold(b, |b, (k, v)| b.env(k, v))
    })
    .await
}

/// Creates the scan and waits until a scan of its latest generation has finished.
pub async fn scan(s: &Scenario, yaml: &str, name: &str) -> DynamicObject {
    let created = s.apply_yaml(yaml).await;
    let api = s.api_for(&created[0]).await;
    wait_for(&api, name, "finish a scan of its latest generation", |o| {
        let j = to_json(o);
        let phase = j["status"]["phase"].as_str().unwrap_or_default();
        j["status"]["observedGeneration"] == j["metadata"]["generation"]
            && j["status"]["lastScan"]["finishedAt"].is_string()
            && matches!(phase, "Complete" | "Partial")
    })
    .await
}

/// `topAccounts` as account id → counts.
pub fn top_accounts(status: &Value) -> (Vec<String>, BTreeMap<String, Counts>) {
    let top = status["topAccounts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let n = |a: &Value, k: &str| a[k].as_u64().unwrap_or_default();
    let ids = top
        .iter()
        .map(|a| a["accountId"].as_str().unwrap_or_default().to_owned());
    let counts = top.iter().map(|a| {
        let id = a["accountId"].as_str().unwrap_or_default().to_owned();
        (
            id,
            [n(a, "critical"), n(a, "high"), n(a, "medium"), n(a, "low")],
        )
    });
    (ids.collect(), counts.collect())
}

/// Status counts, ranking and totals equal what the describes say for `accounts`.
pub async fn check_counts(
    status: &Value,
    accounts: &[(String, String)],
) -> BTreeMap<String, Counts> {
    let expected = org::expected(accounts).await;
    let (ranked, counts) = top_accounts(status);
    assert_eq!(counts, expected, "per-account counts: {status:#}");
    assert_eq!(ranked, org::ranking(&expected), "ranking: {status:#}");
    let totals = expected.values().fold([0; 4], |mut t, c| {
        t.iter_mut().zip(c).for_each(|(t, c)| *t += c);
        t
    });
    let found = &status["lastScan"]["findings"];
    let seen = ["critical", "high", "medium", "low"].map(|k| found[k].as_u64().unwrap_or(0));
    assert_eq!(seen, totals, "{status:#}");
    assert_eq!(status["lastScan"]["accounts"], accounts.len());
    assert_eq!(status["lastScan"]["regions"], REGIONS.len());
    expected
}

async fn create_bucket(org: &Org) -> (aws_sdk_s3::Client, String) {
    let bucket = unique_name("ors-reports");
    let config = aws_sdk_s3::config::Builder::from(org.management.sdk_config())
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(config);
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
            REGIONS[0],
        ))
        .build();
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(location)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create_bucket {bucket}: {e:?}"));
    (s3, bucket)
}

async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let got = s3.get_object().bucket(bucket).key(key).send().await;
    let got = got.unwrap_or_else(|e| panic!("get s3://{bucket}/{key}: {e:?}"));
    got.body.collect().await.expect("object body").to_vec()
}

#[tokio::test]
async fn the_whole_organisation_is_ranked_as_its_describes_say_with_every_report() {
    let s = Scenario::start("ors-org").await;
    let org = Org::create().await;
    let (s3, bucket) = create_bucket(&org).await;
    let operator = operator_as_management(&s, &org, None).await;
    let output = format!(
        "  output: {{configMap: true, s3: {{bucket: {bucket}, prefix: reports/, region: {}, formats: [json, csv, xlsx]}}}}\n",
        REGIONS[0]
    );
    let done = scan(&s, &scan_yaml("estate", &org.root, &output), "estate").await;
    let status = &to_json(&done)["status"];
    let accounts = org.active_under("root");
    let expected = check_counts(status, &accounts).await;
    let closed = org
        .members
        .iter()
        .find(|m| !m.active)
        .expect("a closed member");
    assert!(
        !expected.contains_key(&closed.id),
        "the suspended account is not scanned"
    );
    assert_eq!(status["phase"], "Complete", "{status:#}");
    assert_eq!(condition(&done, "Complete").unwrap()["status"], "True");
    let compliant = condition(&done, "Compliant").unwrap();
    assert_eq!(
        (compliant["status"].as_str(), compliant["reason"].as_str()),
        (Some("False"), Some("CriticalFindings"))
    );
    assert_eq!(condition(&done, "Ready").unwrap()["status"], "True");

    // Reports: the ConfigMap holds every finding; S3 holds JSON, CSV and the XLSX workbook.
    let total: u64 = expected.values().flatten().sum();
    let cm: ConfigMap = s
        .api::<ConfigMap>()
        .get("ors-estate")
        .await
        .expect("report ConfigMap");
    let json: Value = serde_json::from_str(&cm.data.unwrap()["report.json"]).unwrap();
    assert_eq!(
        json["findings"].as_array().map(Vec::len),
        Some(total as usize)
    );
    let uri = status["report"]["s3Uri"].as_str().expect("s3Uri in status");
    let key = uri
        .strip_prefix(&format!("s3://{bucket}/"))
        .expect("the bucket");
    assert!(
        key.starts_with(&format!("reports/{}/estate/", s.namespace)),
        "{key}"
    );
    let csv = String::from_utf8(object(&s3, &bucket, &key.replace(".json", ".csv")).await).unwrap();
    assert_eq!(
        csv.lines().count() as u64,
        1 + total,
        "header + one row per finding"
    );
    let xlsx = object(&s3, &bucket, &key.replace(".json", ".xlsx")).await;
    let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(xlsx)).expect("a workbook");
    assert_eq!(book.sheet_names(), ["Summary", "Findings"]);
    let summary = book.worksheet_range("Summary").expect("Summary sheet");
    assert_eq!(summary.height(), 1 + accounts.len());
    let top = org::ranking(&expected)[0].clone();
    assert_eq!(
        summary.get((1, 1)).map(|c| c.to_string()),
        Some(top.clone())
    );
    assert_eq!(
        book.worksheet_range("Findings")
            .expect("Findings sheet")
            .height() as u64,
        1 + total
    );

    // A Warning event, and per-account metrics.
    let events: Api<Event> = s.api();
    eventually(
        "a CriticalFindings event",
        Duration::from_secs(30),
        || async {
            let list = events
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?;
            let found = list.items.iter().any(|e| {
                e.reason.as_deref() == Some("CriticalFindings")
                    && e.type_.as_deref() == Some("Warning")
            });
            found
                .then_some(())
                .ok_or_else(|| format!("{} events, none CriticalFindings", list.items.len()))
        },
    )
    .await;
    let (_, metrics) = operator.get("/metrics").await;
    let series = format!(
        "account=\"{top}\",severity=\"critical\"}} {}",
        expected[&top][0]
    );
    assert!(metrics.contains(&series), "no {series} in\n{metrics}");
}

#[tokio::test]
async fn scanning_one_ou_covers_only_its_subtree() {
    let s = Scenario::start("ors-ou").await;
    let org = Org::create().await;
    let _operator = operator_as_management(&s, &org, None).await;
    let done = scan(&s, &scan_yaml("workloads", &org.workloads, ""), "workloads").await;
    let status = &to_json(&done)["status"];
    let accounts = org.active_under("workloads");
    assert_eq!(accounts.len(), 3, "two in workloads, one active in team");
    let expected = check_counts(status, &accounts).await;
    let outside: Vec<&String> = org
        .members
        .iter()
        .map(|m| &m.id)
        .chain([&org.management.id])
        .filter(|id| !accounts.iter().any(|(a, _)| a == *id))
        .collect();
    assert!(
        outside.iter().all(|id| !expected.contains_key(*id)),
        "{outside:?}"
    );
    assert_eq!(status["phase"], "Complete");
}
