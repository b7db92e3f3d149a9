//! Integration tests of the offline commands `plan`, `collapse` and `compact`, run as the real
//! binary on the fixtures in `tests/fixtures/` (the article's worked example: three /16 rules on
//! 443, 5432 and 8443 shrink from 196,608 trusted addresses to 74).

use ipnet::Ipv4Net;
use serde_json::{json, Value};
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sg-tightener");

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn article_plan(extra: &[&str]) -> Value {
    let (groups, evidence, enis) = (
        fixture("article-groups.json"),
        fixture("article-evidence.json"),
        fixture("article-interfaces.json"),
    );
    let mut args = vec![
        "plan",
        "--groups",
        &groups,
        "--evidence",
        &evidence,
        "--interfaces",
        &enis,
    ];
    args.extend(extra);
    json_of(&run(&args, None))
}

/// (port, CIDR) of a rule string such as `tcp:443 10.0.10.0/27`.
fn port_and_cidr(rule: &Value) -> (u16, Ipv4Net) {
    let (traffic, source) = rule.as_str().unwrap().split_once(' ').unwrap();
    (
        traffic.trim_start_matches("tcp:").parse().unwrap(),
        source.parse().unwrap(),
    )
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_articles_worked_example_shrinks_three_slash_16s_to_under_100_addresses() {
    let plan = article_plan(&[]);
    let summary = &plan["summary"];
    assert_eq!(summary["addressesBefore"], 196_608);
    assert!(
        summary["addressesAfter"].as_u64().unwrap() < 100,
        "{summary}"
    );
    assert_eq!(summary["addressesAfter"], 74);
    let group = &plan["groups"][0];
    assert_eq!(
        strings(&group["revoke"]),
        [
            "tcp:443 10.0.0.0/16",
            "tcp:5432 10.4.0.0/16",
            "tcp:8443 10.8.0.0/16"
        ]
    );
    assert_eq!(group["untouchedRules"], 1);
    assert_eq!(plan["hash"].as_str().unwrap().len(), 64);
    let revoked: Vec<(u16, Ipv4Net)> = group["revoke"]
        .as_array()
        .unwrap()
        .iter()
        .map(port_and_cidr)
        .collect();
    let authorised: Vec<(u16, Ipv4Net)> = group["authorise"]
        .as_array()
        .unwrap()
        .iter()
        .map(port_and_cidr)
        .collect();
    for (port, cidr) in &authorised {
        assert!(
            revoked
                .iter()
                .any(|(p, old)| p == port && old.contains(cidr)),
            "tcp:{port} {cidr} leaves its rule"
        );
    }
    let evidence: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("article-evidence.json")).unwrap())
            .unwrap();
    for flow in evidence["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["destination"] == "10.100.1.10")
    {
        let (source, port): (Ipv4Addr, u16) = (
            flow["source"].as_str().unwrap().parse().unwrap(),
            flow["port"].as_u64().unwrap() as u16,
        );
        let allowed_before = revoked
            .iter()
            .any(|(p, c)| *p == port && c.contains(&source));
        let allowed_after = authorised
            .iter()
            .any(|(p, c)| *p == port && c.contains(&source));
        assert_eq!(allowed_before, allowed_after, "{source} on {port}");
    }
    let another_groups_traffic: Ipv4Addr = "10.0.99.99".parse().unwrap();
    assert!(
        !authorised
            .iter()
            .any(|(_, c)| c.contains(&another_groups_traffic)),
        "a flow to another group's ENI is no evidence"
    );
}

#[test]
fn planning_twice_prints_the_same_plan_and_hash() {
    assert_eq!(article_plan(&[]), article_plan(&[]));
    assert_ne!(
        article_plan(&[])["hash"],
        article_plan(&["--tolerance", "0.9"])["hash"]
    );
}

