//! Stage 1: received UPDATEs and local routes through the safety checks
//! and the import hook into the Adj-RIB-In and the Loc-RIB.

use std::sync::Arc;

use crate::attrs::Map;

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
    /// Index of its attribute set in the batch's [`Table`].
    pub set: u32,
    pub prefix: Prefix,
    pub path_id: u32,
    pub flags: SourceFlags,
}

/// Received routes of one source waiting for the import hook: the
/// announcements of many UPDATEs go to the plugins as one call.
#[derive(Default)]
pub(crate) struct ImportBatch {
    source: SourceId,
    table: Table,
    rows: Vec<Row>,
}

/// The sets derived from one received set, by the edits that made them.
type Derived = Vec<(Vec<Edit>, Arc<AttrSet>)>;

/// Routes per import call; a larger batch is flushed.
const IMPORT_BATCH: usize = 1024;

impl<P: Policy> Rib<P> {
    /// Applies one UPDATE from peer `id` to the Adj-RIB-In and Loc-RIB.
    ///
    /// Announcements are queued in `batch` (flushed here whenever order
    /// matters: another source, withdrawals or End-of-RIB in this UPDATE,
    /// a full batch); the caller flushes the rest with
    /// [`Rib::flush_import`].
    pub(crate) fn ingest(
        &mut self,
        id: SourceId,
        update: RouteUpdate,
        batch: &mut ImportBatch,
        dirty: &mut Dirty,
    ) {
        // A withdrawal or EoR must see every earlier announcement
        // imported, and a batch holds one source.
        if batch.source != id
            || !update.withdrawn.is_empty()
            || update.end_of_rib.is_some()
            || batch.rows.len() >= IMPORT_BATCH
        {
            self.flush_import(batch, dirty);
            batch.source = id;
        }
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
                self.flush_import(batch, dirty);
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
            let set = batch.table.index(&raw);
            let first = batch.rows.len();
            for n in &nlri {
                // A replaced path stays in the Loc-RIB until import
                // decides on the new one.
                let old = peer
                    .adj_in
                    .insert((n.prefix, n.path_id), InPath { raw: raw.clone() });
                if old.is_some() {
                    self.interner.released(1);
                }
                batch.rows.push(Row {
                    set,
                    prefix: n.prefix,
                    path_id: n.path_id,
                    flags,
                });
            }
            if restarted {
                let keys: Vec<_> = batch.rows[first..]
                    .iter()
                    .map(|r| (r.prefix, r.path_id))
                    .collect();
                for key in keys {
                    self.replace_stale(id, key, dirty);
                }
            }
        }
    }

    /// Runs the import hook over the queued routes of `batch`.
    pub(crate) fn flush_import(
        &mut self,
        batch: &mut ImportBatch,
        dirty: &mut Dirty,
    ) {
        if batch.rows.is_empty() {
            return;
        }
        let taken = std::mem::take(batch);
        self.import(taken.source, &taken.table, &taken.rows, dirty);
        batch.source = taken.source;
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
        if peer.adj_in.remove(&(prefix, path_id)).is_some() {
            self.interner.released(1);
            self.remove_cand(prefix, id, path_id, dirty);
        }
        self.replace_stale(id, (prefix, path_id), dirty);
    }

    /// Runs the import hook over `rows` (attributes in `table`) and
    /// applies the verdicts to the Loc-RIB.
    pub(crate) fn import(
        &mut self,
        source: SourceId,
        table: &Table,
        rows: &[Row],
        dirty: &mut Dirty,
    ) {
        let mut words = Vec::with_capacity(rows.len() * 7);
        for r in rows {
            encode_route(r.set, &r.prefix, r.flags, r.path_id, &mut words);
        }
        let info = match self.peers.get(&source) {
            Some(p) => &p.info,
            None => &self.local_info,
        };
        let answer = self
            .policy
            .import(info, &table.words, &words, table)
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
        // Routes of one set given the same edits share one derived set;
        // looked up per set, as a batch spans hundreds of sets.
        let mut edited: Map<u32, Derived> = Map::default();
        for (r, v) in rows.iter().zip(verdicts) {
            let Some(raw) = table.sets.get(r.set as usize) else {
                continue;
            };
            let attrs = match v {
                Verdict::Reject => None,
                Verdict::Accept => Some(raw.clone()),
                Verdict::AcceptWith(edits) => {
                    let known = edited.entry(r.set).or_default();
                    match known.iter().find(|(e, _)| *e == edits) {
                        Some((_, a)) => Some(a.clone()),
                        None => {
                            let mut set = AttrSet::clone(raw);
                            for e in &edits {
                                apply_edit(&mut set, e);
                            }
                            let a = self.interner.intern(set);
                            known.push((edits, a.clone()));
                            Some(a)
                        }
                    }
                }
            };
            match attrs {
                Some(a) => self.upsert_cand(
                    r.prefix, source, r.path_id, r.flags, a, dirty,
                ),
                None => self.remove_cand(r.prefix, source, r.path_id, dirty),
            }
        }
    }

    /// Imports local routes, batched by their attribute set.
    pub(crate) fn import_local(
        &mut self,
        routes: Vec<LocalRoute>,
        dirty: &mut Dirty,
    ) {
        let mut table = Table::default();
        let mut rows = Vec::with_capacity(routes.len());
        for r in routes {
            let set = self.interner.intern(local_attrs(&r));
            let mut flags = SourceFlags::LOCAL;
            if r.is_own_block {
                flags = flags | SourceFlags::OWN_BLOCK;
            }
            rows.push(Row {
                set: table.index(&set),
                prefix: r.prefix,
                path_id: 0,
                flags,
            });
        }
        for chunk in rows.chunks(IMPORT_BATCH) {
            self.import(LOCAL, &table, chunk, dirty);
        }
    }

    /// Runs import again over a peer's stored paths (hot reload).
    pub(crate) fn reimport_peer(&mut self, id: SourceId, dirty: &mut Dirty) {
        let Some(peer) = self.peers.get(&id) else {
            return;
        };
        let flags = peer.flags;
        // Routes sorted by attribute set, so each batch's table stays
        // small; batches of [`IMPORT_BATCH`] routes.
        let mut paths: Vec<(&Arc<AttrSet>, Prefix, u32)> = peer
            .adj_in
            .iter()
            .map(|((prefix, path_id), p)| (&p.raw, *prefix, *path_id))
            .collect();
        paths.sort_by_key(|(raw, _, _)| Arc::as_ptr(raw));
        let mut batches = Vec::new();
        for chunk in paths.chunks(IMPORT_BATCH) {
            let mut table = Table::default();
            let rows: Vec<Row> = chunk
                .iter()
                .map(|(raw, prefix, path_id)| Row {
                    set: table.index(raw),
                    prefix: *prefix,
                    path_id: *path_id,
                    flags,
                })
                .collect();
            batches.push((table, rows));
        }
        for (table, rows) in batches {
            self.import(id, &table, &rows, dirty);
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
