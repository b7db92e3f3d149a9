//! Controller layer: what the tightening's spec means to the reconcile — the checks only the
//! controller can make (DESIGN I12), the plan inputs and their hash, the evidence source and the
//! group selector. All pure.

use crate::aws::{EvidenceSource, GroupSelector};
use crate::config::GoDuration;
use crate::controller::change;
use crate::crd::tightening::{Attribution, NoEvidencePolicy};
use crate::crd::{SecurityGroupTightening, SecurityGroupTighteningSpec};
use crate::domain::evidence::attribution::AttributionMode;
use crate::domain::network::Destination;
use crate::domain::plan::{IacTag, NoEvidence, PlanOptions};
use ipnet::Ipv4Net;
use std::time::Duration;

pub use crate::controller::change::spec::REPLAN_ANNOTATION;
/// Spec fields that are not plan inputs.
const NOT_INPUTS: [&str; 4] = ["approved", "revert", "deletionPolicy", "diagnose"];

/// The hash of every plan input: the spec without `approved`, `revert`, `deletionPolicy`,
/// `diagnose`, plus the `sgtightener.io/replan` annotation.
pub fn inputs_hash(object: &SecurityGroupTightening) -> String {
    change::spec::inputs_hash(object, &object.spec, &NOT_INPUTS)
}

/// Checks the schema cannot express; the error names the field and its value.
pub fn validate(spec: &SecurityGroupTighteningSpec) -> Result<(), String> {
    let e = &spec.evidence;
    let sources = [e.s3.is_some(), e.cloud_watch.is_some(), e.athena.is_some()];
    let count = sources.iter().filter(|s| **s).count();
    if count != 1 {
        return Err(format!(
            "spec.evidence: exactly one of s3, cloudWatch, athena must be set, found {count}"
        ));
    }
    if let Some(format) = e.cloud_watch.as_ref().and_then(|c| c.log_format.as_deref()) {
        crate::domain::flowlog::check_log_format(
            format,
            crate::domain::flowlog::ActionFilter::Accept,
        )
        .map_err(|error| format!("spec.evidence.cloudWatch.logFormat: {error}"))?;
    }
    change::spec::check_groups(&spec.groups)?;
    for (i, source) in e.additional_sources.iter().enumerate() {
        network_cidr(
            &format!("spec.evidence.additionalSources[{i}].cidr"),
            &source.cidr,
        )?;
    }
    for (i, cidr) in e.exclude_sources.iter().enumerate() {
        network_cidr(&format!("spec.evidence.excludeSources[{i}]"), cidr)?;
    }
    let tolerance = spec.collapse.tolerance;
    if !(0.0..=0.95).contains(&tolerance) {
        return Err(format!(
            "spec.collapse.tolerance: {tolerance} is not within 0–0.95"
        ));
    }
    evidence_max_age(spec)?;
    diagnose_interval(spec).map(|_| ())
}

/// `spec.evidence.maxAge` as a duration (at least one second).
pub fn evidence_max_age(spec: &SecurityGroupTighteningSpec) -> Result<Duration, String> {
    let text = &spec.evidence.max_age;
    let age: GoDuration = text
        .parse()
        .map_err(|e| format!("spec.evidence.maxAge: {text:?} is not a duration: {e}"))?;
    if age.as_std() < Duration::from_secs(1) {
        return Err(format!("spec.evidence.maxAge: {text:?} is shorter than 1s"));
    }
    Ok(age.as_std())
}

/// Where the flow logs of `spec`'s source must deliver to count as capturing an interface.
pub fn flow_log_destination(spec: &SecurityGroupTighteningSpec) -> Option<Destination<'_>> {
    let e = &spec.evidence;
    if let Some(s3) = &e.s3 {
        return Some(Destination::S3 {
            bucket: &s3.bucket,
            prefix: &s3.prefix,
        });
    }
    if let Some(cw) = &e.cloud_watch {
        return Some(Destination::LogGroup(&cw.log_group));
    }
    e.athena.as_ref().map(|_| Destination::AnyS3)
}

/// `spec.diagnose.interval` as a duration (at least one minute).
pub fn diagnose_interval(spec: &SecurityGroupTighteningSpec) -> Result<Duration, String> {
    let text = &spec.diagnose.interval;
    let interval: GoDuration = text
        .parse()
        .map_err(|e| format!("spec.diagnose.interval: {text:?} is not a duration: {e}"))?;
    if interval.as_std() < Duration::from_secs(60) {
        return Err(format!(
            "spec.diagnose.interval: {text:?} is shorter than 1m"
        ));
    }
    Ok(interval.as_std())
}

fn network_cidr(field: &str, text: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = text
        .parse()
        .map_err(|_| format!("{field}: {text:?} is not an IPv4 CIDR"))?;
    if net.trunc() != net {
        return Err(format!(
            "{field}: {text:?} has host bits set; write it as {}",
            net.trunc()
        ));
    }
    Ok(net)
}

/// The planner's options from the spec (call [`validate`] first).
pub fn plan_options(spec: &SecurityGroupTighteningSpec) -> PlanOptions {
    let e = &spec.evidence;
    let c = &spec.collapse;
    PlanOptions {
        max_rules: c.max_rules,
        tolerance: c.tolerance,
        prefix_threshold: c.prefix_threshold,
        no_evidence: match c.no_evidence {
            NoEvidencePolicy::Keep => NoEvidence::Keep,
            NoEvidencePolicy::Revoke => NoEvidence::Revoke,
        },
        attribution: match e.attribution {
            Attribution::Group => AttributionMode::Group,
            Attribution::Vpc => AttributionMode::Vpc,
            Attribution::Region => AttributionMode::Region,
        },
        additional_sources: e
            .additional_sources
            .iter()
            .filter_map(|s| s.cidr.parse().ok())
            .collect(),
        exclude_sources: e
            .exclude_sources
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect(),
        iac_tags: IacTag::defaults(),
    }
}

