//! Config layer tests: parsing, defaults, validation messages, tenancy and role templates.

use super::*;
use std::time::Duration;

fn parse(yaml: &str) -> Result<ControllerConfig, ConfigError> {
    ControllerConfig::from_yaml(yaml, Path::new("controller.yaml"))
}

fn invalid_field(yaml: &str) -> (String, String, String) {
    match parse(yaml) {
        Err(ConfigError::Invalid {
            field,
            value,
            problem,
        }) => (field, value, problem),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

const FULL: &str = r#"
aws: {endpointUrl: "http://127.0.0.1:5000", maxAttempts: 3}
tenancy:
  - {namespaces: [payments, "team-*"], accounts: ["111111111111"], roleArnTemplate: "arn:{partition}:iam::{account}:role/sg-tightener"}
  - {namespaces: ["*"], accounts: ["2222*"]}
breakGlass: {broadestPrefix: 20, allowPublic: true, defaultExpiresAfter: 4h, maxExpiresAfter: 48h}
orgScan: {defaultRoleName: AuditRole}
reconcile: {concurrency: 8}
leaderElection: {enabled: false, leaseName: sgt-leader, namespace: ops, leaseDuration: 30s}
watchNamespaces: [payments, team-a]
http: {address: "127.0.0.1:9090"}
"#;

#[test]
fn an_absent_or_empty_file_gives_the_documented_defaults() {
    let config = load(None).unwrap();
    assert_eq!(config, parse("").unwrap());
    assert_eq!(config.aws.max_attempts, 10);
    assert_eq!(config.aws.endpoint(), None);
    assert_eq!(config.tenancy, vec![TenancyRule::allow_all()]);
    assert_eq!(config.break_glass.broadest_prefix, 16);
    assert!(!config.break_glass.allow_public);
    assert_eq!(
        config.break_glass.default_expires_after.as_std(),
        Duration::from_secs(72 * 3600)
    );
    assert_eq!(
        config.break_glass.max_expires_after.as_std(),
        Duration::from_secs(720 * 3600)
    );
    assert_eq!(
        config.org_scan.default_role_name,
        "OrganizationAccountAccessRole"
    );
    assert_eq!(config.reconcile.concurrency, 4);
    assert!(config.leader_election.enabled);
    assert_eq!(config.leader_election.lease_name, "sg-tightener");
    assert!(config.watch_namespaces.is_empty(), "every namespace");
}

#[test]
fn every_section_is_read_from_yaml() {
    let config = parse(FULL).unwrap();
    assert_eq!(config.aws.endpoint(), Some("http://127.0.0.1:5000"));
    assert_eq!(config.aws.max_attempts, 3);
    assert_eq!(config.tenancy.len(), 2);
    assert_eq!(config.break_glass.broadest_prefix, 20);
    assert!(config.break_glass.allow_public);
    assert_eq!(
        config.break_glass.max_expires_after.as_std(),
        Duration::from_secs(48 * 3600)
    );
    assert_eq!(config.org_scan.default_role_name, "AuditRole");
    assert_eq!(config.reconcile.concurrency, 8);
    assert!(!config.leader_election.enabled);
    assert_eq!(config.leader_election.namespace, "ops");
    assert_eq!(config.watch_namespaces, ["payments", "team-a"]);
    assert_eq!(config.http.address, "127.0.0.1:9090");
}

#[test]
fn a_partial_section_keeps_defaults_for_the_rest() {
    let config = parse("aws: {maxAttempts: 5}\nbreakGlass: {allowPublic: true}").unwrap();
    assert_eq!(config.aws.max_attempts, 5);
    assert_eq!(config.aws.endpoint_url, "");
    assert_eq!(config.break_glass.broadest_prefix, 16);
}

#[test]
fn unknown_keys_are_refused_rather_than_ignored() {
    let error = parse("aws: {maxAttempt: 5}").unwrap_err();
    assert!(matches!(error, ConfigError::Parse { .. }));
    let report = crate::error::chain(&error);
    assert!(
        report.starts_with("failed to parse controller config controller.yaml: "),
        "{report}"
    );
    assert!(report.contains("maxAttempt"), "{report}");
}

#[test]
fn validation_names_the_field_and_the_value() {
    let cases = [
        ("aws: {maxAttempts: 0}", "aws.maxAttempts", "0"),
        (
            "aws: {endpointUrl: localhost:5000}",
            "aws.endpointUrl",
            "\"localhost:5000\"",
        ),
        (
            "tenancy: [{namespaces: [], accounts: ['*']}]",
            "tenancy[0].namespaces",
            "[]",
        ),
        (
            "tenancy: [{namespaces: [Bad_NS], accounts: ['*']}]",
            "tenancy[0].namespaces[0]",
            "\"Bad_NS\"",
        ),
        (
            "tenancy: [{namespaces: ['*'], accounts: ['12345']}]",
            "tenancy[0].accounts[0]",
            "\"12345\"",
        ),
        (
            "breakGlass: {broadestPrefix: 0}",
            "breakGlass.broadestPrefix",
            "0",
        ),
        (
            "breakGlass: {defaultExpiresAfter: 800h}",
            "breakGlass.defaultExpiresAfter",
            "\"800h\"",
        ),
        (
            "breakGlass: {maxExpiresAfter: 0s}",
            "breakGlass.maxExpiresAfter",
            "\"0s\"",
        ),
        (
            "breakGlass: {awsIpRanges: {configMap: ip-ranges}}",
            "breakGlass.awsIpRanges.configMap",
            "\"ip-ranges\"",
        ),
        (
            "breakGlass: {awsIpRanges: {url: ftp://x/ip-ranges.json}}",
            "breakGlass.awsIpRanges.url",
            "\"ftp://x/ip-ranges.json\"",
        ),
        (
            "orgScan: {defaultRoleName: 'has space'}",
            "orgScan.defaultRoleName",
            "\"has space\"",
        ),
        ("reconcile: {concurrency: 0}", "reconcile.concurrency", "0"),
        (
            "leaderElection: {leaseName: Leader}",
            "leaderElection.leaseName",
            "\"Leader\"",
        ),
        (
            "leaderElection: {leaseDuration: 1s}",
            "leaderElection.leaseDuration",
            "\"1s\"",
        ),
        (
            "watchNamespaces: [payments, Team-A]",
            "watchNamespaces[1]",
            "\"Team-A\"",
        ),
        (
            "watchNamespaces: [payments, payments]",
            "watchNamespaces[1]",
            "\"payments\"",
        ),
        (
            "http: {address: 'localhost'}",
            "http.address",
            "\"localhost\"",
        ),
        ("manifests: {keep: 0}", "manifests.keep", "0"),
        ("evidence: {memoryMiB: 0}", "evidence.memoryMiB", "0"),
        (
            "evidence: {memoryMiB: 65537}",
            "evidence.memoryMiB",
            "65537",
        ),
    ];
    for (yaml, field, value) in cases {
        let (got_field, got_value, _) = invalid_field(yaml);
        assert_eq!(
            (got_field.as_str(), got_value.as_str()),
            (field, value),
            "{yaml}"
        );
    }
}

#[test]
fn the_error_message_reads_as_field_value_problem() {
    let message = parse("reconcile: {concurrency: 0}")
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "failed to validate controller config: reconcile.concurrency = 0: must be between 1 and 64"
    );
}

#[test]
fn role_templates_are_checked_for_placeholders_and_fixed_accounts() {
    let unknown = "tenancy: [{namespaces: ['*'], accounts: ['*'], roleArnTemplate: 'arn:aws:iam::{acct}:role/x'}]";
    let (field, _, problem) = invalid_field(unknown);
    assert_eq!(field, "tenancy[0].roleArnTemplate");
    assert!(problem.contains("{acct}"), "{problem}");

    let fixed_for_many = "tenancy: [{namespaces: ['*'], accounts: ['*'], roleArnTemplate: 'arn:aws:iam::111111111111:role/x'}]";
    assert_eq!(
        invalid_field(fixed_for_many).0,
        "tenancy[0].roleArnTemplate"
    );

    let fixed_for_its_account = "tenancy: [{namespaces: ['*'], accounts: ['111111111111'], roleArnTemplate: 'arn:aws:iam::111111111111:role/x'}]";
    assert!(parse(fixed_for_its_account).is_ok());

    let not_an_arn = "tenancy: [{namespaces: ['*'], accounts: ['*'], roleArnTemplate: 'role/x'}]";
    assert_eq!(invalid_field(not_an_arn).0, "tenancy[0].roleArnTemplate");
}

#[test]
fn load_reports_a_missing_file_with_its_path() {
    let error = load(Some(Path::new("/nonexistent/controller.yaml"))).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(error.to_string().contains("/nonexistent/controller.yaml"));
}

#[test]
fn load_reads_a_file_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("controller.yaml");
    std::fs::write(&path, FULL).unwrap();
    assert_eq!(load(Some(&path)).unwrap(), parse(FULL).unwrap());
}

