//! Controller layer tests: the OrgRiskScan reconcile against fakes — an organisation with nested
//! OUs and a suspended account, an estate per account × region, the in-memory store.

use super::store::MemoryStore;
use super::{cleanup, reconcile, Deps};
use crate::aws::ec2::fake::FakeSecurityGroups;
use crate::aws::fake::FakeAws;
use crate::aws::{AwsError, Failure};
use crate::config::ControllerConfig;
use crate::controller::Error;
use crate::crd::orgscan::ScanPhase;
use crate::crd::OrgRiskScan;
use crate::domain::conditions::find;
use crate::domain::rules::permissions_from_strings;
use crate::domain::snapshot::{NetworkAcl, NetworkAclEntry, SecurityGroup};
use crate::metrics::Metrics;
use kube::runtime::controller::Action;
use serde_json::{json, Value};

pub(super) const MGMT: &str = "100000000001";
pub(super) const PAYMENTS: &str = "200000000002";
pub(super) const DATA: &str = "300000000003";
pub(super) const CLOSED: &str = "400000000004";
pub(super) const REGIONS: [&str; 2] = ["af-south-1", "eu-west-1"];

pub(super) fn group(id: &str, rules: &[&str]) -> SecurityGroup {
    let rules: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
    SecurityGroup {
        group_id: id.into(),
        vpc_id: Some("vpc-1".into()),
        ip_permissions: permissions_from_strings(&rules, |_| None).unwrap(),
        ..SecurityGroup::default()
    }
}

pub(super) fn default_nacl() -> NetworkAcl {
    let entry = |rule_number, egress, action: &str| NetworkAclEntry {
        rule_number,
        protocol: "-1".into(),
        rule_action: action.into(),
        egress,
        cidr_block: Some("0.0.0.0/0".into()),
        ..NetworkAclEntry::default()
    };
    NetworkAcl {
        network_acl_id: "acl-1".into(),
        vpc_id: Some("vpc-1".into()),
        entries: vec![
            entry(100, false, "allow"),
            entry(32767, false, "deny"),
            entry(100, true, "allow"),
        ],
    }
}

/// Per account × region: world SSH and `::/0` RDP (CRITICAL), a `/16` (HIGH), `extra` `/20`s
/// (MEDIUM), the default NACL (HIGH).
pub(super) fn standard_rules(extra: usize) -> Vec<SecurityGroup> {
    let mut rules = vec![
        "tcp:22 0.0.0.0/0".to_string(),
        "tcp:3389 ::/0".to_string(),
        "tcp:443 10.0.0.0/16".to_string(),
    ];
    rules.extend((0..extra).map(|i| format!("tcp:443 10.{}.0.0/20", i + 1)));
    let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
    vec![group("sg-1", &rules), group("sg-self", &[])]
}

pub(super) struct World {
    pub aws: FakeAws,
    pub store: MemoryStore,
    pub config: ControllerConfig,
    pub metrics: Metrics,
    pub now: jiff::Timestamp,
    pub object: OrgRiskScan,
}

impl World {
    /// The organisation: root `r-1` with MGMT; `ou-a` with PAYMENTS; `ou-a`'s child `ou-b` with
    /// DATA and the suspended CLOSED. Account i has i extra `/20` rules per region.
    pub fn new(spec: Value) -> Self {
        let aws = FakeAws::new(FakeSecurityGroups::default());
        let org = &aws.organization;
        org.ou("", "r-1");
        org.ou("r-1", "ou-a");
        org.ou("ou-a", "ou-b");
        org.account("r-1", MGMT, "management", true);
        org.account("ou-a", PAYMENTS, "payments", true);
        org.account("ou-b", DATA, "data", true);
        org.account("ou-b", CLOSED, "closed", false);
        for (i, account) in [MGMT, PAYMENTS, DATA, CLOSED].iter().enumerate() {
            for region in REGIONS {
                aws.estate
                    .put(account, region, standard_rules(i), vec![default_nacl()]);
            }
        }
        let object = serde_json::from_value(json!({
            "apiVersion": "sgtightener.io/v1alpha1", "kind": "OrgRiskScan",
            "metadata": {"name": "estate", "namespace": "security", "generation": 1, "uid": "u1"},
            "spec": spec,
        }))
        .unwrap();
        World {
            aws,
            store: MemoryStore::default(),
            config: ControllerConfig::default(),
            metrics: Metrics::new(),
            now: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            object,
        }
    }

