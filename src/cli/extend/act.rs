//! CLI layer: what `extend` does in AWS — describe the groups, decide per group with the
//! domain's `plan_group` (absent rules only, within the budget; with no cluster there is no
//! other extension to share with), print or add; and revoke exactly what a manifest added
//! (only rules still carrying the break-glass description: never one a tightening took over).

use super::manifest::{self, ExtendManifest, GroupEntry, SCHEMA};
use super::{AddRequest, ExtendArgs};
use crate::aws::{
    AuthoriseOutcome, AwsPorts, ClientFactory, GroupSelector, SecurityGroups, Target,
};
use crate::cli::CliError;
use crate::config::ControllerConfig;
use crate::domain::breakglass::{
    plan_group, revocation, GroupPlan, GroupState, Holders, Holding, Owners,
};
use crate::domain::conditions::format_time;
use crate::domain::rules::{ingress_rules, to_permissions, Rule};
use crate::domain::snapshot::SecurityGroup;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

fn aws_failed(error: impl std::fmt::Display) -> CliError {
    CliError::Failed(error.to_string())
}

async fn security_groups(config: &ControllerConfig, target: &Target) -> Arc<dyn SecurityGroups> {
    ClientFactory::from_env(&config.aws, None)
        .await
        .security_groups(target)
        .await
}

async fn describe(
    sg: &dyn SecurityGroups,
    ids: Vec<String>,
) -> Result<BTreeMap<String, SecurityGroup>, CliError> {
    let groups = sg
        .describe_groups(&GroupSelector::ids(ids))
        .await
        .map_err(aws_failed)?;
    Ok(groups
        .into_iter()
        .map(|g| (g.group_id.clone(), g))
        .collect())
}

fn print(manifest: &ExtendManifest) -> Result<(), CliError> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(manifest).map_err(std::io::Error::other)?;
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}

fn planned(id: &str, plan: &GroupPlan, max_rules: u32) -> GroupEntry {
    let (status, message) = match plan.state {
        GroupState::Add => ("WouldAdd", None),
        GroupState::AlreadyPresent => (
            "AlreadyPresent",
            Some("the group already allows every rule".into()),
        ),
        GroupState::SkippedBudget => (
            "SkippedBudget",
            Some(format!(
                "{} rules + {} new would exceed --max-rules {max_rules}",
                plan.existing, plan.would_add
            )),
        ),
        GroupState::NotFound => (
            "NotFound",
            Some("no such group in this region and account".into()),
        ),
        GroupState::NoFlowsForGroup => ("AlreadyPresent", None),
    };
    GroupEntry {
        group_id: id.to_owned(),
        status: status.into(),
        added: plan.to_add.iter().map(Rule::to_string).collect(),
        existing_rules: plan.existing,
        message,
    }
}

