//! AWS layer: conversions between `aws-sdk-ec2` types and the domain's snapshot types. Lossless
//! for every field the snapshot carries (descriptions included) in both directions.

use crate::domain::snapshot as snap;
use aws_sdk_ec2::types as sdk;

fn opt(text: Option<&str>) -> Option<String> {
    text.map(str::to_owned)
}

fn some_vec<T>(items: Vec<T>) -> Option<Vec<T>> {
    Some(items).filter(|v| !v.is_empty())
}

/// An SDK security group as a snapshot.
pub fn group_from_sdk(group: &sdk::SecurityGroup) -> snap::SecurityGroup {
    snap::SecurityGroup {
        group_id: group.group_id().unwrap_or_default().to_owned(),
        group_name: group.group_name().unwrap_or_default().to_owned(),
        description: opt(group.description()),
        vpc_id: opt(group.vpc_id()),
        owner_id: opt(group.owner_id()),
        ip_permissions: group
            .ip_permissions()
            .iter()
            .map(permission_from_sdk)
            .collect(),
        ip_permissions_egress: group
            .ip_permissions_egress()
            .iter()
            .map(permission_from_sdk)
            .collect(),
        tags: group
            .tags()
            .iter()
            .map(|t| snap::Tag {
                key: t.key().unwrap_or_default().to_owned(),
                value: t.value().unwrap_or_default().to_owned(),
            })
            .collect(),
    }
}

/// An SDK permission as a snapshot permission.
pub fn permission_from_sdk(p: &sdk::IpPermission) -> snap::IpPermission {
    snap::IpPermission {
        ip_protocol: p.ip_protocol().unwrap_or("-1").to_owned(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        ip_ranges: p
            .ip_ranges()
            .iter()
            .map(|r| snap::IpRange {
                cidr_ip: r.cidr_ip().unwrap_or_default().to_owned(),
                description: opt(r.description()),
            })
            .collect(),
        ipv6_ranges: p
            .ipv6_ranges()
            .iter()
            .map(|r| snap::Ipv6Range {
                cidr_ipv6: r.cidr_ipv6().unwrap_or_default().to_owned(),
                description: opt(r.description()),
            })
            .collect(),
        user_id_group_pairs: p
            .user_id_group_pairs()
            .iter()
            .map(|g| snap::UserIdGroupPair {
                group_id: opt(g.group_id()),
                user_id: opt(g.user_id()),
                vpc_id: opt(g.vpc_id()),
                description: opt(g.description()),
            })
            .collect(),
        prefix_list_ids: p
            .prefix_list_ids()
            .iter()
            .map(|l| snap::PrefixListId {
                prefix_list_id: l.prefix_list_id().unwrap_or_default().to_owned(),
                description: opt(l.description()),
            })
            .collect(),
    }
}

/// A snapshot permission as an SDK permission (for authorise and revoke requests).
pub fn permission_to_sdk(p: &snap::IpPermission) -> sdk::IpPermission {
    let ip_ranges = p.ip_ranges.iter().map(|r| {
        sdk::IpRange::builder()
            .cidr_ip(&r.cidr_ip)
            .set_description(r.description.clone())
            .build()
    });
    let ipv6_ranges = p.ipv6_ranges.iter().map(|r| {
        sdk::Ipv6Range::builder()
            .cidr_ipv6(&r.cidr_ipv6)
            .set_description(r.description.clone())
            .build()
    });
    let pairs = p.user_id_group_pairs.iter().map(|g| {
        sdk::UserIdGroupPair::builder()
            .set_group_id(g.group_id.clone())
            .set_user_id(g.user_id.clone())
            .set_vpc_id(g.vpc_id.clone())
            .set_description(g.description.clone())
            .build()
    });
    let prefix_lists = p.prefix_list_ids.iter().map(|l| {
        sdk::PrefixListId::builder()
            .prefix_list_id(&l.prefix_list_id)
            .set_description(l.description.clone())
            .build()
    });
    sdk::IpPermission::builder()
        .ip_protocol(&p.ip_protocol)
        .set_from_port(p.from_port)
        .set_to_port(p.to_port)
        .set_ip_ranges(some_vec(ip_ranges.collect()))
        .set_ipv6_ranges(some_vec(ipv6_ranges.collect()))
        .set_user_id_group_pairs(some_vec(pairs.collect()))
        .set_prefix_list_ids(some_vec(prefix_lists.collect()))
        .build()
}

/// An SDK network interface as a snapshot.
pub fn interface_from_sdk(eni: &sdk::NetworkInterface) -> snap::NetworkInterface {
    snap::NetworkInterface {
        network_interface_id: eni.network_interface_id().unwrap_or_default().to_owned(),
        private_ip_address: opt(eni.private_ip_address()),
        private_ip_addresses: eni
            .private_ip_addresses()
            .iter()
            .map(|a| snap::PrivateIpAddress {
                private_ip_address: a.private_ip_address().unwrap_or_default().to_owned(),
                primary: a.primary().unwrap_or(false),
            })
            .collect(),
        groups: eni
            .groups()
            .iter()
            .map(|g| snap::GroupIdentifier {
                group_id: g.group_id().unwrap_or_default().to_owned(),
                group_name: opt(g.group_name()),
            })
            .collect(),
        vpc_id: opt(eni.vpc_id()),
        subnet_id: opt(eni.subnet_id()),
    }
}

/// An SDK network ACL as a snapshot (every entry, ingress and egress, allow and deny).
pub fn network_acl_from_sdk(acl: &sdk::NetworkAcl) -> snap::NetworkAcl {
    snap::NetworkAcl {
        network_acl_id: acl.network_acl_id().unwrap_or_default().to_owned(),
        vpc_id: opt(acl.vpc_id()),
        entries: acl
            .entries()
            .iter()
            .map(|e| snap::NetworkAclEntry {
                rule_number: e.rule_number().unwrap_or_default(),
                protocol: e.protocol().unwrap_or("-1").to_owned(),
                rule_action: e
                    .rule_action()
                    .map(|a| a.as_str().to_owned())
                    .unwrap_or_default(),
                egress: e.egress().unwrap_or(false),
                cidr_block: opt(e.cidr_block()),
                ipv6_cidr_block: opt(e.ipv6_cidr_block()),
                port_range: e.port_range().map(|r| snap::NaclPortRange {
                    from: r.from(),
                    to: r.to(),
                }),
            })
            .collect(),
    }
}
