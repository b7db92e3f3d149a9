//! e2e: SecurityGroupTightenings whose evidence is an Athena table, planned by the operator
//! through the Athena API: moto runs the query executions (it does not execute SQL: each query
//! execution takes the next answer queued through its test API), and the test's proxy answers
//! GetTableMetadata, which moto lacks, and counts the calls. The queued answer is what the SQL
//! returns for the estate's flow logs (rows in the reader's column order, built from the S3
//! reader's evidence of the same window; the SQL itself is checked by DuckDB in `athena.rs`).
//! Tightenings planned one after another share one query (the operator keeps the answer within
//! their `maxAge`), and each plan equals the plan from the same logs read from S3.

use crate::support::aws::operator_aws_layer;
use crate::support::env::env;
use crate::support::http::http_post_json;
use crate::support::proxy::FaultProxy;
use crate::support::tightening::{plan, plan_rules, wait_plan, World};
use crate::support::{condition, to_json};
use jiff::Timestamp;
use serde_json::{json, Value};
use sg_tightener::aws::flowlogs::athena_sql;
use sg_tightener::aws::{AwsPorts, EvidenceRequest, EvidenceSource};
use sg_tightener::domain::evidence::coverage::window_days;
use sg_tightener::domain::evidence::{EvidenceDocument, Window};
use sg_tightener::domain::flowlog::ActionFilter;

/// Tightenings reading the one table.
const READERS: usize = 3;

/// GetTableMetadata's answer: AWS's documented flow-log table (default format, text), partition
/// projection on a `day` column.
fn table_metadata() -> String {
    let columns: Vec<Value> = [
        "version",
        "account_id",
        "interface_id",
        "srcaddr",
        "dstaddr",
        "srcport",
        "dstport",
        "protocol",
        "packets",
        "bytes",
        "start",
        "end",
        "action",
        "log_status",
    ]
    .iter()
    .map(|name| json!({"Name": name, "Type": "string"}))
    .collect();
    json!({"TableMetadata": {
        "Name": "vpc_flow_logs",
        "TableType": "EXTERNAL_TABLE",
        "Columns": columns,
        "PartitionKeys": [
            {"Name": "accid", "Type": "string"},
            {"Name": "region", "Type": "string"},
            {"Name": "day", "Type": "string"},
        ],
        "Parameters": {
            "projection.enabled": "true",
            "projection.day.type": "date",
            "projection.day.format": "yyyy/MM/dd",
        },
    }})
    .to_string()
}

/// One result row of the reader's query (`athena_sql::evidence_sql`'s columns).
fn row(cells: [&str; 13]) -> Value {
    json!({"Data": cells.iter().map(|c| json!({"VarCharValue": c})).collect::<Vec<_>>()})
}

/// The query's answer for `document`'s evidence: a header, one row per flow, per day with
/// data (the earliest record on its day) and per interface with records.
fn answer(document: &EvidenceDocument) -> Vec<Value> {
    let mut rows = vec![row(athena_sql::ANSWER_COLUMNS)];
    for f in &document.flows {
        let (source, destination) = (f.source.to_string(), f.destination.to_string());
        let (protocol, port) = (f.protocol.to_string(), f.port.to_string());
        let records = f.records.to_string();
        let interface = f.interface_id.clone().unwrap_or_default();
        rows.push(row([
            "3",
            &source,
            &destination,
            &interface,
            &protocol,
            &port,
            "1",
            "",
            "",
            &records,
            "",
            "",
            "",
        ]));
    }
    let earliest = document.coverage.earliest_record.map(|t| t.as_second());
    for day in window_days(&document.window) {
        if document.coverage.days_without_data.contains(&day) {
            continue;
        }
        let start = day
            .to_zoned(jiff::tz::TimeZone::UTC)
            .expect("midnight")
            .timestamp()
            .as_second();
        let first = earliest
            .filter(|e| (start..start + 86_400).contains(e))
            .map(|e| e.to_string())
            .unwrap_or_default();
        let start = start.to_string();
        rows.push(row([
            "1", "", "", "", "", "", "", &start, "", "1", "1", "0", &first,
        ]));
    }
    for id in document.coverage.interfaces_with_records.iter().flatten() {
        rows.push(row([
            "2", "", "", "", "", "", "", "", id, "1", "1", "0", "",
        ]));
    }
    rows
}

/// Queues `answer` in moto for the next `times` query executions of the account.
async fn queue_answers(account: &str, answer: Vec<Value>, times: usize) {
    let results: Vec<Value> = (0..times).map(|_| json!({"rows": answer})).collect();
    let body = json!({"account_id": account, "region": env().region, "results": results});
    let address = env()
        .moto_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("moto on 127.0.0.1");
    let (code, text) = http_post_json(
        address,
        "/moto-api/static/athena/query-results",
        &body.to_string(),
    )
    .await
    .expect("moto's Athena results API");
    assert_eq!(code, 201, "{text}");
}