    pub fn org(parent: &str) -> Self {
        World::new(json!({"organization": {"parentId": parent}, "regions": REGIONS}))
    }

    /// One reconcile at `self.now`; the status written becomes the object's status.
    pub async fn reconcile(&mut self) -> Result<Action, Error> {
        let now = self.now;
        let clock = move || now;
        let deps = Deps {
            config: &self.config,
            aws: &self.aws,
            store: &self.store,
            metrics: &self.metrics,
            clock: &clock,
        };
        let result = reconcile(&self.object, &deps).await;
        self.object.status = self.store.status.last_status();
        result
    }

    pub fn cleanup(&self) {
        let now = self.now;
        let clock = move || now;
        let deps = Deps {
            config: &self.config,
            aws: &self.aws,
            store: &self.store,
            metrics: &self.metrics,
            clock: &clock,
        };
        cleanup(&self.object, &deps);
    }

    pub fn condition(&self, type_: &str) -> (String, String, String) {
        let status = self.object.status.as_ref().expect("a status was written");
        let c = find(&status.conditions, type_).unwrap_or_else(|| panic!("no {type_} condition"));
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    pub fn status(&self) -> crate::crd::OrgRiskScanStatus {
        self.object.status.clone().expect("a status was written")
    }

    pub fn ranked(&self) -> Vec<String> {
        let top = self.status().top_accounts;
        top.into_iter().map(|a| a.account_id).collect()
    }

    pub fn report_json(&self) -> Value {
        let reports = self.store.reports.lock().unwrap();
        serde_json::from_str(reports.get("ors-estate").expect("a report ConfigMap")).unwrap()
    }
}

#[tokio::test]
async fn the_whole_organisation_is_scanned_ranked_and_found_not_compliant() {
    let mut w = World::org("r-1");
    let action = w.reconcile().await.unwrap();
    assert_eq!(
        action,
        Action::requeue(std::time::Duration::from_secs(86_400))
    );
    let status = w.status();
    assert_eq!(status.phase, ScanPhase::Complete);
    let last = status.last_scan.clone().unwrap();
    assert_eq!((last.accounts, last.regions, last.failed_pairs), (3, 2, 0));
    // Per account × region: 2 CRITICAL, 1 HIGH SG + 1 HIGH NACL, i MEDIUM.
    let f = last.findings;
    assert_eq!(
        (f.critical, f.high, f.medium, f.low),
        (12, 12, 2 * (1 + 2), 0)
    );
    assert_eq!(
        w.ranked(),
        [DATA, PAYMENTS, MGMT],
        "the suspended account is absent"
    );
    let top = &status.top_accounts[0];
    assert_eq!(
        (top.account_name.as_str(), top.risk_score),
        ("data", 4_040_400)
    );
    assert_eq!(w.condition("Ready").0, "True");
    assert_eq!(w.condition("Complete").1, "ScanComplete");
    let compliant = w.condition("Compliant");
    assert_eq!(
        (compliant.0.as_str(), compliant.1.as_str()),
        ("False", "CriticalFindings")
    );
    assert_eq!(
        w.store.status.event_reasons(),
        ["CriticalFindings", "ScanComplete"]
    );
    let report = w.report_json();
    assert_eq!(report["schema"], "sg-tightener.report/v1");
    assert_eq!(report["findings"].as_array().unwrap().len(), 12 + 12 + 6);
    assert_eq!(report["accounts"][0]["accountId"], DATA);
    assert_eq!(
        status.report.unwrap().config_map.as_deref(),
        Some("ors-estate")
    );
    let sessions = w.aws.sessions.lock().unwrap().clone();
    assert!(
        sessions.iter().all(|s| s == "sgt-ors.security.estate"),
        "{sessions:?}"
    );
    let roles: Vec<String> = w
        .aws
        .targets()
        .into_iter()
        .filter_map(|t| t.role_arn)
        .collect();
    assert!(roles.contains(&format!(
        "arn:aws:iam::{DATA}:role/OrganizationAccountAccessRole"
    )));
}

#[tokio::test]
async fn an_ou_scan_covers_only_its_subtree() {
    let mut w = World::org("ou-a");
    w.reconcile().await.unwrap();
    assert_eq!(w.ranked(), [DATA, PAYMENTS]);
    let scanned: std::collections::BTreeSet<String> = w
        .aws
        .estate
        .calls()
        .into_iter()
        .map(|(a, _, _)| a)
        .collect();
    assert!(
        !scanned.contains(MGMT) && !scanned.contains(CLOSED),
        "{scanned:?}"
    );
}

#[tokio::test]
async fn an_unassumable_account_and_an_unreadable_region_are_failures_not_gaps() {
    let mut w = World::org("r-1");
    w.aws.estate.deny(PAYMENTS);
    let throttled = AwsError::Throttled(Failure::new(
        "describe security groups",
        "RequestLimitExceeded",
        "Request limit exceeded.",
    ));
    w.aws.estate.fail(DATA, "eu-west-1", throttled);
    w.reconcile().await.unwrap();
    let status = w.status();
    assert_eq!(status.phase, ScanPhase::Partial);
    let failures: Vec<(String, String)> = status
        .failures
        .iter()
        .map(|f| (f.account_id.clone(), f.region.clone()))
        .collect();
    assert_eq!(
        failures,
        [
            (PAYMENTS.to_string(), String::new()),
            (DATA.to_string(), "eu-west-1".to_string())
        ]
    );
    assert!(
        status.failures[0].reason.contains("access denied"),
        "{:?}",
        status.failures
    );
    assert!(status.failures[1].reason.contains("RequestLimitExceeded"));
    let last = status.last_scan.unwrap();
    assert_eq!((last.accounts, last.failed_pairs), (2, 3));
    // DATA lost a region: 2 CRITICAL against the management account's 4.
    assert_eq!(w.ranked(), [MGMT, DATA]);
    let complete = w.condition("Complete");
    assert_eq!(
        (complete.0.as_str(), complete.1.as_str()),
        ("False", "ScanIncomplete")
    );
    assert_eq!(
        w.condition("Ready").0,
        "True",
        "the rest of the scan still counts"
    );
    let denied_calls = w
        .aws
        .estate
        .calls()
        .into_iter()
        .filter(|(a, _, _)| a == PAYMENTS);
    assert_eq!(
        denied_calls.count(),
        1,
        "one refused entry per account, no describe"
    );
}

#[tokio::test]
async fn every_account_region_pair_shares_one_concurrency_bound() {
    let ids: Vec<String> = (0..12).map(|i| format!("5000000000{i:02}")).collect();
    let mut w = World::new(json!({"accounts": ids, "regions": REGIONS, "maxConcurrency": 3}));
    for id in &ids {
        for region in REGIONS {
            w.aws.estate.put(id, region, standard_rules(0), vec![]);
        }
    }
    w.reconcile().await.unwrap();
    assert_eq!(w.status().last_scan.unwrap().accounts, 12);
    let peak = w.aws.estate.max_in_flight();
    assert!(
        (2..=3).contains(&peak),
        "at most 3 describes at once, saw {peak}"
    );
}

#[tokio::test]
async fn scans_repeat_on_the_interval_on_a_spec_change_and_on_the_annotation() {
    let mut w = World::org("ou-a");
    w.reconcile().await.unwrap();
    let calls = w.aws.estate.calls().len();
    w.now += jiff::SignedDuration::from_hours(1);
    let action = w.reconcile().await.unwrap();
    assert_eq!(w.aws.estate.calls().len(), calls, "not due: no AWS call");
    assert_eq!(
        action,
        Action::requeue(std::time::Duration::from_secs(23 * 3600))
    );
    w.object.metadata.annotations =
        Some([(super::spec::RESCAN_ANNOTATION.into(), "1".into())].into());
    w.reconcile().await.unwrap();
    let after_annotation = w.aws.estate.calls().len();
    assert!(after_annotation > calls, "the annotation rescans");
    w.object.spec.prefix_threshold = 28;
    w.reconcile().await.unwrap();
    let after_edit = w.aws.estate.calls().len();
    assert!(after_edit > after_annotation, "a spec change rescans");
    w.now += jiff::SignedDuration::from_hours(25);
    w.reconcile().await.unwrap();
    assert!(
        w.aws.estate.calls().len() > after_edit,
        "the interval rescans"
    );
}

#[tokio::test]
async fn an_account_that_leaves_loses_its_series_and_deletion_drops_the_rest() {
    let mut w = World::new(json!({"accounts": [MGMT, DATA], "regions": REGIONS}));
    w.reconcile().await.unwrap();
    let series = |account: &str| format!("account=\"{account}\",severity=\"critical\"}} 4");
    let text = w.metrics.encode();
    assert!(
        text.contains(&series(DATA)) && text.contains(&series(MGMT)),
        "{text}"
    );
    assert!(
        text.contains("sgtightener_scan_duration_seconds{namespace=\"security\",name=\"estate\"}")
    );
    assert!(
        text.contains("sgtightener_scan_accounts_failed{namespace=\"security\",name=\"estate\"} 0")
    );
    w.object.spec.accounts = vec![DATA.to_string()];
    w.reconcile().await.unwrap();
    let text = w.metrics.encode();
    assert!(
        text.contains(&series(DATA)) && !text.contains(MGMT),
        "{text}"
    );
    w.cleanup();
    assert!(!w.metrics.encode().contains("name=\"estate\""));
}

#[tokio::test]
async fn a_spec_only_the_controller_can_refuse_makes_no_aws_call() {
    let mut w = World::new(json!({"accounts": [MGMT, MGMT], "regions": REGIONS}));
    let error = w.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "InvalidSpec");
    let ready = w.condition("Ready");
    assert_eq!(
        (ready.0.as_str(), ready.1.as_str()),
        ("False", "InvalidSpec")
    );
    assert!(ready.2.contains("spec.accounts"), "{}", ready.2);
    assert!(w.aws.targets().is_empty());
}

