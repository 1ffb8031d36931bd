//! Selection picks the same best path whatever the order of the
//! candidates.

#![allow(clippy::unwrap_used)]

use bgplet_plugin_calico::Calico;
use bgplet_sdk::{Plugin, SelectionKey, SelectionPolicy};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = SelectionKey> {
    // Small ranges so that ties, shared neighbor ASes and MED
    // comparisons are common.
    (
        prop::sample::select(vec![100u32, 200]),
        prop::sample::select(vec![100u32, 2_147_482_623, 2_147_483_135]),
        0u32..3,
        0u32..3,
        0u32..3,
        prop::sample::select(vec![0u32, 65000, 65001]),
        0u32..16,
        0u32..3,
        0u32..3,
        0u32..3,
        0u32..3,
    )
        .prop_map(
            |(pref, lp, len, origin, med, nas, flags, igp, rid, cl, peer)| {
                SelectionKey {
                    preference: pref,
                    local_pref: lp,
                    as_path_len: len,
                    origin,
                    med,
                    neighbor_as: nas,
                    flags,
                    igp_cost: igp,
                    router_id: rid,
                    cluster_list_len: cl,
                    peer_address: [peer, 0, 0, 0],
                }
            },
        )
}

/// One path per peer and prefix (no ADD-PATH): the peer address is the
/// last tie-break, so two candidates equal on every other step and from
/// the same peer would have no order-independent answer.
fn distinct_peers(mut keys: Vec<SelectionKey>) -> Vec<SelectionKey> {
    for (i, k) in keys.iter_mut().enumerate() {
        // Keep the generated word (small, often equal) in the high half so
        // that lower addresses still win in a varied order.
        k.peer_address[0] = (k.peer_address[0] << 16) | i as u32;
    }
    keys
}

proptest! {
    #[test]
    fn the_best_path_does_not_depend_on_candidate_order(
        keys in prop::collection::vec(key(), 1..8).prop_map(distinct_peers),
        perm in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
    ) {
        let mut p = Calico::init("").unwrap();
        let a = p.select(&keys);
        // Rotate and reverse: a deterministic shuffle from `perm`.
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.rotate_left((perm as usize) % keys.len());
        if perm & 1 == 1 {
            order.reverse();
        }
        let shuffled: Vec<_> = order.iter().map(|&i| keys[i]).collect();
        let b = p.select(&shuffled);
        prop_assert_eq!(keys[a.best as usize], shuffled[b.best as usize]);
        // The multipath sets hold the same keys too.
        let set = |ks: &[SelectionKey], mask: u32| {
            let mut v: Vec<_> = ks
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, k)| *k)
                .collect();
            v.sort_by_key(|k| format!("{k:?}"));
            v
        };
        prop_assert_eq!(set(&keys, a.multipath), set(&shuffled, b.multipath));
        prop_assert!(a.multipath & (1 << a.best) != 0);
    }
}