/// Adds the request's rules (or, without `--yes`, prints what it would add).
pub async fn add(
    args: &ExtendArgs,
    config: &ControllerConfig,
    add: &AddRequest,
) -> Result<(), CliError> {
    let target = Target {
        region: add.region.clone(),
        role_arn: args.role_arn.clone(),
        external_id: None,
    };
    let sg = security_groups(config, &target).await;
    let live = describe(sg.as_ref(), add.request.group_ids.clone()).await?;
    let rules = add.request.rules();
    let (none, nobody) = (Holding::default(), Holders::new());
    let mut plans = Vec::new();
    for id in &add.request.group_ids {
        let plan = plan_group(
            live.get(id),
            &rules,
            &none,
            &nobody,
            args.max_rules as usize,
        )
        .map_err(|e| aws_failed(format!("{id}: {e}")))?;
        plans.push((id.clone(), plan));
    }
    let now = jiff::Timestamp::now();
    let mut manifest = ExtendManifest {
        schema: SCHEMA.into(),
        region: add.region.clone(),
        role_arn: args.role_arn.clone(),
        reason: add.reason.clone(),
        created_at: format_time(now),
        applied: false,
        groups: plans
            .iter()
            .map(|(id, p)| planned(id, p, args.max_rules))
            .collect(),
    };
    if !args.yes {
        print(&manifest)?;
        eprintln!(
            "sg-tightener: dry run, nothing was changed; run again with --yes to add these rules"
        );
        return Ok(());
    }
    let path = args
        .manifest
        .clone()
        .unwrap_or_else(|| manifest::default_path(now));
    // Written first: whatever happens next, the manifest names every rule that may be added.
    manifest::write(&path, &manifest)?;
    let mut failed = Vec::new();
    for ((id, plan), entry) in plans.iter().zip(manifest.groups.iter_mut()) {
        if plan.to_add.is_empty() {
            entry.added.clear();
            continue;
        }
        match sg
            .authorise_ingress(id, &to_permissions(&plan.to_add))
            .await
        {
            Ok(AuthoriseOutcome::Authorised) => entry.status = "Added".into(),
            Ok(AuthoriseOutcome::AlreadyPresent) => {
                entry.status = "PartialDuplicate".into();
                entry.message =
                    Some("some rules appeared meanwhile, so none was added; run again".into());
                entry.added.clear();
            }
            Err(error) => {
                failed.push(format!("{id}: {error}"));
                entry.status = "Error".into();
                entry.message = Some(error.to_string());
                entry.added.clear();
            }
        }
    }
    manifest.applied = true;
    manifest::write(&path, &manifest)?;
    print(&manifest)?;
    eprintln!(
        "sg-tightener: manifest {}; remove these rules with: sg-tightener extend --revoke {} --yes",
        path.display(),
        path.display()
    );
    match failed.is_empty() {
        true => Ok(()),
        false => Err(CliError::Failed(format!(
            "some groups failed: {}",
            failed.join("; ")
        ))),
    }
}

/// Revokes what the manifest at `path` added (or, without `--yes`, prints what it would revoke).
pub async fn revoke(
    args: &ExtendArgs,
    config: &ControllerConfig,
    path: &Path,
) -> Result<(), CliError> {
    let mut manifest = manifest::read(path)?;
    let target = Target {
        region: manifest.region.clone(),
        role_arn: args.role_arn.clone().or_else(|| manifest.role_arn.clone()),
        external_id: None,
    };
    let sg = security_groups(config, &target).await;
    let ids: Vec<String> = manifest.groups.iter().map(|g| g.group_id.clone()).collect();
    let live = describe(sg.as_ref(), ids).await?;
    for entry in manifest.groups.iter_mut() {
        let candidates: BTreeSet<String> = entry.added.iter().cloned().collect();
        let rules = live
            .get(&entry.group_id)
            .map(ingress_rules)
            .transpose()
            .map_err(|e| aws_failed(format!("{}: {e}", entry.group_id)))?
            .unwrap_or_default();
        let decision = revocation(&candidates, &rules, &Holders::new(), &Owners::new());
        let mut notes: Vec<String> = decision
            .kept
            .iter()
            .map(|k| format!("kept {} ({})", k.rule, k.why))
            .collect();
        notes.extend(decision.gone.iter().map(|g| format!("{g} already gone")));
        entry.added = decision.revoke.iter().map(Rule::to_string).collect();
        entry.message = (!notes.is_empty()).then(|| notes.join("; "));
        entry.status = "WouldRevoke".into();
        if args.yes && !decision.revoke.is_empty() {
            sg.revoke_ingress(&entry.group_id, &to_permissions(&decision.revoke))
                .await
                .map_err(aws_failed)?;
            entry.status = "Revoked".into();
        }
    }
    manifest.applied = args.yes;
    print(&manifest)?;
    if !args.yes {
        eprintln!("sg-tightener: dry run, nothing was changed; run again with --yes to revoke these rules");
    }
    Ok(())
}
