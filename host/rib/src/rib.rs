//! The RIB: state and the public inputs. The stages of the pipeline
//! live in [`crate::import`], [`crate::select`], [`crate::export`] and
//! [`crate::kernel`]; each input gathers the prefixes it changed and runs
//! the later stages once over all of them, so that every hook is called
//! per batch.

use crate::attrs::{Map, Set};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgplet_plugin_abi::{PeerInfo, PeerKind, Policy, PolicyError, SourceFlags};
use bgplet_wire::{AfiSafi, FamilySet, Prefix};
use bytes::Bytes;
use smallvec::SmallVec;

use crate::attrs::{AttrSet, Interner};
use crate::config::{LocalRoute, PeerConfig, RibConfig, RouteUpdate};
use crate::error::RibError;
use crate::group::{Group, GroupKey};
use crate::import::ImportBatch;
use crate::kernel::{FibRoute, KernelChange};
use crate::safety::SafetyCounters;

/// Index of a route source; [`LOCAL`] is this node, peers count up
/// from 1 and are never reused.
pub(crate) type SourceId = u32;

/// The source of locally originated routes.
pub(crate) const LOCAL: SourceId = 0;

/// Something the daemon must do, returned by every input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these encoded messages to a session, in order. Members of
    /// one update group receive the same `Bytes` (shared buffers).
    Send {
        /// Session name.
        peer: Arc<str>,
        /// Complete BGP messages.
        messages: Vec<Bytes>,
    },
    /// Program these kernel routes (batched, for the FIB).
    Kernel(Vec<KernelChange>),
}

/// How often a policy hook failed (trap, timeout or malformed answer);
/// the affected routes were rejected (import, export), kept on the
/// previous kernel state (kernel), or ranked by the host's fallback
/// order (selection).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyErrors {
    /// Failed import batches.
    pub import: u64,
    /// Failed selection batches.
    pub select: u64,
    /// Failed export batches.
    pub export: u64,
    /// Failed kernel batches.
    pub kernel: u64,
}

/// One path as the Adj-RIB-In keeps it.
pub(crate) struct InPath {
    /// What the peer sent (after the host's safety checks), kept so a
    /// policy change can re-run import without a route refresh.
    pub raw: Arc<AttrSet>,
}

/// An established session.
pub(crate) struct Peer {
    pub cfg: PeerConfig,
    pub name: Arc<str>,
    pub info: PeerInfo,
    pub flags: SourceFlags,
    pub adj_in: Map<(Prefix, u32), InPath>,
    /// Its paths in the Loc-RIB, i.e. accepted by import (kept by
    /// [`Rib::upsert_cand`] and [`Rib::remove_cand`], so the Adj-RIB-In
    /// needs no flag and import no second lookup per route).
    pub accepted: u64,
    pub group: u32,
    pub safety: SafetyCounters,
    pub eor: FamilySet,
    /// The session is gone and these are its stale paths, kept for
    /// graceful restart (RFC 4724 section 4.2).
    pub stale: bool,
    /// The stale paths of this session's previous incarnation.
    pub predecessor: Option<SourceId>,
}

/// One candidate path of a prefix in the Loc-RIB.
pub(crate) struct Cand {
    pub source: SourceId,
    /// The path id the source used (0 without ADD-PATH).
    pub path_id: u32,
    /// Our path id for ADD-PATH send: stable while this path lives.
    pub out_id: u32,
    pub flags: SourceFlags,
    /// The attributes after import.
    pub attrs: Arc<AttrSet>,
    /// Best at the last selection.
    pub best: bool,
    /// In the multipath set at the last selection (the best included).
    pub multipath: bool,
    /// New, or its attributes or flags replaced, since the last
    /// selection: a selection keeping it still changes the route.
    pub changed: bool,
}

/// A prefix of the Loc-RIB. What the last selection chose is kept in
/// the candidates' flags rather than as copies, which costs a million-
/// prefix table 24 bytes per entry less.
#[derive(Default)]
pub(crate) struct Dest {
    pub cands: SmallVec<[Cand; 1]>,
    /// The last selection's best path was removed since.
    pub lost_best: bool,
    /// A multipath member of the last selection was removed since.
    pub lost_other: bool,
}

