//! Domain layer (pure): SG and NACL severity classification, risk score, partition from an ARN.
//!
//! Severity (DESIGN §6.3): a security-group rule open to `0.0.0.0/0` or `::/0` is CRITICAL when
//! its ports include a critical port, else HIGH; a rule inside one RFC 1918 block is HIGH at
//! `/0–/16`, MEDIUM at `/17–/20`, LOW when still shorter than `prefixThreshold`. NACL ingress
//! allow entries: world → HIGH, RFC 1918 `/0–/16` → MEDIUM, shorter than the threshold → LOW.
//! Other sources (public non-world CIDRs, SG references, prefix lists) are not findings.

use crate::domain::snapshot::{IpPermission, NetworkAcl, NetworkAclEntry, SecurityGroup};
use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

/// Ports whose exposure to the whole internet is CRITICAL unless the scan names its own list —
/// the one default of the CRD (`OrgRiskScan.spec.criticalPorts`), the controller and `classify`:
/// file transfer and remote shells and desktops (20/21 FTP, 22 SSH, 23 Telnet, 3389 RDP, 5900 VNC),
/// plaintext mail (25 SMTP, 110 POP3, 143 IMAP), Windows RPC and file sharing (135, 139, 445),
/// and data stores and daemons that are routinely exposed without authentication (1433 SQL
/// Server, 1521 Oracle, 2375/2376 Docker, 2379 etcd, 3306 MySQL, 5432 PostgreSQL, 5984 CouchDB,
/// 6379 Redis, 9200/9300 Elasticsearch, 11211 Memcached, 27017 MongoDB).
pub const DEFAULT_CRITICAL_PORTS: &[u16] = &[
    20, 21, 22, 23, 25, 110, 135, 139, 143, 445, 1433, 1521, 2375, 2376, 2379, 3306, 3389, 5432,
    5900, 5984, 6379, 9200, 9300, 11211, 27017,
];

/// [`DEFAULT_CRITICAL_PORTS`] as text (`20, 21, 22, …`), for help texts and documentation; a test
/// keeps the CRD's and the CLI's descriptions equal to it.
pub fn default_critical_ports_text() -> String {
    let ports: Vec<String> = DEFAULT_CRITICAL_PORTS.iter().map(u16::to_string).collect();
    ports.join(", ")
}

/// Default `prefixThreshold`: RFC 1918 rules at `/24` or narrower are not findings.
pub const DEFAULT_PREFIX_THRESHOLD: u8 = 24;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// World-open on a critical port.
    Critical,
    /// World-open, or an RFC 1918 block of `/16` or wider.
    High,
    /// A medium-sized private block.
    Medium,
    /// A private block still shorter than the threshold.
    Low,
}

/// Which kind of resource a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceType {
    /// A security group ingress rule.
    #[serde(rename = "SG")]
    SecurityGroup,
    /// A network ACL ingress entry (reported, never tightened).
    #[serde(rename = "NACL")]
    NetworkAcl,
}

/// One permissive rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// SG or NACL.
    pub resource_type: ResourceType,
    /// `sg-…` or `acl-…`.
    pub resource_id: String,
    /// The VPC, when the snapshot says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// The NACL rule number (NACL findings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_number: Option<i32>,
    /// The source CIDR as AWS reports it.
    pub cidr: String,
    /// `tcp`, `udp`, `icmp`, `all` or an IANA number.
    pub protocol: String,
    /// `all`, `443` or `8000-8100`.
    pub ports: String,
    /// The severity.
    pub severity: Severity,
}

/// Classification settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskPolicy {
    /// Private blocks with a prefix length at or above this are not findings.
    pub prefix_threshold: u8,
    /// Ports whose world exposure is CRITICAL.
    pub critical_ports: Vec<u16>,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        RiskPolicy {
            prefix_threshold: DEFAULT_PREFIX_THRESHOLD,
            critical_ports: DEFAULT_CRITICAL_PORTS.to_vec(),
        }
    }
}

/// Findings counted by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeverityCounts {
    /// CRITICAL findings.
    pub critical: u64,
    /// HIGH findings.
    pub high: u64,
    /// MEDIUM findings.
    pub medium: u64,
    /// LOW findings.
    pub low: u64,
}

impl SeverityCounts {
    /// Counts the findings' severities.
    pub fn of(findings: &[Finding]) -> SeverityCounts {
        let mut counts = SeverityCounts::default();
        findings.iter().for_each(|f| counts.add(f.severity));
        counts
    }