#[tokio::test]
async fn tenancy_limits_which_accounts_a_namespace_may_scan() {
    let rules = "tenancy: [{namespaces: [security], accounts: ['1*']}]";
    let config: ControllerConfig = serde_yaml::from_str(rules).unwrap();
    let mut w = World::new(json!({"accounts": [MGMT, DATA], "regions": REGIONS}));
    w.config = config.clone();
    w.reconcile().await.unwrap();
    let status = w.status();
    assert_eq!(w.ranked(), [MGMT]);
    assert_eq!(status.failures[0].account_id, DATA);
    assert!(
        status.failures[0].reason.starts_with("Forbidden"),
        "{:?}",
        status.failures
    );
    let mut alone = World::new(json!({"accounts": [DATA], "regions": REGIONS}));
    alone.config = config;
    assert_eq!(alone.reconcile().await.unwrap_err().reason(), "Forbidden");
    assert!(
        alone.aws.targets().is_empty(),
        "no AWS call for a forbidden scan"
    );
}

#[tokio::test]
async fn a_failed_scan_is_retried_after_a_pause_not_on_its_own_status_write() {
    let mut w = World::org("ou-missing");
    let error = w.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "AwsNotFound");
    let ready = w.condition("Ready");
    assert_eq!(
        (ready.0.as_str(), ready.1.as_str()),
        ("False", "AwsNotFound")
    );
    assert_eq!(w.status().phase, ScanPhase::Failed);
    let asked = w.aws.targets().len();
    let action = w.reconcile().await.unwrap();
    assert_eq!(
        w.aws.targets().len(),
        asked,
        "the status write does not rescan"
    );
    assert_eq!(action, Action::requeue(std::time::Duration::from_secs(300)));
    assert_eq!(
        w.condition("Ready").1,
        "AwsNotFound",
        "the failure stays visible"
    );
    w.now += jiff::SignedDuration::from_mins(5);
    assert!(w.reconcile().await.is_err());
    assert!(w.aws.targets().len() > asked, "retried once due");
}

