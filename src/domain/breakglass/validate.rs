//! Domain layer (pure): break-glass input validation — CIDRs, group ids, the refusal of world and
//! too-broad sources, public sources only when allowed, and AWS-safe rule descriptions.

use super::BreakGlassError;
use ipnet::Ipv4Net;

/// Every break-glass rule description starts with this, so plans and audits recognise the rules.
pub const DESCRIPTION_PREFIX: &str = "sg-tightener break-glass";

/// AWS's limit on a rule description's length.
pub const MAX_DESCRIPTION: usize = 255;

/// Which sources the controller configuration and the spec allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CidrPolicy {
    /// The broadest prefix allowed (`broadGlass.broadestPrefix`, default 16): `/8` is refused at 16.
    pub broadest_prefix: u8,
    /// Public (non-RFC 1918) sources allowed: the config's `allowPublic` and the spec's `includePublic`.
    pub allow_public: bool,
}

impl Default for CidrPolicy {
    fn default() -> Self {
        CidrPolicy {
            broadest_prefix: 16,
            allow_public: false,
        }
    }
}

/// The three RFC 1918 blocks.
pub fn rfc1918_blocks() -> [Ipv4Net; 3] {
    [
        Ipv4Net::new_assert([10, 0, 0, 0].into(), 8),
        Ipv4Net::new_assert([172, 16, 0, 0].into(), 12),
        Ipv4Net::new_assert([192, 168, 0, 0].into(), 16),
    ]
}

/// True when `net` lies inside one RFC 1918 block.
pub fn is_private(net: &Ipv4Net) -> bool {
    rfc1918_blocks().iter().any(|b| b.contains(net))
}

/// Parses an IPv4 CIDR that must carry a prefix length; host bits are cleared (`10.1.2.3/16` →
/// `10.1.0.0/16`).
pub fn parse_cidr(value: &str) -> Result<Ipv4Net, BreakGlassError> {
    let invalid = |reason: &str| BreakGlassError::InvalidCidr {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let text = value.trim();
    if !text.contains('/') {
        return Err(invalid("a CIDR needs a prefix length, e.g. 10.4.0.0/16"));
    }
    if text.contains(':') {
        return Err(invalid("IPv6 sources are not supported by break-glass"));
    }
    text.parse::<Ipv4Net>()
        .map(|n| n.trunc())
        .map_err(|_| invalid("not an IPv4 CIDR"))
}

/// Refuses `0.0.0.0/0`, blocks broader than the policy's `broadest_prefix`, and public blocks
/// unless the policy allows them.
pub fn check_cidr(net: &Ipv4Net, policy: &CidrPolicy) -> Result<(), BreakGlassError> {
    let refuse = |reason: String| {
        Err(BreakGlassError::RefusedCidr {
            cidr: net.to_string(),
            reason,
        })
    };
    if net.prefix_len() == 0 {
        return refuse("the whole internet is never allowed".into());
    }
    if net.prefix_len() < policy.broadest_prefix {
        return refuse(format!(
            "broader than the allowed /{}",
            policy.broadest_prefix
        ));
    }
    if !policy.allow_public && !is_private(net) {
        return refuse("public sources need includePublic and the controller's allowPublic".into());
    }
    Ok(())
}

/// Parses and checks every CIDR; the first failure names its value.
pub fn parse_checked_cidrs<'a>(
    values: impl IntoIterator<Item = &'a str>,
    policy: &CidrPolicy,
) -> Result<Vec<Ipv4Net>, BreakGlassError> {
    values
        .into_iter()
        .map(|v| parse_cidr(v).and_then(|n| check_cidr(&n, policy).map(|()| n)))
        .collect()
}

/// Validates a security-group id: `sg-` followed by 8 or 17 lowercase hex digits.
pub fn validate_group_id(value: &str) -> Result<&str, BreakGlassError> {
    let hex = value.strip_prefix("sg-").unwrap_or("");
    let well_formed =
        matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if well_formed {
        Ok(value)
    } else {
        Err(BreakGlassError::InvalidGroupId {
            value: value.to_string(),
        })
    }
}

/// A rule description: `sg-tightener break-glass: <reason>[ (<detail>)]`, limited to the
/// characters AWS accepts (others become `_`) and to 255 characters.
pub fn rule_description(reason: &str, detail: Option<&str>) -> String {
    let reason = reason.trim();
    let mut text = if reason.is_empty() {
        DESCRIPTION_PREFIX.to_string()
    } else {
        format!("{DESCRIPTION_PREFIX}: {reason}")
    };
    if let Some(detail) = detail.filter(|d| !d.trim().is_empty()) {
        text.push_str(&format!(" ({})", detail.trim()));
    }
    text.chars()
        .map(|c| if allowed_in_description(c) { c } else { '_' })
        .take(MAX_DESCRIPTION)
        .collect()
}

/// AWS: `a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*`.
fn allowed_in_description(c: char) -> bool {
    c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c)
}
