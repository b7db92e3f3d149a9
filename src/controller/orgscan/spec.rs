//! Controller layer: what an OrgRiskScan's spec means to the reconcile — the checks only the
//! controller can make (DESIGN I12), the scan inputs and their hash, the interval, the risk
//! policy, the role name and the STS session name that identifies the scan. All pure.

use crate::config::{ControllerConfig, GoDuration};
use crate::crd::{OrgRiskScan, OrgRiskScanSpec};
use crate::domain::plan::hash_canonical;
use crate::domain::risk::RiskPolicy;
use kube::ResourceExt;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

/// The annotation whose every new value starts a scan at once.
pub const RESCAN_ANNOTATION: &str = "sgtightener.io/rescan";
/// The finalizer that removes the scan's metric series when it is deleted.
pub const FINALIZER: &str = "sgtightener.io/cleanup";
/// The shortest `interval` accepted.
const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// The hash of what a scan depends on: the whole spec and the rescan annotation.
pub fn inputs_hash(object: &OrgRiskScan) -> String {
    let rescan = object.annotations().get(RESCAN_ANNOTATION).cloned();
    hash_canonical(&json!({ "spec": object.spec, "rescan": rescan }))
}

/// Checks the schema cannot express; the error names the field and its value.
pub fn validate(spec: &OrgRiskScanSpec) -> Result<(), String> {
    let has_parent = spec.organization.is_some();
    if has_parent != spec.accounts.is_empty() {
        return Err("spec: exactly one of organization, accounts must be set".into());
    }
    unique("spec.regions", &spec.regions)?;
    unique("spec.accounts", &spec.accounts)?;
    if let Some(s3) = &spec.output.s3 {
        let formats: Vec<String> = s3.formats.iter().map(|f| format!("{f:?}")).collect();
        unique("spec.output.s3.formats", &formats)?;
    }
    interval(spec).map(|_| ())
}

fn unique(field: &str, values: &[String]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    match values.iter().find(|v| !seen.insert(v.as_str())) {
        Some(twice) => Err(format!("{field}: {twice:?} is listed twice")),
        None => Ok(()),
    }
}

/// `spec.interval` as a duration (at least one minute).
pub fn interval(spec: &OrgRiskScanSpec) -> Result<Duration, String> {
    let text = &spec.interval;
    let interval: GoDuration = text
        .parse()
        .map_err(|e| format!("spec.interval: {text:?} is not a duration: {e}"))?;
    if interval.as_std() < MIN_INTERVAL {
        return Err(format!("spec.interval: {text:?} is shorter than 1m"));
    }
    Ok(interval.as_std())
}

/// The classification settings of the scan.
pub fn policy(spec: &OrgRiskScanSpec) -> RiskPolicy {
    RiskPolicy {
        prefix_threshold: spec.prefix_threshold,
        critical_ports: spec.critical_ports.clone(),
    }
}

/// The role assumed in every account: `spec.roleName`, else the configuration's default.
pub fn role_name<'a>(spec: &'a OrgRiskScanSpec, config: &'a ControllerConfig) -> &'a str {
    spec.role_name
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(&config.org_scan.default_role_name)
}

/// The STS session name on every assumed role, `sgt-ors.<namespace>.<name>` cut to AWS's 64
/// characters, so CloudTrail in each member account shows which scan read it.
pub fn session_name(object: &OrgRiskScan) -> String {
    let raw = format!(
        "sgt-ors.{}.{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    );
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c);
    raw.chars()
        .map(|c| if allowed(c) { c } else { '-' })
        .take(64)
        .collect()
}

/// The ConfigMap that holds the JSON report: `ors-<name>`, cut to 253 characters.
pub fn report_config_map(object: &OrgRiskScan) -> String {
    format!("ors-{}", object.name_any())
        .chars()
        .take(253)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    pub(crate) fn object(spec: Value) -> OrgRiskScan {
        serde_json::from_value(json!({
            "apiVersion": "sgtightener.io/v1alpha1", "kind": "OrgRiskScan",
            "metadata": {"name": "estate", "namespace": "security"}, "spec": spec,
        }))
        .unwrap()
    }

    fn base() -> Value {
        json!({"accounts": ["111111111111"], "regions": ["af-south-1"]})
    }

    #[test]
    fn controller_only_checks_name_the_field_and_value() {
        assert!(validate(&object(base()).spec).is_ok());
        let mut twice = base();
        twice["regions"] = json!(["af-south-1", "af-south-1"]);
        let error = validate(&object(twice).spec).unwrap_err();
        assert!(
            error.contains("spec.regions") && error.contains("af-south-1"),
            "{error}"
        );
        let mut short = base();
        short["interval"] = json!("30s");
        assert!(validate(&object(short).spec)
            .unwrap_err()
            .contains("spec.interval"));
        let mut neither = base();
        neither["accounts"] = json!([]);
        assert!(validate(&object(neither).spec)
            .unwrap_err()
            .contains("exactly one"));
        let mut formats = base();
        formats["output"] = json!({"s3": {"bucket": "reports", "formats": ["csv", "csv"]}});
        assert!(validate(&object(formats).spec)
            .unwrap_err()
            .contains("formats"));
    }

    #[test]
    fn the_spec_and_the_rescan_annotation_change_the_inputs_hash() {
        let plain = inputs_hash(&object(base()));
        assert_eq!(inputs_hash(&object(base())), plain);
        let mut more = base();
        more["regions"] = json!(["af-south-1", "eu-west-1"]);
        assert_ne!(inputs_hash(&object(more)), plain);
        let mut annotated = object(base());
        annotated.metadata.annotations =
            Some([(RESCAN_ANNOTATION.to_string(), "now".to_string())].into());
        assert_ne!(inputs_hash(&annotated), plain);
    }

    #[test]
    fn the_session_name_identifies_the_scan_within_aws_limits() {
        assert_eq!(session_name(&object(base())), "sgt-ors.security.estate");
        let mut long = object(base());
        long.metadata.name = Some("x".repeat(100));
        let name = session_name(&long);
        assert_eq!(name.len(), 64);
        assert!(name.starts_with("sgt-ors.security.x"));
        assert_eq!(report_config_map(&object(base())), "ors-estate");
    }

    #[test]
    fn the_role_comes_from_the_spec_else_the_configuration() {
        let config = ControllerConfig::default();
        let spec = object(base()).spec;
        assert_eq!(role_name(&spec, &config), "OrganizationAccountAccessRole");
        let mut named = base();
        named["roleName"] = json!("SecurityAudit");
        assert_eq!(role_name(&object(named).spec, &config), "SecurityAudit");
    }
}
