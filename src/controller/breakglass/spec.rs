//! Controller layer: what a BreakGlassExtension's spec means — the checks only the controller
//! can make (DESIGN I12: the configuration's `broadestPrefix`, `allowPublic` and expiry limits),
//! shared with `sg-tightener extend` through the domain's explicit request — and when it expires.
//! All pure.

use crate::aws::EvidenceSource;
use crate::config::{BreakGlassSettings, GoDuration};
use crate::crd::breakglass::{AutoDiscover, FromRejectedFlows};
use crate::crd::{BreakGlassExtension, BreakGlassExtensionSpec, BreakGlassPolicy, CloudWatchMode};
use crate::domain::breakglass::{
    parse_port_range, rule_description, validate_reason, CidrPolicy, ExplicitInput,
    ExplicitRequest, Field, FlowFilter, RequestError,
};
use std::time::Duration;

/// A spec the controller accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// Explicit rules or rejected flows.
    pub mode: Mode,
    /// The lifetime (`expiresAfter`, or the configured default).
    pub expires_after: Duration,
    /// Every rule's description: `sg-tightener break-glass: <reason>`.
    pub description: String,
    /// Rules a changed spec no longer asks for are revoked (either policy is `Revoke`).
    pub revoke_on_change: bool,
}

/// How the extension finds its rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// `rules.cidrs` × `rules.ports` on `groupIds`.
    Explicit(ExplicitRequest),
    /// `fromRejectedFlows`.
    Flows(FlowSpec),
}

impl Mode {
    /// The metric label: `explicit` or `rejectedFlows`.
    pub fn label(&self) -> &'static str {
        match self {
            Mode::Explicit(_) => "explicit",
            Mode::Flows(_) => "rejectedFlows",
        }
    }
}

/// Flow mode, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowSpec {
    /// Where the REJECT records are.
    pub source: EvidenceSource,
    /// Hours counted back from now.
    pub hours: u32,
    /// Ports and public sources.
    pub filter: FlowFilter,
    /// Share of never-seen addresses in a block.
    pub tolerance: f64,
    /// Summarise AWS service sources into their prefixes.
    pub summarise: bool,
    /// The groups: listed, or discovered from the ENIs (at most `max`).
    pub groups: Groups,
    /// `breakGlass.broadestPrefix`.
    pub broadest_prefix: u8,
}

/// Which groups flow mode acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Groups {
    /// `groupIds`.
    Listed(Vec<String>),
    /// `autoDiscover.maxGroups`.
    Discover {
        /// The most groups it may act on.
        max: usize,
    },
}

/// The spec path of a request field, with the position of the bad value.
fn field_path(error: &RequestError, list: &str) -> String {
    let name = match error.field {
        Field::GroupIds => "spec.groupIds".to_owned(),
        Field::Cidrs => format!("{list}.cidrs"),
        Field::Ports => format!("{list}.ports"),
        Field::Reason => "spec.reason".to_owned(),
    };
    match error.index {
        Some(i) => format!("{name}[{i}]"),
        None => name,
    }
}

/// Checks the schema cannot express; the error names the field and its value.
pub fn validate(
    spec: &BreakGlassExtensionSpec,
    settings: &BreakGlassSettings,
) -> Result<Validated, String> {
    let expires_after = expires_after(spec, settings)?;
    let mode = match (&spec.rules, &spec.from_rejected_flows) {
        (Some(rules), None) => {
            let input = ExplicitInput {
                group_ids: &spec.group_ids,
                cidrs: &rules.cidrs,
                ports: &rules.ports,
                reason: &spec.reason,
            };
            let policy = CidrPolicy {
                broadest_prefix: settings.broadest_prefix,
                allow_public: settings.allow_public,
            };
            let request = ExplicitRequest::parse(input, &policy)
                .map_err(|e| format!("{}: {e}", field_path(&e, "spec.rules")))?;
            Mode::Explicit(request)
        }
        (None, Some(flows)) => Mode::Flows(flow_spec(spec, flows, settings)?),
        _ => return Err("spec: exactly one of rules, fromRejectedFlows must be set".into()),
    };
    let revoke = |p: BreakGlassPolicy| p == BreakGlassPolicy::Revoke;
    Ok(Validated {
        mode,
        expires_after,
        description: rule_description(&spec.reason, None),
        revoke_on_change: revoke(spec.on_expiry) || revoke(spec.deletion_policy),
    })
}

