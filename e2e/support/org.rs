//! e2e: an AWS Organization in moto for the OrgRiskScan scenarios — a management account of the
//! test's own, root → `workloads` OU → nested `team` OU, five member accounts (one closed, hence
//! SUSPENDED), each with a VPC and a group of permissive rules in two regions — and an
//! independent classification of what the describes return, to check the operator's counts.

use super::aws::TestAccount;
use aws_config::Region;
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range};
use aws_sdk_organizations::types::OrganizationFeatureSet;
use std::collections::BTreeMap;

/// The role Organizations creates in every member account.
pub const MEMBER_ROLE: &str = "OrganizationAccountAccessRole";
/// The two regions every scenario scans.
pub const REGIONS: [&str; 2] = ["af-south-1", "eu-west-1"];

/// One member account.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub name: String,
    /// Where it sits: `root`, `workloads` or `team`.
    pub parent: &'static str,
    pub active: bool,
}

/// The organisation.
pub struct Org {
    /// The management account; the operator runs with its credentials.
    pub management: TestAccount,
    pub root: String,
    /// `workloads` OU (under the root) and `team` OU (under `workloads`).
    pub workloads: String,
    pub team: String,
    pub members: Vec<Member>,
}

/// Severity counts `[critical, high, medium, low]`.
pub type Counts = [u64; 4];

impl Org {
    /// Creates the organisation and the member accounts' rules in both regions. Member `i`
    /// (0-based) gets `i` extra `/20` rules, so the ranking is strict.
    pub async fn create() -> Org {
        let management = TestAccount::new().await;
        let org = aws_sdk_organizations::Client::new(management.sdk_config());
        org.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await
            .expect("create_organization");
        let roots = org.list_roots().send().await.expect("list_roots");
        let root = roots.roots()[0].id().expect("root id").to_owned();
        let workloads = create_ou(&org, &root, "workloads").await;
        let team = create_ou(&org, &workloads, "team").await;
        let layout = [
            ("root", &root),
            ("workloads", &workloads),
            ("workloads", &workloads),
            ("team", &team),
            ("team", &team),
        ];
        let mut members = Vec::new();
        for (i, (parent, parent_id)) in layout.into_iter().enumerate() {
            let name = format!("member-{i}");
            let id = create_account(&org, &name).await;
            if parent_id != &root {
                org.move_account()
                    .account_id(&id)
                    .source_parent_id(&root)
                    .destination_parent_id(parent_id)
                    .send()
                    .await
                    .expect("move_account");
            }
            members.push(Member {
                id,
                name,
                parent,
                active: true,
            });
        }
        let closed = members.last_mut().expect("five members");
        org.close_account()
            .account_id(&closed.id)
            .send()
            .await
            .expect("close_account");
        closed.active = false;
        for (i, member) in members.iter().enumerate() {
            let account = TestAccount::enter(&member.id, MEMBER_ROLE).await;
            for region in REGIONS {
                permissive_group(&account, region, i).await;
            }
        }
        Org {
            management,
            root,
            workloads,
            team,
            members,
        }
    }

    /// The ACTIVE accounts under `parent` (`root`, `workloads` or `team`), the management
    /// account included for the root.
    pub fn active_under(&self, parent: &str) -> Vec<(String, String)> {
        let levels: &[&str] = match parent {
            "root" => &["root", "workloads", "team"],
            "workloads" => &["workloads", "team"],
            _ => &["team"],
        };
        let mut ids: Vec<(String, String)> = self
            .members
            .iter()
            .filter(|m| m.active && levels.contains(&m.parent))
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect();
        if parent == "root" {
            ids.push((self.management.id.clone(), "master".into()));
        }
        ids.sort();
        ids
    }
}

async fn create_ou(org: &aws_sdk_organizations::Client, parent: &str, name: &str) -> String {
    let ou = org
        .create_organizational_unit()
        .parent_id(parent)
        .name(name)
        .send()
        .await
        .expect("create_organizational_unit");
    ou.organizational_unit()
        .and_then(|o| o.id())
        .expect("OU id")
        .to_owned()
}

async fn create_account(org: &aws_sdk_organizations::Client, name: &str) -> String {
    let email = format!("{name}-{}@example.com", super::names::unique_u64());
    let created = org
        .create_account()
        .account_name(name)
        .email(email)
        .send()
        .await
        .expect("create_account");
    let status = created.create_account_status().expect("a status");
    status
        .account_id()
        .expect("moto creates at once")
        .to_owned()
}

/// An EC2 client of `account` in `region`.
pub fn ec2_in(account: &TestAccount, region: &str) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::config::Builder::from(account.sdk_config())
        .region(Region::new(region.to_owned()))
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}

fn tcp(port: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
}

