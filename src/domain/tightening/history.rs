//! Domain layer (pure): the manifests of one resource against its `status.applied`. The manifest
//! ConfigMaps are the source of truth (DESIGN I8): a status that lost its apply record (a stale
//! write, a restore from backup, a hand edit) gets it back from the newest manifest, and a
//! manifest marked reverted marks the record reverted. Also: which old manifests to delete.

/// One manifest ConfigMap as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// The ConfigMap's name.
    pub name: String,
    /// The plan it applied.
    pub plan_hash: String,
    /// When it was written (RFC 3339), from the manifest itself.
    pub created_at: String,
    /// When a revert of it was verified (RFC 3339), if one was.
    pub reverted_at: Option<String>,
}

/// What `status.applied` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedView<'a> {
    /// `manifestConfigMap`.
    pub manifest: &'a str,
    /// `startedAt`.
    pub started_at: &'a str,
    /// `revertedAt`.
    pub reverted_at: Option<&'a str>,
}

/// How to bring `status.applied` in line with the manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// They agree.
    Keep,
    /// Status lacks this (newer) apply: take the record from the manifest.
    Adopt(ManifestEntry),
    /// Same apply, but the manifest says otherwise about its revert: set `revertedAt` to this.
    Reverted(Option<String>),
}

fn at(text: &str) -> Option<jiff::Timestamp> {
    text.parse().ok()
}

fn newest(manifests: &[ManifestEntry]) -> Option<&ManifestEntry> {
    manifests
        .iter()
        .max_by(|a, b| (at(&a.created_at), &a.name).cmp(&(at(&b.created_at), &b.name)))
}

/// Compares status with the resource's manifests.
pub fn recover(applied: Option<AppliedView<'_>>, manifests: &[ManifestEntry]) -> Recovery {
    let latest = newest(manifests);
    let Some(applied) = applied else {
        return latest.map_or(Recovery::Keep, |m| Recovery::Adopt(m.clone()));
    };
    let recorded = manifests.iter().find(|m| m.name == applied.manifest);
    let since = recorded.map_or(applied.started_at, |m| m.created_at.as_str());
    if let Some(latest) = latest.filter(|l| l.name != applied.manifest) {
        if at(&latest.created_at) > at(since) {
            return Recovery::Adopt(latest.clone());
        }
    }
    match recorded {
        Some(m) if m.reverted_at.as_deref() != applied.reverted_at => {
            Recovery::Reverted(m.reverted_at.clone())
        }
        _ => Recovery::Keep,
    }
}

/// The manifests to delete so that the newest `keep` remain; `current` (the one status names)
/// is never deleted.
pub fn expired(manifests: &[ManifestEntry], keep: usize, current: Option<&str>) -> Vec<String> {
    let mut sorted: Vec<&ManifestEntry> = manifests.iter().collect();
    sorted.sort_by(|a, b| (at(&b.created_at), &b.name).cmp(&(at(&a.created_at), &a.name)));
    sorted
        .into_iter()
        .skip(keep)
        .filter(|m| Some(m.name.as_str()) != current)
        .map(|m| m.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, day: u8, reverted: bool) -> ManifestEntry {
        ManifestEntry {
            name: name.into(),
            plan_hash: format!("hash-{name}"),
            created_at: format!("2026-01-{day:02}T00:00:00Z"),
            reverted_at: reverted.then(|| format!("2026-01-{day:02}T01:00:00Z")),
        }
    }

    fn view<'a>(m: &'a ManifestEntry, reverted_at: Option<&'a str>) -> AppliedView<'a> {
        AppliedView {
            manifest: &m.name,
            started_at: &m.created_at,
            reverted_at,
        }
    }

    #[test]
    fn a_lost_apply_record_is_taken_from_the_newest_manifest() {
        let (old, new) = (entry("a", 1, true), entry("b", 2, false));
        let both = [new.clone(), old.clone()];
        assert_eq!(recover(None, &both), Recovery::Adopt(new.clone()));
        assert_eq!(recover(None, &[]), Recovery::Keep);
        let stale = view(&old, old.reverted_at.as_deref());
        assert_eq!(recover(Some(stale), &both), Recovery::Adopt(new.clone()));
    }

    #[test]
    fn the_manifest_decides_whether_the_apply_was_reverted() {
        let reverted = entry("a", 1, true);
        assert_eq!(
            recover(Some(view(&reverted, None)), std::slice::from_ref(&reverted)),
            Recovery::Reverted(reverted.reverted_at.clone())
        );
        let live = entry("a", 1, false);
        assert_eq!(
            recover(
                Some(view(&live, Some("2026-01-01T01:00:00Z"))),
                std::slice::from_ref(&live)
            ),
            Recovery::Reverted(None)
        );
        assert_eq!(
            recover(
                Some(view(&reverted, reverted.reverted_at.as_deref())),
                std::slice::from_ref(&reverted)
            ),
            Recovery::Keep
        );
    }

    #[test]
    fn an_older_manifest_never_replaces_the_recorded_apply() {
        let (old, new) = (entry("a", 1, false), entry("b", 2, false));
        assert_eq!(
            recover(Some(view(&new, None)), &[old.clone(), new.clone()]),
            Recovery::Keep
        );
        let gone = AppliedView {
            manifest: "deleted",
            started_at: "2026-01-05T00:00:00Z",
            reverted_at: None,
        };
        assert_eq!(recover(Some(gone), &[old, new]), Recovery::Keep);
    }

    #[test]
    fn the_newest_are_kept_and_the_current_one_never_goes() {
        let all: Vec<ManifestEntry> = (1..=5).map(|d| entry(&format!("m{d}"), d, false)).collect();
        assert_eq!(expired(&all, 2, Some("m5")), ["m3", "m2", "m1"]);
        assert_eq!(expired(&all, 2, Some("m1")), ["m3", "m2"]);
        assert!(expired(&all, 10, None).is_empty());
    }
}
