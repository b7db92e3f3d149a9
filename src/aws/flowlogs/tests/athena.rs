//! AWS layer tests: the Athena reader — the table's shape from its metadata, the SQL (quoted
//! identifiers, epoch-second window, partition pruning, packet addresses), polling until
//! SUCCEEDED, result pages with the header row skipped, failed queries. (The SQL itself is run
//! by DuckDB over real flow logs in e2e/athena.rs.) The SQL's text: `athena/sql.rs`.

use super::*;
use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_athena::operation::get_table_metadata::GetTableMetadataOutput;
use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
use aws_sdk_athena::types::{
    Column, Datum, QueryExecution, QueryExecutionState, QueryExecutionStatus, ResultSet, Row,
    TableMetadata,
};
use aws_sdk_athena::Client;
use aws_smithy_mocks::mock;
use std::sync::{Arc, Mutex};

mod sql;

pub(super) fn source() -> EvidenceSource {
    EvidenceSource::Athena {
        database: "flows".into(),
        table: "vpc_flow_logs".into(),
        workgroup: "sgt".into(),
        output_location: Some("s3://athena-results/sgt/".into()),
    }
}

fn state(state: QueryExecutionState) -> GetQueryExecutionOutput {
    let status = QueryExecutionStatus::builder()
        .state(state)
        .state_change_reason("SYNTAX_ERROR: line 1")
        .build();
    GetQueryExecutionOutput::builder()
        .query_execution(QueryExecution::builder().status(status).build())
        .build()
}

fn row(cells: &[&str]) -> Row {
    let mut row = Row::builder();
    for cell in cells {
        row = row.data(Datum::builder().var_char_value(*cell).build());
    }
    row.build()
}

fn results(rows: Vec<Row>, next: Option<&str>) -> GetQueryResultsOutput {
    GetQueryResultsOutput::builder()
        .result_set(ResultSet::builder().set_rows(Some(rows)).build())
        .set_next_token(next.map(str::to_owned))
        .build()
}

const HEADER: &[&str] = &athena_sql::ANSWER_COLUMNS;

/// A flow row of the answer: (source, destination, interface, protocol, port, records).
fn flow_row(cells: [&str; 6]) -> Row {
    let [source, destination, interface, protocol, port, records] = cells;
    row(&[
        "3",
        source,
        destination,
        interface,
        protocol,
        port,
        "1",
        "",
        "",
        records,
        "",
        "",
        "",
    ])
}

/// A coverage row of the answer: (day, records with data, SKIPDATA records, earliest start).
fn day_row(day: &str, data: &str, skipped: &str, earliest: &str) -> Row {
    let records = (data.parse::<u64>().unwrap() + skipped.parse::<u64>().unwrap()).to_string();
    row(&[
        "1", "", "", "", "", "", "", day, "", &records, data, skipped, earliest,
    ])
}

/// An interface-with-records row of the answer.
fn interface_row(id: &str) -> Row {
    row(&["2", "", "", "", "", "", "", "", id, "4", "4", "0", ""])
}

/// GetTableMetadata of `flows.vpc_flow_logs`: AWS's columns with the packet addresses,
/// partitioned by `year`/`month`/`day`/`hour` text columns (Hive-compatible prefixes).
fn metadata_rule() -> Rule {
    mock!(Client::get_table_metadata).then_compute_output(|req| {
        assert_eq!(req.catalog_name(), Some("AwsDataCatalog"));
        assert_eq!(req.database_name(), Some("flows"));
        assert_eq!(req.table_name(), Some("vpc_flow_logs"));
        let column =
            |name: &str, kind: &str| Column::builder().name(name).r#type(kind).build().unwrap();
        let mut table = TableMetadata::builder().name("vpc_flow_logs");
        for name in [
            "srcaddr",
            "dstaddr",
            "pkt_srcaddr",
            "pkt_dstaddr",
            "interface_id",
        ] {
            table = table.columns(column(name, "string"));
        }
        for name in ["year", "month", "day", "hour"] {
            table = table.partition_keys(column(name, "string"));
        }
        GetTableMetadataOutput::builder()
            .table_metadata(table.build().unwrap())
            .build()
    })
}

/// StartQueryExecution: every query gets the id `evidence`; the SQL is recorded.
fn start_rule(sql: Arc<Mutex<Vec<String>>>) -> Rule {
    mock!(Client::start_query_execution).then_compute_output(move |req| {
        let ok = req.work_group() == Some("sgt")
            && req.query_execution_context().and_then(|c| c.database()) == Some("flows")
            && req.result_configuration().and_then(|c| c.output_location())
                == Some("s3://athena-results/sgt/");
        assert!(ok, "{req:?}");
        let query = req.query_string().unwrap_or_default().to_owned();
        sql.lock().unwrap().push(query);
        StartQueryExecutionOutput::builder()
            .query_execution_id("evidence")
            .build()
    })
}

