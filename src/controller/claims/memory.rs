//! Controller layer: in-memory group claims for reconciler tests — the same all-or-nothing,
//! kind-agnostic semantics as the ConfigMap claims, with deleted holders listed by hand.

use super::{Claims, GroupKey, HeldBy, Holder};
use crate::controller::Error;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// In-memory claims for reconciler tests; holders listed in `gone` count as deleted.
#[derive(Debug, Default)]
pub struct MemoryClaims {
    /// Claim object name → holder.
    pub claims: Mutex<BTreeMap<String, Holder>>,
    /// Holders that no longer exist.
    pub gone: Mutex<Vec<Holder>>,
}

impl MemoryClaims {
    fn other(&self, group: &GroupKey, me: &Holder) -> Option<Holder> {
        let mut claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        let name = group.object_name();
        let holder = claims.get(&name)?.clone();
        if &holder == me {
            return None;
        }
        if self
            .gone
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&holder)
        {
            claims.remove(&name);
            return None;
        }
        Some(holder)
    }
}

#[async_trait::async_trait]
impl Claims for MemoryClaims {
    async fn held_by_other(
        &self,
        groups: &[GroupKey],
        me: &Holder,
    ) -> Result<Option<HeldBy>, Error> {
        Ok(groups.iter().find_map(|g| {
            self.other(g, me).map(|holder| HeldBy {
                group: g.clone(),
                holder,
            })
        }))
    }

    async fn claim(&self, groups: &[GroupKey], me: &Holder) -> Result<Option<HeldBy>, Error> {
        if let Some(held) = self.held_by_other(groups, me).await? {
            return Ok(Some(held));
        }
        let mut claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        for g in groups {
            claims.insert(g.object_name(), me.clone());
        }
        Ok(None)
    }

    async fn release_all(&self, me: &Holder) -> Result<(), Error> {
        let mut claims = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        claims.retain(|_, h| h != me);
        Ok(())
    }
}
