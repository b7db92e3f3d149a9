//! Integration tests (CLI layer): `sg-tightener analyse` run as a process on fixture flow logs —
//! plain v2 default with a header, gzip custom format with pkt-srcaddr, Parquet, stdin, and bad
//! input; the output forms (compact off a terminal, `--pretty`, `--format ndjson` read back by
//! `plan`) and many files read in parallel giving the output of one sequential read.

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
    analyse_with_threads(args, None)
}

/// `analyse` with its thread pool forced to `threads` (1: a sequential read).
fn analyse_with_threads(args: &[&str], threads: Option<usize>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sg-tightener"));
    if let Some(threads) = threads {
        command.env("RAYON_NUM_THREADS", threads.to_string());
    }
    command.arg("analyse").args(args).output().unwrap()
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
    // the fixtures hold a record of 2024-02-29 too, outside the window: not the earliest
    assert_eq!(
        document["coverage"]["earliestRecord"],
        "2024-03-01T10:00:00Z"
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

fn fixture_args(extra: &[&str]) -> Vec<String> {
    let root = fixtures().join("flowlogs");
    let mut args: Vec<String> = [
        "--flow-logs",
        root.to_str().unwrap(),
        "--days",
        "3",
        "--end",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(END.to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn analyse_fixtures(extra: &[&str]) -> Output {
    let args = fixture_args(extra);
    analyse(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn stdout_text(output: &Output) -> String {
    assert!(output.status.success(), "stderr: {}", stderr_of(output));
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn off_a_terminal_the_document_is_compact_json_on_one_line() {
    let text = stdout_text(&analyse_fixtures(&[]));
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("{\"schema\":\"sg-tightener.evidence/v1\",\"window\":{"));
    assert!(text.ends_with("}\n"));
}

#[test]
fn pretty_writes_the_same_document_indented() {
    let compact = analyse_fixtures(&[]);
    let pretty = analyse_fixtures(&["--pretty"]);
    let text = stdout_text(&pretty);
    assert!(text.starts_with("{\n  \"schema\": "), "{text}");
    assert!(text.lines().count() > 30, "one field per line: {text}");
    assert_eq!(json(&pretty), json(&compact));
}

#[test]
fn ndjson_is_a_header_line_then_one_flow_per_line() {
    let document = json(&analyse_fixtures(&[]));
    let text = stdout_text(&analyse_fixtures(&["--format", "ndjson"]));
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let header = &lines[0];
    for field in ["schema", "window", "coverage", "stats"] {
        assert_eq!(header[field], document[field], "{field}");
    }
    assert_eq!(header["flowCount"], 4);
    assert_eq!(header.get("flows"), None);
    assert_eq!(
        &lines[1..],
        document["flows"].as_array().unwrap().as_slice()
    );
}

fn plan_with_evidence(evidence: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sg-tightener"))
        .arg("plan")
        .arg("--groups")
        .arg(fixtures().join("article-groups.json"))
        .arg("--evidence")
        .arg(evidence)
        .output()
        .unwrap()
}

#[test]
fn plan_reads_ndjson_evidence_as_it_reads_the_json_document() {
    let dir = tempfile::tempdir().unwrap();
    let (as_json, as_ndjson) = (dir.path().join("e.json"), dir.path().join("e.ndjson"));
    std::fs::write(&as_json, analyse_fixtures(&[]).stdout).unwrap();
    let ndjson = analyse_fixtures(&["--format", "ndjson"]).stdout;
    std::fs::write(&as_ndjson, &ndjson).unwrap();
    let from_json = plan_with_evidence(&as_json);
    let from_ndjson = plan_with_evidence(&as_ndjson);
    let plan = json(&from_json);
    assert!(plan.is_object(), "{plan}");
    assert_eq!(json(&from_ndjson), plan);

    let cut = ndjson.len()
        - 1
        - ndjson[..ndjson.len() - 1]
            .iter()
            .rev()
            .position(|b| *b == b'\n')
            .unwrap();
    std::fs::write(&as_ndjson, &ndjson[..cut]).unwrap();
    let truncated = plan_with_evidence(&as_ndjson);
    assert_eq!(truncated.status.code(), Some(2));
    let stderr = stderr_of(&truncated);
    assert!(
        stderr.contains("e.ndjson") && stderr.contains("flowCount 4"),
        "{stderr}"
    );
}

#[test]
fn bad_output_flags_are_refused_with_exit_2() {
    let dir = day_dir("01");
    let dir = dir.to_str().unwrap();
    fails_with_exit_2(
        &["--flow-logs", dir, "--format", "xml"],
        &["--format", "\"xml\"", "json or ndjson"],
    );
    fails_with_exit_2(
        &["--flow-logs", dir, "--format", "ndjson", "--pretty"],
        &["--format", "\"ndjson\"", "--pretty"],
    );
    let unknown = analyse(&["--flow-logs", dir, "--prety"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr_of(&unknown).contains("--prety"));
    assert!(unknown.stdout.is_empty());
}

/// Writes `count` small flow-log files into `dir` — overlapping tuples over three days, in two
/// formats (v2 default and a custom one with pkt-srcaddr), every fourth one gzip — and returns
/// their text concatenated in name order: each starts with its header, so the concatenation is
/// one stream of the same records.
fn many_files(dir: &std::path::Path, count: usize) -> String {
    let mut all = String::new();
    for i in 0..count {
        let text = file_text(i);
        let path = dir.join(format!("{i:02}.log"));
        if i % 4 == 1 {
            let file = std::fs::File::create(path.with_extension("log.gz")).unwrap();
            let mut gzip = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
            gzip.write_all(text.as_bytes()).unwrap();
            gzip.finish().unwrap();
        } else {
            std::fs::write(&path, &text).unwrap();
        }
        all.push_str(&text);
    }
    all
}

fn file_text(i: usize) -> String {
    const V2: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
    const CUSTOM: &str =
        "interface-id pkt-srcaddr srcaddr dstaddr dstport protocol start end action log-status";
    let start = 1_709_251_200 + 600 + 86_400 * (i as u64 % 3);
    let end = start + 60;
    let mut text = format!("{}\n", if i.is_multiple_of(2) { CUSTOM } else { V2 });
    for j in 0..400 {
        let source = format!("10.{}.{}.{}", i % 3, j % 7, (i * 7 + j) % 40);
        let destination = format!("10.1.0.{}", j % 5);
        let port = [443, 5432, 8443][j % 3];
        let action = if j % 11 == 0 { "REJECT" } else { "ACCEPT" };
        let eni = format!("eni-{:04x}", (i + j) % 6);
        let line = if i.is_multiple_of(2) {
            let packet = match j % 4 {
                0 => "-".to_string(),
                _ => format!("172.16.{}.{}", i % 4, j % 9),
            };
            format!("{eni} {packet} {source} {destination} {port} 6 {start} {end} {action} OK\n")
        } else {
            format!("2 123456789012 {eni} {source} {destination} 40000 {port} 6 1 60 {start} {end} {action} OK\n")
        };
        text.push_str(&line);
    }
    text
}

const MANY_FILES_WINDOW: [&str; 4] = ["--days", "3", "--end", END];

#[test]
fn many_files_read_in_parallel_give_the_output_of_one_sequential_read() {
    let dir = tempfile::tempdir().unwrap();
    let concatenated = many_files(dir.path(), 24);
    let mut args = vec!["--flow-logs", dir.path().to_str().unwrap()];
    args.extend(MANY_FILES_WINDOW);
    let sequential = stdout_text(&analyse_with_threads(&args, Some(1)));
    assert!(json(&analyse_with_threads(&args, Some(1)))["flows"]
        .as_array()
        .is_some_and(|flows| flows.len() > 100));
    for _ in 0..3 {
        let parallel = stdout_text(&analyse_with_threads(&args, Some(4)));
        assert_eq!(parallel, sequential, "byte for byte");
    }

    let mut child = Command::new(env!("CARGO_BIN_EXE_sg-tightener"))
        .args(["analyse", "--flow-logs", "-"])
        .args(MANY_FILES_WINDOW)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(concatenated.as_bytes()).unwrap();
    drop(stdin);
    let one_stream = stdout_text(&child.wait_with_output().unwrap());
    assert_eq!(one_stream, sequential, "the files as one stream");

    // One file of several chunks, inflated ahead on a thread of its own (more cores than files)
    // or not (one thread): lines straddling chunks are parsed the same.
    let single = tempfile::tempdir().unwrap();
    let path = single.path().join("all.log.gz");
    let mut gzip = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    gzip.write_all(concatenated.as_bytes()).unwrap();
    gzip.finish().unwrap();
    assert!(
        concatenated.len() > 2 * 256 * 1024,
        "several read-ahead chunks"
    );
    let mut args = vec!["--flow-logs", path.to_str().unwrap()];
    args.extend(MANY_FILES_WINDOW);
    for threads in [1, 2, 4] {
        let output = stdout_text(&analyse_with_threads(&args, Some(threads)));
        assert_eq!(output, sequential, "one file, {threads} thread(s)");
    }
}

#[test]
fn of_several_bad_files_the_first_in_order_is_reported_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    many_files(dir.path(), 16);
    std::fs::write(dir.path().join("03a-not-flow-logs.txt"), "hello\nworld\n").unwrap();
    std::fs::write(dir.path().join("09a.log.parquet"), b"PAR1").unwrap();
    let mut args = vec!["--flow-logs", dir.path().to_str().unwrap()];
    args.extend(MANY_FILES_WINDOW);
    for threads in [1, 4, 4, 4] {
        let output = analyse_with_threads(&args, Some(threads));
        assert_eq!(output.status.code(), Some(2), "{threads} thread(s)");
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains("03a-not-flow-logs.txt") && !stderr.contains("parquet"),
            "{threads} thread(s): {stderr}"
        );
    }
}
