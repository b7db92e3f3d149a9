//! Controller layer: adding an extension's rules (a new generation). Flow mode reads its REJECT
//! records first; then, under the break-glass lock: every extension's references, the live
//! groups, a plan per group (domain `plan_group`: what is absent, within the budget), the rules
//! to add written to status as `pending`, one authorise per group, the record updated — and the
//! rules a narrowed spec no longer asks for released. The status is written before the lock is
//! released, so another extension's decision always sees this one's references.

use super::observe;
use super::release::{record_release, revoke, Released};
use super::report::Report;
use super::spec::{FlowSpec, Mode, Validated};
use super::store::EventKind;
use super::Deps;
use crate::aws::{AuthoriseOutcome, SecurityGroups, Target};
use crate::controller::Error;
use crate::crd::breakglass::AwsServiceSummary as SummaryStatus;
use crate::crd::{BreakGlassGroupState, BreakGlassGroupStatus};
use crate::domain::breakglass::{
    group_rules, owners, plan_group, public_sources, service_sources, Attributed, AwsIpRanges,
    GroupPlan, GroupState, Holders, Shaping,
};
use crate::domain::conditions::reasons;
use crate::domain::evidence::EvidenceDocument;
use crate::domain::rules::{rule_count, to_permissions, Rule};
use crate::domain::snapshot::SecurityGroup;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// At most this many public sources are listed in status.
const MAX_LISTED_PUBLIC: usize = 100;

/// What the request wants, per group.
enum Wants<'f> {
    /// The same rules on every listed group.
    Explicit(Vec<Rule>),
    /// Per group, from its rejected flows.
    Flows {
        attributed: Attributed<'f>,
        ranges: Option<Arc<AwsIpRanges>>,
        spec: &'f FlowSpec,
        description: &'f str,
    },
}

impl Wants<'_> {
    fn for_group(&self, id: &str, live: Option<&SecurityGroup>, max_rules: usize) -> Vec<Rule> {
        match self {
            Wants::Explicit(rules) => rules.clone(),
            Wants::Flows {
                attributed,
                ranges,
                spec,
                description,
            } => {
                let existing = live.map_or(0, |g| rule_count(&g.ip_permissions));
                let shaping = Shaping {
                    tolerance: spec.tolerance,
                    broadest_prefix: spec.broadest_prefix,
                    room: max_rules.saturating_sub(existing),
                };
                let flows = attributed
                    .by_group
                    .get(id)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                group_rules(flows, ranges.as_deref(), description, shaping).rules
            }
        }
    }
}

/// The outcome of one group's authorise.
enum Outcome {
    Done,
    Duplicate,
    Failed(crate::aws::AwsError),
}

/// Adds the rules of the current generation. A retryable AWS failure on a group is returned
/// after the other groups are done and the status is written (the runner backs off and tries
/// again; groups already done are then `AlreadyPresent` for AWS and stay this extension's).
pub async fn run(
    report: &mut Report<'_>,
    deps: &Deps<'_>,
    target: &Target,
    spec: &Validated,
) -> Result<(), Error> {
    let sg = deps.aws.security_groups(target).await;
    let document: Option<EvidenceDocument> = match &spec.mode {
        Mode::Flows(flows) => Some(observe::rejected(deps.aws, target, flows, deps.now).await?),
        Mode::Explicit(_) => None,
    };
    let (wants, request_ids) = match (&spec.mode, &document) {
        (Mode::Explicit(request), _) => {
            (Wants::Explicit(request.rules()), request.group_ids.clone())
        }
        (Mode::Flows(flows), Some(document)) => {
            let (attributed, ids) = observe::attributed(sg.as_ref(), flows, document).await?;
            let ranges = flow_status(report, deps, flows, &attributed).await;
            let wants = Wants::Flows {
                attributed,
                ranges,
                spec: flows,
                description: &spec.description,
            };
            (wants, ids)
        }
        (Mode::Flows(_), None) => unreachable!("flow mode reads its document first"),
    };
    let _guard = deps.lock.lock().await;
    let all = deps.store.extensions().await?;
    let others = observe::holders(&all, report.object, deps.now, &deps.config.break_glass);
    let mut ids = request_ids.clone();
    ids.extend(report.status.groups.iter().map(|g| g.group_id.clone()));
    ids.sort();
    ids.dedup();
    let live = observe::groups(sg.as_ref(), &ids).await?;
    let max_rules = report.object.spec.max_rules as usize;
    let none = Holders::new();
    let mut plans = Vec::new();
    for id in &ids {
        let group = live.get(id);
        let want = match request_ids.contains(id) {
            true => wants.for_group(id, group, max_rules),
            false => Vec::new(),
        };
        let own = report.holding(id);
        let others = others.get(id).unwrap_or(&none);
        let plan = plan_group(group, &want, &own, others, max_rules)
            .map_err(|e| Error::Plan(format!("{id}: {e}")))?;
        plans.push((id.clone(), plan));
    }
    write_ahead(report, &plans).await?;
    let mut retry = None;
    let mut added_now = 0;
    for (id, plan) in &plans {
        let outcome = authorise(sg.as_ref(), id, plan).await;
        if let Outcome::Done = outcome {
            added_now += plan.to_add.len();
        }
        let mut entry = entry_for(report, id, plan, &outcome);
        if let Outcome::Failed(error) = &outcome {
            if error.is_retryable() && retry.is_none() {
                retry = Some(Error::Aws(error.clone()));
            }
        }
        if let Some(group) = live.get(id) {
            let delta = if matches!(outcome, Outcome::Done) {
                plan.to_add.len() as i64
            } else {
                0
            };
            super::lifecycle::set_gauge(deps, target, group, delta);
            if !plan.unwanted.is_empty() {
                entry =
                    release_unwanted(deps, target, sg.as_ref(), group, plan, spec, &others, entry)
                        .await?;
            }
        }
        if request_ids.contains(id) || !entry.added.is_empty() || !entry.shared.is_empty() {
            report.put_group(entry);
        } else {
            report.remove_group(id);
        }
    }
    if retry.is_none() {
        report.status.applied_generation = report.object.metadata.generation;
    }
    report.checkpoint().await?;
    if added_now > 0 {
        let note = format!(
            "added {added_now} break-glass rules for {:?}",
            report.object.spec.reason
        );
        report
            .event(EventKind::Normal, reasons::BREAK_GLASS_APPLIED, note)
            .await;
    }
    retry.map_or(Ok(()), Err)
}