/// A VPC and a group with world SSH, `::/0` RDP, a private `/16`, a `/20` and `extra` more `/20`s.
async fn permissive_group(account: &TestAccount, region: &str, extra: usize) {
    let ec2 = ec2_in(account, region);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .expect("create_vpc");
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).expect("vpc id");
    let group = ec2
        .create_security_group()
        .vpc_id(vpc_id)
        .group_name("permissive")
        .description("sg-tightener e2e org scan")
        .send()
        .await
        .expect("create_security_group");
    let v4 = |cidr: &str| IpRange::builder().cidr_ip(cidr).build();
    let mut private = tcp(443)
        .ip_ranges(v4("10.0.0.0/16"))
        .ip_ranges(v4("10.1.0.0/20"));
    for i in 0..extra {
        private = private.ip_ranges(v4(&format!("10.{}.0.0/20", i + 2)));
    }
    let permissions = [
        tcp(22).ip_ranges(v4("0.0.0.0/0")).build(),
        tcp(3389)
            .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
            .build(),
        private.build(),
    ];
    ec2.authorize_security_group_ingress()
        .group_id(group.group_id().expect("group id"))
        .set_ip_permissions(Some(permissions.to_vec()))
        .send()
        .await
        .expect("authorize_security_group_ingress");
}

/// Whether `cidr` lies inside 10/8, 172.16/12 or 192.168/16; its prefix length if so.
fn private_prefix(cidr: &str) -> Option<u8> {
    let net: ipnet::Ipv4Net = cidr.parse().ok()?;
    let blocks = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
    blocks
        .iter()
        .any(|b| b.parse::<ipnet::Ipv4Net>().is_ok_and(|b| b.contains(&net)))
        .then_some(net.prefix_len())
}

fn is_world(cidr: &str) -> bool {
    cidr == "0.0.0.0/0" || cidr == "::/0"
}

/// Counts the findings of one account × region from its describes, independently of the
/// operator's code (DESIGN §6.3's table, prefix threshold 24, the default critical ports).
pub async fn expected_counts(account: &TestAccount, region: &str) -> Counts {
    let ec2 = ec2_in(account, region);
    let critical_ports = sg_tightener::domain::risk::DEFAULT_CRITICAL_PORTS;
    let mut counts = [0u64; 4];
    let groups = ec2
        .describe_security_groups()
        .send()
        .await
        .expect("describe");
    for group in groups.security_groups() {
        for p in group.ip_permissions() {
            let all = p.ip_protocol() == Some("-1");
            let (lo, hi) = (p.from_port().unwrap_or(0), p.to_port().unwrap_or(65_535));
            let critical = all
                || critical_ports
                    .iter()
                    .any(|c| (lo..=hi).contains(&(*c as i32)));
            let v4 = p.ip_ranges().iter().filter_map(|r| r.cidr_ip());
            let v6 = p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6());
            for cidr in v4.chain(v6) {
                let slot = match (is_world(cidr), private_prefix(cidr)) {
                    (true, _) if critical => Some(0),
                    (true, _) => Some(1),
                    (false, Some(0..=16)) => Some(1),
                    (false, Some(17..=20)) => Some(2),
                    (false, Some(21..=23)) => Some(3),
                    _ => None,
                };
                slot.into_iter().for_each(|s| counts[s] += 1);
            }
        }
    }
    let acls = ec2.describe_network_acls().send().await.expect("describe");
    for acl in acls.network_acls() {
        for e in acl.entries() {
            let allow = e.rule_action().map(|a| a.as_str()) == Some("allow");
            if e.egress() == Some(true) || !allow {
                continue;
            }
            let cidr = e.cidr_block().or(e.ipv6_cidr_block()).unwrap_or_default();
            let slot = match (is_world(cidr), private_prefix(cidr)) {
                (true, _) => Some(1),
                (false, Some(0..=16)) => Some(2),
                (false, Some(17..=23)) => Some(3),
                _ => None,
            };
            slot.into_iter().for_each(|s| counts[s] += 1);
        }
    }
    counts
}

/// Expected counts per account over both regions.
pub async fn expected(accounts: &[(String, String)]) -> BTreeMap<String, Counts> {
    let mut out = BTreeMap::new();
    for (id, _) in accounts {
        let account = TestAccount::enter(id, MEMBER_ROLE).await;
        let mut total = [0u64; 4];
        for region in REGIONS {
            let counts = expected_counts(&account, region).await;
            total.iter_mut().zip(counts).for_each(|(t, c)| *t += c);
        }
        out.insert(id.clone(), total);
    }
    out
}

/// `critical·10⁶ + high·10⁴ + medium·10² + low`.
pub fn score(c: &Counts) -> u64 {
    c[0] * 1_000_000 + c[1] * 10_000 + c[2] * 100 + c[3]
}

/// Account ids by descending score, ties by id.
pub fn ranking(expected: &BTreeMap<String, Counts>) -> Vec<String> {
    let mut ids: Vec<&String> = expected.keys().collect();
    ids.sort_by(|a, b| {
        score(&expected[*b])
            .cmp(&score(&expected[*a]))
            .then(a.cmp(b))
    });
    ids.into_iter().cloned().collect()
}
