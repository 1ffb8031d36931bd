//! Memory of the RIB alone for N IPv4 prefixes (3 per attribute set)
//! from one eBGP peer, with and without a second peer they are exported
//! to, no kernel decisions (as `--no-fib`): resident bytes per prefix
//! after the load, so the daemon's peak RSS in the pass-through
//! benchmark can be split into RIB tables and everything else.
//!
//! `cargo run --release -p bgplet-rib --example rib_memory -- 1000000`

#![allow(clippy::unwrap_used)]

#[path = "../benches/workload/mod.rs"]
mod workload;

use std::net::Ipv4Addr;

use bgplet_rib::RouteUpdate;
use bgplet_wire::attribute::{AsPath, Community, Origin};
use bgplet_wire::{Ipv4Prefix, NextHop, Nlri, PathAttributes};

fn status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix(field)?.trim_start_matches(':');
            rest.trim().strip_suffix(" kB")?.trim().parse::<u64>().ok()
        })
        .unwrap()
        * 1024
}

fn updates(n: u32) -> Vec<RouteUpdate> {
    let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
    (0..n.div_ceil(3))
        .map(|u| RouteUpdate {
            announced: vec![(
                nh,
                (0..3)
                    .map(|k| u * 3 + k)
                    .filter(|&i| i < n)
                    .map(|i| {
                        let addr = Ipv4Addr::from((16 << 24) + (i << 8));
                        Nlri::new(Ipv4Prefix::new(addr, 24).unwrap())
                    })
                    .collect(),
            )],
            attributes: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::sequence([65001, 65100 + u % 5000, u])),
                communities: Some(vec![Community(u), Community(65001 << 16)]),
                med: Some(u % 3 * 10),
                ..PathAttributes::default()
            },
            ..RouteUpdate::default()
        })
        .collect()
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let which = std::env::args().nth(2);
    for export in [false, true] {
        if which.as_deref().is_some_and(|w| w != export.to_string()) {
            continue;
        }
        let all = updates(n);
        let before = status("VmRSS");
        let mut rib = workload::rib();
        rib.set_kernel(false);
        if !export {
            rib.peer_down("dst").unwrap();
        }
        let mut it = all.into_iter().peekable();
        while it.peek().is_some() {
            let batch: Vec<_> = it.by_ref().take(512).collect();
            drop(rib.update_many(batch.into_iter().map(|u| ("src", u))));
        }
        let after = status("VmRSS");
        println!(
            "{n} prefixes, exported to a peer: {export}: RIB {} MB, {} bytes/prefix",
            (after - before) / 1_000_000,
            (after - before) / u64::from(n)
        );
        drop(rib);
    }
}
