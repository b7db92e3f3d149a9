//! Benchmarks of the collapse (DESIGN §4, §10): time to collapse 10³, 10⁵ and 10⁶ distinct
//! sources inside a 10.0.0.0/8 rule, from unsorted addresses to blocks.
//!
//! - `uniform-budget-60`: sources spread uniformly; 60 rules (widening, and force-fit where the
//!   sources are too sparse for tolerance 0.95).
//! - `uniform-unbounded`: the same sources with no budget — step 1 alone, one block per source
//!   or so, the widest output.
//! - `clustered-budget-60`: sources filling random /24s at 50–100 %, like real datacentre evidence.
//! - `attribute-vanished`: attribution of 10⁴…10⁶ flows, half of them to interfaces that no longer
//!   exist, to 2,000 eligible rules (100 groups × 20 rules in one VPC): linear in flows, since
//!   candidate rules come from a CIDR index, not a scan of every rule.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sg_tightener::domain::cidr::{collapse, Observed};
use sg_tightener::domain::evidence::attribution::{
    attribute, AttributionMode, InterfaceIndex, RuleTarget,
};
use sg_tightener::domain::evidence::Flow;
use sg_tightener::domain::network::Vpc;
use sg_tightener::domain::rules::parse_traffic;
use sg_tightener::domain::snapshot::{GroupIdentifier, NetworkInterface};
use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Duration;

const RULE: &str = "10.0.0.0/8";
const BASE: u32 = 0x0A00_0000;

/// A small deterministic generator (xorshift), so every run measures the same input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
}

fn uniform(n: usize) -> Vec<u32> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut set = BTreeSet::new();
    while set.len() < n {
        set.insert(BASE | (rng.next() & 0x00FF_FFFF));
    }
    shuffle(set.into_iter().collect(), &mut rng)
}

fn clustered(n: usize) -> Vec<u32> {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut set = BTreeSet::new();
    while set.len() < n {
        let subnet = BASE | (rng.next() & 0x00FF_FF00);
        let fill = 128 + rng.next() % 128;
        for host in 0..fill {
            if set.len() < n && rng.next() % 256 < fill {
                set.insert(subnet | host);
            }
        }
    }
    shuffle(set.into_iter().collect(), &mut rng)
}

fn shuffle(mut v: Vec<u32>, rng: &mut Rng) -> Vec<u32> {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.next() as usize % (i + 1));
    }
    v
}

/// A named input generator and the rule budget to collapse it into.
type Scenario = (&'static str, fn(usize) -> Vec<u32>, usize);

fn bench(c: &mut Criterion) {
    let rule = RULE.parse().unwrap();
    let scenarios: [Scenario; 3] = [
        ("uniform-budget-60", uniform, 60),
        ("uniform-unbounded", uniform, usize::MAX),
        ("clustered-budget-60", clustered, 60),
    ];
    for (name, make, budget) in scenarios {
        let mut group = c.benchmark_group(format!("collapse/{name}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        for n in [1_000usize, 100_000, 1_000_000] {
            let sources = make(n);
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &sources, |b, sources| {
                b.iter_batched(
                    || sources.clone(),
                    |s| black_box(collapse(&Observed::from_addresses(s), rule, budget, 0.30)),
                    BatchSize::LargeInput,
                )
            });
        }
        group.finish();
    }
}

/// 100 groups × 20 rules (ports 8000…8019, each on a /16 of 10.0.0.0/8), one live ENI each.
fn estate() -> (Vec<RuleTarget>, InterfaceIndex) {
    let mut targets = Vec::new();
    let mut enis = Vec::new();
    for g in 0..100u32 {
        let group = format!("sg-{g:04}");
        for r in 0..20u32 {
            targets.push(RuleTarget {
                group_id: group.clone(),
                vpc_id: Some("vpc-1".into()),
                traffic: parse_traffic(&format!("tcp:{}", 8000 + r)).unwrap(),
                cidr: format!("10.{}.0.0/16", (g * 20 + r) % 250).parse().unwrap(),
            });
        }
        enis.push(NetworkInterface {
            network_interface_id: format!("eni-{g:04}"),
            private_ip_address: Some(format!("172.16.{g}.10")),
            groups: vec![GroupIdentifier {
                group_id: group,
                group_name: None,
            }],
            vpc_id: Some("vpc-1".into()),
            ..Default::default()
        });
    }
    let vpc = Vpc {
        vpc_id: "vpc-1".into(),
        cidr_block: Some("172.16.0.0/16".into()),
        ..Vpc::default()
    };
    (targets, InterfaceIndex::new(&enis).with_vpcs(&[vpc]))
}

fn flows(n: usize) -> Vec<Flow> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    (0..n)
        .map(|k| {
            let g = rng.next() % 100;
            let vanished = k % 2 == 0;
            Flow {
                source: std::net::Ipv4Addr::from(BASE | (rng.next() & 0x00FF_FFFF)),
                destination: std::net::Ipv4Addr::new(172, 16, g as u8, 10 + vanished as u8),
                interface_id: Some(if vanished {
                    format!("eni-gone-{}", k % 5000)
                } else {
                    format!("eni-{g:04}")
                }),
                protocol: 6,
                port: 8000 + (rng.next() % 20) as u16,
                records: 1,
            }
        })
        .collect()
}

fn bench_attribution(c: &mut Criterion) {
    let (targets, index) = estate();
    let mut group = c.benchmark_group("attribute-vanished");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for n in [10_000usize, 100_000, 1_000_000] {
        let flows = flows(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &flows, |b, flows| {
            b.iter(|| {
                black_box(attribute(
                    &targets,
                    flows,
                    Some(&index),
                    AttributionMode::Group,
                ))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_attribution);
criterion_main!(benches);
