//! Property: the final Loc-RIB (and what a peer is sent) does not
//! depend on the order in which the same announcements arrive, nor on
//! how they are batched.

#![allow(clippy::unwrap_used)]

mod common;

use bgplet_rib::{Rib, RouteUpdate};
use bgplet_wire::PathAttributes;
use common::*;
use proptest::prelude::*;

const PEERS: [(&str, &str, u32); 4] = [
    ("a", "192.0.2.1", 65001),
    ("b", "192.0.2.2", 65002),
    ("c", "192.0.2.3", 65001),
    ("i", "10.0.0.7", LOCAL_AS),
];

fn variant(v: u8, peer_as: u32) -> PathAttributes {
    let mut a = match v % 4 {
        0 => attrs(&[peer_as]),
        1 => attrs(&[peer_as, 65100]),
        2 => attrs(&[peer_as, 65100, 65200]),
        _ => attrs(&[peer_as]),
    };
    if v % 4 == 3 {
        a.med = Some(u32::from(v));
    }
    if peer_as == LOCAL_AS {
        a.local_pref = Some(100 + u32::from(v % 2) * 50);
    }
    a
}

/// (peer, prefix, variant) with each (peer, prefix) at most once.
fn announcements() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((0usize..4, 0u8..8, 0u8..8), 1..40).prop_map(
        |mut v| {
            let mut seen = std::collections::HashSet::new();
            v.retain(|(p, x, _)| seen.insert((*p, *x)));
            v
        },
    )
}

type Snapshot = (
    Vec<(String, Vec<(String, u32, PathAttributes, bool, bool)>)>,
    Vec<(String, PathAttributes)>,
);

fn run(items: &[(usize, u8, u8)], batched: bool) -> Snapshot {
    let mut rib = Rib::new(rib_config(), TestPolicy::default());
    for (name, addr, asn) in PEERS {
        rib.peer_up(peer(name, addr, asn)).unwrap();
    }
    rib.peer_up(peer("target", "198.51.100.9", 65300)).unwrap();
    let updates: Vec<(&str, RouteUpdate)> = items
        .iter()
        .map(|&(p, x, v)| {
            let (name, addr, asn) = PEERS[p];
            let prefix = format!("10.{x}.0.0/16");
            (name, announce(addr, &[prefix.as_str()], variant(v, asn)))
        })
        .collect();
    if batched {
        rib.update_many(updates);
    } else {
        for (name, u) in updates {
            rib.update(name, u).unwrap();
        }
    }
    snapshot(&rib)
}

/// The Loc-RIB (every path, sorted by source) and what "target" is sent.
fn snapshot<P: bgplet_plugin_abi::Policy>(rib: &Rib<P>) -> Snapshot {
    let loc = rib
        .routes()
        .into_iter()
        .map(|r| {
            let mut paths: Vec<_> = r
                .paths
                .iter()
                .map(|p| {
                    (
                        p.source.to_string(),
                        p.path_id,
                        p.attrs.attrs.clone(),
                        p.best,
                        p.multipath,
                    )
                })
                .collect();
            paths.sort_by(|a, b| a.0.cmp(&b.0));
            (r.prefix.to_string(), paths)
        })
        .collect();
    let sent = rib
        .advertised("target")
        .unwrap()
        .into_iter()
        .map(|(p, _, a)| (p.to_string(), a.attrs.clone()))
        .collect();
    (loc, sent)
}

proptest! {
    #[test]
    fn the_final_loc_rib_does_not_depend_on_arrival_order(
        (items, shuffled) in announcements().prop_flat_map(|v| {
            let s = Just(v.clone()).prop_shuffle();
            (Just(v), s)
        })
    ) {
        let one = run(&items, false);
        prop_assert_eq!(&one, &run(&shuffled, false));
        prop_assert_eq!(&one, &run(&shuffled, true));
    }
}

/// (peer, prefix, Some(variant) to announce or None to withdraw), with
/// repeats: the same path may be announced, replaced and withdrawn
/// within one batch.
fn churn() -> impl Strategy<Value = Vec<(usize, u8, Option<u8>)>> {
    prop::collection::vec(
        (0usize..4, 0u8..6, prop::option::weighted(0.75, 0u8..8)),
        1..60,
    )
}

type Counters = Vec<(String, u64)>;

fn run_churn(
    items: &[(usize, u8, Option<u8>)],
    chunk: usize,
) -> (Snapshot, Counters) {
    let mut policy = TestPolicy::default();
    // Some prefixes are rejected on import, so acceptance counts move
    // both ways.
    policy.reject_import.insert(pfx("10.1.0.0/16"));
    policy.reject_import.insert(pfx("10.4.0.0/16"));
    let mut rib = Rib::new(rib_config(), policy);
    for (name, addr, asn) in PEERS {
        rib.peer_up(peer(name, addr, asn)).unwrap();
    }
    rib.peer_up(peer("target", "198.51.100.9", 65300)).unwrap();
    let updates: Vec<(&str, RouteUpdate)> = items
        .iter()
        .map(|&(p, x, v)| {
            let (name, addr, asn) = PEERS[p];
            let prefix = format!("10.{x}.0.0/16");
            let u = match v {
                Some(v) => announce(addr, &[prefix.as_str()], variant(v, asn)),
                None => withdraw(&[prefix.as_str()]),
            };
            (name, u)
        })
        .collect();
    let mut updates = updates.into_iter().peekable();
    while updates.peek().is_some() {
        let part: Vec<_> = updates.by_ref().take(chunk).collect();
        rib.update_many(part);
    }
    let mut counters: Counters = rib
        .peers()
        .into_iter()
        .map(|p| (p.name.to_string(), p.accepted))
        .collect();
    counters.sort();
    (snapshot(&rib), counters)
}

proptest! {
    #[test]
    fn batching_updates_gives_the_state_of_applying_them_one_by_one(
        items in churn(),
        chunk in 2usize..64,
    ) {
        let one_by_one = run_churn(&items, 1);
        prop_assert_eq!(&one_by_one, &run_churn(&items, chunk));
    }
}
