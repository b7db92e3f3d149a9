//! Controller layer: the live groups a changing resource selects, read before every decision
//! and again right before an apply's write-ahead.

use super::Changing;
use crate::aws::{GroupSelector, SecurityGroups};
use crate::controller::Error;
use crate::domain::snapshot::SecurityGroup;

/// The live groups of `spec.groups` — the listed `ids`, plus every group carrying all `tags` in
/// one of `vpcIds` (a union, as the CRD documents; one AWS filter would intersect them) — sorted
/// by id, and the requested ids that do not exist.
pub async fn groups<K: Changing>(
    sg: &dyn SecurityGroups,
    object: &K,
) -> Result<(Vec<SecurityGroup>, Vec<String>), Error> {
    let wanted = object.selector();
    let by_ids = GroupSelector::ids(wanted.ids.clone());
    let by_filters = GroupSelector {
        ids: Vec::new(),
        ..wanted.clone()
    };
    let mut groups = Vec::new();
    for selector in [by_ids, by_filters].into_iter().filter(|s| !s.is_empty()) {
        groups.extend(sg.describe_groups(&selector).await?);
    }
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    groups.dedup_by(|a, b| a.group_id == b.group_id);
    let missing = wanted
        .ids
        .iter()
        .filter(|id| !groups.iter().any(|g| &g.group_id == *id))
        .cloned()
        .collect();
    Ok((groups, missing))
}