/// Where the flow logs are (call [`validate`] first: exactly one source is set).
pub fn evidence_source(spec: &SecurityGroupTighteningSpec) -> Option<EvidenceSource> {
    let e = &spec.evidence;
    if let Some(s3) = &e.s3 {
        return Some(EvidenceSource::S3 {
            bucket: s3.bucket.clone(),
            prefix: s3.prefix.clone(),
        });
    }
    if let Some(cw) = &e.cloud_watch {
        let (log_group, log_format) = (cw.log_group.clone(), cw.log_format.clone());
        return Some(match cw.mode {
            crate::crd::CloudWatchMode::Insights => EvidenceSource::CloudWatchInsights {
                log_group,
                log_format,
            },
            crate::crd::CloudWatchMode::Filter => EvidenceSource::CloudWatchFilter {
                log_group,
                log_format,
            },
        });
    }
    e.athena.as_ref().map(|a| EvidenceSource::Athena {
        database: a.database.clone(),
        table: a.table.clone(),
        workgroup: a.workgroup.clone(),
        output_location: a.output_location.clone(),
    })
}

/// The AWS selector for `spec.groups`.
pub fn selector(spec: &SecurityGroupTighteningSpec) -> GroupSelector {
    change::spec::selector(&spec.groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn object(spec: Value) -> SecurityGroupTightening {
        serde_json::from_value(json!({
            "apiVersion": "sgtightener.io/v1alpha1", "kind": "SecurityGroupTightening",
            "metadata": {"name": "web", "namespace": "payments"}, "spec": spec,
        }))
        .unwrap()
    }

    fn base() -> Value {
        json!({"region": "af-south-1", "groups": {"ids": ["sg-12345678"]}, "evidence": {"s3": {"bucket": "b"}}})
    }

    #[test]
    fn only_plan_inputs_and_the_replan_annotation_change_the_inputs_hash() {
        let plain = inputs_hash(&object(base()));
        let mut other = base();
        other["approved"] = json!("a".repeat(64));
        other["revert"] = json!(true);
        other["deletionPolicy"] = json!("Revert");
        other["diagnose"] = json!({"enabled": false});
        assert_eq!(inputs_hash(&object(other)), plain);
        let mut days = base();
        days["evidence"]["days"] = json!(30);
        assert_ne!(inputs_hash(&object(days)), plain);
        let mut annotated = object(base());
        annotated.metadata.annotations =
            Some([(REPLAN_ANNOTATION.to_string(), "x".to_string())].into());
        assert_ne!(inputs_hash(&annotated), plain);
    }

    #[test]
    fn controller_only_checks_name_the_field_and_value() {
        let mut spec = object(base()).spec;
        spec.evidence.additional_sources = vec![crate::crd::tightening::AdditionalSource {
            cidr: "10.9.0.1/28".into(),
            description: String::new(),
        }];
        let error = validate(&spec).unwrap_err();
        assert!(
            error.contains("additionalSources[0].cidr") && error.contains("10.9.0.0/28"),
            "{error}"
        );
        let mut spec = object(base()).spec;
        spec.evidence.max_age = "0s".into();
        assert!(validate(&spec)
            .unwrap_err()
            .contains("spec.evidence.maxAge"));
        assert_eq!(
            evidence_max_age(&object(base()).spec),
            Ok(Duration::from_secs(86_400)),
            "24h by default"
        );
        let mut spec = object(base()).spec;
        spec.diagnose.interval = "30s".into();
        assert!(validate(&spec)
            .unwrap_err()
            .contains("spec.diagnose.interval"));
        let mut spec = object(base()).spec;
        spec.evidence.cloud_watch = Some(crate::crd::CloudWatchSource {
            log_group: "/x".into(),
            mode: Default::default(),
            log_format: None,
        });
        assert!(validate(&spec).unwrap_err().contains("found 2"));
        assert!(validate(&object(base()).spec).is_ok());
    }

    #[test]
    fn a_log_format_without_what_tightening_needs_is_an_invalid_spec_naming_the_field() {
        let spec_with = |format: &str| {
            let mut spec = base();
            spec["evidence"] = json!({"cloudWatch": {"logGroup": "/x", "logFormat": format}});
            object(spec).spec
        };
        let error = validate(&spec_with("${srcaddr} ${dstaddr} ${dstport} ${action}")).unwrap_err();
        assert!(
            error.starts_with("spec.evidence.cloudWatch.logFormat: ") && error.contains("protocol"),
            "{error}"
        );
        let error =
            validate(&spec_with("${srcaddr} ${dstaddr} ${dstport} ${protocol}")).unwrap_err();
        assert!(error.contains("`action`"), "{error}");
        let good = "${pkt-srcaddr} ${srcaddr} ${dstaddr} ${dstport} ${protocol} ${action}";
        assert!(validate(&spec_with(good)).is_ok());
        let source = evidence_source(&spec_with(good)).unwrap();
        assert!(
            matches!(&source, EvidenceSource::CloudWatchInsights { log_format: Some(f), .. } if f == good),
            "{source:?}"
        );
    }
}
