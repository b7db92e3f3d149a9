//! Controller layer: the break-glass lifecycle around the add — the finalizer (present only with
//! `deletionPolicy: Revoke`), expiry (`Expired=True`, a Warning event, `Revoke` by reference
//! count), supersession by an applied tightening, the phase and `Ready`, the live-rules gauge and
//! the creation → rules-in-AWS histogram, and when to look again.

use super::observe;
use super::release::{added_by_group, release_all};
use super::report::Report;
use super::spec::Validated;
use super::store::{EventKind, FINALIZER};
use super::Deps;
use crate::aws::Target;
use crate::controller::Error;
use crate::crd::{BreakGlassGroupState, BreakGlassPhase, BreakGlassPolicy};
use crate::domain::breakglass::superseded_by;
use crate::domain::conditions::{format_time, reasons, types, Status};
use crate::domain::rules::ingress_rules;
use crate::domain::snapshot::SecurityGroup;
use crate::metrics::{GroupLabels, ModeLabels};
use kube::runtime::controller::Action;
use std::time::Duration;

/// How often a live extension is looked at again (gauges, supersession) besides its expiry.
pub const REFRESH: Duration = Duration::from_secs(600);

/// Adds or removes the finalizer so that it is present exactly when `deletionPolicy: Revoke`.
pub async fn sync_finalizer(report: &Report<'_>, deps: &Deps<'_>) -> Result<(), Error> {
    let object = report.object;
    let wanted = object.spec.deletion_policy == BreakGlassPolicy::Revoke;
    let present = object
        .metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == FINALIZER));
    if wanted != present {
        deps.store.set_finalizer(object, wanted).await?;
    }
    Ok(())
}

/// Sets the live-rules gauge of `group`: its break-glass rules as described, plus `delta`.
pub fn set_gauge(deps: &Deps<'_>, target: &Target, group: &SecurityGroup, delta: i64) {
    let live = ingress_rules(group)
        .map(|rules| rules.iter().filter(|r| r.is_break_glass()).count())
        .unwrap_or_default() as i64;
    let labels = GroupLabels {
        region: target.region.clone(),
        group_id: group.group_id.clone(),
    };
    deps.metrics
        .breakglass_live_rules
        .get_or_create(&labels)
        .set((live + delta).max(0));
}

/// The extension passed its expiry: `Expired=True`, a Warning event once, and — once — its
/// references released (revoking what may go with `onExpiry: Revoke`).
pub async fn expire(
    report: &mut Report<'_>,
    deps: &Deps<'_>,
    target: &Target,
    expires_at: jiff::Timestamp,
) -> Result<Action, Error> {
    let at = format_time(expires_at);
    let revoke = report.object.spec.on_expiry == BreakGlassPolicy::Revoke;
    if report.status.released_at.is_none() {
        let (revoked, kept) = release_all(report, deps, target, revoke).await?;
        let mut message = match revoke {
            true => format!("expired at {at}; revoked {revoked} rules"),
            false => format!("expired at {at}; its rules stay in AWS (onExpiry: Retain)"),
        };
        for k in &kept {
            message.push_str(&format!("; kept {} ({})", k.rule, k.why));
        }
        report.condition(
            types::EXPIRED,
            Status::True,
            reasons::BREAK_GLASS_EXPIRED,
            &message,
        );
    }
    let message = crate::domain::conditions::find(&report.status.conditions, types::EXPIRED)
        .map(|c| c.message.clone())
        .unwrap_or_else(|| format!("expired at {at}"));
    report.status.phase = BreakGlassPhase::Expired;
    report.ready(reasons::BREAK_GLASS_EXPIRED, &message);
    if report.is_transition(types::EXPIRED, reasons::BREAK_GLASS_EXPIRED) {
        report
            .event(EventKind::Warning, reasons::BREAK_GLASS_EXPIRED, message)
            .await;
    }
    Ok(Action::await_change())
}

/// Records the first time the rules reached AWS: `appliedAt` and the creation → AWS histogram.
pub fn first_applied(report: &mut Report<'_>, deps: &Deps<'_>, spec: &Validated) {
    if report.status.applied_at.is_some() || report.status.applied_generation.is_none() {
        return;
    }
    report.status.applied_at = Some(format_time(deps.now));
    let created = report
        .object
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0);
    if let Some(created) = created {
        let seconds = deps.now.duration_since(created).as_secs_f64().max(0.0);
        let labels = ModeLabels {
            mode: spec.mode.label(),
        };
        deps.metrics
            .breakglass_apply_seconds
            .get_or_create(&labels)
            .observe(seconds);
    }
}

