//! Domain layer (pure): the AWS snapshot shapes the whole product speaks — exactly what
//! `aws ec2 describe-security-groups`, `describe-network-acls` and `describe-network-interfaces`
//! print (PascalCase JSON). The offline commands read them from files; the AWS adapters build
//! them from SDK responses; the rest of the domain converts them into its own rule model.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `aws ec2 describe-security-groups` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSecurityGroups {
    #[serde(default)]
    pub security_groups: Vec<SecurityGroup>,
}

/// One security group as AWS describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityGroup {
    pub group_id: String,
    #[serde(default)]
    pub group_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// Ingress permissions.
    #[serde(default)]
    pub ip_permissions: Vec<IpPermission>,
    /// Egress permissions (never touched; kept so snapshots round-trip).
    #[serde(default)]
    pub ip_permissions_egress: Vec<IpPermission>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl SecurityGroup {
    /// Tags as a map (last value wins on duplicate keys, which AWS does not allow anyway).
    pub fn tag_map(&self) -> BTreeMap<&str, &str> {
        self.tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect()
    }
}

/// A key/value tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// One AWS permission: a protocol/port range and a list of sources. AWS counts one rule per
/// source entry (each IPv4 range, IPv6 range, group pair and prefix list).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpPermission {
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all) or an IANA protocol number as text.
    pub ip_protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i32>,
    #[serde(default)]
    pub ip_ranges: Vec<IpRange>,
    #[serde(default)]
    pub ipv6_ranges: Vec<Ipv6Range>,
    #[serde(default)]
    pub user_id_group_pairs: Vec<UserIdGroupPair>,
    #[serde(default)]
    pub prefix_list_ids: Vec<PrefixListId>,
}

/// An IPv4 source.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpRange {
    pub cidr_ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An IPv6 source.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipv6Range {
    pub cidr_ipv6: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A security-group reference source.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserIdGroupPair {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A managed prefix-list source.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrefixListId {
    pub prefix_list_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `aws ec2 describe-network-acls` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeNetworkAcls {
    #[serde(default)]
    pub network_acls: Vec<NetworkAcl>,
}

/// One network ACL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkAcl {
    pub network_acl_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub entries: Vec<NetworkAclEntry>,
}

/// One NACL entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkAclEntry {
    pub rule_number: i32,
    /// IANA number as text, or `-1` for all.
    pub protocol: String,
    /// `allow` or `deny`.
    pub rule_action: String,
    #[serde(default)]
    pub egress: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_block: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_cidr_block: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range: Option<NaclPortRange>,
}

/// A NACL entry's port range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NaclPortRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i32>,
}

/// `aws ec2 describe-network-interfaces` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeNetworkInterfaces {
    #[serde(default)]
    pub network_interfaces: Vec<NetworkInterface>,
}

/// One elastic network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInterface {
    pub network_interface_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
    #[serde(default)]
    pub private_ip_addresses: Vec<PrivateIpAddress>,
    #[serde(default)]
    pub groups: Vec<GroupIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
}

/// One private address of an ENI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrivateIpAddress {
    pub private_ip_address: String,
    #[serde(default)]
    pub primary: bool,
}

/// A group attached to an ENI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupIdentifier {
    pub group_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_describe_security_groups_output_as_the_aws_cli_prints_it() {
        let json = r#"{"SecurityGroups":[{"GroupId":"sg-1","GroupName":"web","VpcId":"vpc-1",
          "IpPermissions":[{"IpProtocol":"tcp","FromPort":443,"ToPort":443,
            "IpRanges":[{"CidrIp":"10.0.0.0/16","Description":"dc"}],"Ipv6Ranges":[],
            "UserIdGroupPairs":[{"GroupId":"sg-2","UserId":"123"}],"PrefixListIds":[]}],
          "IpPermissionsEgress":[],"Tags":[{"Key":"team","Value":"payments"}]}]}"#;
        let parsed: DescribeSecurityGroups = serde_json::from_str(json).unwrap();
        let group = &parsed.security_groups[0];
        assert_eq!(group.ip_permissions[0].ip_ranges[0].cidr_ip, "10.0.0.0/16");
        assert_eq!(group.tag_map().get("team"), Some(&"payments"));
        assert_eq!(
            group.ip_permissions[0].user_id_group_pairs[0]
                .group_id
                .as_deref(),
            Some("sg-2")
        );
    }
}