    /// Counts one more finding of `severity`.
    pub fn add(&mut self, severity: Severity) {
        match severity {
            Severity::Critical => self.critical += 1,
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
        }
    }

    /// `critical·10⁶ + high·10⁴ + medium·10² + low` (see [`risk_score`]).
    pub fn risk_score(&self) -> u64 {
        risk_score(self.critical, self.high, self.medium, self.low)
    }
}

/// `critical·10⁶ + high·10⁴ + medium·10² + low`, saturating: one CRITICAL outranks any realistic
/// number of HIGHs, one HIGH any number of MEDIUMs below 100, and so on.
pub fn risk_score(critical: u64, high: u64, medium: u64, low: u64) -> u64 {
    critical
        .saturating_mul(1_000_000)
        .saturating_add(high.saturating_mul(10_000))
        .saturating_add(medium.saturating_mul(100))
        .saturating_add(low)
}

/// The AWS partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`); `aws` for anything else.
pub fn partition_from_arn(arn: &str) -> &'static str {
    let mut parts = arn.split(':');
    match (parts.next(), parts.next(), parts.count()) {
        (Some("arn"), Some("aws-cn"), 4..) => "aws-cn",
        (Some("arn"), Some("aws-us-gov"), 4..) => "aws-us-gov",
        _ => "aws",
    }
}

fn is_world(net: &IpNet) -> bool {
    net.prefix_len() == 0
}

/// The RFC 1918 block that contains `net`, if any (`10.0.0.0/8` itself counts).
fn rfc1918_prefix(net: &IpNet) -> Option<u8> {
    let IpNet::V4(v4) = net else { return None };
    let blocks: [Ipv4Net; 3] = [
        Ipv4Net::new_assert([10, 0, 0, 0].into(), 8),
        Ipv4Net::new_assert([172, 16, 0, 0].into(), 12),
        Ipv4Net::new_assert([192, 168, 0, 0].into(), 16),
    ];
    blocks
        .iter()
        .any(|b| b.contains(v4))
        .then_some(v4.prefix_len())
}

/// A port range as AWS gives it: `None`/`-1` bounds mean every port.
fn port_range(protocol: &str, from: Option<i32>, to: Option<i32>) -> Option<(u16, u16)> {
    let carries_ports = matches!(protocol, "-1" | "tcp" | "udp" | "6" | "17");
    if !carries_ports {
        return None;
    }
    match (from, to) {
        (Some(f), Some(t)) if protocol != "-1" && f >= 0 && t >= f => {
            Some((u16::try_from(f).ok()?, u16::try_from(t.min(65_535)).ok()?))
        }
        _ => Some((0, 65_535)),
    }
}

/// Severity of one security-group source CIDR on one permission, or `None` when not a finding.
pub fn classify_sg_cidr(
    cidr: &str,
    protocol: &str,
    from: Option<i32>,
    to: Option<i32>,
    policy: &RiskPolicy,
) -> Option<Severity> {
    let net: IpNet = cidr.trim().parse().ok()?;
    if is_world(&net) {
        let critical = port_range(protocol, from, to)
            .is_some_and(|(lo, hi)| policy.critical_ports.iter().any(|p| (lo..=hi).contains(p)));
        return Some(if critical {
            Severity::Critical
        } else {
            Severity::High
        });
    }
    match rfc1918_prefix(&net)? {
        0..=16 => Some(Severity::High),
        17..=20 => Some(Severity::Medium),
        p if p < policy.prefix_threshold => Some(Severity::Low),
        _ => None,
    }
}

/// Severity of one NACL ingress allow entry's CIDR, or `None` when not a finding.
pub fn classify_nacl_cidr(cidr: &str, policy: &RiskPolicy) -> Option<Severity> {
    let net: IpNet = cidr.trim().parse().ok()?;
    if is_world(&net) {
        return Some(Severity::High);
    }
    match rfc1918_prefix(&net)? {
        0..=16 => Some(Severity::Medium),
        p if p < policy.prefix_threshold => Some(Severity::Low),
        _ => None,
    }
}

fn protocol_name(protocol: &str) -> String {
    match protocol {
        "-1" => "all".to_string(),
        "6" => "tcp".to_string(),
        "17" => "udp".to_string(),
        "1" => "icmp".to_string(),
        other => other.to_string(),
    }
}

