//! Config layer (pure): validation of every field, naming the field and the value on failure.

use super::tenancy::account_of_arn;
use super::{ConfigError, ControllerConfig, TenancyRule};
use std::fmt::Debug;
use std::net::SocketAddr;

type Check = Result<(), ConfigError>;

fn invalid(field: impl Into<String>, value: impl Debug, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        value: format!("{value:?}"),
        problem: problem.into(),
    }
}

fn ensure(ok: bool, field: impl Into<String>, value: impl Debug, problem: &str) -> Check {
    if ok {
        Ok(())
    } else {
        Err(invalid(field, value, problem))
    }
}

/// Validates the whole configuration.
pub(super) fn config(c: &ControllerConfig) -> Check {
    aws(c)?;
    for (index, rule) in c.tenancy.iter().enumerate() {
        tenancy_rule(index, rule)?;
    }
    break_glass(c)?;
    let role = &c.org_scan.default_role_name;
    ensure(
        is_role_name(role),
        "orgScan.defaultRoleName",
        role,
        "must be an IAM role name: 1-64 of A-Z a-z 0-9 + = , . @ _ -",
    )?;
    let concurrency = c.reconcile.concurrency;
    ensure(
        (1..=64).contains(&concurrency),
        "reconcile.concurrency",
        concurrency,
        "must be between 1 and 64",
    )?;
    leader_election(c)?;
    watch_namespaces(c)?;
    ensure(
        (1..=1000).contains(&c.manifests.keep),
        "manifests.keep",
        c.manifests.keep,
        "must be between 1 and 1000",
    )?;
    ensure(
        (1..=65536).contains(&c.evidence.memory_mib),
        "evidence.memoryMiB",
        c.evidence.memory_mib,
        "must be between 1 and 65536 (MiB)",
    )?;
    let address = &c.http.address;
    ensure(
        address.parse::<SocketAddr>().is_ok(),
        "http.address",
        address,
        "must be an IP address and port, e.g. 0.0.0.0:8080",
    )
}

fn aws(c: &ControllerConfig) -> Check {
    let url = &c.aws.endpoint_url;
    ensure(
        url.is_empty() || url.starts_with("http://") || url.starts_with("https://"),
        "aws.endpointUrl",
        url,
        "must be empty or an http:// or https:// URL",
    )?;
    ensure(
        (1..=20).contains(&c.aws.max_attempts),
        "aws.maxAttempts",
        c.aws.max_attempts,
        "must be between 1 and 20",
    )
}

fn tenancy_rule(index: usize, rule: &TenancyRule) -> Check {
    let at = |field: &str| format!("tenancy[{index}].{field}");
    ensure(
        !rule.namespaces.is_empty(),
        at("namespaces"),
        &rule.namespaces,
        "must list at least one namespace pattern",
    )?;
    for (i, pattern) in rule.namespaces.iter().enumerate() {
        let valid = !pattern.is_empty()
            && pattern
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "-*".contains(ch));
        ensure(
            valid,
            at(&format!("namespaces[{i}]")),
            pattern,
            "must be a namespace name or a pattern with * (lowercase letters, digits, -)",
        )?;
    }
    ensure(
        !rule.accounts.is_empty(),
        at("accounts"),
        &rule.accounts,
        "must list at least one account pattern",
    )?;
    for (i, pattern) in rule.accounts.iter().enumerate() {
        ensure(
            is_account_pattern(pattern),
            at(&format!("accounts[{i}]")),
            pattern,
            "must be a 12-digit account id or a pattern with *",
        )?;
    }
    role_template(&at("roleArnTemplate"), rule)
}

fn role_template(field: &str, rule: &TenancyRule) -> Check {
    let template = &rule.role_arn_template;
    if template.is_empty() {
        return Ok(());
    }
    let text = &template.0;
    ensure(
        text.starts_with("arn:"),
        field,
        text,
        "must start with arn:",
    )?;
    if let Some(token) = template.unknown_placeholder() {
        return Err(invalid(
            field,
            text,
            format!("unknown placeholder {token}; use {{partition}} and {{account}}"),
        ));
    }
    if text.contains("{account}") {
        return Ok(());
    }
    // A fixed role is only right when every account the rule covers is that role's account.
    let role_account = account_of_arn(text);
    let fixed = rule
        .accounts
        .iter()
        .all(|a| Some(a.as_str()) == role_account);
    ensure(
        fixed,
        field,
        text,
        "must contain {account} unless the rule lists exactly the role's own account",
    )
}