/// Prefixes changed by one input, in first-change order.
#[derive(Default)]
pub(crate) struct Dirty {
    seen: Set<Prefix>,
    pub list: Vec<Prefix>,
}

impl Dirty {
    pub fn mark(&mut self, prefix: Prefix) {
        if self.seen.insert(prefix) {
            self.list.push(prefix);
        }
    }
}

/// Messages and kernel changes gathered during one input.
#[derive(Default)]
pub(crate) struct Outbox {
    sends: Vec<(SourceId, Vec<Bytes>)>,
    index: Map<SourceId, usize>,
    pub kernel: Vec<KernelChange>,
}

impl Outbox {
    pub fn send(&mut self, peer: SourceId, messages: &[Bytes]) {
        if messages.is_empty() {
            return;
        }
        let i = *self.index.entry(peer).or_insert_with(|| {
            self.sends.push((peer, Vec::new()));
            self.sends.len() - 1
        });
        self.sends[i].1.extend_from_slice(messages);
    }
}

/// The RIB of one node, driven by the daemon (sans-IO).
pub struct Rib<P> {
    pub(crate) cfg: RibConfig,
    pub(crate) policy: P,
    pub(crate) interner: Interner,
    pub(crate) peers: Map<SourceId, Peer>,
    pub(crate) by_name: Map<String, SourceId>,
    pub(crate) next_source: SourceId,
    pub(crate) loc: Map<Prefix, Dest>,
    pub(crate) local: Map<Prefix, LocalRoute>,
    pub(crate) local_info: PeerInfo,
    pub(crate) groups: Map<u32, Group>,
    /// Departed sessions whose paths are kept stale, by name.
    pub(crate) stale: Map<String, SourceId>,
    pub(crate) group_ids: Map<GroupKey, u32>,
    pub(crate) next_group: u32,
    pub(crate) fib: Map<Prefix, FibRoute>,
    /// Every address a received next hop must not be.
    pub(crate) own: Vec<IpAddr>,
    pub(crate) safety: SafetyCounters,
    pub(crate) policy_errors: PolicyErrors,
    pub(crate) last_policy_error: Option<PolicyError>,
    pub(crate) encode_errors: u64,
    pub(crate) no_next_hop: u64,
    /// Kernel decisions are made and kept (off when the daemon runs
    /// without a FIB).
    pub(crate) kernel: bool,
}

impl<P: Policy> Rib<P> {
    /// An empty RIB for this node, deciding through `policy`.
    pub fn new(cfg: RibConfig, policy: P) -> Self {
        let local_info = PeerInfo {
            name: "local".into(),
            kind: PeerKind::Local,
            peer_as: cfg.local_as,
            local_as: cfg.local_as,
            ibgp: true,
            ..PeerInfo::default()
        };
        let own = cfg.own_addresses.clone();
        Self {
            cfg,
            policy,
            interner: Interner::default(),
            peers: Map::default(),
            by_name: Map::default(),
            next_source: 1,
            loc: Map::default(),
            local: Map::default(),
            local_info,
            groups: Map::default(),
            stale: Map::default(),
            group_ids: Map::default(),
            next_group: 0,
            fib: Map::default(),
            own,
            safety: SafetyCounters::default(),
            policy_errors: PolicyErrors::default(),
            last_policy_error: None,
            encode_errors: 0,
            no_next_hop: 0,
            kernel: true,
        }
    }

    /// Stops (or resumes) kernel decisions: with `false` the kernel hook
    /// is never called and no FIB state is kept, for a node that does
    /// not program its kernel (`--no-fib`). Call it before any route
    /// arrives.
    pub fn set_kernel(&mut self, enabled: bool) {
        self.kernel = enabled;
    }

    /// The policy, e.g. to swap plugins; call [`Self::reevaluate`]
    /// after changing what it decides.
    pub fn policy_mut(&mut self) -> &mut P {
        &mut self.policy
    }

