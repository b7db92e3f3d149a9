//! Report layer: tests — CSV round trip through the spool, the XLSX read back with a spreadsheet
//! reader, and streamed JSON.

use super::*;
use crate::domain::risk::tally::Tally;
use calamine::{Data, Reader, Xlsx};
use std::io::Cursor;

pub(crate) fn row(account: &str, id: &str, cidr: &str, severity: Severity) -> FindingRow {
    FindingRow {
        account_id: account.into(),
        account_name: format!("name of {account}"),
        region: "af-south-1".into(),
        resource_type: ResourceType::SecurityGroup,
        resource_id: id.into(),
        vpc_id: Some("vpc-1".into()),
        rule_number: None,
        cidr: cidr.into(),
        protocol: "tcp".into(),
        ports: "22".into(),
        severity,
    }
}

fn nacl_row() -> FindingRow {
    FindingRow {
        resource_type: ResourceType::NetworkAcl,
        resource_id: "acl-1".into(),
        vpc_id: None,
        rule_number: Some(100),
        protocol: "all".into(),
        ports: "all".into(),
        ..row("222222222222", "acl-1", "0.0.0.0/0", Severity::High)
    }
}

fn rows() -> Vec<FindingRow> {
    vec![
        row("111111111111", "sg-1", "0.0.0.0/0", Severity::Critical),
        row("111111111111", "sg-1", "10.0.0.0/16", Severity::High),
        nacl_row(),
    ]
}

#[test]
fn spooled_findings_read_back_exactly_as_csv_with_a_header() {
    let mut spool = Spool::new().unwrap();
    for r in rows() {
        spool.push(&r).unwrap();
    }
    let spooled = spool.finish().unwrap();
    assert_eq!(spooled.rows, 3);
    let back: Vec<FindingRow> = spooled.read().unwrap().map(Result::unwrap).collect();
    assert_eq!(back, rows());
    let text = std::fs::read_to_string(spooled.path()).unwrap();
    assert_eq!(text.lines().next().unwrap(), COLUMNS.join(","));
    assert_eq!(spooled.bytes, text.len() as u64);
    assert!(
        text.contains(",NACL,acl-1,,100,0.0.0.0/0,all,all,HIGH"),
        "{text}"
    );
}

#[test]
fn an_empty_report_is_still_a_table() {
    let sink = CsvSink::new(Vec::new()).unwrap();
    let text = String::from_utf8(sink.finish().unwrap()).unwrap();
    assert_eq!(text.trim_end(), COLUMNS.join(","));
    assert_eq!(read_rows(text.as_bytes()).count(), 0);
}

fn cells(sheet: &calamine::Range<Data>) -> Vec<Vec<String>> {
    sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[test]
fn the_workbook_has_a_ranked_summary_and_every_finding() {
    let mut tally = Tally::default();
    for r in rows() {
        tally.account(&r.account_id, &r.account_name);
        tally.add(&r.account_id, r.severity);
    }
    let mut bytes = Vec::new();
    let ranked = tally.ranked(usize::MAX);
    let written = write_xlsx(&ranked, rows().into_iter().map(Ok), &mut bytes).unwrap();
    assert_eq!(written, 3);
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["Summary", "Findings"]);
    let summary = cells(&book.worksheet_range("Summary").unwrap());
    assert_eq!(summary[0], workbook::SUMMARY_COLUMNS.map(String::from));
    assert_eq!(summary[1][1], "111111111111");
    assert_eq!(summary[1][7], "1010000", "critical·10⁶ + high·10⁴");
    assert_eq!(summary[2][1], "222222222222");
    let findings = cells(&book.worksheet_range("Findings").unwrap());
    assert_eq!(findings[0], COLUMNS.map(String::from));
    assert_eq!(findings.len(), 4);
    assert_eq!(findings[3][3..7], ["NACL", "acl-1", "", "100"]);
    assert_eq!(findings[1][10], "CRITICAL");
}

#[test]
fn a_failing_row_fails_the_workbook() {
    let broken = vec![
        Ok(nacl_row()),
        Err(ReportError::Io(std::io::Error::other("spool gone"))),
    ];
    let error = write_xlsx(&[], broken.into_iter(), Vec::new()).unwrap_err();
    assert!(error.to_string().contains("spool gone"), "{error}");
}

#[test]
fn streamed_json_is_an_array_of_the_rows() {
    let items = rows().into_iter().map(Ok::<_, ReportError>);
    let text = serde_json::to_string(
        &serde_json::json!({"findings": serde_json::to_value(Streamed::new(items)).unwrap()}),
    )
    .unwrap();
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back["findings"].as_array().unwrap().len(), 3);
    assert_eq!(back["findings"][2]["resourceType"], "NACL");
    assert_eq!(back["findings"][0]["severity"], "CRITICAL");
    let failing = vec![Err::<FindingRow, _>("row 2 unreadable")];
    let error = serde_json::to_string(&Streamed::new(failing.into_iter())).unwrap_err();
    assert!(error.to_string().contains("row 2 unreadable"));
}
