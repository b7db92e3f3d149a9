//! Domain layer (pure): the VPC and flow-log shapes the evidence checks need — exactly what
//! `aws ec2 describe-vpcs` and `describe-flow-logs` print (PascalCase JSON), like the snapshot
//! types beside them: the adapters build them from SDK responses, the offline commands may read
//! them from files.

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// `aws ec2 describe-vpcs` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeVpcs {
    #[serde(default)]
    pub vpcs: Vec<Vpc>,
}

/// One VPC and its IPv4 address ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Vpc {
    pub vpc_id: String,
    /// The primary IPv4 CIDR block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_block: Option<String>,
    /// Every IPv4 CIDR block associated with the VPC (the primary one included).
    #[serde(default)]
    pub cidr_block_association_set: Vec<VpcCidrBlock>,
}

/// One IPv4 CIDR block of a VPC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcCidrBlock {
    pub cidr_block: String,
}

impl Vpc {
    /// Every IPv4 range of the VPC, primary and secondary, sorted and deduplicated. Blocks in any
    /// association state count: an interface that no longer exists may have lived in a block
    /// that was disassociated since, and counting it can only keep sources, never drop them.
    pub fn ipv4_ranges(&self) -> Vec<Ipv4Net> {
        let mut ranges: Vec<Ipv4Net> = self
            .cidr_block
            .iter()
            .chain(
                self.cidr_block_association_set
                    .iter()
                    .map(|b| &b.cidr_block),
            )
            .filter_map(|c| c.parse::<Ipv4Net>().ok())
            .map(|n| n.trunc())
            .collect();
        ranges.sort();
        ranges.dedup();
        ranges
    }
}

/// `aws ec2 describe-flow-logs` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeFlowLogs {
    #[serde(default)]
    pub flow_logs: Vec<FlowLog>,
}

/// One VPC flow log: what it captures (a VPC, subnet or interface; ALL, ACCEPT or REJECT
/// traffic), where it delivers, and whether it is active.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlowLog {
    pub flow_log_id: String,
    /// `vpc-…`, `subnet-…` or `eni-…`.
    pub resource_id: String,
    /// `ALL`, `ACCEPT` or `REJECT`.
    #[serde(default)]
    pub traffic_type: String,
    /// `s3`, `cloud-watch-logs` or `kinesis-data-firehose`.
    #[serde(default)]
    pub log_destination_type: String,
    /// The destination ARN (`arn:aws:s3:::bucket/folder`, a log group's ARN, a stream's ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_destination: Option<String>,
    /// The log group, for CloudWatch Logs delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<String>,
    /// `ACTIVE` while the flow log captures.
    #[serde(default)]
    pub flow_log_status: String,
    /// `SUCCESS` or `FAILED` (the last delivery).
    #[serde(default)]
    pub deliver_logs_status: String,
    /// When the flow log was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
}

/// Where the evidence is read from, as far as flow-log destinations go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination<'a> {
    /// Objects under `s3://bucket/prefix`.
    S3 { bucket: &'a str, prefix: &'a str },
    /// A CloudWatch Logs group.
    LogGroup(&'a str),
    /// Any S3 delivery (an Athena table over S3 flow logs: its location is not known here).
    AnyS3,
}

impl FlowLog {
    /// True when the flow log captures now, delivers, and records accepted traffic.
    pub fn is_usable(&self) -> bool {
        let active = self.flow_log_status.is_empty() || self.flow_log_status == "ACTIVE";
        let delivering = self.deliver_logs_status != "FAILED";
        let accepted = matches!(self.traffic_type.as_str(), "ALL" | "ACCEPT");
        active && delivering && accepted
    }

    /// True when this flow log delivers where `destination` reads.
    pub fn delivers_to(&self, destination: &Destination<'_>) -> bool {
        match destination {
            Destination::LogGroup(group) => {
                self.log_destination_type != "s3"
                    && (self.log_group_name.as_deref() == Some(*group)
                        || self
                            .log_destination
                            .as_deref()
                            .and_then(log_group_of_arn)
                            .is_some_and(|g| g == *group))
            }
            Destination::AnyS3 => self.log_destination_type == "s3",
            Destination::S3 { bucket, prefix } => {
                let Some((b, folder)) = self
                    .log_destination
                    .as_deref()
                    .filter(|_| self.log_destination_type == "s3")
                    .and_then(s3_bucket_and_folder)
                else {
                    return false;
                };
                // AWS writes `folder/AWSLogs/…` (or `AWSLogs/…` without a folder); the reader
                // lists `prefix`: they meet when either one starts with the other.
                let root = match folder.trim_matches('/') {
                    "" => String::new(),
                    f => format!("{f}/"),
                };
                b == *bucket && (root.starts_with(prefix) || prefix.starts_with(&root))
            }
        }
    }
}