/// Records the rules about to be added (`pending`) before any authorise call.
async fn write_ahead(report: &mut Report<'_>, plans: &[(String, GroupPlan)]) -> Result<(), Error> {
    let adding: Vec<&(String, GroupPlan)> =
        plans.iter().filter(|(_, p)| !p.to_add.is_empty()).collect();
    if adding.is_empty() {
        return Ok(());
    }
    for (id, plan) in adding {
        let mut entry = report.group(id).cloned().unwrap_or_else(|| empty_entry(id));
        let mut pending: BTreeSet<String> = entry.pending.iter().cloned().collect();
        pending.extend(plan.to_add.iter().map(Rule::to_string));
        entry.pending = pending.into_iter().collect();
        report.put_group(entry);
    }
    report.checkpoint().await
}

async fn authorise(sg: &dyn SecurityGroups, id: &str, plan: &GroupPlan) -> Outcome {
    if plan.to_add.is_empty() {
        return Outcome::Done;
    }
    match sg
        .authorise_ingress(id, &to_permissions(&plan.to_add))
        .await
    {
        Ok(AuthoriseOutcome::Authorised) => Outcome::Done,
        Ok(AuthoriseOutcome::AlreadyPresent) => Outcome::Duplicate,
        Err(error) => Outcome::Failed(error),
    }
}

fn empty_entry(id: &str) -> BreakGlassGroupStatus {
    BreakGlassGroupStatus {
        group_id: id.to_owned(),
        status: BreakGlassGroupState::AlreadyPresent,
        added: Vec::new(),
        shared: Vec::new(),
        pending: Vec::new(),
        revoked: Vec::new(),
        existing_rules: 0,
        would_add: 0,
        message: None,
    }
}