#[test]
fn the_seeds_approved_ip_list_is_accepted_as_evidence_for_any_port() {
    let (groups, approved) = (fixture("article-groups.json"), fixture("approved.json"));
    let plan = json_of(&run(
        &[
            "plan",
            "--groups",
            &groups,
            "--evidence",
            &approved,
            "--no-evidence",
            "Keep",
        ],
        None,
    ));
    let group = &plan["groups"][0];
    assert_eq!(
        strings(&group["authorise"]),
        [
            "tcp:443 10.0.10.5/32",
            "tcp:443 10.0.10.6/32",
            "tcp:5432 10.4.8.1/32"
        ]
    );
    assert!(strings(&group["warnings"])
        .iter()
        .any(|w| w.contains("no evidence for tcp:8443 10.8.0.0/16: kept")));
}

#[test]
fn invalid_flags_exit_2_naming_the_flag_and_value() {
    let (groups, evidence) = (
        fixture("article-groups.json"),
        fixture("article-evidence.json"),
    );
    let cases: [(&[&str], &str); 4] = [
        (&["--tolerance", "1.5"], "--tolerance \"1.5\""),
        (&["--max-rules", "0"], "--max-rules \"0\""),
        (&["--no-evidence", "Maybe"], "\"Maybe\""),
        (&["--exclude-source", "10.0.0.0/33"], "10.0.0.0/33"),
    ];
    for (extra, expected) in cases {
        let mut args = vec![
            "plan",
            "--groups",
            groups.as_str(),
            "--evidence",
            evidence.as_str(),
        ];
        args.extend(extra);
        let output = run(&args, None);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(
            stderr.contains(expected) && stderr.lines().count() == 1,
            "{extra:?}: {stderr}"
        );
    }
}

#[test]
fn invalid_files_exit_2_naming_the_file_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("approved.json");
    std::fs::write(&bad, r#"{"ips": ["10.0.10.5", "10.0.10.300"]}"#).unwrap();
    let groups = fixture("article-groups.json");
    let output = run(
        &[
            "plan",
            "--groups",
            &groups,
            "--evidence",
            bad.to_str().unwrap(),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("approved.json") && stderr.contains("10.0.10.300"),
        "{stderr}"
    );
    let missing = dir.path().join("missing.json");
    let output = run(
        &[
            "plan",
            "--groups",
            missing.to_str().unwrap(),
            "--evidence",
            &fixture("approved.json"),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.json"));
}

#[test]
fn collapse_reads_addresses_from_stdin_and_reports_the_blocks() {
    let ips: String = (0..32)
        .map(|i| format!("10.0.10.{i}\n"))
        .collect::<String>()
        + "10.0.20.10\n10.0.20.11\n";
    let out = json_of(&run(&["collapse", "-"], Some(&ips)));
    assert_eq!(strings(&out["cidrs"]), ["10.0.10.0/27", "10.0.20.10/31"]);
    assert_eq!(
        (out["addresses"].as_u64(), out["forceFit"].as_bool()),
        (Some(34), Some(false))
    );
    let output = run(
        &["collapse", "--max-rules", "1", "-"],
        Some("10.0.0.1\nnot-an-ip\n"),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 2: \"not-an-ip\""));
}

#[test]
fn compact_merges_near_adjacent_rules_and_reports_rules_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sgs.json");
    let sgs = r#"{"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web", "VpcId": "vpc-1", "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/24"}, {"CidrIp": "10.0.2.0/24"}]}]}]}"#;
    std::fs::write(&path, sgs).unwrap();
    let plan = json_of(&run(
        &[
            "compact",
            "--groups",
            path.to_str().unwrap(),
            "--ratio",
            "0.5",
            "--region",
            "us-east-1",
        ],
        None,
    ));
    assert_eq!(
        (&plan["schema"], &plan["tool"], &plan["region"]),
        (
            &json!("sg-tightener.plan/v1"),
            &json!("sg_compact"),
            &json!("us-east-1")
        )
    );
    assert_eq!(
        strings(&plan["groups"][0]["authorise"]),
        ["tcp:443 10.0.0.0/22"]
    );
    assert_eq!(plan["summary"]["rulesSaved"], 1);
    let group = &plan["groups"][0];
    assert_eq!(
        (
            &group["currentRules"],
            &group["projectedRules"],
            &group["addressesAdded"]
        ),
        (&json!(2), &json!(1), &json!(512))
    );
    assert_eq!(plan["snapshotHash"].as_str().unwrap().len(), 64);
}
