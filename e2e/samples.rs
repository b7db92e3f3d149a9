//! e2e: `config/samples/` on the real API server — every valid sample is accepted, every
//! `invalid-*.yaml` is refused at create time with the message and field its header announces.

use crate::support::samples::{all_samples, sample, Sample};
use crate::support::Scenario;
use kube::api::DynamicObject;
use kube::core::Status;
use kube::ResourceExt;

/// Creates `yaml`, expecting a refusal; returns the API server's status.
async fn refusal(s: &Scenario, what: &str, yaml: &str) -> Box<Status> {
    match s.create_yaml(yaml).await {
        Ok(created) => panic!(
            "{what} was accepted, expected a refusal:\n{:?}",
            created.data
        ),
        Err(kube::Error::Api(status)) => status,
        Err(other) => panic!("{what}: not an API refusal: {other}"),
    }
}

/// Whether the refusal is a 422 Invalid whose message contains `error` and names `field`
/// (both in the message and as a cause's field); `Err` says what differs.
fn check_refusal(status: &Status, error: &str, field: &str) -> Result<(), String> {
    if (status.code, status.reason.as_str()) != (422, "Invalid") {
        return Err(format!("not a validation failure: {status:?}"));
    }
    if !status.message.contains(error) {
        return Err(format!("message lacks {error:?}: {}", status.message));
    }
    let causes = status
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default();
    if !causes.iter().any(|c| c.field == field) || !status.message.contains(&format!("{field}: ")) {
        return Err(format!(
            "does not name the field {field}: {}; causes: {causes:?}",
            status.message
        ));
    }
    Ok(())
}

fn assert_refused_for(what: &str, status: &Status, error: &str, field: &str) {
    if let Err(why) = check_refusal(status, error, field) {
        panic!("{what}: {why}");
    }
}

fn to_yaml(value: &serde_json::Value) -> String {
    serde_yaml::to_string(value).expect("JSON maps to YAML")
}

#[tokio::test]
async fn every_valid_sample_is_accepted() {
    let s = Scenario::start("samples-valid").await;
    let valid: Vec<Sample> = all_samples()
        .into_iter()
        .filter(|x| !x.is_invalid())
        .collect();
    assert!(
        valid.len() >= 4,
        "expected a valid sample per kind, found {}",
        valid.len()
    );
    for sample in &valid {
        let created: DynamicObject = s
            .create_yaml(&sample.text)
            .await
            .unwrap_or_else(|e| panic!("{} was refused: {e}", sample.file));
        let kind = created
            .types
            .as_ref()
            .map(|t| t.kind.as_str())
            .unwrap_or_default();
        assert_eq!(kind, sample.kind(), "{}", sample.file);
        assert_eq!(created.namespace().as_deref(), Some(s.namespace.as_str()));
        assert_eq!(created.metadata.generation, Some(1), "{}", sample.file);
    }
}

#[tokio::test]
async fn every_invalid_sample_is_refused_with_its_announced_message() {
    let s = Scenario::start("samples-invalid").await;
    let invalid: Vec<Sample> = all_samples()
        .into_iter()
        .filter(Sample::is_invalid)
        .collect();
    assert!(
        invalid.len() >= 20,
        "expected the invalid samples, found {}",
        invalid.len()
    );
    let mut failures = Vec::new();
    for sample in &invalid {
        let (error, field) = (
            sample.expect_error.as_deref().unwrap_or_default(),
            sample.expect_field.as_deref().unwrap_or_default(),
        );
        // Collect every mismatch, so one run lists them all.
        let outcome = match s.create_yaml(&sample.text).await {
            Ok(_) => Err("accepted".to_owned()),
            Err(kube::Error::Api(status)) => check_refusal(&status, error, field),
            Err(other) => Err(format!("not an API refusal: {other}")),
        };
        if let Err(why) = outcome {
            failures.push(format!(
                "{}: expected {error:?} at {field}; {why}",
                sample.file
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} invalid samples:\n{}",
        failures.len(),
        invalid.len(),
        failures.join("\n")
    );
}

/// Issue 3 names this case: an additional source `cidr: 10.0.0.0/33`.
#[tokio::test]
async fn a_cidr_with_a_33_bit_prefix_is_refused() {
    let s = Scenario::start("samples-cidr-33").await;
    let file = sample("invalid-sgt-cidr-prefix.yaml");
    assert!(
        file.text.contains("cidr: 10.0.0.0/33"),
        "the sample no longer tests a /33"
    );
    let field = "spec.evidence.additionalSources[0].cidr";
    let status = refusal(&s, &file.file, &file.text).await;
    assert_refused_for(&file.file, &status, "must be an IPv4 CIDR", field);
    assert!(
        status.message.contains("\"10.0.0.0/33\""),
        "{}",
        status.message
    );

    // The same mistake in the valid sample: only the CIDR differs.
    let mut object = sample("securitygrouptightening.yaml").json();
    object["spec"]["evidence"]["additionalSources"][0]["cidr"] = "10.0.0.0/33".into();
    let status = refusal(
        &s,
        "securitygrouptightening.yaml with a /33",
        &to_yaml(&object),
    )
    .await;
    assert_refused_for(
        "valid sample with a /33",
        &status,
        "must be an IPv4 CIDR",
        field,
    );
}

/// Issue 3 names this case: evidence from both S3 and CloudWatch.
#[tokio::test]
async fn evidence_from_both_s3_and_cloudwatch_is_refused() {
    let s = Scenario::start("samples-two-sources").await;
    let file = sample("invalid-sgt-two-sources.yaml");
    let evidence = &file.json()["spec"]["evidence"];
    assert!(
        evidence.get("s3").is_some() && evidence.get("cloudWatch").is_some(),
        "the sample no longer sets both s3 and cloudWatch: {evidence}"
    );
    let message = "exactly one of s3, cloudWatch, athena must be set";
    let status = refusal(&s, &file.file, &file.text).await;
    assert_refused_for(&file.file, &status, message, "spec.evidence");

    // The valid sample (s3) plus a cloudWatch source.
    let mut object = sample("securitygrouptightening.yaml").json();
    object["spec"]["evidence"]["cloudWatch"] = serde_json::json!({ "logGroup": "/vpc/flow-logs" });
    let status = refusal(
        &s,
        "securitygrouptightening.yaml plus cloudWatch",
        &to_yaml(&object),
    )
    .await;
    assert_refused_for(
        "valid sample plus cloudWatch",
        &status,
        message,
        "spec.evidence",
    );
}
