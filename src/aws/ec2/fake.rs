//! AWS layer: an in-memory [`SecurityGroups`] for reconciler unit tests (never used end to end).
//! It behaves like real EC2 where reconcilers depend on it: authorise is atomic and refuses
//! duplicates, the per-group rule limit is enforced, revoke reports unknown permissions. Failures
//! are injected per operation with [`FakeSecurityGroups::fail_next`].

use super::{empty_selector, AuthoriseOutcome, GroupSelector, RevokeOutcome, SecurityGroups};
use crate::aws::{AwsError, Failure};
use crate::domain::snapshot::{IpPermission, NetworkInterface, SecurityGroup};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// The operations of the port, for failure injection and call records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    DescribeGroups,
    DescribeNetworkInterfaces,
    Authorise,
    Revoke,
}

/// One call the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub operation: Operation,
    /// The group for authorise and revoke.
    pub group_id: Option<String>,
    pub permissions: Vec<IpPermission>,
}

#[derive(Debug)]
struct State {
    groups: BTreeMap<String, SecurityGroup>,
    interfaces: Vec<NetworkInterface>,
    faults: VecDeque<(Operation, AwsError)>,
    calls: Vec<Call>,
    rule_limit: usize,
    /// Someone else's change, made just before the describe with this (1-based) number.
    drift: Option<(usize, String, Vec<IpPermission>)>,
}

/// The in-memory fake. Shareable behind an `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct FakeSecurityGroups {
    state: Mutex<State>,
}

impl Default for FakeSecurityGroups {
    fn default() -> Self {
        FakeSecurityGroups::new(Vec::new())
    }
}