fn flow_spec(
    spec: &BreakGlassExtensionSpec,
    flows: &FromRejectedFlows,
    settings: &BreakGlassSettings,
) -> Result<FlowSpec, String> {
    validate_reason(&spec.reason).map_err(|e| format!("spec.reason: {e}"))?;
    let groups = match (&spec.auto_discover, spec.group_ids.is_empty()) {
        (Some(AutoDiscover { max_groups }), true) => Groups::Discover {
            max: *max_groups as usize,
        },
        (None, false) => Groups::Listed(
            ExplicitRequest::groups(&spec.group_ids)
                .map_err(|e| format!("{}: {e}", field_path(&e, "spec")))?,
        ),
        _ => return Err("spec: exactly one of groupIds, autoDiscover must be set".into()),
    };
    let mut ports = Vec::new();
    for (i, text) in flows.ports.iter().enumerate() {
        let range = parse_port_range(text)
            .map_err(|e| format!("spec.fromRejectedFlows.ports[{i}]: {e}"))?;
        ports.push(range);
    }
    if flows.include_public && !settings.allow_public {
        return Err(
            "spec.fromRejectedFlows.includePublic: true, but the controller configuration \
                    does not allow public sources (breakGlass.allowPublic: false)"
                .into(),
        );
    }
    if !(0.0..=0.95).contains(&flows.tolerance) {
        return Err(format!(
            "spec.fromRejectedFlows.tolerance: {} is not within 0–0.95",
            flows.tolerance
        ));
    }
    if !(1..=168).contains(&flows.hours) {
        return Err(format!(
            "spec.fromRejectedFlows.hours: {} is not within 1–168",
            flows.hours
        ));
    }
    Ok(FlowSpec {
        source: flow_source(flows)?,
        hours: flows.hours,
        filter: FlowFilter {
            ports: (!ports.is_empty()).then_some(ports),
            include_public: flows.include_public,
        },
        tolerance: flows.tolerance,
        summarise: flows.summarise_aws_services,
        groups,
        broadest_prefix: settings.broadest_prefix,
    })
}

fn flow_source(flows: &FromRejectedFlows) -> Result<EvidenceSource, String> {
    match (&flows.s3, &flows.cloud_watch) {
        (Some(s3), None) => Ok(EvidenceSource::S3 {
            bucket: s3.bucket.clone(),
            prefix: s3.prefix.clone(),
        }),
        (None, Some(cw)) => {
            if let Some(format) = cw.log_format.as_deref() {
                crate::domain::flowlog::check_log_format(
                    format,
                    crate::domain::flowlog::ActionFilter::Reject,
                )
                .map_err(|error| format!("spec.fromRejectedFlows.cloudWatch.logFormat: {error}"))?;
            }
            let (log_group, log_format) = (cw.log_group.clone(), cw.log_format.clone());
            Ok(match cw.mode {
                CloudWatchMode::Insights => EvidenceSource::CloudWatchInsights {
                    log_group,
                    log_format,
                },
                CloudWatchMode::Filter => EvidenceSource::CloudWatchFilter {
                    log_group,
                    log_format,
                },
            })
        }
        _ => Err("spec.fromRejectedFlows: exactly one of s3, cloudWatch must be set".into()),
    }
}

/// `spec.expiresAfter`, or the configured default; longer than the configured maximum is refused.
pub fn expires_after(
    spec: &BreakGlassExtensionSpec,
    settings: &BreakGlassSettings,
) -> Result<Duration, String> {
    let Some(text) = spec.expires_after.as_deref() else {
        return Ok(settings.default_expires_after.as_std());
    };
    let after: GoDuration = text
        .parse()
        .map_err(|e| format!("spec.expiresAfter: {text:?} is not a duration: {e}"))?;
    if after.as_std().is_zero() {
        return Err(format!(
            "spec.expiresAfter: {text:?} must be longer than 0s"
        ));
    }
    if after > settings.max_expires_after {
        return Err(format!(
            "spec.expiresAfter: {text:?} is longer than the configured maximum {} (breakGlass.maxExpiresAfter)",
            settings.max_expires_after
        ));
    }
    Ok(after.as_std())
}

/// When the extension expires: its creation plus `after` (`None` before it is created).
pub fn expires_at(object: &BreakGlassExtension, after: Duration) -> Option<jiff::Timestamp> {
    let created = object.metadata.creation_timestamp.as_ref()?.0;
    let after = jiff::SignedDuration::try_from(after).ok()?;
    created.checked_add(after).ok()
}

/// When any extension expires, as well as it can be known: from its spec, else from its status.
pub fn expiry_of(
    object: &BreakGlassExtension,
    settings: &BreakGlassSettings,
) -> Option<jiff::Timestamp> {
    let from_spec = expires_after(&object.spec, settings)
        .ok()
        .and_then(|after| expires_at(object, after));
    from_spec.or_else(|| {
        let status = object.status.as_ref()?;
        status.expires_at.as_deref()?.parse().ok()
    })
}
