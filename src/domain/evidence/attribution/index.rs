//! Domain layer (pure): rule CIDRs indexed by network, so the rules whose CIDR holds an address
//! are found with one hash lookup per distinct prefix length (at most 33) instead of a scan of
//! every rule.

use ipnet::Ipv4Net;
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// Target indices by CIDR.
#[derive(Debug, Default)]
pub(super) struct CidrIndex {
    /// The distinct prefix lengths present, ascending.
    lengths: Vec<u8>,
    by_network: HashMap<Ipv4Net, Vec<usize>>,
}

impl CidrIndex {
    /// Indexes `cidrs`; the k-th CIDR stands for target k.
    pub(super) fn new(cidrs: impl IntoIterator<Item = Ipv4Net>) -> CidrIndex {
        let mut index = CidrIndex::default();
        for (k, cidr) in cidrs.into_iter().enumerate() {
            index.by_network.entry(cidr.trunc()).or_default().push(k);
            index.lengths.push(cidr.prefix_len());
        }
        index.lengths.sort_unstable();
        index.lengths.dedup();
        index
    }

    /// Appends to `out` every target whose CIDR contains `address`, ascending.
    pub(super) fn containing(&self, address: Ipv4Addr, out: &mut Vec<usize>) {
        for &length in &self.lengths {
            let network = Ipv4Net::new(address, length).map(|n| n.trunc());
            if let Some(ks) = network.ok().and_then(|n| self.by_network.get(&n)) {
                out.extend(ks);
            }
        }
        out.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_the_cidrs_that_hold_an_address() {
        let cidrs: Vec<Ipv4Net> = ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.1.0.0/16"]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect();
        let index = CidrIndex::new(cidrs.iter().copied());
        for address in ["10.1.2.3", "10.2.0.1", "10.9.9.9", "192.168.0.1"] {
            let address: Ipv4Addr = address.parse().unwrap();
            let mut found = Vec::new();
            index.containing(address, &mut found);
            let expected: Vec<usize> = (0..cidrs.len())
                .filter(|k| cidrs[*k].contains(&address))
                .collect();
            assert_eq!(found, expected, "{address}");
        }
    }
}