fn break_glass(c: &ControllerConfig) -> Check {
    let bg = &c.break_glass;
    ensure(
        (1..=32).contains(&bg.broadest_prefix),
        "breakGlass.broadestPrefix",
        bg.broadest_prefix,
        "must be between 1 and 32",
    )?;
    for (field, value) in [
        ("breakGlass.defaultExpiresAfter", bg.default_expires_after),
        ("breakGlass.maxExpiresAfter", bg.max_expires_after),
    ] {
        ensure(
            !value.0.is_zero(),
            field,
            value.to_string(),
            "must be longer than 0s",
        )?;
    }
    ensure(
        bg.default_expires_after <= bg.max_expires_after,
        "breakGlass.defaultExpiresAfter",
        bg.default_expires_after.to_string(),
        &format!(
            "must not exceed breakGlass.maxExpiresAfter ({})",
            bg.max_expires_after
        ),
    )?;
    ip_ranges(&bg.aws_ip_ranges)
}

fn ip_ranges(source: &super::IpRangesSource) -> Check {
    let map = &source.config_map;
    let named = map.split_once('/').is_some_and(|(namespace, name)| {
        is_dns_subdomain(namespace) && !namespace.contains('.') && is_dns_subdomain(name)
    });
    ensure(
        map.is_empty() || named,
        "breakGlass.awsIpRanges.configMap",
        map,
        "must be empty or namespace/name of a ConfigMap",
    )?;
    let url = &source.url;
    ensure(
        url.is_empty() || url.starts_with("http://") || url.starts_with("https://"),
        "breakGlass.awsIpRanges.url",
        url,
        "must be empty or an http:// or https:// URL",
    )?;
    ensure(
        map.is_empty() || url.is_empty(),
        "breakGlass.awsIpRanges",
        (map, url),
        "set configMap or url, not both",
    )
}

fn leader_election(c: &ControllerConfig) -> Check {
    let le = &c.leader_election;
    ensure(
        is_dns_subdomain(&le.lease_name),
        "leaderElection.leaseName",
        &le.lease_name,
        "must be a DNS subdomain name (lowercase letters, digits, - and .)",
    )?;
    ensure(
        le.namespace.is_empty() || (is_dns_subdomain(&le.namespace) && !le.namespace.contains('.')),
        "leaderElection.namespace",
        &le.namespace,
        "must be empty or a namespace name",
    )?;
    ensure(
        le.lease_duration.0.as_secs() >= 3,
        "leaderElection.leaseDuration",
        le.lease_duration.to_string(),
        "must be at least 3s",
    )
}

fn watch_namespaces(c: &ControllerConfig) -> Check {
    for (i, namespace) in c.watch_namespaces.iter().enumerate() {
        ensure(
            is_namespace_name(namespace),
            format!("watchNamespaces[{i}]"),
            namespace,
            "must be a namespace name (1-63 lowercase letters, digits and -)",
        )?;
        let repeated = c.watch_namespaces[..i].contains(namespace);
        ensure(
            !repeated,
            format!("watchNamespaces[{i}]"),
            namespace,
            "is listed twice",
        )?;
    }
    Ok(())
}

fn is_namespace_name(name: &str) -> bool {
    name.len() <= 63 && is_dns_subdomain(name) && !name.contains('.')
}

fn is_account_pattern(pattern: &str) -> bool {
    let well_formed =
        !pattern.is_empty() && pattern.chars().all(|ch| ch.is_ascii_digit() || ch == '*');
    well_formed && (pattern.contains('*') || pattern.len() == 12)
}

fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "+=,.@_-".contains(ch))
}

fn is_dns_subdomain(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=253).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'.')
}
