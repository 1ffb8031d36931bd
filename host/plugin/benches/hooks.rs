//! Per-prefix cost of each hook with the default Calico plugin as wasm
//! (through `PolicyChain`, validation included) versus the same plugin
//! compiled natively (`NativePolicy<Calico>`), on 1000-route batches
//! (~3 routes per attribute set) and 1000 prefixes of 1-4 candidates.
//!
//! `cargo bench -p bgplet-plugin --bench hooks`; criterion reports the
//! time per batch and the throughput in prefixes per second.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use bgplet_plugin::{ChainSpec, HostConfig, PluginHost, PolicyChains};
use bgplet_plugin_abi::{
    AttrSet, AttrTableWriter, NoRawAttributes, Origin, PeerInfo, PeerKind,
    Policy, Route, SelectionKey, SourceFlags, encode_candidates, encode_routes,
};
use bgplet_plugin_calico::Calico;
use bgplet_sdk::native::NativePolicy;
use bgplet_sdk::vectors::VectorFile;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../tests/common/mod.rs"]
mod common;

const BATCH: usize = 1000;

fn mesh_peer() -> PeerInfo {
    PeerInfo {
        name: "Mesh_10_0_0_12".into(),
        kind: PeerKind::Mesh,
        address: "10.0.0.12".into(),
        peer_as: 64512,
        local_as: 64512,
        ibgp: true,
        ..PeerInfo::default()
    }
}

/// Block routes of other nodes learned over the mesh, three per set.
fn learned() -> (Vec<u32>, Vec<u32>) {
    let mut table = AttrTableWriter::new();
    for i in 0..BATCH.div_ceil(3) {
        table.push(&AttrSet {
            origin: Some(Origin::Igp),
            local_pref: Some(2_147_482_623),
            next_hop: Some(IpAddr::V4(Ipv4Addr::new(
                10,
                0,
                0,
                12 + (i % 200) as u8,
            ))),
            ..AttrSet::default()
        });
    }
    let routes: Vec<Route> = (0..BATCH)
        .map(|i| Route {
            attr: (i / 3) as u32,
            prefix: IpAddr::V4(Ipv4Addr::from(0x0af4_0000 + ((i as u32) << 6))),
            len: 26,
            source: SourceFlags::IBGP,
            path_id: 0,
        })
        .collect();
    (table.finish(), encode_routes(&routes))
}

fn selection_batch() -> (Vec<u32>, Vec<u32>) {
    let sets: Vec<Vec<SelectionKey>> = (0..BATCH)
        .map(|p| {
            (0..1 + p % 4)
                .map(|c| SelectionKey {
                    preference: 100,
                    local_pref: 100 + (c as u32 % 2),
                    as_path_len: 1 + (c as u32 * 7 + p as u32) % 3,
                    neighbor_as: 65000 + c as u32 % 2,
                    med: c as u32,
                    router_id: 0x0a00_0001 + c as u32,
                    peer_address: SelectionKey::peer(IpAddr::V4(
                        Ipv4Addr::from(0x0a00_000b + c as u32),
                    )),
                    ..SelectionKey::default()
                })
                .collect()
        })
        .collect();
    encode_candidates(&sets)
}

fn hooks(c: &mut Criterion) {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/calico/tests/vectors/mesh.json");
    let config = VectorFile::load(&vectors).unwrap().config();
    let host = PluginHost::new(HostConfig {
        // Wall-clock deadlines on a busy 2-core box: generous.
        call_deadline: Duration::from_secs(1),
        // `BGPLET_PERF_MAP=1` for `perf record` of the bench.
        perf_map: std::env::var_os("BGPLET_PERF_MAP").is_some(),
        ..HostConfig::default()
    })
    .unwrap();
    let cold = std::time::Instant::now();
    let calico = host
        .load("calico", bgplet_plugins_bundle::CALICO, &config)
        .unwrap();
    eprintln!(
        "calico: {} bytes, cold load (compile + validate + init) {:?}",
        bgplet_plugins_bundle::CALICO.len(),
        cold.elapsed()
    );
    let chains = PolicyChains::new(ChainSpec::new(vec![calico]));
    let mut wasm = chains.worker();
    let mut native = NativePolicy::<Calico>::new(&config).unwrap();
    // The host's own cost: a plugin that does nothing but answer
    // (plugins/faults/switch, mode "ok").
    let trivial = host
        .load("trivial", &common::fault_wasm("switch"), "ok")
        .unwrap();
    let mut trivial = PolicyChains::new(ChainSpec::new(vec![trivial])).worker();

    let peer = mesh_peer();
    let (attrs, routes) = learned();
    let (cands, counts) = selection_batch();
    let mut policies: [(&str, &mut dyn Policy); 3] = [
        ("wasm", &mut wasm),
        ("native", &mut native),
        ("host-only", &mut trivial),
    ];

    let mut g = c.benchmark_group("hooks");
    g.throughput(Throughput::Elements(BATCH as u64))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, policy) in policies.iter_mut() {
        g.bench_function(format!("import/{name}"), |b| {
            b.iter(|| {
                black_box(
                    policy
                        .import(&peer, &attrs, &routes, &NoRawAttributes)
                        .unwrap(),
                )
            })
        });
        g.bench_function(format!("selection/{name}"), |b| {
            b.iter(|| black_box(policy.select(&cands, &counts).unwrap()))
        });
        g.bench_function(format!("export/{name}"), |b| {
            b.iter(|| {
                black_box(
                    policy
                        .export(&peer, &attrs, &routes, &NoRawAttributes)
                        .unwrap(),
                )
            })
        });
        g.bench_function(format!("kernel/{name}"), |b| {
            b.iter(|| {
                black_box(
                    policy.kernel(&attrs, &routes, &NoRawAttributes).unwrap(),
                )
            })
        });
    }
    g.finish();
    // A reload of an already compiled plugin: link, type check, scratch
    // instance, describe, init.
    let mut g = c.benchmark_group("load");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.bench_function("calico/cached", |b| {
        b.iter(|| {
            black_box(
                host.load("calico", bgplet_plugins_bundle::CALICO, &config)
                    .unwrap(),
            )
        })
    });
    g.finish();
    for m in host.metrics() {
        assert!(m.faults.is_empty(), "{}: {:?}", m.plugin, m.faults);
    }
}

criterion_group!(benches, hooks);
criterion_main!(benches);
