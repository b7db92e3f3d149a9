//! AWS layer tests: the Athena reader — the SQL (quoted identifiers, epoch-second window),
//! polling until SUCCEEDED, result pages with the header row skipped, failed queries.

use super::super::athena::{coverage_sql, flows_sql, Table};
use super::*;
use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
use aws_sdk_athena::types::{
    Datum, QueryExecution, QueryExecutionState, QueryExecutionStatus, ResultSet, Row,
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
    "srcaddr",
    "dstaddr",
    "interface_id",
    "protocol",
    "dstport",
    "records",
];

/// StartQueryExecution: `flows` or `coverage` by the SQL; the requests are recorded.
fn start_rule(sql: Arc<Mutex<Vec<String>>>) -> Rule {
    mock!(Client::start_query_execution).then_compute_output(move |req| {
        let ok = req.work_group() == Some("sgt")
            && req.query_execution_context().and_then(|c| c.database()) == Some("flows")
            && req.result_configuration().and_then(|c| c.output_location())
                == Some("s3://athena-results/sgt/");
        assert!(ok, "{req:?}");
        let query = req.query_string().unwrap_or_default().to_owned();
        let id = if query.contains("\"day\"") {
            "coverage"
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
            let day = |n: i64| (DAY1 / DAY + n).to_string();
            let earliest = (DAY1 + 30).to_string();
            results(
                vec![
                    row(&["day", "records", "earliest"]),
                    row(&[&day(0), "5", &earliest]),
                    row(&[&day(2), "4", &(DAY1 + 2 * DAY).to_string()]),
                ],
                None,
            )
        });
    let rules = [
        &start,
        &flows_state,
        &coverage_state,
        &flows_first,
        &flows_second,
        &coverage,
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
    assert_eq!(document.coverage.days_without_data, [date("2026-11-02")]);
    assert_eq!(
        document.coverage.earliest_record,
        Some(jiff::Timestamp::from_second(DAY1 + 30).unwrap())
    );
    assert_eq!(sql.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_failed_query_is_an_error_with_athenas_reason() {
    let start = start_rule(Arc::default());
    let failed =
        mock!(Client::get_query_execution).then_output(|| state(QueryExecutionState::Failed));
    let error = reader(&[], &[], &[&start, &failed])
        .collect(&request(source()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "QueryFailed");
    assert!(
        error.to_string().contains("SYNTAX_ERROR: line 1"),
        "{error}"
    );
}

fn table<'a>(database: &'a str, name: &'a str) -> Table<'a> {
    Table {
        database,
        table: name,
        workgroup: "primary",
        output_location: None,
    }
}

#[test]
fn the_flows_sql_quotes_identifiers_and_selects_the_window_in_epoch_seconds() {
    let mut request = request(source());
    request.coverage_interfaces = vec!["eni-0abc".into()];
    let sql = flows_sql(&table("flows", "vpc\"logs"), &request);
    assert!(sql.contains("FROM \"flows\".\"vpc\"\"logs\""), "{sql}");
    let window = format!("\"start\" < {} AND \"end\" >= {DAY1}", DAY1 + 3 * DAY);
    assert!(sql.contains(&window), "{sql}");
    assert!(sql.contains("\"action\" IN ('ACCEPT')"), "{sql}");
    assert!(
        !sql.contains("\"interface_id\" IN"),
        "never narrowed to today's interfaces: {sql}"
    );
    assert!(
        sql.ends_with(
            "GROUP BY \"srcaddr\", \"dstaddr\", \"interface_id\", \"protocol\", \"dstport\""
        ),
        "{sql}"
    );
}

#[test]
fn implausible_interface_ids_are_not_quoted_into_the_sql() {
    let mut request = request(source());
    request.coverage_interfaces = vec!["eni-1') OR 1=1 --".into()];
    let sql = flows_sql(&table("flows", "t"), &request);
    assert!(!sql.contains("interface_id\" IN"), "{sql}");
    let coverage = coverage_sql(&table("flows", "t"), &request);
    assert!(
        coverage.contains("\"log_status\" <> 'SKIPDATA'"),
        "{coverage}"
    );
}