fn athena_yaml(w: &World, name: &str) -> String {
    format!(
        "apiVersion: sgtightener.io/v1alpha1\nkind: SecurityGroupTightening\n\
         metadata: {{name: {name}}}\nspec:\n  region: {region}\n  accountId: \"{id}\"\n  \
         roleArn: {role}\n  groups: {{ids: [{group}]}}\n  evidence:\n    days: 90\n    \
         athena: {{database: flow_logs, table: vpc_flow_logs, outputLocation: \
         \"s3://{bucket}/athena/\"}}\n",
        region = env().region,
        id = w.account.id,
        role = w.account.role_arn,
        group = w.estate.group,
        bucket = w.estate.bucket,
    )
}

/// `status.evidence.collectedAt` of a planned tightening.
fn collected_at(o: &kube::api::DynamicObject) -> Timestamp {
    let at = to_json(o)["status"]["evidence"]["collectedAt"].clone();
    at.as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("status.evidence.collectedAt: {at}"))
}

#[tokio::test]
async fn tightenings_planned_one_after_another_on_one_athena_table_share_one_query() {
    let w = World::new("sgt-athena", |day| day == 40).await;
    let request = EvidenceRequest {
        source: EvidenceSource::S3 {
            bucket: w.estate.bucket.clone(),
            prefix: "AWSLogs/".into(),
        },
        window: Window::last_full_days(Timestamp::now(), 90),
        action: ActionFilter::Accept,
        coverage_interfaces: Vec::new(),
        fresh_since: None,
    };
    let s3_evidence = operator_aws_layer()
        .await
        .flow_logs(&w.account.target())
        .await
        .collect(&request)
        .await
        .expect("the S3 reader");
    assert!(!s3_evidence.flows.is_empty() && s3_evidence.coverage.days_without_data.len() == 1);
    queue_answers(&w.account.id, answer(&s3_evidence), READERS).await;
    let proxy = FaultProxy::answer(&env().moto_url, "GetTableMetadata", table_metadata()).await;
    let url = proxy.url.clone();
    let _operator =
        w.s.operator_with(|b| b.config(|c| c.aws.endpoint_url = url))
            .await;

    let from_s3 = w.create(&w.yaml("from-s3", &[&w.estate.group], "")).await;
    let names: Vec<String> = (0..READERS).map(|i| format!("from-athena-{i}")).collect();
    // one after another, each created once the previous one's plan is in status and a second
    // later, so a plan that read again (or stamped its evidence now) would show another time
    let mut athena_plans: Vec<kube::api::DynamicObject> = Vec::new();
    for name in &names {
        if let Some(previous) = athena_plans.last() {
            let later = collected_at(previous) + jiff::SignedDuration::from_millis(1_100);
            if let Ok(wait) = std::time::Duration::try_from(later.duration_since(Timestamp::now()))
            {
                tokio::time::sleep(wait).await;
            }
        }
        let api = w.create(&athena_yaml(&w, name)).await;
        athena_plans.push(wait_plan(&api, name).await);
    }
    let s3_plan = wait_plan(&from_s3, "from-s3").await;

    let rules =
        |o: &kube::api::DynamicObject, key: &str| plan_rules(&plan(o), &w.estate.group, key);
    let evidence = |o: &kube::api::DynamicObject| {
        let e = to_json(o)["status"]["evidence"].clone();
        (
            e["flows"].clone(),
            e["sources"].clone(),
            e["daysWithoutData"].clone(),
        )
    };
    let complete = |o: &kube::api::DynamicObject| {
        condition(o, "EvidenceComplete").map(|c| (c["status"].clone(), c["reason"].clone()))
    };
    for athena in &athena_plans {
        let name = athena.metadata.name.clone().unwrap_or_default();
        assert_eq!(
            rules(athena, "authorise"),
            rules(&s3_plan, "authorise"),
            "{name}"
        );
        assert_eq!(rules(athena, "revoke"), rules(&s3_plan, "revoke"), "{name}");
        assert_eq!(evidence(athena), evidence(&s3_plan), "{name}");
        assert_eq!(complete(athena), complete(&s3_plan), "{name}");
        assert!(
            to_json(athena)["status"]["evidence"]["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("athena:flow_logs.vpc_flow_logs")),
            "{name}"
        );
    }
    let count = |op: &str| proxy.actions().iter().filter(|a| *a == op).count();
    let queries = count("StartQueryExecution");
    eprintln!("athena: {queries} StartQueryExecution for {READERS} tightenings on one table");
    assert_eq!(
        queries,
        1,
        "one query (flows, coverage and interfaces in one scan) kept for every later plan within \
         maxAge: {:?}",
        proxy.actions()
    );
    let first = collected_at(&athena_plans[0]);
    for athena in &athena_plans[1..] {
        assert_eq!(
            collected_at(athena),
            first,
            "a kept answer reports when it was collected, not when it was served"
        );
    }
    assert!(count("GetTableMetadata") >= 1);
}
