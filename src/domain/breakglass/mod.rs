//! Domain layer (pure): break-glass rules from explicit CIDRs or rejected flows, AWS service prefixes.
//!
//! The BreakGlassExtension reconciler (DESIGN §6.2) uses these pieces in order:
//! 1. validate the spec: [`PortSpec`] / [`parse_port_range`], [`parse_cidr`] + [`check_cidr`],
//!    [`validate_group_id`];
//! 2. build the wanted permissions: [`explicit_permissions`], or from rejected flows with
//!    [`filter_flows`] → [`split_aws_service_flows`] (with [`AwsIpRanges`]) →
//!    [`partition_flows_by_group`] (with [`DestinationIndex`]) → [`discovered_groups`] →
//!    [`permissions_from_flows`] (through the [`Collapse`] seam) → [`merge_permissions`];
//!    — or all of flow mode at once: [`attribute`] then [`group_rules`] per group, collapsing
//!    with [`ToleranceCollapse`] (`domain::cidr`'s tolerance collapse);
//! 3. plan each group with [`plan_group`] against the extension's reference-count record
//!    ([`Holding`]) and the other live extensions' ([`Holders`]): what to add within the budget,
//!    which existing rules it now shares;
//! 4. on expiry, deletion or a narrowed spec, revoke only what [`revocation`] allows (never a
//!    rule another live extension holds, an applied tightening [`owners`], or that predates them).

mod aws_ranges;
mod collapse;
mod flows;
mod ledger;
mod perms;
mod ports;
mod rejected;
mod request;
mod supersede;
mod validate;

pub use aws_ranges::{AwsIpRanges, AwsService, SERVICE_BLOCKLIST};
pub use collapse::ToleranceCollapse;
pub use flows::{
    aws_service_permissions, discovered_groups, exact_collapse, explicit_permissions, filter_flows,
    partition_flows_by_group, permissions_from_flows, split_aws_service_flows, AwsServiceSummary,
    Collapse, DestinationIndex, FlowFilter,
};
pub use ledger::{
    covers, plan_group, revocation, traffic_covers, GroupPlan, GroupState, Holders, Holding, Kept,
    Owners, Revocation,
};
pub use perms::{merge_permissions, rule_count, rule_strings};
pub use ports::{parse_port_range, PortSpec};
pub use rejected::{
    attribute, group_rules, public_sources, service_sources, Attributed, GroupWant, Shaping,
};
pub use request::{validate_reason, ExplicitInput, ExplicitRequest, Field, RequestError};
pub use supersede::{canonical, owners, superseded_by, Supersession, TighteningChange};
pub use validate::{
    check_cidr, is_private, parse_checked_cidrs, parse_cidr, rfc1918_blocks, rule_description,
    validate_group_id, CidrPolicy, DESCRIPTION_PREFIX, MAX_DESCRIPTION,
};

/// A break-glass input the controller refuses; each message names the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakGlassError {
    /// A port spec that does not parse.
    #[error("invalid port spec {value:?}: {reason}")]
    InvalidPortSpec {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A CIDR that does not parse.
    #[error("invalid CIDR {value:?}: {reason}")]
    InvalidCidr {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A CIDR that parses but is not allowed.
    #[error("refused CIDR {cidr}: {reason}")]
    RefusedCidr {
        /// The canonical CIDR.
        cidr: String,
        /// Why it is refused.
        reason: String,
    },
    /// A malformed security-group id.
    #[error("invalid security-group id {value:?}: expected sg- followed by 8 or 17 lowercase hex digits")]
    InvalidGroupId {
        /// The value as given.
        value: String,
    },
    /// A required input is absent.
    #[error("missing {what}")]
    Missing {
        /// What is missing, e.g. `at least one CIDR`.
        what: &'static str,
    },
    /// A reason AWS cannot carry in a rule description.
    #[error("invalid reason {value:?}: {reason}")]
    InvalidReason {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Auto-discovery found more groups than allowed.
    #[error("refusing to act: discovered {found} groups, more than autoDiscover.maxGroups {max}; narrow ports or hours, or name groupIds")]
    TooManyGroups {
        /// Groups discovered.
        found: usize,
        /// The limit.
        max: usize,
    },
}

#[cfg(test)]
mod tests;