fn ports_text(protocol: &str, from: Option<i32>, to: Option<i32>) -> String {
    match (protocol, from, to) {
        ("-1", _, _) | (_, None, _) | (_, _, None) | (_, Some(-1), _) => "all".to_string(),
        (_, Some(f), Some(t)) if f == t => f.to_string(),
        (_, Some(f), Some(t)) => format!("{f}-{t}"),
    }
}

fn permission_findings<'p>(
    group: &'p SecurityGroup,
    permission: &'p IpPermission,
    policy: &'p RiskPolicy,
) -> impl Iterator<Item = Finding> + 'p {
    let (protocol, from, to) = (
        permission.ip_protocol.as_str(),
        permission.from_port,
        permission.to_port,
    );
    let v4 = permission.ip_ranges.iter().map(|r| r.cidr_ip.as_str());
    let v6 = permission.ipv6_ranges.iter().map(|r| r.cidr_ipv6.as_str());
    v4.chain(v6).filter_map(move |cidr| {
        Some(Finding {
            resource_type: ResourceType::SecurityGroup,
            resource_id: group.group_id.clone(),
            vpc_id: group.vpc_id.clone(),
            rule_number: None,
            cidr: cidr.to_string(),
            protocol: protocol_name(protocol),
            ports: ports_text(protocol, from, to),
            severity: classify_sg_cidr(cidr, protocol, from, to, policy)?,
        })
    })
}

/// The findings of one security group's ingress rules.
pub fn classify_security_group(group: &SecurityGroup, policy: &RiskPolicy) -> Vec<Finding> {
    group
        .ip_permissions
        .iter()
        .flat_map(|p| permission_findings(group, p, policy))
        .collect()
}

fn nacl_finding(acl: &NetworkAcl, entry: &NetworkAclEntry, policy: &RiskPolicy) -> Option<Finding> {
    if entry.egress || !entry.rule_action.eq_ignore_ascii_case("allow") {
        return None;
    }
    let cidr = entry
        .cidr_block
        .as_deref()
        .or(entry.ipv6_cidr_block.as_deref())?;
    let range = entry.port_range.as_ref();
    Some(Finding {
        resource_type: ResourceType::NetworkAcl,
        resource_id: acl.network_acl_id.clone(),
        vpc_id: acl.vpc_id.clone(),
        rule_number: Some(entry.rule_number),
        cidr: cidr.to_string(),
        protocol: protocol_name(&entry.protocol),
        ports: ports_text(
            &entry.protocol,
            range.and_then(|r| r.from),
            range.and_then(|r| r.to),
        ),
        severity: classify_nacl_cidr(cidr, policy)?,
    })
}

/// The findings of one network ACL's ingress allow entries.
pub fn classify_network_acl(acl: &NetworkAcl, policy: &RiskPolicy) -> Vec<Finding> {
    acl.entries
        .iter()
        .filter_map(|e| nacl_finding(acl, e, policy))
        .collect()
}

/// Every finding of a set of groups and ACLs, most severe first (stable within a severity).
pub fn classify_all(
    groups: &[SecurityGroup],
    acls: &[NetworkAcl],
    policy: &RiskPolicy,
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = groups
        .iter()
        .flat_map(|g| classify_security_group(g, policy))
        .collect();
    findings.extend(acls.iter().flat_map(|a| classify_network_acl(a, policy)));
    findings.sort_by_key(|f| f.severity);
    findings
}

/// One account's totals in an org scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRisk {
    /// The account id.
    pub account_id: String,
    /// The account's name, when Organizations knows it.
    #[serde(default)]
    pub account_name: String,
    /// Findings by severity.
    #[serde(flatten)]
    pub counts: SeverityCounts,
    /// [`SeverityCounts::risk_score`].
    pub risk_score: u64,
}

/// The `limit` riskiest accounts, highest score first (ties by account id).
pub fn top_accounts(
    accounts: impl IntoIterator<Item = (String, String, SeverityCounts)>,
    limit: usize,
) -> Vec<AccountRisk> {
    let mut ranked: Vec<AccountRisk> = accounts
        .into_iter()
        .map(|(account_id, account_name, counts)| AccountRisk {
            account_id,
            account_name,
            risk_score: counts.risk_score(),
            counts,
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.risk_score
            .cmp(&a.risk_score)
            .then_with(|| a.account_id.cmp(&b.account_id))
    });
    ranked.truncate(limit);
    ranked
}

pub mod tally;

#[cfg(test)]
mod tests;
