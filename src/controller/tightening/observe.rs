//! Controller layer: what the tightening reads before it plans, beside the live groups (read by
//! the change engine, `change::observe`) — their ENIs and the flow-log evidence, cached in
//! memory per resource and inputs hash so a re-plan on snapshot drift does not re-read months
//! of logs.

use super::spec;
use crate::aws::{AwsPorts, EvidenceRequest, SecurityGroups, Target};
use crate::controller::Error;
use crate::crd::SecurityGroupTightening;
use crate::domain::evidence::{EvidenceDocument, Window};
use crate::domain::flowlog::ActionFilter;
use crate::domain::network::{FlowLog, Vpc};
use crate::domain::snapshot::{NetworkInterface, SecurityGroup};
use kube::ResourceExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The ENIs of `groups`.
pub async fn interfaces(
    sg: &dyn SecurityGroups,
    groups: &[SecurityGroup],
) -> Result<Vec<NetworkInterface>, Error> {
    let ids: Vec<String> = groups.iter().map(|g| g.group_id.clone()).collect();
    Ok(sg.describe_network_interfaces(&ids).await?)
}

/// What the evidence checks need of the network beside the groups.
#[derive(Debug, Clone, Default)]
pub struct NetworkView {
    /// The ENIs of the in-scope groups: each must be logged for the evidence to be complete.
    pub in_scope: Vec<NetworkInterface>,
    /// Every ENI of the groups' VPCs that exists today: a flow to any other interface reached
    /// one that no longer exists (attribution counts it conservatively).
    pub known: Vec<NetworkInterface>,
    /// The groups' VPCs and their ranges.
    pub vpcs: Vec<Vpc>,
    /// Flow logs on the groups' VPCs, the in-scope ENIs' subnets and the ENIs themselves.
    pub flow_logs: Vec<FlowLog>,
}

/// The in-scope ENIs, every ENI of the groups' VPCs, the VPCs and the flow logs that may
/// capture the in-scope ENIs.
pub async fn network(
    aws: &dyn AwsPorts,
    target: &Target,
    sg: &dyn SecurityGroups,
    groups: &[SecurityGroup],
) -> Result<NetworkView, Error> {
    let in_scope = interfaces(sg, groups).await?;
    let net = aws.network(target).await;
    let vpc_ids: Vec<String> = sorted(groups.iter().filter_map(|g| g.vpc_id.clone()));
    let mut known = if vpc_ids.is_empty() {
        Vec::new()
    } else {
        net.describe_vpc_interfaces(&vpc_ids).await?
    };
    known.extend(in_scope.iter().cloned());
    known.sort_by(|a, b| a.network_interface_id.cmp(&b.network_interface_id));
    known.dedup_by(|a, b| a.network_interface_id == b.network_interface_id);
    let vpcs = if vpc_ids.is_empty() {
        Vec::new()
    } else {
        net.describe_vpcs(&vpc_ids).await?
    };
    let resources = sorted(
        vpc_ids
            .iter()
            .cloned()
            .chain(in_scope.iter().filter_map(|e| e.subnet_id.clone()))
            .chain(in_scope.iter().filter_map(|e| e.vpc_id.clone()))
            .chain(in_scope.iter().map(|e| e.network_interface_id.clone())),
    );
    let flow_logs = if in_scope.is_empty() {
        Vec::new()
    } else {
        net.describe_flow_logs(&resources).await?
    };
    Ok(NetworkView {
        in_scope,
        known,
        vpcs,
        flow_logs,
    })
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = items.collect();
    out.sort();
    out.dedup();
    out
}

/// Collected evidence and when it was collected.
#[derive(Debug, Clone)]
pub struct Collected {
    /// The document.
    pub document: Arc<EvidenceDocument>,
    /// When it was collected.
    pub at: jiff::Timestamp,
}

/// Evidence per resource (`namespace/name`), tagged with the inputs hash it was collected for,
/// within a byte budget: resources that read the same source hold the same shared document, so
/// the cache weighs each distinct document once; beyond the budget the entries collected longest
/// ago are dropped (their resources read again, mostly from the shared evidence store).
#[derive(Debug)]
pub struct EvidenceCache {
    entries: Mutex<HashMap<String, (String, Collected)>>,
    budget: usize,
}

impl Default for EvidenceCache {
    fn default() -> Self {
        EvidenceCache::with_budget(32 << 20)
    }
}

impl EvidenceCache {
    /// An empty cache of at most `budget` bytes of distinct documents.
    pub fn with_budget(budget: usize) -> Self {
        EvidenceCache {
            entries: Mutex::default(),
            budget,
        }
    }