#[test]
fn authorise_uses_the_first_matching_rule_and_its_template() {
    let config = parse(FULL).unwrap();
    let template = config.authorise("team-a", "111111111111").unwrap().unwrap();
    assert_eq!(
        template.expand("aws-cn", "111111111111"),
        "arn:aws-cn:iam::111111111111:role/sg-tightener"
    );
    assert_eq!(config.authorise("payments", "222233334444").unwrap(), None);
}

#[test]
fn authorise_forbids_namespaces_and_accounts_no_rule_covers() {
    let config = parse(FULL).unwrap();
    let forbidden = config.authorise("team-a", "333333333333").unwrap_err();
    assert_eq!(forbidden.namespace, "team-a");
    assert_eq!(forbidden.account, "333333333333");
    assert!(parse("tenancy: []")
        .unwrap()
        .authorise("default", "111111111111")
        .is_err());
}

#[test]
fn an_explicit_role_must_live_in_the_authorised_account() {
    let config = parse(FULL).unwrap();
    let own = "arn:aws:iam::111111111111:role/custom";
    assert_eq!(
        config
            .resolve_role("payments", "111111111111", Some(own), "aws")
            .unwrap(),
        Some(own.to_owned())
    );
    let elsewhere = "arn:aws:iam::999999999999:role/custom";
    let error = config
        .resolve_role("payments", "111111111111", Some(elsewhere), "aws")
        .unwrap_err();
    assert_eq!(error.detail, "roleArn is not a role in that account");
    assert_eq!(
        config
            .resolve_role("payments", "111111111111", Some(""), "aws-us-gov")
            .unwrap(),
        Some("arn:aws-us-gov:iam::111111111111:role/sg-tightener".to_owned())
    );
    assert_eq!(
        config
            .resolve_role("ops", "222200000000", None, "aws")
            .unwrap(),
        None
    );
}