    /// A session reached Established: it joins the update group of its
    /// export context (creating and filling it if new), receives the
    /// group's Adj-RIB-Out, then End-of-RIB for each of its families
    /// (RFC 4724 section 2).
    pub fn peer_up(
        &mut self,
        cfg: PeerConfig,
    ) -> Result<Vec<Output>, RibError> {
        if self.by_name.contains_key(&cfg.name) {
            return Err(RibError::PeerExists(cfg.name));
        }
        let id = self.next_source;
        self.next_source += 1;
        for ip in [cfg.local_v4.map(IpAddr::V4), cfg.local_v6.map(IpAddr::V6)]
            .into_iter()
            .flatten()
        {
            if !self.own.contains(&ip) {
                self.own.push(ip);
            }
        }
        let gid = self.join_group(&cfg, id);
        let mut flags = if cfg.ibgp {
            SourceFlags::IBGP
        } else {
            SourceFlags::EBGP
        };
        if cfg.rr_client {
            flags = flags | SourceFlags::RR_CLIENT;
        }
        let peer = Peer {
            name: Arc::from(cfg.name.as_str()),
            info: peer_info(&cfg),
            flags,
            adj_in: Map::default(),
            accepted: 0,
            group: gid,
            safety: SafetyCounters::default(),
            eor: FamilySet::EMPTY,
            stale: false,
            predecessor: self.stale.get(&cfg.name).copied(),
            cfg,
        };
        self.by_name.insert(peer.cfg.name.clone(), id);
        self.peers.insert(id, peer);
        let mut outbox = Outbox::default();
        let mut messages = self.dump(gid, id, None);
        if let Some((families, ctx)) =
            self.peers.get(&id).map(|p| (p.cfg.families, p.cfg.ctx))
        {
            for family in [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST] {
                if families.contains(family) {
                    self.encode_eor(family, &ctx, &mut messages);
                }
            }
        }
        outbox.send(id, &messages);
        Ok(self.finish(outbox))
    }

    /// A session went down: its Adj-RIB-In is dropped, the prefixes it
    /// contributed are selected again (withdrawing or replacing them
    /// toward everyone else), and it leaves its update group.
    pub fn peer_down(&mut self, name: &str) -> Result<Vec<Output>, RibError> {
        let id = self.source_id(name)?;
        let mut dirty = Dirty::default();
        self.end_session(id);
        // A session that dies before finishing its restart takes the
        // stale paths with it (RFC 4724 section 4.2).
        if let Some(old) = self.stale.remove(name) {
            self.drop_source(old, &mut dirty);
        }
        self.drop_source(id, &mut dirty);
        let mut outbox = Outbox::default();
        self.run(&dirty, false, &mut outbox);
        Ok(self.finish(outbox))
    }

    /// One UPDATE from a session: withdrawals, then the announcements
    /// through the safety checks, import, selection, export and kernel.
    pub fn update(
        &mut self,
        peer: &str,
        update: RouteUpdate,
    ) -> Result<Vec<Output>, RibError> {
        let id = self.source_id(peer)?;
        let mut dirty = Dirty::default();
        let mut batch = ImportBatch::default();
        self.ingest(id, update, &mut batch, &mut dirty);
        self.flush_import(&mut batch, &mut dirty);
        let mut outbox = Outbox::default();
        self.run(&dirty, false, &mut outbox);
        Ok(self.finish(outbox))
    }

