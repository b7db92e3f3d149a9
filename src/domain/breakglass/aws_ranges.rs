//! Domain layer (pure): AWS's published `ip-ranges.json` as a lookup — which AWS service prefix a
//! public source belongs to, the most specific wins, never the `AMAZON` catch-all.

use super::validate::is_private;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// Services never used as a trust source: `AMAZON` covers nearly all of AWS.
pub const SERVICE_BLOCKLIST: &[&str] = &["AMAZON"];

/// The service prefix a source belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsService {
    /// The service (`EC2`, `ROUTE53_HEALTHCHECKS`, …).
    pub service: String,
    /// The region, or `GLOBAL`.
    pub region: String,
    /// The published prefix.
    pub prefix: Ipv4Net,
}

#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    prefixes: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    ip_prefix: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    service: String,
}

/// IPv4 service prefixes indexed by prefix length, so a lookup is at most 33 hash probes.
#[derive(Debug, Clone, Default)]
pub struct AwsIpRanges {
    by_length: Vec<HashMap<u32, AwsService>>,
    entries: usize,
}

impl AwsIpRanges {
    /// Reads an `ip-ranges.json` document. Malformed prefixes and blocklisted services are skipped.
    pub fn from_json(text: &str) -> Result<AwsIpRanges, serde_json::Error> {
        let document: Document = serde_json::from_str(text)?;
        Ok(Self::from_entries(document.prefixes.iter().map(|e| {
            (e.ip_prefix.as_str(), e.region.as_str(), e.service.as_str())
        })))
    }

    /// Builds the index from (prefix, region, service) triples. The first entry for a prefix wins.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> AwsIpRanges {
        let mut ranges = AwsIpRanges {
            by_length: vec![HashMap::new(); 33],
            entries: 0,
        };
        for (prefix, region, service) in entries {
            if service.is_empty() || SERVICE_BLOCKLIST.contains(&service) {
                continue;
            }
            let Ok(net) = prefix.trim().parse::<Ipv4Net>() else {
                continue;
            };
            let net = net.trunc();
            let slot = &mut ranges.by_length[usize::from(net.prefix_len())];
            if let std::collections::hash_map::Entry::Vacant(vacant) =
                slot.entry(net.network().to_bits())
            {
                vacant.insert(AwsService {
                    service: service.to_string(),
                    region: region.to_string(),
                    prefix: net,
                });
                ranges.entries += 1;
            }
        }
        ranges
    }

    /// Number of usable (non-blocklisted) IPv4 prefixes.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True when no usable prefix is known.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The most specific service prefix containing `address`; `None` for private addresses.
    pub fn classify_addr(&self, address: Ipv4Addr) -> Option<&AwsService> {
        if is_private(&Ipv4Net::from(address)) {
            return None;
        }
        let bits = address.to_bits();
        (0..=32u32).rev().find_map(|length| {
            let mask = if length == 0 {
                0
            } else {
                u32::MAX << (32 - length)
            };
            self.by_length.get(length as usize)?.get(&(bits & mask))
        })
    }

    /// [`AwsIpRanges::classify_addr`] on text; anything that is not an IPv4 address gives `None`.
    pub fn classify(&self, address: &str) -> Option<&AwsService> {
        address
            .trim()
            .parse::<Ipv4Addr>()
            .ok()
            .and_then(|a| self.classify_addr(a))
    }
}
