//! Stage 1: received UPDATEs and local routes through the safety checks
//! and the import hook into the Adj-RIB-In and the Loc-RIB.

use crate::attrs::Map;
use std::sync::Arc;

use bgplet_plugin_abi::{
    Edit, Policy, PolicyError, SourceFlags, Verdict, validate_filter_result,
};
use bgplet_wire::attribute::{AsPath, Origin};
use bgplet_wire::{PathAttributes, Prefix};

use crate::attrs::AttrSet;
use crate::config::{LocalRoute, RouteUpdate};
use crate::rib::{Dirty, InPath, LOCAL, Rib, SourceId};
use crate::safety::{Checks, SafetyDrop, martian};
use crate::words::{Table, apply_edit, encode_route};

/// One route of an import batch.
pub(crate) struct Row {
    pub prefix: Prefix,
    pub path_id: u32,
    pub flags: SourceFlags,
}

impl<P: Policy> Rib<P> {
    /// Applies one UPDATE from peer `id` to the Adj-RIB-In and Loc-RIB.
    pub(crate) fn ingest(
        &mut self,
        id: SourceId,
        update: RouteUpdate,
        dirty: &mut Dirty,
    ) {
        if let Some(family) = update.end_of_rib {
            if let Some(peer) = self.peers.get_mut(&id) {
                peer.eor.insert(family);
            }
            self.sweep_family(id, family, dirty);
        }
        let Some(peer) = self.peers.get(&id) else {
            return;
        };
        let restarted = peer.predecessor.is_some();
        let checks = Checks {
            local_as: peer.cfg.local_as,
            allow_local_as: peer.cfg.allow_local_as,
            router_id: self.cfg.router_id,
            cluster_id: peer
                .cfg
                .check_cluster_list
                .then(|| self.cfg.cluster_id()),
        };
        let ibgp = peer.cfg.ibgp;
        let flags = peer.flags;
        for n in &update.withdrawn {
            self.withdraw(id, n.prefix, n.path_id, dirty);
        }
        if update.announced.is_empty() {
            return;
        }
        let attr_drop = checks.attributes(&update.attributes);
        let mut attributes = update.attributes;
        // RFC 4271 5.1.5: LOCAL_PREF from an external peer is ignored.
        if !ibgp {
            attributes.local_pref = None;
        }
        let groups = update.announced.len();
        for (i, (next_hop, nlri)) in update.announced.into_iter().enumerate() {
            // The last (usually the only) next hop takes the attributes.
            let attrs = if i + 1 == groups {
                std::mem::take(&mut attributes)
            } else {
                attributes.clone()
            };
            let set = AttrSet::new(attrs, Some(next_hop));
            let drop = attr_drop.or_else(|| {
                set.next_hop_ip()
                    .filter(|ip| martian(*ip, &self.own))
                    .map(|_| SafetyDrop::MartianNextHop)
            });
            if let Some(why) = drop {
                // Treat as withdraw: an earlier good path must go.
                let n = nlri.len() as u64;
                self.safety.add(why, n);
                if let Some(peer) = self.peers.get_mut(&id) {
                    peer.safety.add(why, n);
                }
                for n in &nlri {
                    self.withdraw(id, n.prefix, n.path_id, dirty);
                }
                continue;
            }
            let raw = self.interner.intern(set);
            let Some(peer) = self.peers.get_mut(&id) else {
                return;
            };
            let mut rows = Vec::with_capacity(nlri.len());
            for n in &nlri {
                let old = peer.adj_in.insert(
                    (n.prefix, n.path_id),
                    InPath {
                        raw: raw.clone(),
                        accepted: false,
                    },
                );
                if let Some(old) = old {
                    peer.accepted =
                        peer.accepted.saturating_sub(u64::from(old.accepted));
                    self.interner.released(1);
                }
                rows.push(Row {
                    prefix: n.prefix,
                    path_id: n.path_id,
                    flags,
                });
            }
            if restarted {
                for r in &rows {
                    self.replace_stale(id, (r.prefix, r.path_id), dirty);
                }
            }
            self.import(id, &raw, &rows, dirty);
        }
    }

