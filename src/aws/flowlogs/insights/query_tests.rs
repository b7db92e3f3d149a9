//! AWS layer tests: the Logs Insights queries for the v2 default format and for custom formats
//! (fields parsed from `@message` by name, packet addresses preferred).

use super::*;
use crate::domain::evidence::Window;
use crate::domain::flowlog::ActionFilter;

fn request(action: ActionFilter) -> EvidenceRequest {
    EvidenceRequest {
        source: super::super::EvidenceSource::CloudWatchInsights {
            log_group: "/vpc/flow-logs".into(),
            log_format: None,
        },
        window: Window {
            start: jiff::Timestamp::from_second(0).unwrap(),
            end: jiff::Timestamp::from_second(86_400).unwrap(),
        },
        action,
        coverage_interfaces: Vec::new(),
        fresh_since: None,
    }
}

fn group(format: Option<&str>) -> Group<'_> {
    Group {
        name: "/vpc/flow-logs",
        format,
    }
}

#[test]
fn the_default_format_uses_the_fields_insights_discovers() {
    let request = request(ActionFilter::Accept);
    let fields = Fields::of(&group(None), &request).unwrap();
    assert_eq!(
        flows_query(&fields, &request),
        "filter action in [\"ACCEPT\"] | stats count(*) as records by srcAddr, dstAddr, \
         interfaceId, protocol, dstPort"
    );
    assert_eq!(
        fields.coverage_query(),
        "stats count(*) as records, min(start) as earliest by bin(1d), logStatus"
    );
    assert_eq!(
        fields.logged_query(&["eni-1"]).unwrap(),
        "filter logStatus != \"SKIPDATA\" and interfaceId in [\"eni-1\"] | stats count(*) as \
         records by interfaceId"
    );
    let spelled_out = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} \
                       ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} \
                       ${log-status}";
    assert_eq!(
        Fields::of(&group(Some(spelled_out)), &request).unwrap(),
        fields
    );
}

#[test]
fn a_custom_format_is_parsed_by_field_name_in_its_own_order() {
    let format = "${vpc-id} ${pkt-srcaddr} ${srcaddr} ${dstaddr} ${pkt-dstaddr} ${interface-id} \
                  ${protocol} ${dstport} ${start} ${end} ${action} ${log-status}";
    let request = request(ActionFilter::Reject);
    let fields = Fields::of(&group(Some(format)), &request).unwrap();
    let parse = "parse @message /^\\S+ (?<flPktSrcAddr>\\S+) (?<flSrcAddr>\\S+) (?<flDstAddr>\\S+) \
                 (?<flPktDstAddr>\\S+) (?<flInterfaceId>\\S+) (?<flProtocol>\\S+) (?<flDstPort>\\S+) \
                 (?<flStart>\\S+) \\S+ (?<flAction>\\S+) (?<flLogStatus>\\S+)$/";
    assert_eq!(
        flows_query(&fields, &request),
        format!(
            "{parse} | filter flAction in [\"REJECT\"] | stats count(*) as records by flSrcAddr, \
             flDstAddr, flPktSrcAddr, flPktDstAddr, flInterfaceId, flProtocol, flDstPort"
        )
    );
    assert_eq!(
        fields.coverage_query(),
        format!(
            "{parse} | stats count(*) as records, min(flStart) as earliest by bin(1d), \
             flLogStatus"
        )
    );
    assert_eq!(
        fields.logged_query(&["eni-1"]).unwrap(),
        format!(
            "{parse} | filter flLogStatus != \"SKIPDATA\" and flInterfaceId in [\"eni-1\"] | \
             stats count(*) as records by flInterfaceId"
        )
    );
}

#[test]
fn rows_of_a_custom_format_take_the_packet_source_unless_it_is_a_dash() {
    let format = "${srcaddr} ${dstaddr} ${pkt-srcaddr} ${dstport} ${protocol} ${action}";
    let fields = Fields::of(&group(Some(format)), &request(ActionFilter::Accept)).unwrap();
    let cell = |name: &str, value: &str| ResultField::builder().field(name).value(value).build();
    let row = |packet: &str| {
        vec![
            cell("flSrcAddr", "10.0.0.50"),
            cell("flDstAddr", "10.1.0.9"),
            cell("flPktSrcAddr", packet),
            cell("flProtocol", "6"),
            cell("flDstPort", "443"),
            cell("records", "3"),
        ]
    };
    let mut aggregator = Aggregator::new();
    for packet in ["10.7.3.4", "-"] {
        add_row(&mut aggregator, &flow_row(&fields, &row(packet)));
    }
    let sources: Vec<String> = aggregator
        .into_flows()
        .iter()
        .map(|f| f.source.to_string())
        .collect();
    assert_eq!(sources, ["10.0.0.50", "10.7.3.4"]);
    assert!(
        !fields.coverage_query().contains("filter"),
        "no log-status field: nothing to filter"
    );
}

#[test]
fn a_format_without_what_the_request_selects_on_is_refused_by_name() {
    let error = Fields::of(
        &group(Some("${srcaddr} ${dstaddr}")),
        &request(ActionFilter::Any),
    );
    assert!(error.unwrap_err().contains("dstport, protocol"));
    let no_action = "${srcaddr} ${dstaddr} ${dstport} ${protocol}";
    let error = Fields::of(&group(Some(no_action)), &request(ActionFilter::Accept));
    assert!(error.unwrap_err().contains("`action`"));
    assert!(Fields::of(&group(Some(no_action)), &request(ActionFilter::Any)).is_ok());
}
