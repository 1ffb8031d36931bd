//! Route selection: BIRD's preference, then RFC 4271 9.1.2.2 and RFC
//! 4456 9, by elimination so the answer does not depend on the order of
//! the candidates.

use bgplet_sdk::{Selection, SelectionKey};

use crate::config::{Config, local_pref_to_priority};

/// Preference of an elevated-priority BGP route (calico-bgp.md 4.3).
const ELEVATED_PREFERENCE: u32 = 200;

/// Candidates past this index are never multipath (the mask has 32 bits).
const MASK_BITS: usize = 32;

/// Picks the best candidate and the multipath set of one prefix.
pub fn select(cfg: &Config, keys: &[SelectionKey]) -> Selection {
    let mut live: Vec<usize> = (0..keys.len()).collect();
    let pref = |k: &SelectionKey| preference(cfg, k);
    keep_best(&mut live, |i| u64::MAX - u64::from(pref(&keys[i])));
    keep_best(&mut live, |i| u64::MAX - u64::from(keys[i].local_pref));
    keep_best(&mut live, |i| u64::from(keys[i].as_path_len));
    keep_best(&mut live, |i| u64::from(keys[i].origin));
    // 9.1.2.2 (c): drop a path when another from the same neighbor AS has
    // a lower MED (MED missing counts as 0: the host fills 0).
    let snapshot = live.clone();
    live.retain(|&i| {
        !snapshot.iter().any(|&j| {
            keys[j].neighbor_as == keys[i].neighbor_as
                && keys[j].med < keys[i].med
        })
    });
    // (d): eBGP over iBGP.
    keep_best(&mut live, |i| u64::from(!keys[i].ebgp()));
    // (e): lowest IGP cost.
    keep_best(&mut live, |i| u64::from(keys[i].igp_cost));
    // BIRD `merge paths`: what is still equal here is multipath.
    let mergeable = live.clone();
    // (f) with RFC 4456 9: lowest ORIGINATOR_ID / router id, shortest
    // CLUSTER_LIST; (g) lowest peer address.
    keep_best(&mut live, |i| u64::from(keys[i].router_id));
    keep_best(&mut live, |i| u64::from(keys[i].cluster_list_len));
    let best = live
        .iter()
        .copied()
        .min_by_key(|&i| (keys[i].peer_address, i))
        .unwrap_or(0);
    let stale = keys.get(best).is_some_and(SelectionKey::stale);
    let multipath = mergeable
        .into_iter()
        .filter(|&i| i < MASK_BITS && keys[i].stale() == stale)
        .fold(0u32, |m, i| m | (1 << i));
    Selection {
        best: best as u32,
        multipath: if best < MASK_BITS {
            multipath | (1 << best)
        } else {
            multipath
        },
    }
}

/// The key's preference, raised to 200 for an elevated Calico priority
/// (v3.32+: LOCAL_PREF above 2147483647 - normal priority). The key has
/// no family, so the IPv4 normal priority is used (both default 1024).
fn preference(cfg: &Config, k: &SelectionKey) -> u32 {
    if !cfg.classic
        && !k.local()
        && local_pref_to_priority(k.local_pref) < cfg.v4_priority
    {
        return k.preference.max(ELEVATED_PREFERENCE);
    }
    k.preference
}

/// Keeps the candidates with the lowest `rank`.
fn keep_best(live: &mut Vec<usize>, rank: impl Fn(usize) -> u64) {
    if let Some(min) = live.iter().map(|&i| rank(i)).min() {
        live.retain(|&i| rank(i) == min);
    }
}
