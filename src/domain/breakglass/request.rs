//! Domain layer (pure): one explicit break-glass request — groups, CIDRs, ports and the reason —
//! validated the same way for the BreakGlassExtension reconciler and `sg-tightener extend`, and
//! turned into the rules to add: every CIDR on every port, each described with the reason.

use super::ports::PortSpec;
use super::validate::{check_cidr, parse_cidr, rule_description, validate_group_id, CidrPolicy};
use super::BreakGlassError;
use crate::domain::rules::Rule;
use ipnet::Ipv4Net;

/// The longest reason accepted (the CRD's limit; the description adds the prefix to it).
pub const MAX_REASON: usize = 200;

/// Which input a refusal is about; callers name it their way (`spec.rules.cidrs`, `--cidrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The security-group ids.
    GroupIds,
    /// The CIDRs.
    Cidrs,
    /// The port specs.
    Ports,
    /// The reason.
    Reason,
}

/// A refused request: the field, the position in its list, and why (naming the value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct RequestError {
    /// The field at fault.
    pub field: Field,
    /// The position of the bad value in the field's list.
    pub index: Option<usize>,
    /// What is wrong.
    pub error: BreakGlassError,
}

/// The raw input of an explicit request, as the spec or the command line gives it.
#[derive(Debug, Clone, Copy)]
pub struct ExplicitInput<'a> {
    /// Security-group ids.
    pub group_ids: &'a [String],
    /// CIDRs, with prefix lengths.
    pub cidrs: &'a [String],
    /// Port specs: `all`, `icmp`, `tcp:443`, `udp:5000-5010`.
    pub ports: &'a [String],
    /// Why the rules are needed.
    pub reason: &'a str,
}

/// A validated explicit request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplicitRequest {
    /// The groups, deduplicated, in the order given.
    pub group_ids: Vec<String>,
    /// The CIDRs (host bits cleared), deduplicated.
    pub cidrs: Vec<Ipv4Net>,
    /// The port specs, deduplicated.
    pub ports: Vec<PortSpec>,
    /// The description every rule carries: `sg-tightener break-glass: <reason>`.
    pub description: String,
}

fn at(field: Field, index: usize) -> impl Fn(BreakGlassError) -> RequestError {
    move |error| RequestError {
        field,
        index: Some(index),
        error,
    }
}

fn missing(field: Field, what: &'static str) -> RequestError {
    RequestError {
        field,
        index: None,
        error: BreakGlassError::Missing { what },
    }
}

/// Checks a reason: 1–200 characters, only those AWS accepts in a rule description.
pub fn validate_reason(reason: &str) -> Result<(), BreakGlassError> {
    let invalid = |why: &str| BreakGlassError::InvalidReason {
        value: reason.to_string(),
        reason: why.to_string(),
    };
    if reason.trim().is_empty() {
        return Err(invalid(
            "a reason is required, e.g. \"DR failover INC-1234\"",
        ));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(invalid("longer than 200 characters"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || " ._:/()#,@[]+=&;{}!$*-".contains(c);
    match reason.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(invalid(&format!(
            "{c:?} is not allowed in an AWS rule description"
        ))),
        None => Ok(()),
    }
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

impl ExplicitRequest {
    /// Validates every value (the first bad one is named) under `policy`; nothing is half-parsed.
    pub fn parse(input: ExplicitInput<'_>, policy: &CidrPolicy) -> Result<Self, RequestError> {
        validate_reason(input.reason).map_err(|error| RequestError {
            field: Field::Reason,
            index: None,
            error,
        })?;
        let group_ids = Self::groups(input.group_ids)?;
        if input.cidrs.is_empty() {
            return Err(missing(Field::Cidrs, "at least one CIDR"));
        }
        let mut cidrs = Vec::new();
        for (i, text) in input.cidrs.iter().enumerate() {
            let net = parse_cidr(text).map_err(at(Field::Cidrs, i))?;
            check_cidr(&net, policy).map_err(at(Field::Cidrs, i))?;
            cidrs.push(net);
        }
        if input.ports.is_empty() {
            return Err(missing(Field::Ports, "at least one port spec"));
        }
        let mut ports = Vec::new();
        for (i, text) in input.ports.iter().enumerate() {
            ports.push(text.parse::<PortSpec>().map_err(at(Field::Ports, i))?);
        }
        Ok(ExplicitRequest {
            group_ids,
            cidrs: dedup(cidrs),
            ports: dedup(ports),
            description: rule_description(input.reason, None),
        })
    }

    /// Validates group ids (at least one), deduplicated in order.
    pub fn groups(group_ids: &[String]) -> Result<Vec<String>, RequestError> {
        if group_ids.is_empty() {
            return Err(missing(Field::GroupIds, "at least one security-group id"));
        }
        let mut out = Vec::new();
        for (i, id) in group_ids.iter().enumerate() {
            out.push(
                validate_group_id(id)
                    .map_err(at(Field::GroupIds, i))?
                    .to_owned(),
            );
        }
        Ok(dedup(out))
    }

    /// Every CIDR on every port, described with the reason: what each group should allow.
    pub fn rules(&self) -> Vec<Rule> {
        let mut rules: Vec<Rule> = self
            .ports
            .iter()
            .flat_map(|spec| {
                self.cidrs.iter().map(move |cidr| Rule {
                    description: Some(self.description.clone()),
                    ..Rule::v4(spec.traffic(), *cidr)
                })
            })
            .collect();
        rules.sort();
        rules
    }
}
