//! AWS layer tests: the Athena reader — the table's shape from its metadata, the SQL (quoted
//! identifiers, epoch-second window, partition pruning, packet addresses), polling until
//! SUCCEEDED, result pages with the header row skipped, failed queries. (The SQL itself is run
//! by DuckDB over real flow logs in e2e/athena.rs.)

use super::super::athena_sql::{coverage_sql, flows_sql, Partitions, Table, TableShape};
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

fn source() -> EvidenceSource {
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

const FLOWS_HEADER: &[&str] = &[
    "source",
    "destination",
    "interface_id",
    "protocol",
    "dstport",
    "records",
];

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

/// StartQueryExecution: `flows` or `coverage` by the SQL; the requests are recorded.
fn start_rule(sql: Arc<Mutex<Vec<String>>>) -> Rule {
    mock!(Client::start_query_execution).then_compute_output(move |req| {
        let ok = req.work_group() == Some("sgt")
            && req.query_execution_context().and_then(|c| c.database()) == Some("flows")
            && req.result_configuration().and_then(|c| c.output_location())
                == Some("s3://athena-results/sgt/");
        assert!(ok, "{req:?}");
        let query = req.query_string().unwrap_or_default().to_owned();
        let id = if query.contains("\"skipped\"") {
            "coverage"
        } else if query.starts_with("SELECT DISTINCT \"interface_id\"") {
            "interfaces"
        } else {
            "flows"
        };
        sql.lock().unwrap().push(query);
        StartQueryExecutionOutput::builder()
            .query_execution_id(id)
            .build()
    })
}

#[tokio::test]
async fn queries_are_polled_until_they_succeed_and_every_page_is_read_without_the_header() {
    let sql = Arc::new(Mutex::new(Vec::new()));
    let start = start_rule(sql.clone());
    let flows_state = mock!(Client::get_query_execution)
        .match_requests(|req| req.query_execution_id() == Some("flows"))
        .sequence()
        .output(|| state(QueryExecutionState::Queued))
        .output(|| state(QueryExecutionState::Running))
        .output(|| state(QueryExecutionState::Succeeded))
        .build();
    let coverage_state = mock!(Client::get_query_execution)
        .match_requests(|req| req.query_execution_id() == Some("coverage"))
        .then_output(|| state(QueryExecutionState::Succeeded));
    let flows_first = mock!(Client::get_query_results)
        .match_requests(|req| {
            req.query_execution_id() == Some("flows") && req.next_token().is_none()
        })
        .then_output(|| {
            results(
                vec![
                    row(FLOWS_HEADER),
                    row(&["10.0.1.5", "10.0.2.9", "eni-1", "6", "443", "7"]),
                ],
                Some("p2"),
            )
        });
    let flows_second = mock!(Client::get_query_results)
        .match_requests(|req| {
            req.query_execution_id() == Some("flows") && req.next_token() == Some("p2")
        })
        .then_output(|| {
            results(
                vec![row(&["10.0.1.6", "10.0.2.9", "eni-1", "17", "53", "2"])],
                None,
            )
        });
    let coverage = mock!(Client::get_query_results)
        .match_requests(|req| req.query_execution_id() == Some("coverage"))
        .then_output(move || {
            let day = |n: i64| (DAY1 + n * DAY).to_string();
            let earliest = (DAY1 + 30).to_string();
            results(
                vec![
                    row(&["day", "records", "skipped", "earliest"]),
                    row(&[&day(0), "5", "0", &earliest]),
                    row(&[&day(1), "0", "3", ""]),
                    row(&[&day(2), "4", "1", &(DAY1 + 2 * DAY).to_string()]),
                ],
                None,
            )
        });
    let interfaces_state = mock!(Client::get_query_execution)
        .match_requests(|req| req.query_execution_id() == Some("interfaces"))
        .then_output(|| state(QueryExecutionState::Succeeded));
    let interfaces = mock!(Client::get_query_results)
        .match_requests(|req| req.query_execution_id() == Some("interfaces"))
        .then_output(|| {
            results(
                vec![row(&["interface_id"]), row(&["eni-2"]), row(&["eni-1"])],
                None,
            )
        });
    let metadata = metadata_rule();
    let rules = [
        &metadata,
        &start,
        &flows_state,
        &coverage_state,
        &interfaces_state,
        &flows_first,
        &flows_second,
        &coverage,
        &interfaces,
    ];
    let document = reader(&[], &[], &rules)
        .collect(&request(source()))
        .await
        .unwrap();
    assert_eq!(flows_state.num_calls(), 3);
    assert_eq!((flows_first.num_calls(), flows_second.num_calls()), (1, 1));
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
    assert_eq!(sql.len(), 3);
    assert!(
        sql.iter().all(|q| q.contains("(\"year\" IN ('2026') AND \"month\" IN ('11') AND \"day\" IN ('01', '1', '02', '2', '03', '3', '04', '4'))")),
        "all three queries read the window's partitions and the next day's: {sql:?}"
    );
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

fn table(database: &str, name: &str, shape: TableShape) -> Table {
    Table {
        database: database.into(),
        table: name.into(),
        shape,
    }
}

fn shape(partitions: &[(&str, &str)], parameters: &[(&str, &str)], packet: bool) -> TableShape {
    let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let mut columns = owned(&[("srcaddr", "string"), ("dstaddr", "string")]);
    if packet {
        columns.extend(owned(&[
            ("pkt_srcaddr", "string"),
            ("pkt_dstaddr", "string"),
        ]));
    }
    TableShape::from_metadata(
        &columns,
        &owned(partitions),
        &owned(parameters).into_iter().collect(),
    )
}

#[test]
fn the_flows_sql_quotes_identifiers_and_selects_the_window_in_epoch_seconds() {
    let mut request = request(source());
    request.coverage_interfaces = vec!["eni-0abc".into()];
    let sql = flows_sql(
        &table("flows", "vpc\"logs", TableShape::default()),
        &request,
    );
    assert!(sql.contains("FROM \"flows\".\"vpc\"\"logs\""), "{sql}");
    let window = format!("\"start\" < {} AND \"end\" >= {DAY1}", DAY1 + 3 * DAY);
    assert!(sql.contains(&window), "{sql}");
    assert!(sql.contains("\"action\" IN ('ACCEPT')"), "{sql}");
    assert!(
        !sql.contains("interface_id\" IN"),
        "never narrowed to today's interfaces: {sql}"
    );
    assert!(
        sql.starts_with("SELECT \"srcaddr\" AS \"source\", \"dstaddr\" AS"),
        "{sql}"
    );
    assert!(sql.ends_with("GROUP BY 1, 2, 3, 4, 5"), "{sql}");
}

#[test]
fn the_packet_addresses_are_the_source_and_destination_when_the_table_has_them() {
    let sql = flows_sql(
        &table("flows", "t", shape(&[], &[], true)),
        &request(source()),
    );
    assert!(
        sql.contains("coalesce(nullif(\"pkt_srcaddr\", '-'), \"srcaddr\") AS \"source\""),
        "{sql}"
    );
    assert!(
        sql.contains("coalesce(nullif(\"pkt_dstaddr\", '-'), \"dstaddr\") AS \"destination\""),
        "{sql}"
    );
}

#[test]
fn partitions_are_detected_from_the_tables_keys_and_projection() {
    let none = shape(&[("region", "string")], &[], false);
    assert_eq!(none.partitions, Partitions::None);
    let projected = shape(
        &[("day", "string")],
        &[("projection.day.format", "yyyy/MM/dd")],
        false,
    );
    assert_eq!(
        projected.partitions,
        Partitions::DayText {
            column: "day".into(),
            formats: vec!["%Y/%m/%d".into()]
        }
    );
    let hive = shape(
        &[
            ("year", "int"),
            ("month", "int"),
            ("day", "int"),
            ("hour", "int"),
        ],
        &[],
        false,
    );
    assert_eq!(hive.partitions, Partitions::YearMonthDay { numeric: true });
    let date = shape(&[("date", "date")], &[], false);
    assert_eq!(
        date.partitions,
        Partitions::Date {
            column: "date".into()
        }
    );
    let unknown_format = shape(
        &[("dt", "string")],
        &[("projection.dt.format", "yyyy/MM/dd/HH")],
        false,
    );
    let Partitions::DayText { formats, .. } = unknown_format.partitions else {
        panic!("a dt text column is a day partition");
    };
    assert_eq!(
        formats.len(),
        3,
        "an hourly pattern is not used: the usual day formats are tried"
    );
}

#[test]
fn queries_prune_to_the_windows_delivery_days() {
    let request = request(source());
    let cases = [
        (
            shape(
                &[("day", "string")],
                &[("projection.day.format", "yyyy/MM/dd")],
                false,
            ),
            "AND \"day\" IN ('2026/11/01', '2026/11/02', '2026/11/03', '2026/11/04')",
        ),
        (
            shape(&[("date", "date")], &[], false),
            "AND \"date\" BETWEEN DATE '2026-11-01' AND DATE '2026-11-04'",
        ),
        (
            shape(
                &[("year", "int"), ("month", "int"), ("day", "int")],
                &[],
                false,
            ),
            "AND ((\"year\" IN (2026) AND \"month\" IN (11) AND \"day\" IN (1, 2, 3, 4)))",
        ),
    ];
    for (shape, expected) in cases {
        let table = table("flows", "t", shape);
        for sql in [flows_sql(&table, &request), coverage_sql(&table, &request)] {
            assert!(sql.contains(expected), "{expected}\n{sql}");
        }
    }
}

#[test]
fn a_window_across_months_has_one_term_per_month() {
    let mut request = request(source());
    request.window.start = jiff::Timestamp::from_second(DAY1 - DAY).unwrap();
    request.window.end = jiff::Timestamp::from_second(DAY1 + DAY).unwrap();
    let table = table(
        "flows",
        "t",
        shape(
            &[("year", "string"), ("month", "string"), ("day", "string")],
            &[],
            false,
        ),
    );
    let sql = flows_sql(&table, &request);
    assert!(
        sql.contains("((\"year\" IN ('2026') AND \"month\" IN ('10') AND \"day\" IN ('31')) OR (\"year\" IN ('2026') AND \"month\" IN ('11') AND \"day\" IN ('01', '1', '02', '2')))"),
        "{sql}"
    );
}