#[tokio::test]
async fn a_report_that_cannot_be_uploaded_keeps_the_counts_and_is_retried_soon() {
    let spec = json!({"accounts": [MGMT], "regions": REGIONS,
        "output": {"s3": {"bucket": "reports", "formats": ["json", "csv", "xlsx"]}}});
    let mut w = World::new(spec);
    let denied = AwsError::AccessDenied(Failure::new("upload", "AccessDenied", "no"));
    *w.aws.reports.fail.lock().unwrap() = Some(denied);
    assert_eq!(w.reconcile().await.unwrap_err().reason(), "AwsAccessDenied");
    assert_eq!(w.status().last_scan.unwrap().findings.critical, 4);
    assert_eq!(w.condition("Ready").0, "False");
    *w.aws.reports.fail.lock().unwrap() = None;
    w.now += jiff::SignedDuration::from_mins(5);
    w.reconcile().await.unwrap();
    let objects = w.aws.reports.objects.lock().unwrap().clone();
    let keys: Vec<&String> = objects.keys().collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(
        keys[0].starts_with("s3://reports/security/estate/"),
        "{keys:?}"
    );
    let xlsx = objects.iter().find(|(k, _)| k.ends_with(".xlsx")).unwrap();
    assert!(xlsx.1 .0.contains("spreadsheetml"));
    use calamine::Reader;
    let book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.1 .1.clone()));
    assert_eq!(book.unwrap().sheet_names(), ["Summary", "Findings"]);
    assert_eq!(w.condition("Ready").0, "True");
    let status = w.status().report.unwrap();
    assert!(status.s3_uri.unwrap().ends_with(".json"));
}

