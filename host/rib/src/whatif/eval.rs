//! The what-if pipeline: the stages of `Rib::reevaluate` over a scratch
//! Loc-RIB, read-only on the real one. Each stage mirrors its live
//! counterpart (import.rs, select.rs, export.rs, kernel.rs) in batching,
//! host rules and failure handling; `tests.rs` checks the prediction
//! against a real reevaluation.

use std::sync::Arc;

use bgplet_plugin_abi::{
    Edit, KernelAction, Policy, PolicyError, ROUTE_STRIDE, RouteAction,
    Selection, SourceFlags, Verdict, validate_filter_result,
    validate_selection,
};
use bgplet_wire::Prefix;
use smallvec::SmallVec;

use super::{
    BestChange, ExportChange, ImportChange, KernelDiff, KernelRoute, PathRef,
    PrefixChange, WhatIf, counts_as_error, same_attrs,
};
use crate::attrs::{AttrSet, Map};
use crate::import::{Row, local_attrs};
use crate::kernel::{FibRoute, Hops, KernelOp, ask_kernel, ecmp_hops};
use crate::rib::{Cand, LOCAL, PolicyErrors, Rib, SourceId};
use crate::select::{BATCH as SELECT_BATCH, fallback, key_of};
use crate::words::{Table, apply_edit, encode_route};

/// Routes per export and kernel call, as the live stages use.
const BATCH: usize = 1024;

/// Sent sets by (path attributes, source, family, edits); the key's
/// handle is kept alive by the path itself for the whole evaluation.
type SentCache = Map<
    (*const AttrSet, SourceId, bgplet_wire::AfiSafi, Vec<Edit>),
    Option<Arc<AttrSet>>,
>;

/// The import outcomes of one prefix (usually one or two paths).
type Imports = SmallVec<[Imported; 2]>;

/// The scratch candidates of one prefix.
type Cands = SmallVec<[Cand; 2]>;

/// One sent path: prefix, our path id, source, attributes.
type Sent = (Prefix, u32, SourceId, Arc<AttrSet>);

/// One path's import outcome under the evaluated policy.
struct Imported {
    source: SourceId,
    path_id: u32,
    flags: SourceFlags,
    attrs: Option<Arc<AttrSet>>,
}

/// The evaluation in progress.
pub(super) struct Eval<'a, P, Q: ?Sized> {
    rib: &'a Rib<P>,
    policy: &'a mut Q,
    errors: PolicyErrors,
    last_error: Option<PolicyError>,
    /// The scratch Loc-RIB: candidates with their selection marks.
    loc: Map<Prefix, Cands>,
    /// Differences found so far, and where each prefix's entry is (the
    /// entries are large: they are not moved by map growth).
    changes: Vec<PrefixChange>,
    index: Map<Prefix, usize>,
    paths: usize,
}

impl<'a, P: Policy, Q: Policy + ?Sized> Eval<'a, P, Q> {
    pub(super) fn new(rib: &'a Rib<P>, policy: &'a mut Q) -> Self {
        Self {
            rib,
            policy,
            errors: PolicyErrors::default(),
            last_error: None,
            // Sized for the whole table: no rehashing while it fills.
            loc: Map::with_capacity_and_hasher(
                rib.loc.len(),
                Default::default(),
            ),
            changes: Vec::new(),
            index: Map::default(),
            paths: 0,
        }
    }

    pub(super) fn run(mut self) -> WhatIf {
        let imported = self.import_all();
        self.build_loc(imported);
        self.select_all();
        self.compare_best();
        let mut gids: Vec<u32> = self.rib.groups.keys().copied().collect();
        gids.sort_unstable();
        for gid in gids {
            self.export_group(gid);
        }
        self.kernel_all();
        let rib = self.rib;
        let prefixes = rib.loc.len()
            + self.loc.keys().filter(|p| !rib.loc.contains_key(p)).count()
            + rib
                .fib
                .keys()
                .filter(|p| {
                    !rib.loc.contains_key(p) && !self.loc.contains_key(p)
                })
                .count();
        let mut changes = self.changes;
        changes.retain(|c| !c.is_empty());
        changes.sort_unstable_by_key(|c| c.prefix);
        WhatIf {
            changes,
            prefixes,
            paths: self.paths,
            policy_errors: self.errors,
            last_policy_error: self.last_error,
        }
    }

    fn failed(&mut self, e: PolicyError) -> bool {
        if counts_as_error(&e) {
            self.last_error = Some(e);
            true
        } else {
            false
        }
    }

