//! Stage 2: best path and multipath set per changed prefix, through the
//! selection hook in batches of many prefixes.

use bgplet_plugin_abi::{
    Policy, PolicyError, Selection, SelectionKey, validate_selection,
};
use bgplet_wire::Prefix;

use crate::rib::{Cand, Dirty, LOCAL, Rib};
use crate::words::{neighbor_as, path_len};

/// Prefixes per selection call: large enough to amortise the call,
/// small enough to bound one batch's memory.
pub(crate) const BATCH: usize = 512;

/// LOCAL_PREF at or above which a BGP route carries an elevated Calico
/// priority and selection preference 200: 2147483647 minus a metric
/// below the normal 1024 (calico-bgp.md 4.7, docs/plugin-abi.md).
const ELEVATED_LOCAL_PREF: u32 = 2_147_483_647 - 1023;

/// What selection changed for one prefix.
pub(crate) struct Change {
    pub prefix: Prefix,
    /// The best path changed (or the prefix went away).
    pub best: bool,
    /// The best path or the multipath set changed.
    pub kernel: bool,
}

impl<P: Policy> Rib<P> {
    /// Selects every dirty prefix again and reports what changed
    /// (everything when `force`).
    pub(crate) fn select_changed(
        &mut self,
        dirty: &Dirty,
        force: bool,
    ) -> Vec<Change> {
        let mut changes = Vec::with_capacity(dirty.list.len());
        let mut pending: Vec<Prefix> = Vec::new();
        let mut keys: Vec<u32> = Vec::new();
        let mut counts: Vec<u32> = Vec::new();
        for &prefix in &dirty.list {
            let Some(dest) = self.loc.get_mut(&prefix) else {
                if force {
                    changes.push(Change {
                        prefix,
                        best: true,
                        kernel: true,
                    });
                }
                continue;
            };
            match dest.cands.len() {
                0 => {
                    // Only a removal empties a prefix: it had a route if
                    // the removed path was selected.
                    let had = dest.lost_best;
                    self.loc.remove(&prefix);
                    if had || force {
                        changes.push(Change {
                            prefix,
                            best: true,
                            kernel: true,
                        });
                    }
                }
                // One candidate needs no hook: the answer is forced.
                1 => {
                    let sel = Selection::single(0);
                    changes.extend(self.apply(prefix, sel, force));
                }
                n => {
                    for c in &dest.cands {
                        key_of(c, &self.peers, &self.cfg).encode(&mut keys);
                    }
                    counts.push(u32::try_from(n).unwrap_or(u32::MAX));
                    pending.push(prefix);
                    if pending.len() >= BATCH {
                        self.flush(
                            &mut pending,
                            &mut keys,
                            &mut counts,
                            force,
                            &mut changes,
                        );
                    }
                }
            }
        }
        if !pending.is_empty() {
            self.flush(
                &mut pending,
                &mut keys,
                &mut counts,
                force,
                &mut changes,
            );
        }
        changes
    }

    fn flush(
        &mut self,
        pending: &mut Vec<Prefix>,
        keys: &mut Vec<u32>,
        counts: &mut Vec<u32>,
        force: bool,
        changes: &mut Vec<Change>,
    ) {
        let answer = self.policy.select(keys, counts).and_then(|a| {
            validate_selection(counts, &a).map_err(PolicyError::Malformed)
        });
        let selections = match answer {
            Ok(s) => s,
            Err(e) => {
                self.policy_errors.select += 1;
                self.policy_failed(e);
                fallback(keys, counts)
            }
        };
        for (prefix, sel) in pending.drain(..).zip(selections) {
            changes.extend(self.apply(prefix, sel, force));
        }
        keys.clear();
        counts.clear();
    }

