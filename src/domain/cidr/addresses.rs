//! Domain layer (pure): collapsing a bare list of IP addresses (`sg-tightener collapse`): each
//! address is collapsed inside its RFC 1918 home block; other addresses stay host routes.

use super::budget::collapse_shared;
use super::{address_count, Block, Observed, RFC1918};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// The result of collapsing a list of addresses.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressCollapse {
    /// The blocks, sorted by address.
    pub cidrs: Vec<Ipv4Net>,
    /// The tolerance the blocks were computed at.
    pub tolerance_used: f64,
    /// Every widened tolerance tried, in order.
    pub tolerance_steps: Vec<f64>,
    /// True when blocks were merged beyond tolerance 0.95.
    pub force_fit: bool,
    /// Addresses the blocks trust.
    pub addresses: u64,
    /// Widening, force-fit and non-private warnings.
    pub warnings: Vec<String>,
}

/// Collapses `ips` into at most `max_rules` blocks. Private addresses merge only within their
/// own RFC 1918 block; any other address is kept as a `/32` and never merged.
pub fn collapse_addresses(ips: &[Ipv4Addr], max_rules: usize, tolerance: f64) -> AddressCollapse {
    let mut per_home: Vec<Vec<u32>> = vec![Vec::new(); RFC1918.len()];
    let mut public: Vec<u32> = Vec::new();
    for ip in ips.iter().map(|ip| u32::from(*ip)) {
        match RFC1918.iter().position(|home| home.contains_addr(ip)) {
            Some(k) => per_home[k].push(ip),
            None => public.push(ip),
        }
    }
    public.sort_unstable();
    public.dedup();
    let observed: Vec<Observed> = per_home.into_iter().map(Observed::from_addresses).collect();
    let inputs: Vec<(&Observed, Ipv4Net)> = observed
        .iter()
        .zip(RFC1918)
        .map(|(o, home)| (o, home.to_net()))
        .collect();
    let budget = max_rules.saturating_sub(public.len());
    let outcome = collapse_shared(&inputs, budget, tolerance);
    let mut warnings = outcome.warnings(budget);
    if !public.is_empty() {
        warnings.push(format!(
            "{} addresses outside RFC 1918 kept as /32 host routes (never merged)",
            public.len()
        ));
    }
    let mut cidrs: Vec<Ipv4Net> = outcome.blocks.iter().flatten().copied().collect();
    cidrs.extend(public.iter().map(|ip| {
        Block {
            start: *ip,
            prefix: 32,
        }
        .to_net()
    }));
    cidrs.sort_by_key(|n| (u32::from(n.network()), n.prefix_len()));
    AddressCollapse {
        addresses: address_count(&cidrs),
        cidrs,
        tolerance_used: outcome.tolerance_used,
        tolerance_steps: outcome.tolerance_steps.clone(),
        force_fit: outcome.force_fit.is_some(),
        warnings,
    }
}
