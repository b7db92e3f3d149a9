//! Domain layer (pure): rules back to AWS `IpPermission`s — what the AWS layer authorises and
//! revokes. Sources of one protocol/port range share one permission; descriptions are kept.

use super::{ingress_rules, parse_rule, Rule, RuleError, Source, Traffic};
use crate::domain::snapshot::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, SecurityGroup, UserIdGroupPair,
};
use std::collections::BTreeMap;

/// `IpProtocol`, `FromPort`, `ToPort` of a traffic as AWS spells them.
pub fn aws_protocol_ports(traffic: &Traffic) -> (String, Option<i32>, Option<i32>) {
    let icmp = |t: Option<u8>, c: Option<u8>| (t.map_or(-1, i32::from), c.map_or(-1, i32::from));
    match traffic {
        Traffic::Tcp(r) => ("tcp".into(), Some(r.from.into()), Some(r.to.into())),
        Traffic::Udp(r) => ("udp".into(), Some(r.from.into()), Some(r.to.into())),
        Traffic::Icmp { icmp_type, code } => {
            let (t, c) = icmp(*icmp_type, *code);
            ("icmp".into(), Some(t), Some(c))
        }
        Traffic::Icmpv6 { icmp_type, code } => {
            let (t, c) = icmp(*icmp_type, *code);
            ("icmpv6".into(), Some(t), Some(c))
        }
        Traffic::All => ("-1".into(), None, None),
        Traffic::Protocol(n) => (n.to_string(), None, None),
    }
}

/// Batches rules into permissions: one per traffic (sorted), sources in the given order,
/// exact duplicates dropped, each source with its rule's description.
pub fn to_permissions(rules: &[Rule]) -> Vec<IpPermission> {
    let mut by_traffic: BTreeMap<Traffic, IpPermission> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for rule in rules
        .iter()
        .filter(|r| seen.insert((r.traffic, r.source.clone())))
    {
        let perm = by_traffic.entry(rule.traffic).or_insert_with(|| {
            let (ip_protocol, from_port, to_port) = aws_protocol_ports(&rule.traffic);
            IpPermission {
                ip_protocol,
                from_port,
                to_port,
                ..IpPermission::default()
            }
        });
        let description = rule.description.clone();
        match &rule.source {
            Source::V4(net) => perm.ip_ranges.push(IpRange {
                cidr_ip: net.to_string(),
                description,
            }),
            Source::V6(net) => perm.ipv6_ranges.push(Ipv6Range {
                cidr_ipv6: net.to_string(),
                description,
            }),
            Source::Group { group_id, user_id } => perm.user_id_group_pairs.push(UserIdGroupPair {
                group_id: Some(group_id.clone()),
                user_id: user_id.clone(),
                vpc_id: None,
                description,
            }),
            Source::PrefixList(id) => perm.prefix_list_ids.push(PrefixListId {
                prefix_list_id: id.clone(),
                description,
            }),
        }
    }
    by_traffic.into_values().collect()
}

/// Parses rule strings and batches them into permissions, describing each rule with
/// `description` (for example [`description_lookup`] to keep a group's existing descriptions).
pub fn permissions_from_strings(
    strings: &[String],
    description: impl Fn(&Rule) -> Option<String>,
) -> Result<Vec<IpPermission>, RuleError> {
    let rules = strings
        .iter()
        .map(|s| {
            let mut rule = parse_rule(s)?;
            rule.description = description(&rule);
            Ok(rule)
        })
        .collect::<Result<Vec<Rule>, RuleError>>()?;
    Ok(to_permissions(&rules))
}

/// Looks a rule up in `group`'s ingress rules by rule string and returns its description, so a
/// revoke (or a revert) carries the descriptions AWS has. Unknown rules get `None`.
pub fn description_lookup(group: &SecurityGroup) -> impl Fn(&Rule) -> Option<String> {
    let known: BTreeMap<String, Option<String>> = ingress_rules(group)
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.to_string(), r.description))
        .collect();
    move |rule| known.get(&rule.to_string()).cloned().flatten()
}