    fn change(&mut self, prefix: Prefix) -> &mut PrefixChange {
        let changes = &mut self.changes;
        let i = *self.index.entry(prefix).or_insert_with(|| {
            changes.push(PrefixChange::new(prefix));
            changes.len() - 1
        });
        &mut self.changes[i]
    }

    fn name(&self, id: SourceId) -> Arc<str> {
        match self.rib.peers.get(&id) {
            Some(p) if id != LOCAL => p.name.clone(),
            _ => Arc::from("local"),
        }
    }

    /// Stage 1: every stored received path (per session, batched by
    /// attribute set as `reimport_peer` does) and every local route.
    fn import_all(&mut self) -> Map<Prefix, Imports> {
        let mut out: Map<Prefix, Imports> = Map::with_capacity_and_hasher(
            self.rib.loc.len(),
            Default::default(),
        );
        let rib = self.rib;
        for (&id, peer) in &rib.peers {
            let mut batches: Map<*const AttrSet, (Arc<AttrSet>, Vec<Row>)> =
                Map::default();
            for ((prefix, path_id), p) in &peer.adj_in {
                batches
                    .entry(Arc::as_ptr(&p.raw))
                    .or_insert_with(|| (p.raw.clone(), Vec::new()))
                    .1
                    .push(Row {
                        set: 0,
                        prefix: *prefix,
                        path_id: *path_id,
                        flags: peer.flags,
                    });
            }
            for (raw, rows) in batches.into_values() {
                self.import(id, &raw, &rows, &mut out);
            }
        }
        let mut local: Map<AttrSet, Vec<Row>> = Map::default();
        for r in rib.local.values() {
            let mut flags = SourceFlags::LOCAL;
            if r.is_own_block {
                flags = flags | SourceFlags::OWN_BLOCK;
            }
            local.entry(local_attrs(r)).or_default().push(Row {
                set: 0,
                prefix: r.prefix,
                path_id: 0,
                flags,
            });
        }
        for (set, rows) in local {
            self.import(LOCAL, &Arc::new(set), &rows, &mut out);
        }
        out
    }

