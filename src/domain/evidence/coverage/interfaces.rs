//! Domain layer (pure): coverage per interface. Records somewhere under the prefix do not prove
//! that every in-scope interface was logged: each one must be captured by a usable flow log
//! (VPC, subnet or interface level; ALL or ACCEPT traffic; active; delivering where the evidence
//! is read) and must have at least one record (OK or NODATA) in the window. An interface that
//! fails either is a gap: its sources are unknown, and tightening its groups could lock them out.

use crate::domain::network::{Destination, FlowLog};
use crate::domain::snapshot::NetworkInterface;

/// Interfaces named in a gap message before the rest are only counted.
const NAMED: usize = 10;

/// What the per-interface check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceCoverage {
    /// In-scope interfaces no usable flow log delivering to the source captures, sorted.
    pub without_flow_log: Vec<String>,
    /// In-scope interfaces without a single record in the window (only when the source can
    /// tell), sorted. Interfaces already in `without_flow_log` are not repeated.
    pub without_records: Vec<String>,
    /// The usable flow logs that capture in-scope interfaces, sorted by id.
    pub flow_logs: Vec<FlowLog>,
}

/// Checks every interface of `in_scope` against `flow_logs` (those attached to the interfaces,
/// their subnets and VPCs) and against the interfaces that had records (`None`: the source
/// cannot tell, so only flow logs are checked).
pub fn interface_coverage(
    in_scope: &[NetworkInterface],
    flow_logs: &[FlowLog],
    destination: &Destination<'_>,
    with_records: Option<&[String]>,
) -> InterfaceCoverage {
    let usable: Vec<&FlowLog> = flow_logs
        .iter()
        .filter(|l| l.is_usable() && l.delivers_to(destination))
        .collect();
    let mut out = InterfaceCoverage::default();
    for eni in in_scope {
        let id = &eni.network_interface_id;
        let captures = |l: &&FlowLog| {
            let r = Some(l.resource_id.as_str());
            r == Some(id.as_str()) || r == eni.subnet_id.as_deref() || r == eni.vpc_id.as_deref()
        };
        let logs: Vec<&FlowLog> = usable.iter().copied().filter(captures).collect();
        if logs.is_empty() {
            out.without_flow_log.push(id.clone());
        } else if with_records.is_some_and(|r| r.binary_search(id).is_err()) {
            out.without_records.push(id.clone());
        }
        out.flow_logs.extend(logs.into_iter().cloned());
    }
    out.without_flow_log.sort();
    out.without_records.sort();
    out.flow_logs
        .sort_by(|a, b| a.flow_log_id.cmp(&b.flow_log_id));
    out.flow_logs
        .dedup_by(|a, b| a.flow_log_id == b.flow_log_id);
    out
}

/// One gap message per kind of interface gap; empty when every interface is covered.
pub fn interface_gaps(coverage: &InterfaceCoverage, source: &str) -> Vec<String> {
    let mut gaps = Vec::new();
    if !coverage.without_flow_log.is_empty() {
        gaps.push(format!(
            "{} interface(s) not captured by an active flow log of accepted traffic delivering to {source}: {}",
            coverage.without_flow_log.len(),
            names(&coverage.without_flow_log)
        ));
    }
    if !coverage.without_records.is_empty() {
        gaps.push(format!(
            "{} interface(s) without a single flow-log record in the window: {}",
            coverage.without_records.len(),
            names(&coverage.without_records)
        ));
    }
    gaps
}

fn names(ids: &[String]) -> String {
    let shown = ids
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match ids.len().saturating_sub(NAMED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eni(id: &str, subnet: &str) -> NetworkInterface {
        NetworkInterface {
            network_interface_id: id.into(),
            subnet_id: Some(subnet.into()),
            vpc_id: Some("vpc-1".into()),
            ..NetworkInterface::default()
        }
    }

    fn log(id: &str, resource: &str, traffic: &str, bucket: &str) -> FlowLog {
        FlowLog {
            flow_log_id: id.into(),
            resource_id: resource.into(),
            traffic_type: traffic.into(),
            log_destination_type: "s3".into(),
            log_destination: Some(format!("arn:aws:s3:::{bucket}")),
            flow_log_status: "ACTIVE".into(),
            deliver_logs_status: "SUCCESS".into(),
            creation_time: Some("2026-01-01T00:00:00Z".into()),
            ..FlowLog::default()
        }
    }

    const READ: Destination<'static> = Destination::S3 {
        bucket: "logs",
        prefix: "AWSLogs/",
    };

    #[test]
    fn an_interface_is_captured_by_a_flow_log_on_its_vpc_its_subnet_or_itself() {
        let enis = [
            eni("eni-a", "subnet-1"),
            eni("eni-b", "subnet-2"),
            eni("eni-c", "subnet-3"),
        ];
        let logs = [
            log("fl-subnet", "subnet-1", "ALL", "logs"),
            log("fl-eni", "eni-b", "ACCEPT", "logs"),
        ];
        let out = interface_coverage(&enis, &logs, &READ, None);
        assert_eq!(out.without_flow_log, ["eni-c"]);
        assert_eq!(out.flow_logs.len(), 2);
        let vpc = [log("fl-vpc", "vpc-1", "ALL", "logs")];
        assert!(interface_coverage(&enis, &vpc, &READ, None)
            .without_flow_log
            .is_empty());
    }

    #[test]
    fn reject_only_logs_and_logs_delivering_elsewhere_capture_nothing() {
        let enis = [eni("eni-a", "subnet-1")];
        for logs in [
            [log("fl-1", "vpc-1", "REJECT", "logs")],
            [log("fl-2", "vpc-1", "ALL", "other-bucket")],
        ] {
            let out = interface_coverage(&enis, &logs, &READ, None);
            assert_eq!(out.without_flow_log, ["eni-a"]);
            assert!(out.flow_logs.is_empty());
        }
    }

    #[test]
    fn a_captured_interface_without_records_in_the_window_is_a_gap_of_its_own() {
        let enis = [eni("eni-a", "subnet-1"), eni("eni-b", "subnet-1")];
        let logs = [log("fl-1", "vpc-1", "ALL", "logs")];
        let seen = ["eni-a".to_string(), "eni-z".to_string()];
        let out = interface_coverage(&enis, &logs, &READ, Some(&seen));
        assert_eq!(out.without_records, ["eni-b"]);
        let gaps = interface_gaps(&out, "s3://logs/AWSLogs/");
        assert_eq!(gaps.len(), 1);
        assert!(
            gaps[0].contains("1 interface(s) without a single flow-log record"),
            "{gaps:?}"
        );
    }

    #[test]
    fn gap_messages_name_ten_interfaces_then_count_the_rest() {
        let enis: Vec<NetworkInterface> = (0..12)
            .map(|k| eni(&format!("eni-{k:02}"), "subnet-1"))
            .collect();
        let out = interface_coverage(&enis, &[], &READ, None);
        let gaps = interface_gaps(&out, "s3://logs/AWSLogs/");
        assert!(
            gaps[0].starts_with("12 interface(s) not captured"),
            "{gaps:?}"
        );
        assert!(gaps[0].ends_with("eni-09 and 2 more"), "{gaps:?}");
    }
}
