//! AWS layer tests: the Athena reader's SQL text — quoted identifiers, the epoch-second window,
//! packet addresses, partitions detected from the table's metadata (AWS's documented tables
//! among them) and pruned to the window's delivery days, for whole windows and single days.

use super::super::super::athena_sql::{delivery_days, evidence_sql, Partitions, Table, TableShape};
use super::super::*;
use super::source;

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

#[test]
fn a_window_of_hours_reads_its_first_days_hourly_partitions_from_two_hours_before_it() {
    let hive = shape(
        &[
            ("year", "string"),
            ("month", "string"),
            ("day", "string"),
            ("hour", "string"),
        ],
        &[],
        false,
    );
    let mut request = request(source());
    // diagnose's last 24 hours at 13:00: 2026-11-02T13:00 → 2026-11-03T13:00
    request.window.start = jiff::Timestamp::from_second(DAY1 + DAY + 13 * 3600).unwrap();
    request.window.end = jiff::Timestamp::from_second(DAY1 + 2 * DAY + 13 * 3600).unwrap();
    let sql = evidence_sql(&table("flows", "t", hive), &request);
    let days = "(\"year\" IN ('2026') AND \"month\" IN ('11') AND \"day\" IN ('02', '2', '03', '3', '04', '4'))";
    let hours: Vec<String> = (11..24).map(|h| format!("'{h}'")).collect();
    let rest =
        "(\"year\" IN ('2026') AND \"month\" IN ('11') AND \"day\" IN ('03', '3', '04', '4'))";
    let expected = format!(
        "AND ({days}) AND (({rest}) OR \"hour\" IN ({}))",
        hours.join(", ")
    );
    assert!(sql.contains(&expected), "{expected}\n{sql}");

    let numeric = shape(&[("date", "date"), ("hour", "int")], &[], false);
    let sql = evidence_sql(&table("flows", "t", numeric), &request);
    assert!(
        sql.contains("OR \"hour\" IN (11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23))"),
        "{sql}"
    );

    // a window starting before 02:00, or at midnight, may be in any hour of its first day
    let projected = shape(
        &[("region", "string"), ("date", "string"), ("hour", "string")],
        &[("projection.date.format", "yyyy/MM/dd")],
        false,
    );
    for start in [DAY1 + DAY + 3600, DAY1 + DAY] {
        request.window.start = jiff::Timestamp::from_second(start).unwrap();
        let sql = evidence_sql(&table("flows", "t", projected.clone()), &request);
        assert!(!sql.contains("\"hour\""), "{sql}");
    }
    request.window.start = jiff::Timestamp::from_second(DAY1 + DAY + 9 * 3600).unwrap();
    let sql = evidence_sql(&table("flows", "t", projected), &request);
    assert!(
        sql.contains("OR \"hour\" IN ('07', '7', '08', '8', '09', '9', '10', "),
        "{sql}"
    );
}
