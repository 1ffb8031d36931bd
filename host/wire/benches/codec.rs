//! UPDATE decode and encode throughput, reported per prefix.
//!
//! Run: `cargo bench -p bgplet-wire --bench codec -- --warm-up-time 1
//! --measurement-time 3`. On the shared build machines wall-clock
//! numbers are noisy; `valgrind --tool=callgrind` on the bench binary
//! gives repeatable instruction counts.
//!
//! Shapes: one UPDATE full of packed IPv4 /24s (the full-table case, about
//! 900 per 4096-octet message), the same with ADD-PATH path ids, one
//! UPDATE of IPv6 /48s in MP_REACH_NLRI, and the packer turning 100,000
//! prefixes that share one attribute set into as many UPDATEs as needed.

// Benches may unwrap: a panic is a failed run.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use bgplet_wire::{
    AfiSafi, AsPath, Community, FamilySet, Incoming, Ipv4Prefix, Ipv6Prefix,
    LargeCommunity, Message, NextHop, Nlri, Origin, PathAttributes,
    SessionContext, encode_announcements,
};
use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Prefixes given to the packer.
const PACKED: usize = 100_000;

/// A typical eBGP attribute set: short path, MED, a few communities.
fn attributes() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence([64512, 4_200_000_000, 13335])),
        med: Some(100),
        communities: Some(vec![
            Community::new(64512, 100),
            Community(0xfde8_0001),
        ]),
        large_communities: Some(vec![LargeCommunity {
            global_admin: 4_200_000_000,
            local_data_1: 1,
            local_data_2: 2,
        }]),
        ..PathAttributes::default()
    }
}

fn session(add_path: bool) -> SessionContext {
    let families = if add_path {
        FamilySet::ALL
    } else {
        FamilySet::EMPTY
    };
    SessionContext {
        four_octet_as: true,
        add_path_rx: families,
        add_path_tx: families,
        ..SessionContext::default()
    }
}

/// `n` distinct IPv4 /24s from 1.0.0.0 on, with path ids 1, 2, ...
fn v4_nlri(n: usize) -> Vec<Nlri> {
    (0..n as u32)
        .map(|i| {
            let addr = Ipv4Addr::from((1 << 24) + (i << 8));
            Nlri::with_path_id(i + 1, Ipv4Prefix::new(addr, 24).unwrap())
        })
        .collect()
}

/// `n` distinct IPv6 /48s under 2001:db8::/32 and beyond.
fn v6_nlri(n: usize) -> Vec<Nlri> {
    (0..n as u128)
        .map(|i| {
            let addr = Ipv6Addr::from((0x2001_0db8_u128 << 96) + (i << 80));
            Nlri::with_path_id(i as u32 + 1, Ipv6Prefix::new(addr, 48).unwrap())
        })
        .collect()
}

fn v4_next_hop() -> NextHop {
    NextHop::V4(Ipv4Addr::new(192, 0, 2, 1))
}

fn v6_next_hop() -> NextHop {
    NextHop::V6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: Some("fe80::1".parse().unwrap()),
    }
}

/// Packs `nlri` and returns the messages.
fn pack(
    family: AfiSafi,
    next_hop: NextHop,
    nlri: &[Nlri],
    ctx: &SessionContext,
) -> Vec<Bytes> {
    let mut out = Vec::new();
    encode_announcements(&attributes(), family, next_hop, nlri, ctx, &mut out)
        .unwrap();
    out
}

/// The first full UPDATE the packer makes, and how many prefixes it
/// holds (it is full, so this is the per-message capacity).
fn full_update(
    family: AfiSafi,
    next_hop: NextHop,
    nlri: &[Nlri],
    ctx: &SessionContext,
) -> (Bytes, usize) {
    let frame = pack(family, next_hop, nlri, ctx).swap_remove(0);
    let count = match Message::decode(&frame, ctx).unwrap() {
        Incoming::Update(outcome) => {
            let u = outcome.update();
            assert!(outcome.errors().is_empty(), "{:?}", outcome.errors());
            u.nlri.len() + u.mp_reach.as_ref().map_or(0, |r| r.nlri.len())
        }
        other => panic!("not an UPDATE: {other:?}"),
    };
    (frame, count)
}

/// Decode of one full UPDATE and encode of the same UPDATE value.
fn one_message(
    c: &mut Criterion,
    name: &str,
    family: AfiSafi,
    next_hop: NextHop,
    nlri: &[Nlri],
    ctx: SessionContext,
) {
    let (frame, count) = full_update(family, next_hop, nlri, &ctx);
    let Incoming::Update(outcome) = Message::decode(&frame, &ctx).unwrap()
    else {
        unreachable!("checked by full_update");
    };
    let msg = Message::Update(outcome.into_update());
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(count as u64));
    g.bench_function(format!("decode/{count}"), |b| {
        b.iter(|| Message::decode(black_box(&frame), &ctx).unwrap())
    });
    let mut out = BytesMut::with_capacity(ctx.max_message_len());
    g.bench_function(format!("encode/{count}"), |b| {
        b.iter(|| {
            out.clear();
            black_box(&msg).encode(&ctx, &mut out).unwrap();
        })
    });
    g.finish();
}

/// The packer on 100,000 prefixes sharing one attribute set.
fn packer(
    c: &mut Criterion,
    name: &str,
    family: AfiSafi,
    next_hop: NextHop,
    nlri: &[Nlri],
    ctx: SessionContext,
) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(nlri.len() as u64));
    g.bench_function(format!("pack/{}", nlri.len()), |b| {
        b.iter(|| pack(family, next_hop, black_box(nlri), &ctx))
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let v4 = v4_nlri(PACKED);
    let v6 = v6_nlri(PACKED);
    let (plain, add_path) = (session(false), session(true));
    let (ipv4, ipv6) = (AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST);

    one_message(c, "update_ipv4", ipv4, v4_next_hop(), &v4, plain);
    one_message(c, "update_ipv4_addpath", ipv4, v4_next_hop(), &v4, add_path);
    one_message(c, "update_ipv6_mp_reach", ipv6, v6_next_hop(), &v6, plain);
    one_message(c, "update_ipv6_addpath", ipv6, v6_next_hop(), &v6, add_path);

    packer(c, "packer_ipv4", ipv4, v4_next_hop(), &v4, plain);
    packer(c, "packer_ipv4_addpath", ipv4, v4_next_hop(), &v4, add_path);
    packer(c, "packer_ipv6_mp_reach", ipv6, v6_next_hop(), &v6, plain);
}

criterion_group!(codec, benches);
criterion_main!(codec);