#[test]
fn glob_matching_handles_prefixes_suffixes_and_infixes() {
    use super::tenancy::glob_match;
    assert!(glob_match("*", ""));
    assert!(glob_match("*", "anything"));
    assert!(glob_match("team-*", "team-a"));
    assert!(!glob_match("team-*", "xteam-a"));
    assert!(glob_match("*-prod", "payments-prod"));
    assert!(!glob_match("*-prod", "payments-prod-2"));
    assert!(glob_match("a*b*c", "aXXbYYc"));
    assert!(!glob_match("a*b*c", "aXXcYYb"));
    assert!(!glob_match("ab*ba", "aba"));
    assert!(glob_match("exact", "exact"));
    assert!(!glob_match("exact", "exactly"));
}

#[test]
fn account_of_arn_reads_the_fifth_field() {
    use super::tenancy::account_of_arn;
    assert_eq!(
        account_of_arn("arn:aws:iam::123456789012:role/x"),
        Some("123456789012")
    );
    assert_eq!(account_of_arn("arn:aws:s3:::bucket"), None);
    assert_eq!(account_of_arn("not-an-arn"), None);
}

#[test]
fn the_shipped_config_file_documents_exactly_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/controller.yaml");
    assert_eq!(load(Some(&path)).unwrap(), ControllerConfig::default());
}
