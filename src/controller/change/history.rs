//! Controller layer: the manifest ConfigMaps as the source of truth for `status.applied`
//! (DESIGN I8) — before every decision the resource's manifests are listed and a lost or stale
//! apply record is taken back from them — and their history: after each new apply only the
//! newest `manifests.keep` are kept.

use super::store::EventKind;
use super::{ChangeStatus, Changing, Deps, Report};
use crate::controller::Error;
use crate::crd::AppliedRecord;
use crate::domain::conditions::reasons;
use crate::domain::tightening::history::{self, AppliedView, ManifestEntry, Recovery};
use kube::ResourceExt;

/// Brings `status.applied` in line with the resource's manifests.
pub async fn recover<K: Changing>(
    report: &mut Report<'_, K>,
    deps: &Deps<'_, K>,
) -> Result<(), Error> {
    let namespace = report.object.namespace().unwrap_or_default();
    let manifests = deps
        .store
        .list_manifests(&namespace, &report.object.name_any())
        .await?;
    let view = report.status.applied().map(|a| AppliedView {
        manifest: &a.manifest_config_map,
        started_at: &a.started_at,
        reverted_at: a.reverted_at.as_deref(),
    });
    match history::recover(view, &manifests) {
        Recovery::Keep => {}
        Recovery::Adopt(entry) => adopt(report, entry).await,
        Recovery::Reverted(at) => {
            if let Some(applied) = report.status.applied_mut().as_mut() {
                applied.revert_started_at = applied.revert_started_at.clone().or(at.clone());
                applied.reverted_at = at;
            }
        }
    }
    Ok(())
}

async fn adopt<K: Changing>(report: &mut Report<'_, K>, entry: ManifestEntry) {
    let message = format!(
        "status.applied did not record the apply of ConfigMap {} (plan {}); taken from the manifest, which is the source of truth{}",
        entry.name,
        crate::crd::short_hash(&entry.plan_hash),
        if entry.reverted_at.is_some() {
            " (reverted)"
        } else {
            ": the apply is finished from it"
        }
    );
    tracing::warn!(object = %report.key(), manifest = %entry.name, "{message}");
    *report.status.applied_mut() = Some(AppliedRecord {
        plan_hash: entry.plan_hash,
        started_at: entry.created_at,
        finished_at: None,
        manifest_config_map: entry.name,
        groups: Vec::new(),
        revert_started_at: entry.reverted_at.clone(),
        reverted_at: entry.reverted_at,
    });
    report
        .event(EventKind::Warning, reasons::APPLY_RECOVERED, message)
        .await;
}

/// Deletes the resource's manifests beyond the newest `manifests.keep` (never the current one).
/// Best effort: a failure is logged, the apply goes on.
pub async fn collect_garbage<K: Changing>(report: &Report<'_, K>, deps: &Deps<'_, K>) {
    let namespace = report.object.namespace().unwrap_or_default();
    let current = report
        .status
        .applied()
        .map(|a| a.manifest_config_map.as_str());
    let listed = deps
        .store
        .list_manifests(&namespace, &report.object.name_any())
        .await;
    let manifests = match listed {
        Ok(m) => m,
        Err(error) => {
            tracing::warn!(object = %report.key(), %error, "failed to list manifests for garbage collection");
            return;
        }
    };
    let keep = deps.config.manifests.keep as usize;
    for name in history::expired(&manifests, keep, current) {
        match deps.store.delete_manifest(&namespace, &name).await {
            Ok(()) => {
                tracing::info!(object = %report.key(), manifest = %name, "deleted an old manifest")
            }
            Err(error) => {
                tracing::warn!(object = %report.key(), manifest = %name, %error, "failed to delete an old manifest")
            }
        }
    }
}