    /// Removes one received path.
    fn withdraw(
        &mut self,
        id: SourceId,
        prefix: Prefix,
        path_id: u32,
        dirty: &mut Dirty,
    ) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if let Some(old) = peer.adj_in.remove(&(prefix, path_id)) {
            peer.accepted =
                peer.accepted.saturating_sub(u64::from(old.accepted));
            self.interner.released(1);
            self.remove_cand(prefix, id, path_id, dirty);
        }
        self.replace_stale(id, (prefix, path_id), dirty);
    }

    /// Runs the import hook over routes sharing the attribute set `raw`
    /// and applies the verdicts to the Loc-RIB.
    pub(crate) fn import(
        &mut self,
        source: SourceId,
        raw: &Arc<AttrSet>,
        rows: &[Row],
        dirty: &mut Dirty,
    ) {
        let table = Table::one(raw);
        let set = 0;
        let mut words = Vec::with_capacity(rows.len() * 7);
        for r in rows {
            encode_route(set, &r.prefix, r.flags, r.path_id, &mut words);
        }
        let info = match self.peers.get(&source) {
            Some(p) => &p.info,
            None => &self.local_info,
        };
        let answer = self
            .policy
            .import(info, &table.words, &words, &table)
            .and_then(|r| {
                validate_filter_result(rows.len(), &r)
                    .map_err(PolicyError::Malformed)
            });
        let verdicts = match answer {
            Ok(v) => v,
            Err(e) => {
                self.policy_errors.import += 1;
                self.policy_failed(e);
                vec![Verdict::Reject; rows.len()]
            }
        };
        // Routes given the same edits share one derived set.
        let mut edited: Vec<(Vec<Edit>, Arc<AttrSet>)> = Vec::new();
        for (r, v) in rows.iter().zip(verdicts) {
            let attrs = match v {
                Verdict::Reject => None,
                Verdict::Accept => Some(raw.clone()),
                Verdict::AcceptWith(edits) => {
                    match edited.iter().find(|(e, _)| *e == edits) {
                        Some((_, a)) => Some(a.clone()),
                        None => {
                            let mut set = AttrSet::clone(raw);
                            for e in &edits {
                                apply_edit(&mut set, e);
                            }
                            let a = self.interner.intern(set);
                            edited.push((edits, a.clone()));
                            Some(a)
                        }
                    }
                }
            };
            self.set_accepted(source, r, attrs.is_some());
            match attrs {
                Some(a) => self.upsert_cand(
                    r.prefix, source, r.path_id, r.flags, a, dirty,
                ),
                None => self.remove_cand(r.prefix, source, r.path_id, dirty),
            }
        }
    }

    fn set_accepted(&mut self, source: SourceId, r: &Row, accepted: bool) {
        let Some(peer) = self.peers.get_mut(&source) else {
            return;
        };
        if let Some(p) = peer.adj_in.get_mut(&(r.prefix, r.path_id))
            && p.accepted != accepted
        {
            p.accepted = accepted;
            if accepted {
                peer.accepted += 1;
            } else {
                peer.accepted = peer.accepted.saturating_sub(1);
            }
        }
    }

    /// Imports local routes, batched by their attribute set.
    pub(crate) fn import_local(
        &mut self,
        routes: Vec<LocalRoute>,
        dirty: &mut Dirty,
    ) {
        let mut batches: Map<Arc<AttrSet>, Vec<Row>> = Map::default();
        for r in routes {
            let set = self.interner.intern(local_attrs(&r));
            let mut flags = SourceFlags::LOCAL;
            if r.is_own_block {
                flags = flags | SourceFlags::OWN_BLOCK;
            }
            batches.entry(set).or_default().push(Row {
                prefix: r.prefix,
                path_id: 0,
                flags,
            });
        }
        for (set, rows) in batches {
            self.import(LOCAL, &set, &rows, dirty);
        }
    }

    /// Runs import again over a peer's stored paths (hot reload).
    pub(crate) fn reimport_peer(&mut self, id: SourceId, dirty: &mut Dirty) {
        let Some(peer) = self.peers.get(&id) else {
            return;
        };
        let flags = peer.flags;
        let mut batches: Map<*const AttrSet, (Arc<AttrSet>, Vec<Row>)> =
            Map::default();
        for ((prefix, path_id), p) in &peer.adj_in {
            batches
                .entry(Arc::as_ptr(&p.raw))
                .or_insert_with(|| (p.raw.clone(), Vec::new()))
                .1
                .push(Row {
                    prefix: *prefix,
                    path_id: *path_id,
                    flags,
                });
        }
        for (raw, rows) in batches.into_values() {
            self.import(id, &raw, &rows, dirty);
        }
    }
}

/// The attributes a local route starts with: ORIGIN IGP, an empty
/// AS_PATH, its communities sorted and without duplicates, no next hop
/// (each session puts its own address, calico-bgp.md 5.3).
pub(crate) fn local_attrs(r: &LocalRoute) -> AttrSet {
    let mut communities = r.communities.clone();
    communities.sort();
    communities.dedup();
    let mut large = r.large_communities.clone();
    large.sort();
    large.dedup();
    AttrSet::new(
        PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            communities: (!communities.is_empty()).then_some(communities),
            large_communities: (!large.is_empty()).then_some(large),
            ..PathAttributes::default()
        },
        None,
    )
}
