//! AWS layer tests: authorise and revoke through the EC2 adapter — outcomes for AWS's "already
//! done" errors, quota errors, throttling retried with backoff, attempts observed.

use super::*;

#[tokio::test]
async fn authorise_sends_the_group_and_permissions_with_descriptions() {
    let rule = mock!(Client::authorize_security_group_ingress)
        .match_requests(|req| {
            let p = &req.ip_permissions()[0];
            req.group_id() == Some("sg-1")
                && p.ip_protocol() == Some("tcp")
                && (p.from_port(), p.to_port()) == (Some(443), Some(443))
                && p.ip_ranges()[0].cidr_ip() == Some("10.0.10.0/27")
                && p.ip_ranges()[0].description() == Some("sg-tightener plan abc")
                && p.user_id_group_pairs().is_empty()
        })
        .then_output(|| {
            AuthorizeSecurityGroupIngressOutput::builder()
                .r#return(true)
                .build()
        });
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::Sequential, [&rule], recorder);
    let outcome = adapter
        .authorise_ingress(
            "sg-1",
            &[https_rule("10.0.10.0/27", "sg-tightener plan abc")],
        )
        .await
        .unwrap();
    assert_eq!(outcome, AuthoriseOutcome::Authorised);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_duplicate_authorise_is_reported_as_already_present() {
    let rule = mock!(Client::authorize_security_group_ingress)
        .then_http_response(|| ec2_error(400, "InvalidPermission.Duplicate"));
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::Sequential, [&rule], recorder);
    let outcome = adapter
        .authorise_ingress("sg-1", &[https_rule("10.0.0.0/16", "x")])
        .await
        .unwrap();
    assert_eq!(outcome, AuthoriseOutcome::AlreadyPresent);
}

#[tokio::test]
async fn the_rule_limit_is_an_error_and_is_not_retried() {
    let rule = mock!(Client::authorize_security_group_ingress)
        .then_http_response(|| ec2_error(400, "RulesPerSecurityGroupLimitExceeded"));
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::MatchAny, [&rule], recorder);
    let error = adapter
        .authorise_ingress("sg-1", &[https_rule("10.0.0.0/16", "x")])
        .await
        .unwrap_err();
    assert!(matches!(error, AwsError::LimitExceeded(_)), "{error:?}");
    assert_eq!(error.reason(), "AwsLimitExceeded");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn revoke_reports_permissions_aws_did_not_know() {
    let rule = mock!(Client::revoke_security_group_ingress)
        .match_requests(|req| req.group_id() == Some("sg-1") && req.ip_permissions().len() == 2)
        .then_output(|| {
            let unknown = sdk::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(sdk::IpRange::builder().cidr_ip("10.9.0.0/16").build())
                .build();
            RevokeSecurityGroupIngressOutput::builder()
                .r#return(true)
                .unknown_ip_permissions(unknown)
                .build()
        });
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::Sequential, [&rule], recorder);
    let permissions = [
        https_rule("10.0.0.0/16", "a"),
        https_rule("10.9.0.0/16", "b"),
    ];
    let outcome = adapter.revoke_ingress("sg-1", &permissions).await.unwrap();
    let RevokeOutcome::Revoked { unknown } = outcome else {
        panic!("expected Revoked, got {outcome:?}")
    };
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].ip_ranges[0].cidr_ip, "10.9.0.0/16");
}

#[tokio::test]
async fn a_missing_permission_is_already_absent_but_a_missing_group_is_an_error() {
    let permission = mock!(Client::revoke_security_group_ingress)
        .then_http_response(|| ec2_error(400, "InvalidPermission.NotFound"));
    let group = mock!(Client::revoke_security_group_ingress)
        .then_http_response(|| ec2_error(400, "InvalidGroup.NotFound"));
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::Sequential, [&permission, &group], recorder);
    let rules = [https_rule("10.0.0.0/16", "x")];
    assert_eq!(
        adapter.revoke_ingress("sg-1", &rules).await.unwrap(),
        RevokeOutcome::AlreadyAbsent
    );
    let error = adapter.revoke_ingress("sg-gone", &rules).await.unwrap_err();
    assert!(matches!(error, AwsError::NotFound(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("failed to revoke ingress on sg-gone: not found (InvalidGroup.NotFound"),
        "{error}"
    );
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_and_observed_per_attempt() {
    let rule = mock!(Client::authorize_security_group_ingress)
        .sequence()
        .http_response(|| ec2_error(503, "RequestLimitExceeded"))
        .times(2)
        .output(|| {
            AuthorizeSecurityGroupIngressOutput::builder()
                .r#return(true)
                .build()
        })
        .build();
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::Sequential, [&rule], recorder);
    let outcome = adapter
        .authorise_ingress("sg-1", &[https_rule("10.0.0.0/16", "x")])
        .await
        .unwrap();
    assert_eq!(outcome, AuthoriseOutcome::Authorised);
    assert_eq!(rule.num_calls(), 3);
    let outcomes: Vec<Attempt> = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, a)| *a)
        .collect();
    assert_eq!(
        outcomes,
        [Attempt::Throttled, Attempt::Throttled, Attempt::Succeeded]
    );
    assert_eq!(
        *recorder.1.lock().unwrap(),
        ["EC2:AuthorizeSecurityGroupIngress"],
        "one call, timed once over its three attempts"
    );
}

#[tokio::test]
async fn throttling_that_outlasts_the_attempts_is_a_retryable_throttled_error() {
    let rule = mock!(Client::describe_security_groups)
        .sequence()
        .http_response(|| ec2_error(503, "RequestLimitExceeded"))
        .repeatedly()
        .build();
    let recorder = Arc::new(Recorder::default());
    let adapter = client!(RuleMode::Sequential, [&rule], recorder);
    let error = adapter
        .describe_groups(&GroupSelector::ids(["sg-1"]))
        .await
        .unwrap_err();
    assert!(matches!(error, AwsError::Throttled(_)), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(error.code(), "RequestLimitExceeded");
    assert_eq!(rule.num_calls(), 3);
}
