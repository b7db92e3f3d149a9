//! AWS layer tests: error classification from codes, HTTP statuses and SDK error shapes.

use super::*;
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsError;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;

fn kind(code: &str, status: Option<u16>) -> &'static str {
    AwsError::from_code("do it", code, "", status).reason()
}

#[test]
fn codes_map_to_the_kinds_reconcilers_act_on() {
    let cases = [
        ("RequestLimitExceeded", "AwsThrottled"),
        ("Throttling", "AwsThrottled"),
        ("LimitExceededException", "AwsThrottled"),
        ("InternalError", "AwsUnavailable"),
        ("RequestTimeout", "AwsUnavailable"),
        ("UnauthorizedOperation", "AwsAccessDenied"),
        ("AccessDenied", "AwsAccessDenied"),
        ("AuthFailure", "AwsAccessDenied"),
        ("InvalidPermission.NotFound", "AwsNotFound"),
        ("InvalidGroup.NotFound", "AwsNotFound"),
        ("NoSuchBucket", "AwsNotFound"),
        ("ResourceNotFoundException", "AwsNotFound"),
        ("InvalidPermission.Duplicate", "AwsDuplicate"),
        ("EntityAlreadyExists", "AwsDuplicate"),
        ("RulesPerSecurityGroupLimitExceeded", "AwsLimitExceeded"),
        ("SecurityGroupLimitExceeded", "AwsLimitExceeded"),
        ("InvalidParameterValue", "AwsInvalidRequest"),
        ("InvalidPermission.Malformed", "AwsInvalidRequest"),
        ("ValidationError", "AwsInvalidRequest"),
        ("DryRunOperation", "AwsError"),
    ];
    for (code, reason) in cases {
        assert_eq!(kind(code, Some(400)), reason, "{code}");
    }
}

#[test]
fn without_a_code_the_http_status_decides() {
    assert_eq!(kind("", Some(429)), "AwsThrottled");
    assert_eq!(kind("", Some(503)), "AwsUnavailable");
    assert_eq!(kind("", Some(403)), "AwsAccessDenied");
    assert_eq!(kind("", Some(404)), "AwsNotFound");
    assert_eq!(kind("", Some(400)), "AwsError");
    assert_eq!(kind("", None), "AwsError");
}

#[test]
fn only_throttling_and_outages_are_retryable() {
    assert!(AwsError::from_code("x", "RequestLimitExceeded", "", None).is_retryable());
    assert!(AwsError::from_code("x", "InternalError", "", None).is_retryable());
    for code in [
        "RulesPerSecurityGroupLimitExceeded",
        "UnauthorizedOperation",
        "InvalidPermission.Duplicate",
    ] {
        assert!(
            !AwsError::from_code("x", code, "", None).is_retryable(),
            "{code}"
        );
    }
}

#[test]
fn the_message_says_what_failed_and_why() {
    let error = AwsError::from_code(
        "authorise ingress on sg-1",
        "InvalidPermission.Duplicate",
        "the specified rule already exists",
        Some(400),
    );
    assert_eq!(
        error.to_string(),
        "failed to authorise ingress on sg-1: already exists \
         (InvalidPermission.Duplicate: the specified rule already exists)"
    );
    assert_eq!(error.code(), "InvalidPermission.Duplicate");
}

#[test]
fn access_key_ids_never_survive_into_messages() {
    let message = "key AKIAIOSFODNN7EXAMPLE and ASIAABCDEFGHIJKLMNOP denied; AKIAshort stays";
    assert_eq!(
        redact(message),
        "key <redacted> and <redacted> denied; AKIAshort stays"
    );
    let error = AwsError::from_code("x", "AccessDenied", message, Some(403));
    assert!(!error.to_string().contains("AKIAIOSFODNN7EXAMPLE"));
    assert_eq!(redact("ünïcode AKIA"), "ünïcode AKIA");
}

fn service_error(code: &str, status: u16) -> SdkError<DescribeSecurityGroupsError, HttpResponse> {
    let meta = ErrorMetadata::builder().code(code).message("nope").build();
    let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
    SdkError::service_error(DescribeSecurityGroupsError::generic(meta), raw)
}

#[test]
fn service_errors_are_classified_by_their_code() {
    let error = AwsError::from_sdk(
        "describe security groups",
        &service_error("RequestLimitExceeded", 503),
    );
    assert_eq!(
        error,
        AwsError::Throttled(Failure::new(
            "describe security groups",
            "RequestLimitExceeded",
            "nope"
        ))
    );
}

#[test]
fn transport_failures_are_transient_and_construction_failures_invalid() {
    let io: SdkError<DescribeSecurityGroupsError, HttpResponse> = SdkError::dispatch_failure(
        ConnectorError::io(Box::new(std::io::Error::other("connection refused"))),
    );
    let error = AwsError::from_sdk("describe", &io);
    assert!(matches!(error, AwsError::Transient(_)), "{error:?}");
    assert!(error.to_string().contains("connection refused"), "{error}");

    let timeout: SdkError<DescribeSecurityGroupsError, HttpResponse> =
        SdkError::timeout_error("slow");
    assert!(matches!(
        AwsError::from_sdk("describe", &timeout),
        AwsError::Transient(_)
    ));

    let built: SdkError<DescribeSecurityGroupsError, HttpResponse> =
        SdkError::construction_failure("bad input");
    assert!(matches!(
        AwsError::from_sdk("describe", &built),
        AwsError::Invalid(_)
    ));
}

#[test]
fn missing_credentials_are_access_denied_not_transient() {
    let missing = CredentialsError::not_loaded("no providers in chain provided credentials");
    let error: SdkError<DescribeSecurityGroupsError, HttpResponse> =
        SdkError::dispatch_failure(ConnectorError::other(Box::new(missing), None));
    let classified = AwsError::from_sdk("describe", &error);
    assert!(
        matches!(classified, AwsError::AccessDenied(_)),
        "{classified:?}"
    );
    assert_eq!(
        classified.failure().action,
        "describe (obtaining credentials)"
    );
}

#[test]
fn a_refused_assume_role_keeps_the_sts_code() {
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    let meta = ErrorMetadata::builder()
        .code("AccessDenied")
        .message("not authorized to perform sts:AssumeRole")
        .build();
    let raw = HttpResponse::new(StatusCode::try_from(403).unwrap(), SdkBody::empty());
    let sts = aws_sdk_sts::error::SdkError::service_error(AssumeRoleError::generic(meta), raw);
    let credentials = CredentialsError::provider_error(sts);
    let error: SdkError<DescribeSecurityGroupsError, HttpResponse> =
        SdkError::dispatch_failure(ConnectorError::other(Box::new(credentials), None));
    let classified = AwsError::from_sdk("describe", &error);
    assert!(
        matches!(classified, AwsError::AccessDenied(_)),
        "{classified:?}"
    );
    assert_eq!(classified.code(), "AccessDenied");
}
