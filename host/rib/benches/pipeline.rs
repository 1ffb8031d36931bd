//! The RIB pipeline with an accept-all native policy: one eBGP peer
//! sends 100,000 IPv4 prefixes (3 per attribute set) that are selected,
//! exported to one other eBGP peer, encoded, and programmed.
//!
//! `cargo bench -p bgplet-rib --bench pipeline`; divide by 100,000 for
//! the cost per prefix (criterion also prints elements/s).

#![allow(clippy::unwrap_used)]

mod workload;

use std::hint::black_box;

use criterion::{
    BatchSize, Criterion, Throughput, criterion_group, criterion_main,
};
use workload::{PREFIXES, rib, updates};

fn bench(c: &mut Criterion) {
    let all = updates();
    let mut g = c.benchmark_group("rib");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(PREFIXES)));
    for per_call in [1usize, 1000] {
        g.bench_function(
            format!("100k_prefixes_{per_call}_updates_per_call"),
            |b| {
                b.iter_batched(
                    || (rib(), all.clone()),
                    |(mut rib, ups)| {
                        let mut sent = 0usize;
                        let mut it = ups.into_iter().peekable();
                        while it.peek().is_some() {
                            let batch = it.by_ref().take(per_call);
                            let out =
                                rib.update_many(batch.map(|u| ("src", u)));
                            sent += out.len();
                        }
                        black_box(sent);
                        rib
                    },
                    BatchSize::PerIteration,
                );
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
