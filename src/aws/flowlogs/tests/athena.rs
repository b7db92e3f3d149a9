//! AWS layer tests: the Athena reader — the table's shape from its metadata, the SQL (quoted
//! identifiers, epoch-second window, partition pruning, packet addresses), polling until
//! SUCCEEDED, result pages with the header row skipped, failed queries. (The SQL itself is run
//! by DuckDB over real flow logs in e2e/athena.rs.)

use super::super::athena_sql::{delivery_days, evidence_sql, Partitions, Table, TableShape};
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

const HEADER: &[&str] = &[
    "set",
    "source",
    "destination",
    "interface",
    "protocol",
    "port",
    "kept",
    "utc_day",
    "logged",
    "records",
    "data",
    "skipped",
    "earliest",
];

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
fn the_sql_quotes_identifiers_and_selects_the_window_in_epoch_seconds() {
    let mut request = request(source());
    request.coverage_interfaces = vec!["eni-0abc".into()];
    let sql = evidence_sql(
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
        sql.contains("CASE WHEN \"kept\" = 1 THEN \"srcaddr\" END AS \"source\""),
        "{sql}"
    );
    assert!(
        sql.ends_with("GROUP BY GROUPING SETS ((\"source\", \"destination\", \"interface\", \"protocol\", \"port\", \"kept\"), (\"utc_day\"), (\"logged\"))"),
        "one scan, three answers: {sql}"
    );
}

#[test]
fn the_packet_addresses_are_the_source_and_destination_when_the_table_has_them() {
    let sql = evidence_sql(
        &table("flows", "t", shape(&[], &[], true)),
        &request(source()),
    );
    assert!(
        sql.contains("coalesce(nullif(\"pkt_srcaddr\", '-'), \"srcaddr\") END AS \"source\""),
        "{sql}"
    );
    assert!(
        sql.contains("coalesce(nullif(\"pkt_dstaddr\", '-'), \"dstaddr\") END AS \"destination\""),
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
        let sql = evidence_sql(&table, &request);
        assert!(sql.contains(expected), "{expected}\n{sql}");
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
    let sql = evidence_sql(&table, &request);
    assert!(
        sql.contains("((\"year\" IN ('2026') AND \"month\" IN ('10') AND \"day\" IN ('31')) OR (\"year\" IN ('2026') AND \"month\" IN ('11') AND \"day\" IN ('01', '1', '02', '2')))"),
        "{sql}"
    );
}

fn days_window(request: &mut EvidenceRequest, first: i64, days: i64) {
    request.window.start = jiff::Timestamp::from_second(DAY1 + first * DAY).unwrap();
    request.window.end = jiff::Timestamp::from_second(DAY1 + (first + days) * DAY).unwrap();
}

#[test]
fn a_one_day_window_reads_its_day_and_the_next_delivery_day_only() {
    let mut request = request(source());
    days_window(&mut request, 1, 1);
    assert_eq!(
        delivery_days(&request),
        [date("2026-11-02"), date("2026-11-03")]
    );
    let cases = [
        (
            shape(
                &[("year", "string"), ("month", "string"), ("day", "string")],
                &[],
                false,
            ),
            "AND ((\"year\" IN ('2026') AND \"month\" IN ('11') AND \"day\" IN ('02', '2', '03', '3')))",
        ),
        (
            shape(&[("date", "date")], &[], false),
            "AND \"date\" BETWEEN DATE '2026-11-02' AND DATE '2026-11-03'",
        ),
        (
            shape(
                &[("date", "string")],
                &[("projection.date.format", "yyyy/MM/dd")],
                false,
            ),
            "AND \"date\" IN ('2026/11/02', '2026/11/03')",
        ),
    ];
    for (shape, expected) in cases {
        let sql = evidence_sql(&table("flows", "t", shape), &request);
        assert!(sql.contains(expected), "{expected}\n{sql}");
    }
}

proptest::proptest! {
    /// A window read day by day (as a per-day evidence cache asks) reads the partitions the
    /// whole window reads and no other, two per day: the next day's partition holds the day's
    /// last records.
    #[test]
    fn a_window_read_day_by_day_reads_the_partitions_of_the_whole_window(
        first in -400i64..400,
        days in 1i64..120,
    ) {
        let mut whole = request(source());
        days_window(&mut whole, first, days);
        let mut union = std::collections::BTreeSet::new();
        for day in first..first + days {
            let mut one = request(source());
            days_window(&mut one, day, 1);
            let read = delivery_days(&one);
            proptest::prop_assert_eq!(read.len(), 2);
            union.extend(read);
        }
        let whole_days = delivery_days(&whole);
        proptest::prop_assert_eq!(whole_days.len() as i64, days + 1);
        proptest::prop_assert_eq!(union.into_iter().collect::<Vec<_>>(), whole_days);
    }
}

#[test]
fn the_tables_aws_documents_for_flow_logs_are_pruned_by_day() {
    let projection = |column: &str| {
        [
            (format!("projection.{column}.type"), "date".to_owned()),
            (
                format!("projection.{column}.format"),
                "yyyy/MM/dd".to_owned(),
            ),
        ]
    };
    // text, central bucket: PARTITIONED BY (accid, region, day) with projection on `day`;
    // Parquet: PARTITIONED BY (region, date string, hour string) with projection on `date`
    let text = [("accid", "string"), ("region", "string"), ("day", "string")];
    let parquet = [("region", "string"), ("date", "string"), ("hour", "string")];
    let mut request = request(source());
    days_window(&mut request, 0, 1);
    for (keys, column) in [(&text[..], "day"), (&parquet[..], "date")] {
        let parameters: Vec<(String, String)> = projection(column).into();
        let parameters: Vec<(&str, &str)> = parameters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let sql = evidence_sql(
            &table("flows", "t", shape(keys, &parameters, true)),
            &request,
        );
        let expected = format!("AND \"{column}\" IN ('2026/11/01', '2026/11/02')");
        assert!(sql.contains(&expected), "{expected}\n{sql}");
    }
}