/// `arn:aws:s3:::bucket/folder` → (`bucket`, `folder`).
fn s3_bucket_and_folder(arn: &str) -> Option<(&str, &str)> {
    let path = arn.split(":::").nth(1)?;
    Some(path.split_once('/').unwrap_or((path, "")))
}

/// `arn:aws:logs:region:account:log-group:NAME[:*]` → `NAME`.
fn log_group_of_arn(arn: &str) -> Option<&str> {
    let rest = arn.split(":log-group:").nth(1)?;
    Some(rest.strip_suffix(":*").unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3_log(destination: &str) -> FlowLog {
        FlowLog {
            flow_log_id: "fl-1".into(),
            resource_id: "vpc-1".into(),
            traffic_type: "ALL".into(),
            log_destination_type: "s3".into(),
            log_destination: Some(destination.into()),
            flow_log_status: "ACTIVE".into(),
            deliver_logs_status: "SUCCESS".into(),
            ..FlowLog::default()
        }
    }

    #[test]
    fn an_s3_flow_log_delivers_to_the_bucket_and_prefix_the_reader_lists() {
        let cases = [
            ("arn:aws:s3:::logs", "AWSLogs/", true),
            ("arn:aws:s3:::logs", "", true),
            ("arn:aws:s3:::logs/team", "team/AWSLogs/", true),
            ("arn:aws:s3:::logs/team", "", true),
            ("arn:aws:s3:::logs/team", "other/", false),
            ("arn:aws:s3:::other", "AWSLogs/", false),
            ("arn:aws:s3:::logs/team/", "team/AWSLogs/123/", true),
        ];
        for (arn, prefix, expected) in cases {
            let destination = Destination::S3 {
                bucket: "logs",
                prefix,
            };
            assert_eq!(
                s3_log(arn).delivers_to(&destination),
                expected,
                "{arn} {prefix}"
            );
        }
    }

    #[test]
    fn a_log_group_flow_log_matches_by_name_or_arn_and_never_an_s3_reader() {
        let mut log = s3_log("arn:aws:logs:af-south-1:1:log-group:/vpc/flows:*");
        log.log_destination_type = "cloud-watch-logs".into();
        assert!(log.delivers_to(&Destination::LogGroup("/vpc/flows")));
        assert!(!log.delivers_to(&Destination::LogGroup("/vpc/other")));
        assert!(!log.delivers_to(&Destination::AnyS3));
        log.log_destination = None;
        log.log_group_name = Some("/vpc/flows".into());
        assert!(log.delivers_to(&Destination::LogGroup("/vpc/flows")));
    }

    #[test]
    fn only_active_delivering_logs_of_accepted_traffic_are_usable() {
        let mut log = s3_log("arn:aws:s3:::logs");
        assert!(log.is_usable());
        log.traffic_type = "REJECT".into();
        assert!(!log.is_usable());
        log.traffic_type = "ACCEPT".into();
        log.deliver_logs_status = "FAILED".into();
        assert!(!log.is_usable());
        log.deliver_logs_status = "SUCCESS".into();
        log.flow_log_status = "INACTIVE".into();
        assert!(!log.is_usable());
    }

    #[test]
    fn vpc_ranges_include_secondary_blocks_once() {
        let json = r#"{"Vpcs":[{"VpcId":"vpc-1","CidrBlock":"10.0.0.0/16",
          "CidrBlockAssociationSet":[{"CidrBlock":"10.0.0.0/16","CidrBlockState":{"State":"associated"}},
                                     {"CidrBlock":"100.64.0.0/20"}]}]}"#;
        let vpcs: DescribeVpcs = serde_json::from_str(json).unwrap();
        let ranges: Vec<String> = vpcs.vpcs[0]
            .ipv4_ranges()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(ranges, ["10.0.0.0/16", "100.64.0.0/20"]);
    }
}
