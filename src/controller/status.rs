//! Controller layer: status writes by server-side apply under the field manager `sg-tightener`,
//! and the placeholder reconcile every kind uses until its own reconciler lands
//! (`Ready=Unknown, reason=NotImplemented`).

use super::context::{Context, MANAGER};
use super::error::Error;
use super::runner::{object_key, Reconciler};
use crate::domain::conditions::Condition;
use k8s_openapi::jiff::{Timestamp, Unit};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::ResourceExt;
use serde_json::{json, Value};
use std::sync::Arc;

/// Reason of the placeholder `Ready` condition.
pub const NOT_IMPLEMENTED: &str = "NotImplemented";

/// Applies `status` (the whole status this controller owns) to the object's status subresource.
pub async fn apply_status<K: Reconciler>(
    client: &kube::Client,
    object: &K,
    status: Value,
) -> Result<(), Error> {
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    let params = PatchParams::apply(MANAGER).force();
    api.patch_status(&object.name_any(), &params, &Patch::Apply(&patch))
        .await
        .map_err(|e| Error::kube(format!("patch status of {}", object_key(object)), e))?;
    Ok(())
}

/// Like [`apply_status`], but with `resource_version` the write is a precondition: the API
/// server refuses it (409 Conflict) when the object changed since that version was read, so a
/// reconcile working from a stale cached object cannot overwrite newer status. Returns the
/// object's new resourceVersion.
pub async fn apply_status_at<K: Reconciler>(
    client: &kube::Client,
    object: &K,
    status: Value,
    resource_version: Option<&str>,
) -> Result<Option<String>, Error> {
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    let mut patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    if let Some(version) = resource_version {
        patch["metadata"] = json!({ "name": object.name_any(), "resourceVersion": version });
    }
    let params = PatchParams::apply(MANAGER).force();
    let updated = api
        .patch_status(&object.name_any(), &params, &Patch::Apply(&patch))
        .await
        .map_err(|e| Error::kube(format!("patch status of {}", object_key(object)), e))?;
    Ok(updated.resource_version())
}

/// The object's current `status.conditions`, read through JSON so it works for any kind.
pub fn current_conditions<K: Reconciler>(object: &K) -> Result<Vec<Condition>, Error> {
    let value = serde_json::to_value(object).map_err(|source| Error::Serialize {
        what: "object",
        source,
    })?;
    match value.pointer("/status/conditions") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(conditions) => {
            serde_json::from_value(conditions.clone()).map_err(|source| Error::Serialize {
                what: "status.conditions",
                source,
            })
        }
    }
}

/// `wanted`, keeping the previous `lastTransitionTime` when the status did not flip.
pub fn carry_transition_time(mut wanted: Condition, previous: &[Condition]) -> Condition {
    if let Some(old) = previous
        .iter()
        .find(|c| c.type_ == wanted.type_ && c.status == wanted.status)
    {
        wanted.last_transition_time = old.last_transition_time.clone();
    }
    wanted
}

/// Now, to the second, as metav1.Time writes it.
pub fn now_rfc3339() -> String {
    Timestamp::now()
        .round(Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The placeholder `Ready` condition for `generation`.
pub fn not_implemented_condition(generation: Option<i64>, now: String) -> Condition {
    Condition {
        type_: "Ready".into(),
        status: "Unknown".into(),
        reason: NOT_IMPLEMENTED.into(),
        message: "sg-tightener does not reconcile this kind yet; nothing was done in AWS".into(),
        observed_generation: generation,
        last_transition_time: now,
    }
}

/// The placeholder reconcile: reports `Ready=Unknown, reason=NotImplemented` and the observed
/// generation, touches nothing else, and skips the write when the status already says so.
pub async fn not_implemented<K: Reconciler>(
    object: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let generation = object.meta().generation;
    let previous = current_conditions(object.as_ref())?;
    let ready = carry_transition_time(
        not_implemented_condition(generation, now_rfc3339()),
        &previous,
    );
    let observed = serde_json::to_value(object.as_ref()).ok().and_then(|v| {
        v.pointer("/status/observedGeneration")
            .and_then(Value::as_i64)
    });
    if observed == generation && previous.contains(&ready) {
        return Ok(Action::await_change());
    }
    let status = json!({ "observedGeneration": generation, "conditions": [ready] });
    apply_status(&ctx.client, object.as_ref(), status).await?;
    tracing::info!(object = %object_key(object.as_ref()), "reported {NOT_IMPLEMENTED}");
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(status: &str, time: &str) -> Condition {
        Condition {
            type_: "Ready".into(),
            status: status.into(),
            reason: "Whatever".into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: time.into(),
        }
    }

    #[test]
    fn the_transition_time_moves_only_when_the_status_flips() {
        let previous = [ready("Unknown", "2024-01-01T00:00:00Z")];
        let same = not_implemented_condition(Some(2), "2025-06-01T00:00:00Z".into());
        assert_eq!(
            carry_transition_time(same, &previous).last_transition_time,
            "2024-01-01T00:00:00Z"
        );
        let flipped = Condition {
            status: "False".into(),
            ..not_implemented_condition(Some(2), "2025-06-01T00:00:00Z".into())
        };
        assert_eq!(
            carry_transition_time(flipped, &previous).last_transition_time,
            "2025-06-01T00:00:00Z"
        );
    }

    #[test]
    fn the_placeholder_carries_the_generation_and_reason() {
        let condition = not_implemented_condition(Some(7), now_rfc3339());
        assert_eq!(
            (condition.status.as_str(), condition.reason.as_str()),
            ("Unknown", "NotImplemented")
        );
        assert_eq!(condition.observed_generation, Some(7));
        assert!(
            condition.last_transition_time.ends_with('Z'),
            "{}",
            condition.last_transition_time
        );
        assert!(
            !condition.last_transition_time.contains('.'),
            "whole seconds only"
        );
    }
}