#[tokio::test]
async fn findings_too_many_for_a_config_map_leave_the_summary_and_a_note() {
    let mut w = World::new(json!({"accounts": [MGMT], "regions": ["af-south-1"]}));
    let rules: Vec<String> = (0..12_000)
        .map(|i| {
            format!(
                "tcp:{} 10.{}.{}.0/20",
                1000 + i % 50,
                i / 256 % 256,
                (i % 16) * 16
            )
        })
        .collect();
    let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
    w.aws
        .estate
        .put(MGMT, "af-south-1", vec![group("sg-big", &rules)], vec![]);
    w.reconcile().await.unwrap();
    let report = w.report_json();
    assert!(report.get("findings").is_none());
    let note = report["note"].as_str().unwrap();
    assert!(
        note.contains("do not fit in a ConfigMap") && note.contains("spec.output.s3"),
        "{note}"
    );
    assert_eq!(report["accounts"][0]["accountId"], MGMT);
    let text = w.store.reports.lock().unwrap()["ors-estate"].clone();
    assert!(text.len() < super::outputs::CONFIG_MAP_BUDGET);
    assert!(w.status().last_scan.unwrap().findings.medium > 10_000);
}

#[tokio::test]
async fn a_reconcile_handed_the_scanning_checkpoint_writes_nothing_back() {
    let mut w = World::org("ou-missing");
    assert!(w.reconcile().await.is_err());
    let written = w.store.status.statuses.lock().unwrap().clone();
    assert_eq!(
        written.len(),
        2,
        "the Scanning checkpoint, then the failure"
    );
    // Woken by the checkpoint's write, a reconcile may still see the checkpoint.
    w.object.status = Some(written[0].clone());
    w.reconcile().await.unwrap();
    let after = w.store.status.statuses.lock().unwrap().len();
    assert_eq!(
        after, 2,
        "the failure is not overwritten with the checkpoint"
    );
}