    /// One import batch, as `Rib::import` runs it.
    fn import(
        &mut self,
        source: SourceId,
        raw: &Arc<AttrSet>,
        rows: &[Row],
        out: &mut Map<Prefix, Imports>,
    ) {
        self.paths += rows.len();
        // One set per batch (index 0), as the rows say.
        let mut table = Table::default();
        table.index(raw);
        let mut words = Vec::with_capacity(rows.len() * ROUTE_STRIDE);
        for r in rows {
            encode_route(0, &r.prefix, r.flags, r.path_id, &mut words);
        }
        let info = match self.rib.peers.get(&source) {
            Some(p) => &p.info,
            None => &self.rib.local_info,
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
                if self.failed(e) {
                    self.errors.import += 1;
                }
                vec![Verdict::Reject; rows.len()]
            }
        };
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
                            let a = Arc::new(set);
                            edited.push((edits, a.clone()));
                            Some(a)
                        }
                    }
                }
            };
            out.entry(r.prefix).or_default().push(Imported {
                source,
                path_id: r.path_id,
                flags: r.flags,
                attrs,
            });
        }
    }

    /// The scratch Loc-RIB: surviving candidates keep their place and
    /// ADD-PATH id (as `upsert_cand` keeps them), new ones are appended
    /// with the smallest free id; import differences are recorded.
    fn build_loc(&mut self, mut imported: Map<Prefix, Imports>) {
        let rib = self.rib;
        for (&prefix, dest) in &rib.loc {
            let mut fresh = imported.remove(&prefix).unwrap_or_default();
            let mut cands = Cands::new();
            for c in &dest.cands {
                let found = fresh.iter().position(|i| {
                    i.source == c.source && i.path_id == c.path_id
                });
                // A candidate without a stored path is not re-imported
                // by a reevaluation either: it stays as it is.
                let (attrs, flags) = match found {
                    Some(i) => {
                        let i = fresh.swap_remove(i);
                        (i.attrs, i.flags)
                    }
                    None => (Some(c.attrs.clone()), c.flags),
                };
                let changed =
                    attrs.as_ref().is_none_or(|a| !same_attrs(a, &c.attrs));
                if changed {
                    let change = ImportChange {
                        source: self.name(c.source),
                        path_id: c.path_id,
                        before: Some(c.attrs.clone()),
                        after: attrs.clone(),
                    };
                    self.change(prefix).import.push(change);
                }
                if let Some(attrs) = attrs {
                    cands.push(scratch_cand(
                        c.source, c.path_id, c.out_id, flags, attrs,
                    ));
                }
            }
            self.add_new(prefix, fresh, &mut cands);
            if !cands.is_empty() {
                self.loc.insert(prefix, cands);
            }
        }
        for (prefix, fresh) in imported {
            let mut cands = Cands::new();
            self.add_new(prefix, fresh, &mut cands);
            if !cands.is_empty() {
                self.loc.insert(prefix, cands);
            }
        }
    }

    fn add_new(&mut self, prefix: Prefix, fresh: Imports, cands: &mut Cands) {
        for i in fresh {
            let Some(attrs) = i.attrs else { continue };
            let mut out_id = 1;
            while cands.iter().any(|c| c.out_id == out_id) {
                out_id += 1;
            }
            let change = ImportChange {
                source: self.name(i.source),
                path_id: i.path_id,
                before: None,
                after: Some(attrs.clone()),
            };
            self.change(prefix).import.push(change);
            cands.push(scratch_cand(
                i.source, i.path_id, out_id, i.flags, attrs,
            ));
        }
    }

    /// Stage 2: selection over every scratch prefix, in batches.
    fn select_all(&mut self) {
        let prefixes: Vec<Prefix> = self.loc.keys().copied().collect();
        let mut pending: Vec<Prefix> = Vec::new();
        let mut keys: Vec<u32> = Vec::new();
        let mut counts: Vec<u32> = Vec::new();
        for prefix in prefixes {
            let Some(cands) = self.loc.get_mut(&prefix) else {
                continue;
            };
            if cands.len() == 1 {
                mark(cands, Selection::single(0));
                continue;
            }
            for c in cands.iter() {
                key_of(c, &self.rib.peers, &self.rib.cfg).encode(&mut keys);
            }
            counts.push(u32::try_from(cands.len()).unwrap_or(u32::MAX));
            pending.push(prefix);
            if pending.len() >= SELECT_BATCH {
                self.flush_select(&mut pending, &mut keys, &mut counts);
            }
        }
        if !pending.is_empty() {
            self.flush_select(&mut pending, &mut keys, &mut counts);
        }
    }

    fn flush_select(
        &mut self,
        pending: &mut Vec<Prefix>,
        keys: &mut Vec<u32>,
        counts: &mut Vec<u32>,
    ) {
        let answer = self.policy.select(keys, counts).and_then(|a| {
            validate_selection(counts, &a).map_err(PolicyError::Malformed)
        });
        let selections = match answer {
            Ok(s) => s,
            Err(e) => {
                if self.failed(e) {
                    self.errors.select += 1;
                }
                fallback(keys, counts)
            }
        };
        for (prefix, sel) in pending.drain(..).zip(selections) {
            if let Some(cands) = self.loc.get_mut(&prefix) {
                mark(cands, sel);
            }
        }
        keys.clear();
        counts.clear();
    }

    /// Best paths now and after, for every prefix of either Loc-RIB.
    fn compare_best(&mut self) {
        let rib = self.rib;
        let mut prefixes: Vec<Prefix> = rib.loc.keys().copied().collect();
        prefixes.extend(self.loc.keys().filter(|p| !rib.loc.contains_key(p)));
        for prefix in prefixes {
            let before = rib.loc.get(&prefix).and_then(|d| {
                d.cands
                    .iter()
                    .find(|c| c.best)
                    .map(|c| (c.source, c.path_id, c.attrs.clone()))
            });
            let after = self.loc.get(&prefix).and_then(|cands| {
                cands
                    .iter()
                    .find(|c| c.best)
                    .map(|c| (c.source, c.path_id, c.attrs.clone()))
            });
            let same = match (&before, &after) {
                (Some(a), Some(b)) => {
                    a.0 == b.0 && a.1 == b.1 && same_attrs(&a.2, &b.2)
                }
                (None, None) => true,
                _ => false,
            };
            if same {
                continue;
            }
            let path = |c: Option<(SourceId, u32, Arc<AttrSet>)>| {
                c.map(|(source, path_id, attrs)| PathRef {
                    source: self.name(source),
                    path_id,
                    attrs,
                })
            };
            let best = BestChange {
                before: path(before),
                after: path(after),
            };
            self.change(prefix).best = Some(best);
        }
    }

    /// Stage 3 for one update group, as `export_chunk` runs it.
    fn export_group(&mut self, gid: u32) {
        let rib = self.rib;
        let Some(g) = rib.groups.get(&gid) else {
            return;
        };
        if g.members.is_empty() {
            return;
        }
        let key = &g.key;
        let prefixes: Vec<Prefix> = self
            .loc
            .keys()
            .chain(g.out.keys().filter(|p| !self.loc.contains_key(p)))
            .filter(|p| key.families.contains(p.family()))
            .copied()
            .collect();
        let sole = match g.members.as_slice() {
            [only] if !g.refill => Some(*only),
            _ => None,
        };
        // Sent sets for equal inputs are computed once, and compared
        // with the Adj-RIB-Out's once per pair of handles.
        let mut sent_cache: SentCache = Map::default();
        let mut equal: Map<(*const AttrSet, *const AttrSet), bool> =
            Map::default();
        for chunk in prefixes.chunks(BATCH) {
            let mut rows: Vec<(Prefix, u32, SourceId, Arc<AttrSet>)> =
                Vec::with_capacity(chunk.len());
            let mut table = Table::default();
            let mut words: Vec<u32> =
                Vec::with_capacity(chunk.len() * ROUTE_STRIDE);
            for prefix in chunk {
                let add_path = key.ctx.add_path_tx.contains(prefix.family());
                let Some(cands) = self.loc.get(prefix) else {
                    continue;
                };
                for c in cands {
                    if !(add_path || c.best)
                        || !crate::export::host_allows(
                            key,
                            rib.src(c.source),
                            &c.attrs,
                        )
                        || sole == Some(c.source)
                    {
                        continue;
                    }
                    let out_id = if add_path { c.out_id } else { 0 };
                    let set = table.index(&c.attrs);
                    encode_route(set, prefix, c.flags, out_id, &mut words);
                    rows.push((*prefix, out_id, c.source, c.attrs.clone()));
                }
            }
            let verdicts = if rows.is_empty() {
                Vec::new()
            } else {
                let answer = self
                    .policy
                    .export(&g.info, &table.words, &words, &table)
                    .and_then(|r| {
                        validate_filter_result(rows.len(), &r)
                            .map_err(PolicyError::Malformed)
                    });
                match answer {
                    Ok(v) => v,
                    Err(e) => {
                        if self.failed(e) {
                            self.errors.export += 1;
                        }
                        vec![Verdict::Reject; rows.len()]
                    }
                }
            };
            // Sent sets in chunk order: (prefix, path id, source, set).
            let mut fresh: Vec<Sent> = Vec::with_capacity(rows.len());
            for ((prefix, out_id, source, attrs), v) in
                rows.into_iter().zip(verdicts)
            {
                let edits = match v {
                    Verdict::Reject => continue,
                    Verdict::Accept => Vec::new(),
                    Verdict::AcceptWith(e) => e,
                };
                let family = prefix.family();
                let ck = (Arc::as_ptr(&attrs), source, family, edits);
                let sent = match sent_cache.get(&ck) {
                    Some(s) => s.clone(),
                    None => {
                        let s = crate::export::transform(
                            key,
                            rib.cfg.cluster_id(),
                            rib.src(source),
                            family,
                            &attrs,
                            &ck.3,
                        )
                        .map(Arc::new);
                        // Keep the path's handle alive with the key.
                        sent_cache.insert(ck, s.clone());
                        s
                    }
                };
                if let Some(s) = sent {
                    fresh.push((prefix, out_id, source, s));
                }
            }
            let mut fresh = fresh.into_iter().peekable();
            for prefix in chunk {
                let mut new: SmallVec<[(u32, SourceId, Arc<AttrSet>); 1]> =
                    SmallVec::new();
                while let Some((_, id, src, a)) =
                    fresh.next_if(|(p, ..)| p == prefix)
                {
                    new.push((id, src, a));
                }
                let old = g.out.get(prefix);
                let mut ids: SmallVec<[u32; 2]> =
                    new.iter().map(|e| e.0).collect();
                ids.extend(
                    old.iter().flat_map(|o| o.iter().map(|e| e.path_id)),
                );
                ids.sort_unstable();
                ids.dedup();
                for id in ids {
                    let before = old
                        .and_then(|o| o.iter().find(|e| e.path_id == id))
                        .map(|e| (e.source, e.attrs.clone()));
                    let after = new
                        .iter()
                        .find(|e| e.0 == id)
                        .map(|e| (e.1, e.2.clone()));
                    let same = match (&before, &after) {
                        (Some(a), Some(b)) => {
                            a.0 == b.0
                                && *equal
                                    .entry((
                                        Arc::as_ptr(&a.1),
                                        Arc::as_ptr(&b.1),
                                    ))
                                    .or_insert_with(|| same_attrs(&a.1, &b.1))
                        }
                        (None, None) => true,
                        _ => false,
                    };
                    if same {
                        continue;
                    }
                    // Members never receive their own paths.
                    let source =
                        after.as_ref().or(before.as_ref()).map(|s| s.0);
                    let mut peers: Vec<Arc<str>> = g
                        .members
                        .iter()
                        .filter(|&&m| Some(m) != source)
                        .map(|&m| self.name(m))
                        .collect();
                    if peers.is_empty() {
                        continue;
                    }
                    peers.sort();
                    let change = ExportChange {
                        group: gid,
                        peers,
                        path_id: id,
                        before: before.map(|b| b.1),
                        after: after.map(|a| a.1),
                    };
                    self.change(*prefix).export.push(change);
                }
            }
        }
    }

    /// Stage 4: kernel decisions for every best path, and removals for
    /// programmed prefixes left without one.
    fn kernel_all(&mut self) {
        let rib = self.rib;
        let mut prefixes: Vec<Prefix> = self.loc.keys().copied().collect();
        prefixes.extend(rib.fib.keys().filter(|p| !self.loc.contains_key(p)));
        for chunk in prefixes.chunks(BATCH) {
            let mut table = Table::default();
            let mut words = Vec::new();
            let mut asked: Vec<(Prefix, Hops)> = Vec::new();
            let mut gone: Vec<Prefix> = Vec::new();
            for prefix in chunk {
                let cands = self.loc.get(prefix);
                let Some(best) = cands.and_then(|c| c.iter().find(|c| c.best))
                else {
                    gone.push(*prefix);
                    continue;
                };
                let set = table.index(&best.attrs);
                encode_route(set, prefix, best.flags, best.path_id, &mut words);
                let others = cands
                    .into_iter()
                    .flatten()
                    .filter(|c| c.multipath && !c.best);
                let hops = ecmp_hops(
                    std::iter::once(&*best.attrs)
                        .chain(others.map(|c| &*c.attrs)),
                );
                asked.push((*prefix, hops));
            }
            let answers = if asked.is_empty() {
                Vec::new()
            } else {
                match ask_kernel(self.policy, &table, &words, asked.len()) {
                    Ok(a) => a,
                    Err(e) => {
                        // The live stage leaves these prefixes as they are.
                        if self.failed(e) {
                            self.errors.kernel += 1;
                        }
                        asked.clear();
                        Vec::new()
                    }
                }
            };
            for prefix in gone {
                self.compare_fib(prefix, None);
            }
            for ((prefix, hops), KernelAction { action, metric }) in
                asked.into_iter().zip(answers)
            {
                let route = |action, next_hops| {
                    Some(FibRoute {
                        action,
                        next_hops,
                        metric,
                    })
                };
                let want = match action {
                    RouteAction::Skip => None,
                    RouteAction::Blackhole => {
                        route(KernelOp::Blackhole, SmallVec::new())
                    }
                    RouteAction::Install | RouteAction::Onlink
                        if hops.is_empty() =>
                    {
                        None
                    }
                    RouteAction::Install => route(KernelOp::Install, hops),
                    RouteAction::Onlink => route(KernelOp::Onlink, hops),
                };
                self.compare_fib(prefix, want);
            }
        }
    }

    fn compare_fib(&mut self, prefix: Prefix, want: Option<FibRoute>) {
        let have = self.rib.fib.get(&prefix);
        if have == want.as_ref() {
            return;
        }
        let view = |r: &FibRoute| KernelRoute {
            action: r.action,
            next_hops: r.next_hops.to_vec(),
            metric: r.metric,
        };
        let diff = KernelDiff {
            before: have.map(view),
            after: want.as_ref().map(view),
        };
        self.change(prefix).kernel = Some(diff);
    }
}

fn scratch_cand(
    source: SourceId,
    path_id: u32,
    out_id: u32,
    flags: SourceFlags,
    attrs: Arc<AttrSet>,
) -> Cand {
    Cand {
        source,
        path_id,
        out_id,
        flags,
        attrs,
        best: false,
        multipath: false,
        changed: false,
    }
}

/// Marks a selection on scratch candidates, as `Rib::apply` does.
fn mark(cands: &mut [Cand], sel: Selection) {
    for (i, c) in cands.iter_mut().enumerate() {
        c.best = i as u32 == sel.best;
        c.multipath = c.best || (i < 32 && sel.multipath >> i & 1 == 1);
    }
}
