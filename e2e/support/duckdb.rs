//! e2e: DuckDB standing in for Athena — the Athena reader's SQL run by the test venv's `duckdb`
//! wheel (`SGT_PYTHON`) over local Parquet flow logs in AWS's Hive-compatible layout, every query
//! in one process, each answer read the way the Athena reader reads Athena's (`e2e/athena.rs`).

use super::env::env;
use super::flowlogs::parquet_fixture;
use jiff::civil::Date;
use sg_tightener::aws::flowlogs::athena_sql::{evidence_sql, EvidenceRows, Table};
use sg_tightener::aws::EvidenceRequest;
use sg_tightener::domain::evidence::EvidenceDocument;
use std::path::PathBuf;

/// DuckDB as Athena, one process for every query: stdin is `{database, table, queries: [{root,
/// sql}]}`; for each query the table is a view over the Parquet files under `root` with Hive
/// partitioning (text partition values, as Athena's string partition keys), plus a `date` DATE
/// column and a `dt` text column (`yyyy/MM/dd`, as partition projection's day format) for the
/// other partitionings AWS documents; prints each answer's rows as JSON text cells (NULL → "").
const DUCKDB: &str = r#"
import duckdb, json, sys
job = json.load(sys.stdin)
database, table = job["database"], job["table"]
cells = lambda rows: [["" if c is None else str(c) for c in row] for row in rows]
answers = []
for query in job["queries"]:
    con = duckdb.connect()
    con.execute(f'CREATE SCHEMA "{database}"')
    files = query["root"].replace("'", "''") + "/**/*.parquet"
    con.execute(
        f'CREATE VIEW "{database}"."{table}" AS SELECT *, '
        'make_date(CAST("year" AS INTEGER), CAST("month" AS INTEGER), CAST("day" AS INTEGER)) AS "date", '
        '"year" || \'/\' || "month" || \'/\' || "day" AS "dt" '
        f"FROM read_parquet('{files}', hive_partitioning = true, hive_types_autocast = false)"
    )
    try:
        answers.append({"rows": cells(con.execute(query["sql"]).fetchall())})
    except duckdb.Error as error:
        answers.append({"error": str(error)})
print(json.dumps(answers))
"#;

/// One query for DuckDB: the Athena SQL of `request` over the Parquet tree at `root`.
pub struct Query {
    pub root: PathBuf,
    pub table: Table,
    pub request: EvidenceRequest,
}

/// Runs every query in one DuckDB process and reads each answer the way the Athena reader reads
/// Athena's; a query DuckDB refuses (or a garbage object it opened) fails the test, naming it.
pub fn duckdb_evidence(queries: &[Query]) -> Vec<EvidenceDocument> {
    let job = serde_json::json!({
        "database": "flow_logs",
        "table": "vpc_flow_logs",
        "queries": queries.iter().map(|q| serde_json::json!({
            "root": q.root,
            "sql": evidence_sql(&q.table, &q.request),
        })).collect::<Vec<_>>(),
    });
    let mut child = std::process::Command::new(env().var("SGT_PYTHON"))
        .args(["-c", DUCKDB])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the venv's python");
    serde_json::to_writer(child.stdin.take().expect("stdin"), &job).expect("send the queries");
    let output = child.wait_with_output().expect("DuckDB's answers");
    assert!(
        output.status.success(),
        "DuckDB: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).expect("JSON answers");
    queries
        .iter()
        .zip(answers)
        .map(|(query, answer)| {
            let sql = evidence_sql(&query.table, &query.request);
            assert!(
                answer.get("error").is_none(),
                "DuckDB refused the Athena SQL or read a partition it should have pruned \
                 ({:?}, window {:?}): {}\n{sql}",
                query.table.shape.partitions,
                query.request.window,
                answer["error"]
            );
            let rows: Vec<Vec<String>> =
                serde_json::from_value(answer["rows"].clone()).expect("rows of text cells");
            let mut evidence = EvidenceRows::default();
            for row in &rows {
                evidence.add(&row.iter().map(String::as_str).collect::<Vec<_>>());
            }
            evidence.evidence(query.request.window)
        })
        .collect()
}

/// The delivery day and hour of an object, from its Hive-compatible key.
pub fn delivered(key: &str) -> (Date, i8) {
    let value = |name: &str| -> i16 {
        let start = key.find(&format!("{name}=")).expect("partition in key") + name.len() + 1;
        key[start..].split('/').next().unwrap().parse().unwrap()
    };
    let day = jiff::civil::date(value("year"), value("month") as i8, value("day") as i8);
    (day, value("hour") as i8)
}

/// The objects as local files under a fresh directory; those whose key `read` refuses are
/// garbage (not Parquet), so a query that opens one fails. DuckDB takes a view's columns
/// from the first file, so the tree starts with an empty Parquet file in a partition of 2000.
pub fn tree(
    objects: &[(String, Vec<u8>)],
    fields: &[&str],
    read: impl Fn(&str) -> bool,
) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("temporary directory");
    let (first, _) = objects.iter().min_by_key(|(key, _)| key).expect("objects");
    let year = first.find("year=").expect("Hive key");
    let anchor = (
        format!(
            "{}year=2000/month=01/day=01/hour=00/schema.parquet",
            &first[..year]
        ),
        parquet_fixture::parquet_from_records(fields, &[], 2),
    );
    for (key, body) in objects.iter().chain([&anchor]) {
        let path = root.path().join(key);
        std::fs::create_dir_all(path.parent().expect("folder")).expect("folders");
        let garbage = b"not parquet: a partition this query must not read".to_vec();
        let body = if key == &anchor.0 || read(key) {
            body
        } else {
            &garbage
        };
        std::fs::write(&path, body).expect("local copy");
    }
    root
}