/// `Superseded=True` when an applied tightening revoked (removed or replaced) a rule this
/// extension added, naming the tightening and its plan.
pub async fn superseded(report: &mut Report<'_>, deps: &Deps<'_>) -> Result<(), Error> {
    let added = added_by_group(&report.status.groups);
    if added.values().all(|rules| rules.is_empty()) {
        report.condition(
            types::SUPERSEDED,
            Status::False,
            reasons::NOT_SUPERSEDED,
            "no rule of this extension was replaced by a tightening",
        );
        return Ok(());
    }
    let changes = deps.store.tightening_changes().await?;
    let found = superseded_by(&added, &changes);
    match found.first() {
        None => report.condition(
            types::SUPERSEDED,
            Status::False,
            reasons::NOT_SUPERSEDED,
            "no applied tightening revoked a rule of this extension",
        ),
        Some(s) => {
            let message = format!(
                "SecurityGroupTightening {} plan {} revoked or replaced {}",
                s.resource,
                s.plan_hash,
                s.rules.join(", ")
            );
            report.condition(
                types::SUPERSEDED,
                Status::True,
                reasons::SUPERSEDED,
                message,
            );
        }
    }
    Ok(())
}

/// Phase, `Applied` and `Ready` of a live extension, and when to look again.
pub fn report_live(
    report: &mut Report<'_>,
    deps: &Deps<'_>,
    expires_at: jiff::Timestamp,
) -> Action {
    use BreakGlassGroupState as S;
    let states: Vec<(String, S)> = report
        .status
        .groups
        .iter()
        .map(|g| (g.group_id.clone(), g.status))
        .collect();
    let good = |s: S| matches!(s, S::Added | S::AlreadyPresent | S::NoFlowsForGroup);
    let bad: Vec<String> = states
        .iter()
        .filter(|(_, s)| !good(*s))
        .map(|(id, s)| format!("{id} {s:?}"))
        .collect();
    let rules = report.status.rules_added;
    let at = format_time(expires_at);
    report.condition(
        types::EXPIRED,
        Status::False,
        reasons::NOT_EXPIRED,
        format!("expires at {at}"),
    );
    let any_good = states.iter().any(|(_, s)| good(*s));
    if bad.is_empty() {
        let message = match states.iter().all(|(_, s)| *s == S::NoFlowsForGroup) {
            true => format!("no rejected flow to allow; nothing was added; expires at {at}"),
            false => format!(
                "{rules} rules added on {} groups; expires at {at}",
                states.len()
            ),
        };
        report.status.phase = BreakGlassPhase::Applied;
        report.condition(
            types::APPLIED,
            Status::True,
            reasons::BREAK_GLASS_APPLIED,
            &message,
        );
        report.ready(reasons::BREAK_GLASS_APPLIED, &message);
    } else {
        let message = format!(
            "{rules} rules added; not applied on: {} (see status.groups); expires at {at}",
            bad.join(", ")
        );
        let missing = states.iter().all(|(_, s)| *s == S::NotFound);
        let (phase, reason) = match (any_good, missing) {
            (true, _) => (
                BreakGlassPhase::PartiallyApplied,
                reasons::PARTIALLY_APPLIED,
            ),
            (false, true) => (BreakGlassPhase::Failed, reasons::GROUPS_NOT_FOUND),
            (false, false) => (BreakGlassPhase::Failed, reasons::PARTIALLY_APPLIED),
        };
        report.status.phase = phase;
        report.condition(
            types::APPLIED,
            Status::from_bool(any_good),
            reason,
            &message,
        );
        report.stalled(reason, &message);
    }
    let until_expiry = expires_at.duration_since(deps.now).as_secs_f64().max(0.0);
    Action::requeue(Duration::from_secs_f64(
        until_expiry.min(REFRESH.as_secs_f64()) + 0.5,
    ))
}

/// Refreshes the live-rules gauge of the recorded groups (a steady reconcile: no AWS write).
pub async fn refresh_gauges(
    report: &Report<'_>,
    deps: &Deps<'_>,
    target: &Target,
) -> Result<(), Error> {
    let ids = report.group_ids();
    let sg = deps.aws.security_groups(target).await;
    for group in observe::groups(sg.as_ref(), &ids).await?.values() {
        set_gauge(deps, target, group, 0);
    }
    Ok(())
}
