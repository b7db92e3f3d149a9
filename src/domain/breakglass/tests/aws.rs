//! Domain layer (pure): tests for break-glass AWS service prefixes.

use super::*;

fn sample_ranges() -> AwsIpRanges {
    AwsIpRanges::from_entries([
        ("3.5.140.0/22", "ap-northeast-2", "EC2"),
        ("52.94.5.0/24", "us-east-1", "ROUTE53_HEALTHCHECKS"),
        ("3.0.0.0/8", "GLOBAL", "AMAZON"),
        ("10.0.0.0/8", "GLOBAL", "AMAZON"),
        ("10.0.0.0/8", "GLOBAL", "EC2"),
        ("bogus", "x", "EC2"),
    ])
}

#[test]
fn the_specific_service_wins_over_amazon() {
    let service = sample_ranges().classify("3.5.140.42").cloned().unwrap();
    assert_eq!(
        (service.service.as_str(), service.prefix),
        ("EC2", net("3.5.140.0/22"))
    );
    assert_eq!(service.region, "ap-northeast-2");
}

#[test]
fn an_address_only_amazon_covers_classifies_as_none() {
    assert_eq!(sample_ranges().classify("3.99.99.99"), None);
}

#[test]
fn private_unmatched_and_garbage_addresses_classify_as_none() {
    let ranges = sample_ranges();
    for address in [
        "10.0.0.5",
        "8.8.8.8",
        "not-an-ip",
        "",
        "::1",
        "3.5.140.42/32",
    ] {
        assert_eq!(ranges.classify(address), None, "{address}");
    }
}

#[test]
fn the_most_specific_of_nested_service_prefixes_wins() {
    let ranges = AwsIpRanges::from_entries([
        ("52.0.0.0/10", "us-east-1", "EC2"),
        ("52.94.0.0/16", "us-east-1", "S3"),
    ]);
    assert_eq!(
        ranges.classify("52.94.1.1").map(|s| s.service.as_str()),
        Some("S3")
    );
    assert_eq!(
        ranges.classify("52.1.1.1").map(|s| s.service.as_str()),
        Some("EC2")
    );
}

#[test]
fn ip_ranges_json_is_read_in_the_published_shape() {
    let json = r#"{"syncToken":"1","createDate":"2024-01-01-00-00-00","prefixes":[
        {"ip_prefix":"3.5.140.0/22","region":"ap-northeast-2","service":"EC2","network_border_group":"ap-northeast-2"},
        {"ip_prefix":"3.0.0.0/8","region":"GLOBAL","service":"AMAZON","network_border_group":"GLOBAL"}],
        "ipv6_prefixes":[{"ipv6_prefix":"2600::/40","region":"GLOBAL","service":"AMAZON"}]}"#;
    let ranges = AwsIpRanges::from_json(json).unwrap();
    assert_eq!(ranges.len(), 1, "AMAZON is never indexed");
    assert!(AwsIpRanges::from_json("{not json").is_err());
}

#[test]
fn splitting_separates_aws_service_sources_from_regular_ones() {
    let flows = [
        flow("10.0.0.5", "10.1.0.1", 6, 5432),
        flow("3.5.140.42", "10.1.0.1", 6, 443),
        flow("3.5.141.7", "10.1.0.1", 6, 443),
        flow("8.8.8.8", "10.1.0.1", 6, 443),
    ];
    let refs: Vec<&Flow> = flows.iter().collect();
    let (regular, summaries) = split_aws_service_flows(&refs, &sample_ranges());
    assert_eq!(
        summaries.len(),
        1,
        "two EC2 sources collapse into one summary"
    );
    let summary = &summaries[0];
    assert_eq!(
        (
            summary.cidr,
            summary.protocol.as_str(),
            summary.port,
            summary.service.as_str()
        ),
        (net("3.5.140.0/22"), "tcp", 443, "EC2")
    );
    let kept: Vec<_> = regular.iter().map(|f| f.source.to_string()).collect();
    assert_eq!(kept, ["10.0.0.5", "8.8.8.8"]);
}

#[test]
fn aws_service_permissions_are_one_rule_per_prefix_and_port() {
    let summary = |cidr: &str, port, service: &str, region: &str| AwsServiceSummary {
        cidr: net(cidr),
        protocol: "tcp".into(),
        port,
        service: service.into(),
        region: region.into(),
    };
    let summaries = [
        summary("3.5.140.0/22", 443, "EC2", "ap-northeast-2"),
        summary("52.94.5.0/24", 443, "ROUTE53_HEALTHCHECKS", "us-east-1"),
        summary("52.94.5.0/24", 80, "ROUTE53_HEALTHCHECKS", "us-east-1"),
    ];
    let permissions = aws_service_permissions(&summaries, "test");
    assert_eq!(permissions.len(), 2);
    let p443 = permissions
        .iter()
        .find(|p| p.from_port == Some(443))
        .unwrap();
    assert_eq!(cidrs(p443), ["3.5.140.0/22", "52.94.5.0/24"]);
    let descriptions: String = p443
        .ip_ranges
        .iter()
        .filter_map(|r| r.description.clone())
        .collect();
    assert!(
        descriptions.contains("EC2") && descriptions.contains("ROUTE53_HEALTHCHECKS"),
        "{descriptions}"
    );
}
