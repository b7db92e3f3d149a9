//! Domain layer (pure): tests for the explicit request shared by the reconciler and the CLI.

use super::*;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn parse(
    groups: &[&str],
    cidrs: &[&str],
    ports: &[&str],
    reason: &str,
) -> Result<ExplicitRequest, RequestError> {
    let (groups, cidrs, ports) = (strings(groups), strings(cidrs), strings(ports));
    let input = ExplicitInput {
        group_ids: &groups,
        cidrs: &cidrs,
        ports: &ports,
        reason,
    };
    ExplicitRequest::parse(input, &CidrPolicy::default())
}

#[test]
fn every_cidr_goes_on_every_port_described_with_the_reason() {
    let request = parse(
        &["sg-12345678", "sg-0123456789abcdef0", "sg-12345678"],
        &["10.4.1.0/16", "10.5.0.0/24"],
        &["tcp:443", "udp:53"],
        "DR failover INC-1234",
    )
    .unwrap();
    assert_eq!(
        request.group_ids,
        ["sg-12345678", "sg-0123456789abcdef0"],
        "deduplicated, in order"
    );
    let rules: Vec<String> = request.rules().iter().map(|r| r.to_string()).collect();
    assert_eq!(
        rules,
        [
            "tcp:443 10.4.0.0/16",
            "tcp:443 10.5.0.0/24",
            "udp:53 10.4.0.0/16",
            "udp:53 10.5.0.0/24"
        ]
    );
    assert!(request.rules().iter().all(
        |r| r.description.as_deref() == Some("sg-tightener break-glass: DR failover INC-1234")
    ));
}

/// Groups, CIDRs, ports, reason; the field and position expected; text the message holds.
type Case<'a> = (
    &'a [&'a str],
    &'a [&'a str],
    &'a [&'a str],
    &'a str,
    (Field, Option<usize>),
    &'a str,
);

#[test]
fn the_first_bad_value_is_named_with_its_field_and_position() {
    let cases: [Case; 7] = [
        (
            &["sg-1"],
            &["10.4.0.0/16"],
            &["tcp:443"],
            "r",
            (Field::GroupIds, Some(0)),
            "\"sg-1\"",
        ),
        (
            &["sg-12345678"],
            &["10.4.0.0/16", "10.0.0.0/8"],
            &["tcp:443"],
            "r",
            (Field::Cidrs, Some(1)),
            "10.0.0.0/8: broader than the allowed /16",
        ),
        (
            &["sg-12345678"],
            &["0.0.0.0/0"],
            &["tcp:443"],
            "r",
            (Field::Cidrs, Some(0)),
            "whole internet",
        ),
        (
            &["sg-12345678"],
            &["8.8.8.0/24"],
            &["tcp:443"],
            "r",
            (Field::Cidrs, Some(0)),
            "public sources",
        ),
        (
            &["sg-12345678"],
            &["10.4.0.0/16"],
            &["tcp:99999"],
            "r",
            (Field::Ports, Some(0)),
            "\"tcp:99999\"",
        ),
        (
            &["sg-12345678"],
            &["10.4.0.0/16"],
            &["tcp:443"],
            "  ",
            (Field::Reason, None),
            "a reason is required",
        ),
        (
            &["sg-12345678"],
            &["10.4.0.0/16"],
            &["tcp:443"],
            "INC <1>",
            (Field::Reason, None),
            "'<' is not allowed",
        ),
    ];
    for (groups, cidrs, ports, reason, at, text) in cases {
        let error = parse(groups, cidrs, ports, reason).unwrap_err();
        assert_eq!((error.field, error.index), at, "{error}");
        assert!(error.to_string().contains(text), "{error}");
    }
    let missing = parse(&["sg-12345678"], &[], &["tcp:443"], "r").unwrap_err();
    assert_eq!(missing.to_string(), "missing at least one CIDR");
    assert!(validate_reason(&"x".repeat(201)).is_err());
    assert!(validate_reason(&"x".repeat(200)).is_ok());
}