    /// Marks the selection on the candidates and compares it with the
    /// previous one.
    fn apply(
        &mut self,
        prefix: Prefix,
        sel: Selection,
        force: bool,
    ) -> Option<Change> {
        let dest = self.loc.get_mut(&prefix)?;
        // Compared with the flags the last selection left: the same path
        // (the flag stays with its candidate), unchanged since.
        let mut best_same = !dest.lost_best;
        let mut others_same = !dest.lost_other;
        for (i, c) in dest.cands.iter_mut().enumerate() {
            let best = i as u32 == sel.best;
            let multipath = best || (i < 32 && sel.multipath >> i & 1 == 1);
            if best != c.best || (best && c.changed) {
                best_same = false;
            }
            let other = multipath && !best;
            if other != (c.multipath && !c.best) || (other && c.changed) {
                others_same = false;
            }
            c.best = best;
            c.multipath = multipath;
            c.changed = false;
        }
        dest.lost_best = false;
        dest.lost_other = false;
        (force || !best_same || !others_same).then_some(Change {
            prefix,
            best: force || !best_same,
            kernel: true,
        })
    }
}

/// The selection key of a candidate (docs/plugin-abi.md, "Selection
/// keys"; defaults per RFC 4271 9.1.2 and RFC 4456 9).
pub(crate) fn key_of(
    c: &Cand,
    peers: &crate::attrs::Map<u32, crate::rib::Peer>,
    cfg: &crate::config::RibConfig,
) -> SelectionKey {
    let a = &c.attrs.attrs;
    let local = c.source == LOCAL;
    let peer = peers.get(&c.source);
    let local_pref = a.local_pref.unwrap_or(100);
    let preference = if local || local_pref >= ELEVATED_LOCAL_PREF {
        200
    } else {
        100
    };
    let mut flags = 0;
    if peer.is_some_and(|p| !p.cfg.ibgp) {
        flags |= SelectionKey::EBGP;
    }
    if local {
        flags |= SelectionKey::LOCAL;
    }
    if a.med.is_some() {
        flags |= SelectionKey::MED_PRESENT;
    }
    if peer.is_some_and(|p| p.stale) {
        flags |= SelectionKey::STALE;
    }
    let peer_id = peer.map_or(cfg.router_id, |p| p.cfg.router_id);
    SelectionKey {
        preference,
        local_pref,
        as_path_len: path_len(&c.attrs),
        origin: a.origin.map_or(2, |o| u32::from(o.to_wire())),
        med: a.med.unwrap_or(0),
        neighbor_as: neighbor_as(&c.attrs),
        flags,
        igp_cost: 0,
        router_id: u32::from(a.originator_id.unwrap_or(peer_id)),
        cluster_list_len: a
            .cluster_list
            .as_ref()
            .map_or(0, |l| u32::try_from(l.len()).unwrap_or(u32::MAX)),
        peer_address: peer
            .map_or([0; 4], |p| SelectionKey::peer(p.cfg.address)),
    }
}

/// The host's ranking when the selection hook fails: preference,
/// LOCAL_PREF, AS_PATH length, ORIGIN, router id, peer address; no
/// multipath. Deterministic, so a failing plugin cannot make the
/// result depend on arrival order.
pub(crate) fn fallback(keys: &[u32], counts: &[u32]) -> Vec<Selection> {
    let mut out = Vec::with_capacity(counts.len());
    let mut rows = keys.chunks_exact(bgplet_plugin_abi::KEY_STRIDE);
    for &n in counts {
        let mut best = 0u32;
        let mut best_rank = None;
        for i in 0..n {
            let Some(k) = rows.next() else { break };
            let rank = (
                std::cmp::Reverse(k[0]),
                std::cmp::Reverse(k[1]),
                k[2],
                k[3],
                k[8],
                [k[10], k[11], k[12], k[13]],
            );
            if best_rank.as_ref().is_none_or(|b| rank < *b) {
                best_rank = Some(rank);
                best = i;
            }
        }
        out.push(Selection::single(best));
    }
    out
}
