//! Integration tests (CLI layer): `sg-tightener analyse` run as a process on fixture flow logs —
//! plain v2 default with a header, gzip custom format with pkt-srcaddr, Parquet, stdin, and bad
//! input.

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const END: &str = "2024-03-04T00:00:00Z";
const HEADER_V2: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol \
                         packets bytes start end action log-status";

/// Parquet flow logs in AWS's schema, written by the parquet crate (shared with unit tests).
#[path = "../src/domain/flowlog/parquet_file/fixture.rs"]
mod parquet_fixture;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn day_dir(day: &str) -> PathBuf {
    fixtures()
        .join("flowlogs/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/03")
        .join(day)
}

fn analyse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sg-tightener"))
        .arg("analyse")
        .args(args)
        .output()
        .unwrap()
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn flow_keys(document: &Value) -> Vec<(String, String, u64, u64)> {
    document["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["source"].as_str().unwrap().to_string(),
                f["destination"].as_str().unwrap().to_string(),
                f["port"].as_u64().unwrap(),
                f["records"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_directory_of_plain_and_gzip_logs_becomes_one_evidence_document() {
    let root = fixtures().join("flowlogs");
    let document = json(&analyse(&[
        "--flow-logs",
        root.to_str().unwrap(),
        "--days",
        "3",
        "--end",
        END,
    ]));
    assert_eq!(document["schema"], "sg-tightener.evidence/v1");
    assert_eq!(document["window"]["start"], "2024-03-01T00:00:00Z");
    assert_eq!(document["window"]["end"], END);
    assert_eq!(
        document["coverage"]["daysWithoutData"],
        serde_json::json!([])
    );
    assert_eq!(
        document["coverage"]["earliestRecord"],
        "2024-02-29T10:00:00Z"
    );
    let expected = [
        ("10.0.1.5", "10.1.0.10", 443, 2),
        ("10.0.1.6", "10.1.0.10", 5432, 1),
        ("10.1.0.200", "10.1.0.10", 8443, 1),
        ("10.20.3.4", "10.1.0.10", 8443, 1),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(s, d, p, r)| (s.to_string(), d.to_string(), *p, *r))
        .collect();
    assert_eq!(
        flow_keys(&document),
        expected,
        "REJECT and out-of-window records are left out"
    );
    let pkt = &document["flows"][3];
    assert_eq!(
        (pkt["interfaceId"].as_str(), pkt["protocol"].as_u64()),
        (Some("eni-0f0e0d0c"), Some(6))
    );
    assert_eq!(document["stats"]["nodata"], 1);
    assert_eq!(document["stats"]["filtered"], 2);
}

#[test]
fn a_missing_day_is_reported_in_coverage_and_on_stderr() {
    let output = analyse(&[
        "--flow-logs",
        day_dir("01").to_str().unwrap(),
        "--days",
        "3",
        "--end",
        END,
    ]);
    let document = json(&output);
    assert_eq!(
        document["coverage"]["daysWithoutData"],
        serde_json::json!(["2024-03-02"])
    );
    assert!(
        stderr_of(&output).contains("1 day(s) of the window have no flow-log data"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn action_reject_selects_only_rejected_records() {
    let document = json(&analyse(&[
        "--flow-logs",
        day_dir("01").to_str().unwrap(),
        "--action",
        "REJECT",
        "--days",
        "3",
        "--end",
        END,
    ]));
    assert_eq!(
        flow_keys(&document),
        vec![("192.168.7.7".to_string(), "10.1.0.10".to_string(), 22, 1)]
    );
}

#[test]
fn headerless_records_on_stdin_parse_as_the_v2_default_format() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sg-tightener"))
        .args([
            "analyse",
            "--flow-logs",
            "-",
            "--days",
            "1",
            "--end",
            END,
            "--action",
            "any",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let line =
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 40000 53 17 1 60 1709460000 1709460060 ACCEPT OK\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    let document = json(&child.wait_with_output().unwrap());
    assert_eq!(
        flow_keys(&document),
        vec![("10.0.0.1".to_string(), "10.0.0.2".to_string(), 53, 1)]
    );
    assert_eq!(document["flows"][0]["protocol"], 17);
}

fn fails_with_exit_2(args: &[&str], expected: &[&str]) {
    let output = analyse(args);
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = stderr_of(&output);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    for part in expected {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
}

#[test]
fn a_file_that_is_not_a_flow_log_is_refused_naming_the_file() {
    let path = fixtures().join("not-flowlogs.txt");
    fails_with_exit_2(
        &["--flow-logs", path.to_str().unwrap(), "--end", END],
        &["not-flowlogs.txt", "no flow-log record"],
    );
}

#[test]
fn bad_flags_are_refused_naming_the_flag_and_value() {
    let dir = day_dir("01");
    let dir = dir.to_str().unwrap();
    fails_with_exit_2(
        &["--flow-logs", dir, "--action", "MAYBE"],
        &["--action", "\"MAYBE\""],
    );
    fails_with_exit_2(
        &["--flow-logs", dir, "--end", "yesterday"],
        &["--end", "\"yesterday\""],
    );
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    fails_with_exit_2(
        &["--flow-logs", "/nonexistent/flow.log", "--end", END],
        &["failed to read /nonexistent/flow.log"],
    );
}

#[test]
fn a_parquet_file_is_the_same_evidence_as_its_records_in_text() {
    let records: Vec<String> = [("10.0.1.5", 443), ("10.0.1.5", 443), ("10.0.1.9", 5432)]
        .iter()
        .map(|(source, port)| {
            format!(
                "2 1 eni-1 {source} 10.1.0.9 40000 {port} 6 1 84 1709424000 1709424060 ACCEPT OK"
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let fields: Vec<&str> = HEADER_V2.split(' ').collect();
    let parquet = parquet_fixture::parquet_from_records(&fields, &records, 2);
    std::fs::write(dir.path().join("x.log.parquet"), parquet).unwrap();
    std::fs::write(
        dir.path().join("x.log"),
        format!("{HEADER_V2}\n{}\n", records.join("\n")),
    )
    .unwrap();
    let args = |name: &str| -> Vec<String> {
        let path = dir.path().join(name).to_str().unwrap().to_owned();
        vec![
            "--flow-logs".into(),
            path,
            "--end".into(),
            END.into(),
            "--days".into(),
            "3".into(),
        ]
    };
    let read = |name: &str| {
        let args = args(name);
        json(&analyse(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ))
    };
    let (parquet, text) = (read("x.log.parquet"), read("x.log"));
    assert_eq!(flow_keys(&parquet), flow_keys(&text));
    assert_eq!(flow_keys(&parquet).len(), 2);
    assert_eq!(parquet["stats"], text["stats"]);
}

#[test]
fn a_file_named_parquet_that_is_not_parquet_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.log.parquet"), b"PAR1").unwrap();
    fails_with_exit_2(
        &["--flow-logs", dir.path().to_str().unwrap(), "--end", END],
        &["x.log.parquet", "Parquet"],
    );
}

#[test]
fn a_header_naming_too_few_fields_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.log");
    std::fs::write(&path, "srcaddr dstaddr action\n10.0.0.1 10.0.0.2 ACCEPT\n").unwrap();
    fails_with_exit_2(
        &["--flow-logs", path.to_str().unwrap(), "--end", END],
        &["short.log", "dstport, protocol"],
    );
}