impl FakeSecurityGroups {
    /// A fake holding these groups, with AWS's default limit of 60 rules per group.
    pub fn new(groups: impl IntoIterator<Item = SecurityGroup>) -> Self {
        let groups = groups
            .into_iter()
            .map(|g| (g.group_id.clone(), g))
            .collect();
        FakeSecurityGroups {
            state: Mutex::new(State {
                groups,
                interfaces: Vec::new(),
                faults: VecDeque::new(),
                calls: Vec::new(),
                rule_limit: 60,
                drift: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets the per-group rule limit.
    pub fn set_rule_limit(&self, limit: usize) {
        self.state().rule_limit = limit;
    }

    /// Adds a network interface.
    pub fn add_interface(&self, interface: NetworkInterface) {
        self.state().interfaces.push(interface);
    }

    /// Every network interface, as it is now (no call recorded).
    pub fn interfaces(&self) -> Vec<NetworkInterface> {
        self.state().interfaces.clone()
    }

    /// Deletes a network interface (its instance was replaced).
    pub fn remove_interface(&self, id: &str) {
        self.state()
            .interfaces
            .retain(|e| e.network_interface_id != id);
    }

    /// Adds a group, or replaces the one with the same id.
    pub fn put_group(&self, group: SecurityGroup) {
        self.state().groups.insert(group.group_id.clone(), group);
    }

    /// The group as it is now.
    pub fn group(&self, group_id: &str) -> Option<SecurityGroup> {
        self.state().groups.get(group_id).cloned()
    }

    /// Deletes a group (as someone would in the console).
    pub fn remove_group(&self, group_id: &str) {
        self.state().groups.remove(group_id);
    }

    /// Adds `permissions` to `group_id` — someone else's change, not a recorded call — just
    /// before the `nth` DescribeGroups call (counting from the first call this fake received).
    pub fn drift_before_describe(
        &self,
        nth: usize,
        group_id: &str,
        permissions: Vec<IpPermission>,
    ) {
        self.state().drift = Some((nth, group_id.to_owned(), permissions));
    }

    /// The next call of `operation` fails with `error` (queued: several may be injected).
    pub fn fail_next(&self, operation: Operation, error: AwsError) {
        self.state().faults.push_back((operation, error));
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// How many authorise and revoke calls were received (failed ones included).
    pub fn mutations(&self) -> usize {
        let state = self.state();
        let mutating = |c: &&Call| matches!(c.operation, Operation::Authorise | Operation::Revoke);
        state.calls.iter().filter(mutating).count()
    }

    /// Records the call and pops an injected failure for it, if one is queued.
    fn begin(&self, call: Call) -> Result<std::sync::MutexGuard<'_, State>, AwsError> {
        let mut state = self.state();
        let operation = call.operation;
        state.calls.push(call);
        let fault = state.faults.iter().position(|(op, _)| *op == operation);
        match fault.and_then(|at| state.faults.remove(at)) {
            Some((_, error)) => Err(error),
            None => Ok(state),
        }
    }
}

impl FakeSecurityGroups {
    /// A DescribeNetworkInterfaces call answering the interfaces that match `wanted`.
    fn interfaces_where(
        &self,
        wanted: impl Fn(&NetworkInterface) -> bool,
    ) -> Result<Vec<NetworkInterface>, AwsError> {
        let state = self.begin(Call {
            operation: Operation::DescribeNetworkInterfaces,
            group_id: None,
            permissions: Vec::new(),
        })?;
        Ok(state
            .interfaces
            .iter()
            .filter(|e| wanted(e))
            .cloned()
            .collect())
    }
}

/// Makes the scheduled drift when its describe has come.
fn apply_drift(state: &mut State) {
    let describes = state
        .calls
        .iter()
        .filter(|c| c.operation == Operation::DescribeGroups)
        .count();
    if !matches!(&state.drift, Some((nth, _, _)) if *nth == describes) {
        return;
    }
    if let Some((_, id, perms)) = state.drift.take() {
        if let Some(group) = state.groups.get_mut(&id) {
            let mut rules = rules_of(group);
            rules.extend(perms.iter().flat_map(split_sources));
            group.ip_permissions = fold(rules);
        }
    }
}

/// One permission per source, each keeping its description.
pub fn split_sources(p: &IpPermission) -> Vec<IpPermission> {
    let base = IpPermission {
        ip_protocol: p.ip_protocol.clone(),
        from_port: p.from_port,
        to_port: p.to_port,
        ..IpPermission::default()
    };
    let v4 = p.ip_ranges.iter().map(|r| IpPermission {
        ip_ranges: vec![r.clone()],
        ..base.clone()
    });
    let v6 = p.ipv6_ranges.iter().map(|r| IpPermission {
        ipv6_ranges: vec![r.clone()],
        ..base.clone()
    });
    let pairs = p.user_id_group_pairs.iter().map(|g| IpPermission {
        user_id_group_pairs: vec![g.clone()],
        ..base.clone()
    });
    let lists = p.prefix_list_ids.iter().map(|l| IpPermission {
        prefix_list_ids: vec![l.clone()],
        ..base.clone()
    });
    v4.chain(v6).chain(pairs).chain(lists).collect()
}

/// What AWS matches a single-source permission on: protocol, ports, source — not description.
fn rule_key(single: &IpPermission) -> (String, Option<i32>, Option<i32>, String) {
    let source = single
        .ip_ranges
        .first()
        .map(|r| r.cidr_ip.clone())
        .or_else(|| single.ipv6_ranges.first().map(|r| r.cidr_ipv6.clone()))
        .or_else(|| {
            single
                .user_id_group_pairs
                .first()
                .and_then(|g| g.group_id.clone())
        })
        .or_else(|| {
            single
                .prefix_list_ids
                .first()
                .map(|l| l.prefix_list_id.clone())
        })
        .unwrap_or_default();
    (
        single.ip_protocol.clone(),
        single.from_port,
        single.to_port,
        source,
    )
}

fn rules_of(group: &SecurityGroup) -> Vec<IpPermission> {
    group
        .ip_permissions
        .iter()
        .flat_map(split_sources)
        .collect()
}

/// Folds single-source permissions back into one permission per (protocol, ports), as AWS shows them.
fn fold(singles: Vec<IpPermission>) -> Vec<IpPermission> {
    let mut folded: Vec<IpPermission> = Vec::new();
    for single in singles {
        let same = |p: &&mut IpPermission| {
            (p.ip_protocol.as_str(), p.from_port, p.to_port)
                == (
                    single.ip_protocol.as_str(),
                    single.from_port,
                    single.to_port,
                )
        };
        match folded.iter_mut().find(same) {
            Some(p) => merge_sources(p, single),
            None => folded.push(single),
        }
    }
    folded
}

fn merge_sources(into: &mut IpPermission, from: IpPermission) {
    let IpPermission {
        ip_ranges,
        ipv6_ranges,
        user_id_group_pairs,
        prefix_list_ids,
        ..
    } = from;
    into.ip_ranges.extend(ip_ranges);
    into.ipv6_ranges.extend(ipv6_ranges);
    into.user_id_group_pairs.extend(user_id_group_pairs);
    into.prefix_list_ids.extend(prefix_list_ids);
}

fn group_not_found(action: &str, group_id: &str) -> AwsError {
    AwsError::NotFound(Failure::new(
        action,
        "InvalidGroup.NotFound",
        &format!("The security group '{group_id}' does not exist"),
    ))
}

#[async_trait::async_trait]
impl SecurityGroups for FakeSecurityGroups {
    async fn describe_groups(
        &self,
        selector: &GroupSelector,
    ) -> Result<Vec<SecurityGroup>, AwsError> {
        let mut state = self.begin(Call {
            operation: Operation::DescribeGroups,
            group_id: None,
            permissions: Vec::new(),
        })?;
        apply_drift(&mut state);
        if selector.is_empty() {
            return Err(empty_selector());
        }
        Ok(state
            .groups
            .values()
            .filter(|g| selector.matches(g))
            .cloned()
            .collect())
    }

    async fn describe_network_interfaces(
        &self,
        group_ids: &[String],
    ) -> Result<Vec<NetworkInterface>, AwsError> {
        self.interfaces_where(|eni| eni.groups.iter().any(|g| group_ids.contains(&g.group_id)))
    }

    async fn describe_interfaces_by_address(
        &self,
        addresses: &[String],
    ) -> Result<Vec<NetworkInterface>, AwsError> {
        self.interfaces_where(|eni| {
            let primary = eni.private_ip_address.iter();
            let secondary = eni
                .private_ip_addresses
                .iter()
                .map(|p| &p.private_ip_address);
            primary.chain(secondary).any(|a| addresses.contains(a))
        })
    }

    async fn authorise_ingress(
        &self,
        group_id: &str,
        permissions: &[IpPermission],
    ) -> Result<AuthoriseOutcome, AwsError> {
        let call = Call {
            operation: Operation::Authorise,
            group_id: Some(group_id.to_owned()),
            permissions: permissions.to_vec(),
        };
        let mut state = self.begin(call)?;
        let limit = state.rule_limit;
        let action = format!("authorise ingress on {group_id}");
        let group = state
            .groups
            .get_mut(group_id)
            .ok_or_else(|| group_not_found(&action, group_id))?;
        let mut rules = rules_of(group);
        let new: Vec<IpPermission> = permissions.iter().flat_map(split_sources).collect();
        let existing: Vec<_> = rules.iter().map(rule_key).collect();
        if new.iter().any(|n| existing.contains(&rule_key(n))) {
            return Ok(AuthoriseOutcome::AlreadyPresent);
        }
        if rules.len() + new.len() > limit {
            let message = format!(
                "The maximum number of rules per security group has been reached ({limit})"
            );
            return Err(AwsError::LimitExceeded(Failure::new(
                action,
                "RulesPerSecurityGroupLimitExceeded",
                &message,
            )));
        }
        rules.extend(new);
        group.ip_permissions = fold(rules);
        Ok(AuthoriseOutcome::Authorised)
    }

    async fn revoke_ingress(
        &self,
        group_id: &str,
        permissions: &[IpPermission],
    ) -> Result<RevokeOutcome, AwsError> {
        let call = Call {
            operation: Operation::Revoke,
            group_id: Some(group_id.to_owned()),
            permissions: permissions.to_vec(),
        };
        let mut state = self.begin(call)?;
        let action = format!("revoke ingress on {group_id}");
        let group = state
            .groups
            .get_mut(group_id)
            .ok_or_else(|| group_not_found(&action, group_id))?;
        let mut rules = rules_of(group);
        let mut unknown = Vec::new();
        for single in permissions.iter().flat_map(split_sources) {
            match rules.iter().position(|r| rule_key(r) == rule_key(&single)) {
                Some(at) => {
                    rules.remove(at);
                }
                None => unknown.push(single),
            }
        }
        group.ip_permissions = fold(rules);
        Ok(RevokeOutcome::Revoked {
            unknown: fold(unknown),
        })
    }
}

#[cfg(test)]
mod tests;