/// The status entry of one group after its authorise.
fn entry_for(
    report: &Report<'_>,
    id: &str,
    plan: &GroupPlan,
    outcome: &Outcome,
) -> BreakGlassGroupStatus {
    let previous = report.group(id).cloned().unwrap_or_else(|| empty_entry(id));
    let mut added = plan.added.clone();
    if let Outcome::Done = outcome {
        added.extend(plan.to_add.iter().map(Rule::to_string));
    }
    let (status, message) = match (plan.state, outcome) {
        (_, Outcome::Failed(error)) => (BreakGlassGroupState::Error, Some(error.to_string())),
        (_, Outcome::Duplicate) => (
            BreakGlassGroupState::PartialDuplicate,
            Some("some of the rules appeared in AWS meanwhile, so none was added; trying again".into()),
        ),
        (GroupState::Add, Outcome::Done) => (BreakGlassGroupState::Added, None),
        (GroupState::AlreadyPresent, _) if !added.is_empty() => (BreakGlassGroupState::Added, None),
        (GroupState::AlreadyPresent, _) => (
            BreakGlassGroupState::AlreadyPresent,
            Some("the group already allows every requested rule".into()),
        ),
        (GroupState::SkippedBudget, _) => (
            BreakGlassGroupState::SkippedBudget,
            Some(format!(
                "{} rules + {} new would exceed maxRules {}: raise the tolerance, compact the group, or request a quota increase",
                plan.existing, plan.would_add, report.object.spec.max_rules
            )),
        ),
        (GroupState::NotFound, _) => (
            BreakGlassGroupState::NotFound,
            Some(format!("no security group {id} in {}", report.object.spec.target.region)),
        ),
        (GroupState::NoFlowsForGroup, _) => (
            BreakGlassGroupState::NoFlowsForGroup,
            Some("no rejected flow reached this group's ENIs in the window".into()),
        ),
    };
    BreakGlassGroupStatus {
        group_id: id.to_owned(),
        status,
        added: added.into_iter().collect(),
        shared: plan.shared.iter().cloned().collect(),
        pending: Vec::new(),
        revoked: previous.revoked,
        existing_rules: plan.existing as u32,
        would_add: plan.would_add as u32,
        message,
    }
}

/// Rules a changed spec no longer asks for: revoked when either policy is `Revoke` (if nobody
/// else holds them), else left in AWS; either way no longer this extension's.
#[allow(clippy::too_many_arguments)]
async fn release_unwanted(
    deps: &Deps<'_>,
    target: &Target,
    sg: &dyn SecurityGroups,
    group: &SecurityGroup,
    plan: &GroupPlan,
    spec: &Validated,
    others: &BTreeMap<String, Holders>,
    entry: BreakGlassGroupStatus,
) -> Result<BreakGlassGroupStatus, Error> {
    let mut entry = entry;
    let drop = |list: &mut Vec<String>| list.retain(|r| !plan.unwanted.contains(r));
    drop(&mut entry.added);
    drop(&mut entry.shared);
    if !spec.revoke_on_change {
        let left: Vec<&str> = plan.unwanted.iter().map(String::as_str).collect();
        entry.message = Some(format!(
            "no longer requested, left in AWS (onExpiry and deletionPolicy are Retain): {}",
            left.join(", ")
        ));
        return Ok(entry);
    }
    let changes = deps.store.tightening_changes().await?;
    let none = Holders::new();
    let holders = others.get(&group.group_id).unwrap_or(&none);
    let released: Released = revoke(
        sg,
        group,
        &plan.unwanted,
        holders,
        &owners(&changes, &group.group_id),
    )
    .await?;
    super::lifecycle::set_gauge(deps, target, group, -(released.revoked.len() as i64));
    Ok(record_release(entry, &released))
}

/// Flow mode's status: flows found, AWS service summaries, public sources listed one by one;
/// the `ip-ranges.json` to summarise with, when asked for and available.
async fn flow_status(
    report: &mut Report<'_>,
    deps: &Deps<'_>,
    spec: &FlowSpec,
    attributed: &Attributed<'_>,
) -> Option<Arc<AwsIpRanges>> {
    let flows: Vec<&crate::domain::evidence::Flow> =
        attributed.by_group.values().flatten().copied().collect();
    report.status.discovered_flows = Some(attributed.kept as u64);
    let wanted = spec.filter.include_public && spec.summarise;
    let source = &deps.config.break_glass.aws_ip_ranges;
    let ranges = match wanted {
        true => match deps
            .ranges
            .ranges(source, deps.store, deps.fetch, deps.now)
            .await
        {
            Ok(ranges) => ranges,
            Err(why) => {
                tracing::warn!(%why, "public sources are not summarised");
                None
            }
        },
        false => None,
    };
    report.status.aws_service_summaries = ranges
        .as_deref()
        .map(|r| service_sources(&flows, r))
        .unwrap_or_default()
        .into_iter()
        .map(|(service, sources)| SummaryStatus {
            service: service.service,
            region: service.region,
            prefix: service.prefix.to_string(),
            sources,
        })
        .collect();
    let summarised: BTreeSet<std::net::Ipv4Addr> = ranges
        .as_deref()
        .map(|r| {
            flows
                .iter()
                .filter(|f| r.classify_addr(f.source).is_some())
                .map(|f| f.source)
                .collect()
        })
        .unwrap_or_default();
    let listed: Vec<&crate::domain::evidence::Flow> = flows
        .iter()
        .copied()
        .filter(|f| !summarised.contains(&f.source))
        .collect();
    report.status.public_sources = public_sources(&listed)
        .iter()
        .take(MAX_LISTED_PUBLIC)
        .map(|s| format!("{s}/32"))
        .collect();
    ranges
}
