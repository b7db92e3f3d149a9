//! e2e: the Athena reader's SQL checked by a real SQL engine. The SQL the reader sends to
//! Athena (athena_sql.rs: window, partition pruning, packet addresses, coverage) is run by
//! DuckDB (the test venv's `duckdb` wheel) over Parquet flow logs in AWS's Hive-compatible hourly
//! layout, and its answer, read the way the Athena reader reads Athena's, must be the evidence
//! the S3 reader reads from the same objects in moto. Nothing leaves 127.0.0.1.

use crate::support::aws::operator_aws_layer;
use crate::support::env::env;
use crate::support::flowlogs::parquet_fixture;
use crate::support::names::unique_name;
use crate::support::TestAccount;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use sg_tightener::aws::flowlogs::athena_sql::{
    add_flow_row, coverage_sql, evidence, flows_sql, interfaces_sql, CoverageRows, Partitions,
    Table, TableShape,
};
use sg_tightener::aws::{AwsPorts, EvidenceRequest, EvidenceSource};
use sg_tightener::domain::evidence::{EvidenceDocument, Window};
use sg_tightener::domain::flowlog::{ActionFilter, DEFAULT_V2_FIELDS};
use std::path::Path;

/// DuckDB as Athena: the table is a view over the Parquet files with Hive partitioning (text
/// partition values, as Athena's string partition keys), plus a `date` column for DATE-partitioned
/// tables; prints each query's rows as JSON text cells (NULL → "").
const DUCKDB: &str = r#"
import duckdb, json, sys
root, database, table, flows, coverage, interfaces = sys.argv[1:7]
con = duckdb.connect()
con.execute(f'CREATE SCHEMA "{database}"')
files = root.replace("'", "''") + "/**/*.parquet"
con.execute(
    f'CREATE VIEW "{database}"."{table}" AS SELECT *, '
    'make_date(CAST("year" AS INTEGER), CAST("month" AS INTEGER), CAST("day" AS INTEGER)) AS "date" '
    f"FROM read_parquet('{files}', hive_partitioning = true, hive_types_autocast = false)"
)
cells = lambda rows: [["" if c is None else str(c) for c in row] for row in rows]
print(json.dumps({
    "flows": cells(con.execute(flows).fetchall()),
    "coverage": cells(con.execute(coverage).fetchall()),
    "interfaces": cells(con.execute(interfaces).fetchall()),
}))
"#;

fn fields() -> Vec<&'static str> {
    let mut fields = DEFAULT_V2_FIELDS.to_vec();
    fields.extend(["pkt-srcaddr", "pkt-dstaddr"]);
    fields
}

fn midnight(day: Date) -> i64 {
    day.to_zoned(jiff::tz::TimeZone::UTC)
        .expect("midnight")
        .timestamp()
        .as_second()
}

/// One record in [`fields`] order.
fn record(account: &str, src: &str, pkt: &str, port: u16, start: i64, action: &str) -> String {
    format!(
        "2 {account} eni-0a1b2c3d4e5f60718 {src} 10.1.0.9 40000 {port} 6 10 840 {start} {} {action} OK {pkt} -",
        start + 60
    )
}

fn status(account: &str, start: i64, status: &str) -> String {
    format!(
        "2 {account} eni-0a1b2c3d4e5f60718 - - - - - - - {start} {} - {status} - -",
        start + 60
    )
}

/// Delivery key in AWS's Hive-compatible hourly layout.
fn key(account: &str, delivered: i64, name: &str) -> String {
    let at = Timestamp::from_second(delivered)
        .expect("time")
        .to_zoned(jiff::tz::TimeZone::UTC);
    format!(
        "AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={}/{}/{account}_vpcflowlogs_{}_fl-e2e_{}_{name}.log.parquet",
        env().region,
        at.strftime("year=%Y/month=%m/day=%d/hour=%H"),
        env().region,
        at.strftime("%Y%m%dT%H%MZ"),
    )
}

/// The data set: the window is the last three whole UTC days; the middle one has no data; the
/// last has a SKIPDATA record; a record of the window's last day is delivered after midnight; a
/// day before the window and records outside it are never evidence. Sources behind a NAT carry
/// the client in `pkt-srcaddr`.
fn objects(account: &str, today: Date) -> Vec<(String, Vec<String>)> {
    let day = |back: i64| midnight(today - back.days());
    let a = |src: &str, pkt: &str, port: u16, at: i64, action: &str| {
        record(account, src, pkt, port, at, action)
    };
    vec![
        (
            key(account, day(3) + 9 * 3600 + 300, "a"),
            vec![
                a("10.0.10.1", "-", 443, day(3) + 9 * 3600, "ACCEPT"),
                a("10.0.10.1", "-", 443, day(3) + 9 * 3600 + 60, "ACCEPT"),
                a("10.0.0.50", "10.7.3.4", 443, day(3) + 9 * 3600, "ACCEPT"),
                a("10.0.10.2", "-", 22, day(3) + 9 * 3600, "REJECT"),
                status(account, day(3) + 9 * 3600, "NODATA"),
            ],
        ),
        (
            key(account, day(1) + 12 * 3600 + 300, "b"),
            vec![
                a("10.4.8.1", "-", 5432, day(1) + 12 * 3600, "ACCEPT"),
                a("10.0.0.50", "10.7.3.5", 443, day(1) + 12 * 3600, "ACCEPT"),
                status(account, day(1) + 12 * 3600, "SKIPDATA"),
            ],
        ),
        (
            // the window's last record, delivered after it ends
            key(account, day(0) + 300, "late"),
            vec![a(
                "10.8.2.1",
                "-",
                8443,
                day(1) + 23 * 3600 + 3500,
                "ACCEPT",
            )],
        ),
        (
            // before the window: neither reader may count it
            key(account, day(4) + 9 * 3600, "old"),
            vec![a("10.9.9.9", "-", 443, day(4) + 9 * 3600, "ACCEPT")],
        ),
        (
            // a partition outside the window's delivery days holding a window-time record: only
            // a query that reads the whole table sees it (the S3 reader selects by key date)
            key(account, day(5) + 9 * 3600, "stray"),
            vec![a("10.6.6.6", "-", 443, day(3) + 10 * 3600, "ACCEPT")],
        ),
    ]
}

