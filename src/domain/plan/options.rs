//! Domain layer (pure): the knobs of a tightening plan (DESIGN §6.1 `collapse` and `evidence`).

use crate::domain::evidence::attribution::AttributionMode;
use crate::domain::rules::DEFAULT_PREFIX_THRESHOLD;
use crate::domain::snapshot::SecurityGroup;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// Default AWS rules-per-group limit.
pub const DEFAULT_MAX_RULES: u32 = 60;
/// Default gap tolerance.
pub const DEFAULT_TOLERANCE: f64 = 0.30;
/// The tag CloudFormation puts on every resource of a stack.
pub const CLOUDFORMATION_STACK_TAG: &str = "aws:cloudformation:stack-name";

/// What to do with an eligible rule that has no evidence at all.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum NoEvidence {
    /// Leave the rule untouched and say so in the group's warnings (default).
    #[default]
    Keep,
    /// Revoke the rule without replacement.
    Revoke,
}

/// A tag that marks a group as owned by infrastructure as code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IacTag {
    /// Tag key, e.g. `managed-by`.
    pub key: String,
    /// Required value, e.g. `terraform`; `None` = any value.
    pub value: Option<String>,
}

impl IacTag {
    /// The CloudFormation stack tag (any value) and `managed-by: terraform`.
    pub fn defaults() -> Vec<IacTag> {
        vec![
            IacTag {
                key: CLOUDFORMATION_STACK_TAG.into(),
                value: None,
            },
            IacTag {
                key: "managed-by".into(),
                value: Some("terraform".into()),
            },
        ]
    }

    /// The first of `tags` that `group` carries, as `key=value`.
    pub fn owner(group: &SecurityGroup, tags: &[IacTag]) -> Option<String> {
        group.tags.iter().find_map(|t| {
            let hit = tags
                .iter()
                .any(|iac| iac.key == t.key && iac.value.as_ref().is_none_or(|v| *v == t.value));
            hit.then(|| format!("{}={}", t.key, t.value))
        })
    }
}

/// Everything a tightening plan depends on besides the groups and the evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    /// Rules-per-group limit (invariant I4).
    pub max_rules: u32,
    /// Initial gap tolerance, 0..=1.
    pub tolerance: f64,
    /// Only CIDRs shorter than this prefix are eligible (I2).
    pub prefix_threshold: u8,
    /// Rules without evidence: keep (default) or revoke.
    pub no_evidence: NoEvidence,
    /// How strictly flows must reach a rule's group.
    pub attribution: AttributionMode,
    /// CIDRs the user vouches for: they count as observed.
    pub additional_sources: Vec<Ipv4Net>,
    /// CIDRs that never count as observed.
    pub exclude_sources: Vec<Ipv4Net>,
    /// Tags that mark a group as owned by infrastructure as code.
    pub iac_tags: Vec<IacTag>,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            max_rules: DEFAULT_MAX_RULES,
            tolerance: DEFAULT_TOLERANCE,
            prefix_threshold: DEFAULT_PREFIX_THRESHOLD,
            no_evidence: NoEvidence::Keep,
            attribution: AttributionMode::Group,
            additional_sources: Vec::new(),
            exclude_sources: Vec::new(),
            iac_tags: IacTag::defaults(),
        }
    }
}