    /// The evidence collected for `inputs_hash` at or after `fresh_since`.
    fn get(&self, key: &str, inputs_hash: &str, fresh_since: jiff::Timestamp) -> Option<Collected> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(hash, c)| hash == inputs_hash && c.at >= fresh_since)
            .map(|(_, c)| c.clone())
    }

    fn put(&self, key: String, inputs_hash: String, collected: Collected) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(key.clone(), (inputs_hash, collected));
        while distinct_bytes(&entries) > self.budget {
            let oldest = entries
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, (_, c))| c.at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(oldest) => entries.remove(&oldest),
                None => break,
            };
        }
    }

    /// The bytes of the distinct documents held.
    pub fn bytes(&self) -> usize {
        distinct_bytes(&self.entries.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Forgets a resource (deleted).
    pub fn forget(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

fn distinct_bytes(entries: &HashMap<String, (String, Collected)>) -> usize {
    let mut seen = std::collections::HashSet::new();
    entries
        .values()
        .filter(|(_, c)| seen.insert(Arc::as_ptr(&c.document)))
        .map(|(_, c)| c.document.heap_bytes())
        .sum()
}

/// Which collected evidence may be reused.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// Now.
    pub now: jiff::Timestamp,
    /// Evidence collected before this instant is read again (now − `evidence.maxAge`, or now
    /// itself to force a new read).
    pub fresh_since: jiff::Timestamp,
}

/// ACCEPT evidence over the last whole days, from the cache when this resource already
/// collected it for the same inputs since `freshness.fresh_since`.
pub async fn evidence(
    aws: &dyn AwsPorts,
    target: &Target,
    object: &SecurityGroupTightening,
    inputs_hash: &str,
    interfaces: &[NetworkInterface],
    cache: &EvidenceCache,
    freshness: Freshness,
) -> Result<Collected, Error> {
    let key = format!(
        "{}/{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    );
    if let Some(hit) = cache.get(&key, inputs_hash, freshness.fresh_since) {
        return Ok(hit);
    }
    let now = freshness.now;
    // Whole UTC days: today's logs are still arriving and would make coverage flap.
    let window = Window::last_full_days(now, object.spec.evidence.days);
    let mut request = request(object, window, ActionFilter::Accept, interfaces)?;
    // a source's answer another resource collected since fresh_since will do (Athena)
    request.fresh_since = Some(freshness.fresh_since);
    // shared: resources reading the same source hold one document, not a copy each
    let shared = aws.flow_logs(target).await.collect_shared(&request).await?;
    // a kept answer is as old as its read, so maxAge and EvidenceStale judge its real age
    let at = shared.collected_at.map_or(now, |at| at.min(now));
    let collected = Collected {
        document: shared.document,
        at,
    };
    cache.put(key, inputs_hash.to_owned(), collected.clone());
    Ok(collected)
}

/// One read of the resource's flow-log source. `interfaces` are those whose records the
/// coverage must find; they never narrow the flows read (a flow to an interface that no longer
/// exists is evidence too).
pub async fn read(
    aws: &dyn AwsPorts,
    target: &Target,
    object: &SecurityGroupTightening,
    window: Window,
    action: ActionFilter,
    interfaces: &[NetworkInterface],
) -> Result<EvidenceDocument, Error> {
    let request = request(object, window, action, interfaces)?;
    Ok(aws.flow_logs(target).await.collect(&request).await?)
}

/// The question to the resource's flow-log source.
fn request(
    object: &SecurityGroupTightening,
    window: Window,
    action: ActionFilter,
    interfaces: &[NetworkInterface],
) -> Result<EvidenceRequest, Error> {
    let source = spec::evidence_source(&object.spec)
        .ok_or_else(|| Error::InvalidSpec("spec.evidence: no source set".into()))?;
    Ok(EvidenceRequest {
        source,
        window,
        action,
        coverage_interfaces: interfaces
            .iter()
            .map(|i| i.network_interface_id.clone())
            .collect(),
        fresh_since: None,
    })
}

#[cfg(test)]
mod cache_tests {
    use super::*;
    use crate::domain::evidence::{Flow, EVIDENCE_SCHEMA};

    fn document(flows: usize) -> Arc<EvidenceDocument> {
        let flow = |n: usize| Flow {
            source: std::net::Ipv4Addr::from(n as u32),
            destination: "10.1.0.9".parse().unwrap(),
            interface_id: Some("eni-0123456789abcdef0".into()),
            protocol: 6,
            port: 443,
            records: 1,
        };
        Arc::new(EvidenceDocument {
            schema: EVIDENCE_SCHEMA.into(),
            window: Window::last_full_days(jiff::Timestamp::UNIX_EPOCH, 1),
            coverage: Default::default(),
            stats: Default::default(),
            flows: (0..flows).map(flow).collect(),
        })
    }

    fn at(second: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(second).unwrap()
    }

    #[test]
    fn a_shared_document_weighs_once_and_the_oldest_entries_go_beyond_the_budget() {
        let shared = document(1000);
        let cache = EvidenceCache::with_budget(shared.heap_bytes() * 3 / 2);
        for (n, name) in ["a", "b", "c"].iter().enumerate() {
            let collected = Collected {
                document: shared.clone(),
                at: at(n as i64),
            };
            cache.put(name.to_string(), "h".into(), collected);
        }
        assert_eq!(
            cache.bytes(),
            shared.heap_bytes(),
            "one document, three resources"
        );
        let own = Collected {
            document: document(1000),
            at: at(10),
        };
        cache.put("d".into(), "h".into(), own);
        assert!(cache.bytes() <= shared.heap_bytes() * 3 / 2);
        assert!(cache.get("d", "h", at(0)).is_some(), "the newest stays");
        assert!(cache.get("a", "h", at(0)).is_none(), "the oldest went");
    }
}
