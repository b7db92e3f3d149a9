//! Integration tests (CLI layer): `sg-tightener classify` run as a process on AWS CLI JSON fixtures.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn classify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sg-tightener"))
        .arg("classify")
        .args(args)
        .output()
        .unwrap()
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn groups_and_nacls_are_classified_with_counts_and_risk_score() {
    let document = json_of(&classify(&[
        "--groups",
        &fixture("sgs.json"),
        "--nacls",
        &fixture("nacls.json"),
    ]));
    assert_eq!(document["schema"], "sg-tightener.findings/v1");
    assert_eq!(
        document["counts"],
        json!({"critical": 1, "high": 4, "medium": 2, "low": 1})
    );
    assert_eq!(document["riskScore"], 1_040_201);
    let findings = document["findings"].as_array().unwrap();
    let first = &findings[0];
    assert_eq!(
        (
            first["severity"].as_str(),
            first["cidr"].as_str(),
            first["ports"].as_str()
        ),
        (Some("CRITICAL"), Some("0.0.0.0/0"), Some("22"))
    );
    let nacl: Vec<_> = findings
        .iter()
        .filter(|f| f["resourceType"] == "NACL")
        .map(|f| {
            (
                f["ruleNumber"].as_i64().unwrap(),
                f["severity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(nacl, vec![(100, "HIGH"), (110, "MEDIUM")]);
}

#[test]
fn a_higher_prefix_threshold_finds_narrower_private_rules() {
    let default = json_of(&classify(&["--groups", &fixture("sgs.json")]));
    let strict = json_of(&classify(&[
        "--groups",
        &fixture("sgs.json"),
        "--prefix-threshold",
        "28",
    ]));
    assert_eq!(default["counts"]["low"], 1);
    assert_eq!(
        strict["counts"]["low"], 2,
        "10.9.9.0/24 becomes LOW below /28"
    );
    assert_eq!(strict["prefixThreshold"], 28);
}

#[test]
fn custom_critical_ports_replace_the_default_list() {
    let document = json_of(&classify(&[
        "--groups",
        &fixture("sgs.json"),
        "--critical-ports",
        "443,8443",
    ]));
    assert_eq!(
        document["counts"]["critical"], 2,
        "tcp:443 from 0.0.0.0/0 and ::/0"
    );
    assert_eq!(document["criticalPorts"], json!([443, 8443]));
}

fn fails_with_exit_2(args: &[&str], expected: &[&str]) {
    let output = classify(args);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for part in expected {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
}

#[test]
fn a_swapped_input_file_is_refused_naming_the_file() {
    fails_with_exit_2(
        &["--groups", &fixture("nacls.json")],
        &["nacls.json", "describe-security-groups"],
    );
    fails_with_exit_2(
        &[
            "--groups",
            &fixture("sgs.json"),
            "--nacls",
            &fixture("sgs.json"),
        ],
        &["sgs.json", "NetworkAcls"],
    );
}

#[test]
fn malformed_json_and_out_of_range_flags_exit_2() {
    fails_with_exit_2(
        &["--groups", &fixture("not-flowlogs.txt")],
        &["not-flowlogs.txt"],
    );
    fails_with_exit_2(
        &["--groups", &fixture("sgs.json"), "--prefix-threshold", "40"],
        &["--prefix-threshold", "40"],
    );
    fails_with_exit_2(
        &["--groups", "/nonexistent/sgs.json"],
        &["failed to read /nonexistent/sgs.json"],
    );
}

#[test]
fn fail_on_gates_ci_with_exit_1_and_still_prints_the_report() {
    let groups = fixture("sgs.json");
    let critical = classify(&["--groups", &groups, "--fail-on", "critical"]);
    assert_eq!(
        critical.status.code(),
        Some(1),
        "a world-open SSH rule is CRITICAL"
    );
    let stderr = String::from_utf8_lossy(&critical.stderr);
    assert!(
        stderr.contains("1 finding(s) at CRITICAL or worse"),
        "{stderr}"
    );
    let printed: Value = serde_json::from_slice(&critical.stdout).unwrap();
    assert_eq!(printed["counts"]["critical"], 1);
    let high = classify(&["--groups", &groups, "--fail-on", "high"]);
    assert!(String::from_utf8_lossy(&high.stderr).contains("at HIGH or worse"));
    let relaxed = classify(&[
        "--groups",
        &groups,
        "--critical-ports",
        "9999",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(
        relaxed.status.code(),
        Some(0),
        "no critical port is open: the gate passes"
    );
    fails_with_exit_2(&["--groups", &groups, "--fail-on", "low"], &["--fail-on"]);
}

#[test]
fn csv_and_xlsx_reports_hold_one_row_per_finding() {
    let dir = tempfile::tempdir().unwrap();
    let (groups, nacls) = (fixture("sgs.json"), fixture("nacls.json"));
    let csv_path = dir.path().join("findings.csv");
    let csv_file = csv_path.to_str().unwrap();
    let args = [
        "--groups", &groups, "--nacls", &nacls, "--format", "csv", "--out", csv_file,
    ];
    assert!(classify(&args).status.success());
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("accountId,accountName,region,resourceType,resourceId"));
    assert_eq!(
        lines.len(),
        1 + 8,
        "header + 1 critical, 4 high, 2 medium, 1 low"
    );
    assert!(lines[1].ends_with(",CRITICAL"), "{}", lines[1]);

    let xlsx_path = dir.path().join("findings.xlsx");
    let xlsx_file = xlsx_path.to_str().unwrap();
    let args = [
        "--groups", &groups, "--nacls", &nacls, "--format", "xlsx", "--out", xlsx_file,
    ];
    assert!(classify(&args).status.success());
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx_path).unwrap();
    assert_eq!(book.sheet_names(), ["Summary", "Findings"]);
    assert_eq!(book.worksheet_range("Findings").unwrap().height(), 1 + 8);

    fails_with_exit_2(&["--groups", &groups, "--format", "xlsx"], &["--out"]);
    let csv_stdout = classify(&["--groups", &groups, "--format", "csv"]);
    assert!(String::from_utf8_lossy(&csv_stdout.stdout).starts_with("accountId,"));
}

#[test]
fn the_help_names_the_one_default_critical_port_list() {
    let help = classify(&["--help"]);
    let text = String::from_utf8_lossy(&help.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let ports = sg_tightener::domain::risk::default_critical_ports_text();
    assert!(text.contains(&ports), "{ports} not in {text}");
}