#[tokio::test]
async fn one_query_is_polled_until_it_succeeds_and_every_page_is_read_without_the_header() {
    let sql = Arc::new(Mutex::new(Vec::new()));
    let start = start_rule(sql.clone());
    let running = mock!(Client::get_query_execution)
        .sequence()
        .output(|| state(QueryExecutionState::Queued))
        .output(|| state(QueryExecutionState::Running))
        .output(|| state(QueryExecutionState::Succeeded))
        .build();
    let first = mock!(Client::get_query_results)
        .match_requests(|req| req.next_token().is_none())
        .then_output(|| {
            results(
                vec![
                    row(HEADER),
                    flow_row(["10.0.1.5", "10.0.2.9", "eni-1", "6", "443", "7"]),
                    interface_row("eni-2"),
                    // the records of the actions not asked for, in one row: not a flow
                    row(&["3", "", "", "", "", "", "0", "", "", "5", "", "", ""]),
                ],
                Some("p2"),
            )
        });
    let second = mock!(Client::get_query_results)
        .match_requests(|req| req.next_token() == Some("p2"))
        .then_output(move || {
            let day = |n: i64| (DAY1 + n * DAY).to_string();
            let earliest = (DAY1 + 30).to_string();
            results(
                vec![
                    flow_row(["10.0.1.6", "10.0.2.9", "eni-1", "17", "53", "2"]),
                    day_row(&day(0), "5", "0", &earliest),
                    day_row(&day(1), "0", "3", ""),
                    day_row(&day(2), "4", "1", &(DAY1 + 2 * DAY).to_string()),
                    interface_row("eni-1"),
                ],
                None,
            )
        });
    let metadata = metadata_rule();
    let rules = [&metadata, &start, &running, &first, &second];
    let document = reader(&[], &[], &rules)
        .collect(&request(source()))
        .await
        .unwrap();
    assert_eq!(running.num_calls(), 3);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    assert_eq!(
        flows(&document),
        [
            (ip("10.0.1.5"), ip("10.0.2.9"), 443, 7),
            (ip("10.0.1.6"), ip("10.0.2.9"), 53, 2),
        ]
    );
    assert_eq!(
        document.stats.malformed, 0,
        "the header row was not read as data"
    );
    assert_eq!(document.stats.records, 9);
    assert_eq!(document.stats.skipdata, 4);
    assert_eq!(document.coverage.days_without_data, [date("2026-11-02")]);
    assert_eq!(
        document.coverage.days_with_skipped_records,
        [date("2026-11-03")]
    );
    assert_eq!(
        document.coverage.earliest_record,
        Some(jiff::Timestamp::from_second(DAY1 + 30).unwrap())
    );
    assert_eq!(
        document.coverage.interfaces_with_records,
        Some(vec!["eni-1".to_owned(), "eni-2".to_owned()]),
        "the interfaces with records, as the S3 reader reports them"
    );
    assert_eq!(document.coverage.skipped_records, 4);
    let sql = sql.lock().unwrap();
    assert_eq!(sql.len(), 1, "one query per window: {sql:?}");
    assert!(
        sql[0].contains("(\"year\" IN ('2026') AND \"month\" IN ('11') AND \"day\" IN ('01', '1', '02', '2', '03', '3', '04', '4'))"),
        "the query reads the window's partitions and the next day's: {sql:?}"
    );
}

#[tokio::test]
async fn resources_with_different_interfaces_send_the_same_query() {
    let sql = Arc::new(Mutex::new(Vec::new()));
    let start = start_rule(sql.clone());
    let done =
        mock!(Client::get_query_execution).then_output(|| state(QueryExecutionState::Succeeded));
    let answer = mock!(Client::get_query_results).then_output(|| results(vec![row(HEADER)], None));
    let metadata = metadata_rule();
    let reader = reader(&[], &[], &[&metadata, &start, &done, &answer]);
    for interfaces in [
        vec![],
        vec!["eni-0aaa".to_owned()],
        vec!["eni-0bbb".into(); 300],
    ] {
        let mut request = request(source());
        request.coverage_interfaces = interfaces;
        reader.collect(&request).await.unwrap();
    }
    let sql = sql.lock().unwrap();
    assert_eq!(sql.len(), 3, "one StartQueryExecution per collect");
    assert!(
        sql.iter().all(|q| q == &sql[0]),
        "the SQL does not depend on the resource, so one answer can serve all: {sql:?}"
    );
    assert!(!sql[0].contains("eni-"), "{}", sql[0]);
}

#[tokio::test]
async fn a_failed_query_is_an_error_with_athenas_reason() {
    let start = start_rule(Arc::default());
    let failed =
        mock!(Client::get_query_execution).then_output(|| state(QueryExecutionState::Failed));
    let metadata = metadata_rule();
    let error = reader(&[], &[], &[&metadata, &start, &failed])
        .collect(&request(source()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "QueryFailed");
    assert!(
        error.to_string().contains("SYNTAX_ERROR: line 1"),
        "{error}"
    );
}
