//! Controller layer: what the break-glass reconcile reads before it decides — the AWS target the
//! tenancy rules allow, the references the other live extensions hold, the live groups, and in
//! flow mode the REJECT records of the last hours and the ENIs that own their destinations.

use super::spec::{expiry_of, FlowSpec, Groups};
use super::Deps;
use crate::aws::{AwsPorts, EvidenceRequest, GroupSelector, SecurityGroups, Target};
use crate::config::BreakGlassSettings;
use crate::controller::target::resolve as resolve_target;
use crate::controller::Error;
use crate::crd::BreakGlassExtension;
use crate::domain::breakglass::{
    attribute, discovered_groups, Attributed, DestinationIndex, Holders,
};
use crate::domain::evidence::{EvidenceDocument, Window};
use crate::domain::flowlog::ActionFilter;
use crate::domain::snapshot::SecurityGroup;
use kube::ResourceExt;
use std::collections::{BTreeMap, BTreeSet};

/// The account and role for the extension: tenancy first (no AWS call when `accountId` is set).
pub async fn target(object: &BreakGlassExtension, deps: &Deps<'_>) -> Result<Target, Error> {
    let namespace = object.namespace().unwrap_or_default();
    resolve_target(&namespace, &object.spec.target, deps.config, deps.aws).await
}

/// `namespace/name` of an extension.
pub fn key_of(object: &BreakGlassExtension) -> String {
    format!(
        "{}/{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    )
}

/// True while an extension holds its references: not being deleted, not released, not expired.
pub fn is_live(
    object: &BreakGlassExtension,
    now: jiff::Timestamp,
    settings: &BreakGlassSettings,
) -> bool {
    let released = object
        .status
        .as_ref()
        .is_some_and(|s| s.released_at.is_some());
    let expired = expiry_of(object, settings).is_some_and(|at| at <= now);
    object.metadata.deletion_timestamp.is_none() && !released && !expired
}

/// Per group, the references every other live extension in the same region holds.
pub fn holders(
    all: &[BreakGlassExtension],
    me: &BreakGlassExtension,
    now: jiff::Timestamp,
    settings: &BreakGlassSettings,
) -> BTreeMap<String, Holders> {
    let mine = key_of(me);
    let mut out: BTreeMap<String, Holders> = BTreeMap::new();
    let others = all.iter().filter(|e| {
        key_of(e) != mine
            && e.spec.target.region == me.spec.target.region
            && is_live(e, now, settings)
    });
    for other in others {
        let name = key_of(other);
        let groups = other.status.iter().flat_map(|s| &s.groups);
        for group in groups {
            let rules = group
                .added
                .iter()
                .chain(&group.shared)
                .chain(&group.pending);
            let held = out.entry(group.group_id.clone()).or_default();
            for rule in rules {
                held.entry(rule.clone()).or_default().insert(name.clone());
            }
        }
    }
    out
}

/// The groups by id (those that exist).
pub async fn groups(
    sg: &dyn SecurityGroups,
    ids: &[String],
) -> Result<BTreeMap<String, SecurityGroup>, Error> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let found = sg
        .describe_groups(&GroupSelector::ids(ids.to_vec()))
        .await?;
    Ok(found.into_iter().map(|g| (g.group_id.clone(), g)).collect())
}

/// The REJECT records of the last `hours` (records whose start/end overlap the window).
pub async fn rejected(
    aws: &dyn AwsPorts,
    target: &Target,
    spec: &FlowSpec,
    now: jiff::Timestamp,
) -> Result<EvidenceDocument, Error> {
    let hours = jiff::SignedDuration::from_hours(i64::from(spec.hours));
    let request = EvidenceRequest {
        source: spec.source.clone(),
        window: Window {
            start: now - hours,
            end: now,
        },
        action: ActionFilter::Reject,
        coverage_interfaces: Vec::new(),
        fresh_since: None,
    };
    Ok(aws.flow_logs(target).await.collect(&request).await?)
}

/// Flows attributed to the groups flow mode acts on: the listed groups (through their ENIs), or
/// every group of the ENIs that own the destinations — refused when more than `max`.
pub async fn attributed<'f>(
    sg: &dyn SecurityGroups,
    spec: &FlowSpec,
    document: &'f EvidenceDocument,
) -> Result<(Attributed<'f>, Vec<String>), Error> {
    let interfaces = match &spec.groups {
        Groups::Listed(ids) => sg.describe_network_interfaces(ids).await?,
        Groups::Discover { .. } => {
            let destinations: BTreeSet<String> = document
                .flows
                .iter()
                .map(|f| f.destination.to_string())
                .collect();
            let destinations: Vec<String> = destinations.into_iter().collect();
            if destinations.is_empty() {
                Vec::new()
            } else {
                sg.describe_interfaces_by_address(&destinations).await?
            }
        }
    };
    let index = DestinationIndex::from_interfaces(&interfaces);
    let mut attributed = attribute(&document.flows, &spec.filter, &index);
    let groups = match &spec.groups {
        Groups::Listed(ids) => {
            attributed.by_group.retain(|g, _| ids.contains(g));
            ids.clone()
        }
        Groups::Discover { max } => discovered_groups(&attributed.by_group, *max)
            .map_err(|e| Error::TooManyGroups(e.to_string()))?,
    };
    Ok((attributed, groups))
}