async fn s3_reader_evidence(account: &TestAccount, request: &EvidenceRequest) -> EvidenceDocument {
    operator_aws_layer()
        .await
        .flow_logs(&account.target())
        .await
        .collect(request)
        .await
        .unwrap_or_else(|e| panic!("the S3 reader: {e}"))
}

fn duckdb_evidence(root: &Path, table: &Table, request: &EvidenceRequest) -> EvidenceDocument {
    let python = env().var("SGT_PYTHON");
    let output = std::process::Command::new(python)
        .args(["-c", DUCKDB])
        .arg(root)
        .args([&table.database, &table.table])
        .arg(flows_sql(table, request))
        .arg(coverage_sql(table, request))
        .arg(interfaces_sql(table, request))
        .output()
        .expect("run the venv's python");
    assert!(
        output.status.success(),
        "DuckDB refused the Athena SQL ({:?}):\n{}\nflows: {}\ncoverage: {}",
        table.shape.partitions,
        String::from_utf8_lossy(&output.stderr),
        flows_sql(table, request),
        coverage_sql(table, request)
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON rows");
    let rows = |name: &str| -> Vec<Vec<String>> {
        serde_json::from_value(answer[name].clone()).expect("rows of text cells")
    };
    let mut aggregator = sg_tightener::domain::flowlog::Aggregator::new();
    for row in rows("flows") {
        add_flow_row(
            &mut aggregator,
            &row.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    let mut coverage = CoverageRows::default();
    for row in rows("coverage") {
        coverage.add(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let interfaces = rows("interfaces");
    coverage.add_interfaces(
        interfaces
            .iter()
            .filter_map(|row| row.first().map(String::as_str)),
    );
    evidence(aggregator, coverage, request.window)
}

#[tokio::test]
async fn athena_sql_run_by_duckdb_gives_the_evidence_the_s3_reader_reads() {
    let account = TestAccount::new().await;
    let bucket = unique_name("sgt-athena");
    let s3 = aws_sdk_s3::Client::new(account.sdk_config());
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
            env().region.as_str(),
        ))
        .build();
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(location)
        .send()
        .await
        .expect("create bucket");
    let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let root = tempfile::tempdir().expect("temporary directory");
    let fields = fields();
    for (key, records) in objects(&account.id, today) {
        let body = parquet_fixture::parquet_from_records(&fields, &records, 2);
        let path = root.path().join(&key);
        std::fs::create_dir_all(path.parent().expect("folder")).expect("folders");
        std::fs::write(&path, &body).expect("local copy");
        s3.put_object()
            .bucket(&bucket)
            .key(&key)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
    }
    let window = Window {
        start: Timestamp::from_second(midnight(today - 3.days())).unwrap(),
        end: Timestamp::from_second(midnight(today)).unwrap(),
    };
    let request = EvidenceRequest {
        source: EvidenceSource::S3 {
            bucket: bucket.clone(),
            prefix: "AWSLogs/".into(),
        },
        window,
        action: ActionFilter::Accept,
        coverage_interfaces: Vec::new(),
    };
    let s3_evidence = s3_reader_evidence(&account, &request).await;
    let sources: Vec<String> = s3_evidence
        .flows
        .iter()
        .map(|f| f.source.to_string())
        .collect();
    assert_eq!(
        sources,
        ["10.0.10.1", "10.4.8.1", "10.7.3.4", "10.7.3.5", "10.8.2.1"],
        "the data set is what this test thinks it is"
    );
    assert_eq!(s3_evidence.coverage.days_without_data, [today - 2.days()]);
    let columns: Vec<(String, String)> = fields
        .iter()
        .map(|f| (f.replace('-', "_"), "string".to_owned()))
        .collect();
    let keys = |names: &[(&str, &str)]| -> Vec<(String, String)> {
        names
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    };
    let shapes = [
        keys(&[
            ("year", "string"),
            ("month", "string"),
            ("day", "string"),
            ("hour", "string"),
        ]),
        keys(&[("date", "date")]),
        keys(&[]),
    ];
    for partition_keys in shapes {
        let shape = TableShape::from_metadata(&columns, &partition_keys, &Default::default());
        assert!(shape.packet_source && shape.packet_destination);
        let partitions = shape.partitions.clone();
        let table = Table {
            database: "flow_logs".into(),
            table: "vpc_flow_logs".into(),
            shape,
        };
        let athena = duckdb_evidence(root.path(), &table, &request);
        if partitions == Partitions::None {
            let stray: Vec<String> = athena.flows.iter().map(|f| f.source.to_string()).collect();
            assert!(
                stray.contains(&"10.6.6.6".to_owned()),
                "reading the whole table sees the stray partition, so the pruned queries above \
                 really pruned: {stray:?}"
            );
            continue;
        }
        assert_eq!(athena.flows, s3_evidence.flows, "{partitions:?}");
        assert_eq!(athena.coverage, s3_evidence.coverage, "{partitions:?}");
        assert_eq!(
            athena.stats.skipdata, s3_evidence.stats.skipdata,
            "{partitions:?}"
        );
    }
}
