//! Route selection: BIRD's preference, then RFC 4271 9.1.2.2 and RFC
//! 4456 9, by elimination so the answer does not depend on the order of
//! the candidates.
//!
//! The live set is a bitmask for up to 64 candidates (every real prefix:
//! no heap allocation per prefix) and an index list past that; both run
//! the same elimination steps.

use bgplet_sdk::{Selection, SelectionKey};

use crate::config::{Config, local_pref_to_priority};

/// Preference of an elevated-priority BGP route (calico-bgp.md 4.3).
const ELEVATED_PREFERENCE: u32 = 200;

/// Candidates past this index are never multipath (the mask has 32 bits).
const MASK_BITS: usize = 32;

/// Picks the best candidate and the multipath set of one prefix.
pub fn select(cfg: &Config, keys: &[SelectionKey]) -> Selection {
    match keys.len() {
        0 | 1 => Selection {
            best: 0,
            multipath: 1,
        },
        n if n <= Bits::CAPACITY => eliminate(cfg, keys, Bits::all(n)),
        n => eliminate(cfg, keys, (0..n).collect::<Vec<usize>>()),
    }
}

/// A set of candidate indices.
trait Live: Clone {
    /// The members in increasing order.
    fn members(&self) -> impl Iterator<Item = usize> + '_;
    /// Keeps the members for which `keep` holds.
    fn keep(&mut self, keep: impl FnMut(usize) -> bool);
}

/// Up to 64 candidates as a bitmask.
#[derive(Clone, Copy)]
struct Bits(u64);

impl Bits {
    const CAPACITY: usize = 64;

    fn all(n: usize) -> Self {
        Self(if n >= Self::CAPACITY {
            u64::MAX
        } else {
            (1u64 << n) - 1
        })
    }
}

impl Live for Bits {
    fn members(&self) -> impl Iterator<Item = usize> + '_ {
        let mut rest = self.0;
        core::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            Some(i)
        })
    }

    fn keep(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let mut out = self.0;
        for i in self.members() {
            if !keep(i) {
                out &= !(1u64 << i);
            }
        }
        self.0 = out;
    }
}

/// Any number of candidates (the rare fallback).
impl Live for Vec<usize> {
    fn members(&self) -> impl Iterator<Item = usize> + '_ {
        self.iter().copied()
    }

    fn keep(&mut self, keep: impl FnMut(usize) -> bool) {
        let mut keep = keep;
        self.retain(|&i| keep(i));
    }
}

/// The elimination steps over `live` (initially every candidate).
fn eliminate<L: Live>(
    cfg: &Config,
    keys: &[SelectionKey],
    mut live: L,
) -> Selection {
    let pref = |k: &SelectionKey| preference(cfg, k);
    keep_best(&mut live, |i| u64::MAX - u64::from(pref(&keys[i])));
    keep_best(&mut live, |i| u64::MAX - u64::from(keys[i].local_pref));
    keep_best(&mut live, |i| u64::from(keys[i].as_path_len));
    keep_best(&mut live, |i| u64::from(keys[i].origin));
    // 9.1.2.2 (c): drop a path when another from the same neighbor AS has
    // a lower MED (MED missing counts as 0: the host fills 0).
    let snapshot = live.clone();
    live.keep(|i| {
        !snapshot.members().any(|j| {
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
        .members()
        .min_by_key(|&i| (keys[i].peer_address, i))
        .unwrap_or(0);
    let stale = keys.get(best).is_some_and(SelectionKey::stale);
    let multipath = mergeable
        .members()
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
fn keep_best<L: Live>(live: &mut L, rank: impl Fn(usize) -> u64) {
    if let Some(min) = live.members().map(&rank).min() {
        live.keep(|i| rank(i) == min);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bgplet_sdk::context::{IgnoredConfig, PolicyContext};
    use proptest::prelude::*;

    use super::*;

    fn key() -> impl Strategy<Value = SelectionKey> {
        (
            0u32..3,
            0u32..3,
            0u32..3,
            0u32..3,
            0u32..16,
            0u32..3,
            0u32..3,
        )
            .prop_map(|(lp, len, med, nas, flags, igp, peer)| {
                SelectionKey {
                    preference: 100,
                    local_pref: [100, 2_147_482_623, 2_147_483_135]
                        [lp as usize],
                    as_path_len: len,
                    med,
                    neighbor_as: nas,
                    flags,
                    igp_cost: igp,
                    peer_address: [peer, 0, 0, 0],
                    ..SelectionKey::default()
                }
            })
    }

    proptest! {
        #[test]
        fn the_bitmask_and_the_index_list_decide_alike(
            keys in prop::collection::vec(key(), 1..70),
        ) {
            let ctx = PolicyContext::<IgnoredConfig>::default();
            let cfg = Config::new(&ctx).unwrap();
            let all: Vec<usize> = (0..keys.len()).collect();
            let list = eliminate(&cfg, &keys, all);
            prop_assert_eq!(select(&cfg, &keys), list);
        }
    }
}