    /// Many UPDATEs (e.g. a drained queue) at once: imports run per
    /// UPDATE, then selection, export and kernel run once over every
    /// changed prefix, which batches the hooks far better. UPDATEs from
    /// sessions that are not up are skipped.
    pub fn update_many<'a, I>(&mut self, updates: I) -> Vec<Output>
    where
        I: IntoIterator<Item = (&'a str, RouteUpdate)>,
    {
        let mut dirty = Dirty::default();
        let mut batch = ImportBatch::default();
        for (peer, update) in updates {
            if let Some(&id) = self.by_name.get(peer) {
                self.ingest(id, update, &mut batch, &mut dirty);
            }
        }
        self.flush_import(&mut batch, &mut dirty);
        let mut outbox = Outbox::default();
        self.run(&dirty, false, &mut outbox);
        self.finish(outbox)
    }

    /// The peer asked for our routes again (RFC 2918): its group's
    /// Adj-RIB-Out for `family`, framed by BoRR and EoRR when enhanced
    /// route refresh was negotiated (RFC 7313 section 4).
    pub fn route_refresh(
        &mut self,
        peer: &str,
        family: AfiSafi,
    ) -> Result<Vec<Output>, RibError> {
        let id = self.source_id(peer)?;
        let Some(p) = self.peers.get(&id) else {
            return Err(RibError::UnknownPeer(peer.to_owned()));
        };
        if !p.cfg.families.contains(family) {
            return Ok(Vec::new());
        }
        let enhanced = p.cfg.enhanced_route_refresh;
        let ctx = p.cfg.ctx;
        let gid = p.group;
        let mut messages = Vec::new();
        if enhanced {
            self.encode_refresh_marker(family, true, &ctx, &mut messages);
        }
        messages.extend(self.dump(gid, id, Some(family)));
        if enhanced {
            self.encode_refresh_marker(family, false, &ctx, &mut messages);
        }
        let mut outbox = Outbox::default();
        outbox.send(id, &messages);
        Ok(self.finish(outbox))
    }

    /// Replaces the set of routes this node originates. New and changed
    /// routes go through import like received ones, from the "local"
    /// source (preference 200 in selection).
    pub fn set_local(&mut self, routes: Vec<LocalRoute>) -> Vec<Output> {
        let mut dirty = Dirty::default();
        let mut fresh: Map<Prefix, LocalRoute> = Map::default();
        for r in routes {
            fresh.insert(r.prefix, r);
        }
        let gone: Vec<Prefix> = self
            .local
            .keys()
            .filter(|p| !fresh.contains_key(p))
            .copied()
            .collect();
        for prefix in gone {
            self.local.remove(&prefix);
            self.remove_cand(prefix, LOCAL, 0, &mut dirty);
        }
        let changed: Vec<LocalRoute> = fresh
            .into_values()
            .filter(|r| self.local.get(&r.prefix) != Some(r))
            .collect();
        for r in &changed {
            self.local.insert(r.prefix, r.clone());
        }
        self.import_local(changed, &mut dirty);
        let mut outbox = Outbox::default();
        self.run(&dirty, false, &mut outbox);
        self.finish(outbox)
    }

    /// Runs import again over every stored received path (from the
    /// pre-policy copies, no route refresh needed) and every local
    /// route, then selection, export and kernel over the whole table:
    /// what a policy hot reload calls.
    pub fn reevaluate(&mut self) -> Vec<Output> {
        let mut dirty = Dirty::default();
        let ids: Vec<SourceId> = self.peers.keys().copied().collect();
        for id in ids {
            self.reimport_peer(id, &mut dirty);
        }
        let local: Vec<LocalRoute> = self.local.values().cloned().collect();
        self.import_local(local, &mut dirty);
        for prefix in self.loc.keys() {
            dirty.mark(*prefix);
        }
        for prefix in self.fib.keys() {
            dirty.mark(*prefix);
        }
        let mut outbox = Outbox::default();
        self.run(&dirty, true, &mut outbox);
        self.finish(outbox)
    }

    /// Frees attribute sets no path uses any more (also done
    /// automatically once enough paths were released).
    pub fn collect_garbage(&mut self) {
        self.interner.collect();
    }

    /// The later pipeline stages over the prefixes an input changed.
    /// `force` re-exports and re-programs every one of them even if its
    /// selection did not change (after a policy change).
    pub(crate) fn run(&mut self, dirty: &Dirty, force: bool, out: &mut Outbox) {
        let changes = self.select_changed(dirty, force);
        self.export_changes(dirty, &changes, out);
        self.program_kernel(&changes, out);
        self.interner.maybe_collect();
    }

    pub(crate) fn source_id(&self, name: &str) -> Result<SourceId, RibError> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| RibError::UnknownPeer(name.to_owned()))
    }

    /// What selection and export need to know about a source.
    pub(crate) fn src(&self, id: SourceId) -> Src {
        match self.peers.get(&id) {
            Some(p) => Src {
                local: false,
                ibgp: p.cfg.ibgp,
                rr_client: p.cfg.rr_client,
                router_id: p.cfg.router_id,
            },
            None => Src {
                local: true,
                ibgp: true,
                rr_client: false,
                router_id: self.cfg.router_id,
            },
        }
    }

    /// Removes a candidate; marks the prefix changed if there was one.
    pub(crate) fn remove_cand(
        &mut self,
        prefix: Prefix,
        source: SourceId,
        path_id: u32,
        dirty: &mut Dirty,
    ) {
        let Some(dest) = self.loc.get_mut(&prefix) else {
            return;
        };
        let before = dest.cands.len();
        let (mut lost_best, mut lost_other) = (false, false);
        dest.cands.retain(|c| {
            let gone = c.source == source && c.path_id == path_id;
            if gone {
                lost_best |= c.best;
                lost_other |= c.multipath && !c.best;
            }
            !gone
        });
        dest.lost_best |= lost_best;
        dest.lost_other |= lost_other;
        if dest.cands.len() != before {
            self.interner.released(1);
            dirty.mark(prefix);
            self.count_accepted(source, false);
        }
    }

    /// Inserts or replaces a candidate; marks the prefix changed unless
    /// nothing changed.
    pub(crate) fn upsert_cand(
        &mut self,
        prefix: Prefix,
        source: SourceId,
        path_id: u32,
        flags: SourceFlags,
        attrs: Arc<AttrSet>,
        dirty: &mut Dirty,
    ) {
        let dest = self.loc.entry(prefix).or_default();
        if let Some(c) = dest
            .cands
            .iter_mut()
            .find(|c| c.source == source && c.path_id == path_id)
        {
            if Arc::ptr_eq(&c.attrs, &attrs) && c.flags == flags {
                return;
            }
            c.attrs = attrs;
            c.flags = flags;
            c.changed = true;
            self.interner.released(1);
        } else {
            // The smallest id no live path of this prefix uses: stable
            // for as long as this path lives (RFC 7911 section 3).
            let mut out_id = 1;
            while dest.cands.iter().any(|c| c.out_id == out_id) {
                out_id += 1;
            }
            dest.cands.push(Cand {
                source,
                path_id,
                out_id,
                flags,
                attrs,
                best: false,
                multipath: false,
                changed: true,
            });
            self.count_accepted(source, true);
        }
        dirty.mark(prefix);
    }

    /// One path of `source` entered (or left) the Loc-RIB.
    fn count_accepted(&mut self, source: SourceId, added: bool) {
        if let Some(p) = self.peers.get_mut(&source) {
            p.accepted = if added {
                p.accepted + 1
            } else {
                p.accepted.saturating_sub(1)
            };
        }
    }

    /// Records a failed hook call.
    pub(crate) fn policy_failed(&mut self, error: PolicyError) {
        self.last_policy_error = Some(error);
    }

    pub(crate) fn finish(&mut self, outbox: Outbox) -> Vec<Output> {
        let mut out = Vec::with_capacity(outbox.sends.len() + 1);
        for (id, messages) in outbox.sends {
            if let Some(p) = self.peers.get(&id) {
                out.push(Output::Send {
                    peer: p.name.clone(),
                    messages,
                });
            }
        }
        if !outbox.kernel.is_empty() {
            out.push(Output::Kernel(outbox.kernel));
        }
        out
    }
}

/// A route source as the pipeline sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Src {
    pub local: bool,
    pub ibgp: bool,
    pub rr_client: bool,
    pub router_id: Ipv4Addr,
}

fn peer_info(cfg: &PeerConfig) -> PeerInfo {
    PeerInfo {
        name: cfg.name.clone(),
        kind: cfg.kind,
        address: cfg.address.to_string(),
        peer_as: cfg.peer_as,
        local_as: cfg.local_as,
        ibgp: cfg.ibgp,
        rr_client: cfg.rr_client,
        next_hop_mode: cfg.next_hop_mode,
        filters: cfg.filters.clone(),
    }
}
