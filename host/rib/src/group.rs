//! Update groups: sessions with the same export context share one
//! export evaluation, one Adj-RIB-Out and the same encoded UPDATEs.
//!
//! The key holds everything export and encoding depend on. It includes
//! the session's own addresses, because "next hop self" writes them
//! into the shared bytes: Calico's sessions of one kind leave from the
//! node address, so mesh peers still share a group, while a session
//! with another source address gets bytes of its own rather than a
//! per-member rewrite of the next hop.

use crate::attrs::Map;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bgplet_plugin_abi::{NextHopMode, PeerInfo, PeerKind, Policy};
use bgplet_wire::{
    AfiSafi, FamilySet, Message, Nlri, Prefix, RouteRefresh,
    RouteRefreshSubtype, SessionContext, Update, encode_announcements,
};
use bytes::Bytes;
use smallvec::SmallVec;

use crate::attrs::AttrSet;
use crate::config::PeerConfig;
use crate::rib::{Rib, SourceId};

/// What makes two sessions' exports identical.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey {
    pub kind: PeerKind,
    pub ibgp: bool,
    pub rr_client: bool,
    pub local_as: u32,
    /// The peer AS for eBGP sessions; 0 for iBGP (it equals local_as).
    pub peer_as: u32,
    pub next_hop_mode: NextHopMode,
    pub filters: Vec<String>,
    pub local_v4: Option<Ipv4Addr>,
    pub local_v6: Option<Ipv6Addr>,
    pub families: FamilySet,
    /// The encoding context (ADD-PATH receive cleared: it does not
    /// change what we send).
    pub ctx: SessionContext,
}

impl GroupKey {
    pub fn of(cfg: &PeerConfig) -> Self {
        Self {
            kind: cfg.kind,
            ibgp: cfg.ibgp,
            rr_client: cfg.rr_client,
            local_as: cfg.local_as,
            peer_as: if cfg.ibgp { 0 } else { cfg.peer_as },
            next_hop_mode: cfg.next_hop_mode,
            filters: cfg.filters.clone(),
            local_v4: cfg.local_v4,
            local_v6: cfg.local_v6,
            families: cfg.families,
            ctx: SessionContext {
                add_path_rx: FamilySet::EMPTY,
                ibgp: cfg.ibgp,
                ..cfg.ctx
            },
        }
    }
}

/// One advertised path in an Adj-RIB-Out.
#[derive(Debug, Clone)]
pub(crate) struct OutEntry {
    /// Our path id (ADD-PATH send) or 0.
    pub path_id: u32,
    /// Where the path came from: a member that is its source does not
    /// receive it.
    pub source: SourceId,
    /// The attributes as sent, next hop included.
    pub attrs: Arc<AttrSet>,
}

/// The paths advertised for one prefix (one unless ADD-PATH).
pub(crate) type OutEntries = SmallVec<[OutEntry; 1]>;

/// An update group.
pub(crate) struct Group {
    pub key: GroupKey,
    /// What the export hook is told about the group: the first member's
    /// name, the shared context, no address.
    pub info: PeerInfo,
    pub members: Vec<SourceId>,
    /// The Adj-RIB-Out.
    pub out: Map<Prefix, OutEntries>,
    /// `out` lacks the paths of the group's only member, which it would
    /// never be sent.
    pub partial: bool,
    /// Export everything, even a sole member's own paths (refilling
    /// before a second member joins).
    pub refill: bool,
}

impl<P: Policy> Rib<P> {
    /// Puts a new session in its group; a new group is filled from the
    /// Loc-RIB before the session joins.
    pub(crate) fn join_group(&mut self, cfg: &PeerConfig, id: SourceId) -> u32 {
        let key = GroupKey::of(cfg);
        if let Some(&gid) = self.group_ids.get(&key)
            && let Some(g) = self.groups.get_mut(&gid)
        {
            if g.partial {
                // Put back the paths skipped while the group had one
                // member: they are the new member's to receive. The only
                // difference is paths the current member is the source
                // of, which it never gets, so nothing is sent here.
                g.refill = true;
                let all: Vec<Prefix> = self.loc.keys().copied().collect();
                let mut outbox = crate::rib::Outbox::default();
                self.export_group(gid, &all, &mut outbox);
            }
            if let Some(g) = self.groups.get_mut(&gid) {
                g.refill = false;
                g.partial = false;
                g.members.push(id);
            }
            return gid;
        }
        let gid = self.next_group;
        self.next_group += 1;
        let info = PeerInfo {
            name: cfg.name.clone(),
            kind: cfg.kind,
            address: String::new(),
            peer_as: cfg.peer_as,
            local_as: cfg.local_as,
            ibgp: cfg.ibgp,
            rr_client: cfg.rr_client,
            next_hop_mode: cfg.next_hop_mode,
            filters: cfg.filters.clone(),
        };
        self.groups.insert(
            gid,
            Group {
                key: key.clone(),
                info,
                members: Vec::new(),
                out: Map::default(),
                partial: false,
                refill: false,
            },
        );
        self.group_ids.insert(key, gid);
        let all: Vec<Prefix> = self.loc.keys().copied().collect();
        // No member yet: this fills the Adj-RIB-Out without sending.
        let mut outbox = crate::rib::Outbox::default();
        self.export_group(gid, &all, &mut outbox);
        if let Some(g) = self.groups.get_mut(&gid) {
            g.members.push(id);
        }
        gid
    }

    /// Takes a session out of its group; an empty group is dropped.
    pub(crate) fn leave_group(&mut self, gid: u32, id: SourceId) {
        let Some(g) = self.groups.get_mut(&gid) else {
            return;
        };
        g.members.retain(|&m| m != id);
        if g.members.is_empty()
            && let Some(g) = self.groups.remove(&gid)
        {
            self.interner
                .released(g.out.values().map(|e| e.len()).sum::<usize>());
            self.group_ids.remove(&g.key);
        }
    }

    /// The group's Adj-RIB-Out as UPDATEs for one member (without the
    /// paths it is the source of), optionally for one family only.
    pub(crate) fn dump(
        &mut self,
        gid: u32,
        member: SourceId,
        only: Option<AfiSafi>,
    ) -> Vec<Bytes> {
        let Some(g) = self.groups.get(&gid) else {
            return Vec::new();
        };
        let mut order: Vec<(Arc<AttrSet>, AfiSafi, Vec<Nlri>)> = Vec::new();
        let mut index: Map<(*const AttrSet, AfiSafi), usize> = Map::default();
        for (prefix, entries) in &g.out {
            let family = prefix.family();
            if only.is_some_and(|f| f != family) {
                continue;
            }
            for e in entries.iter().filter(|e| e.source != member) {
                let i = *index
                    .entry((Arc::as_ptr(&e.attrs), family))
                    .or_insert_with(|| {
                        order.push((e.attrs.clone(), family, Vec::new()));
                        order.len() - 1
                    });
                order[i].2.push(Nlri::with_path_id(e.path_id, *prefix));
            }
        }
        let ctx = g.key.ctx;
        let mut out = Vec::new();
        for (attrs, family, nlri) in &order {
            self.encode_announce(attrs, *family, nlri, &ctx, &mut out);
        }
        out
    }

    /// Appends announcements of `nlri` with `attrs`.
    pub(crate) fn encode_announce(
        &mut self,
        attrs: &AttrSet,
        family: AfiSafi,
        nlri: &[Nlri],
        ctx: &SessionContext,
        out: &mut Vec<Bytes>,
    ) {
        let Some(next_hop) = attrs.next_hop else {
            self.no_next_hop += nlri.len() as u64;
            return;
        };
        if encode_announcements(&attrs.attrs, family, next_hop, nlri, ctx, out)
            .is_err()
        {
            self.encode_errors += 1;
        }
    }

    /// Appends End-of-RIB for `family` (RFC 4724 section 2).
    pub(crate) fn encode_eor(
        &mut self,
        family: AfiSafi,
        ctx: &SessionContext,
        out: &mut Vec<Bytes>,
    ) {
        match Message::Update(Update::end_of_rib(family)).to_bytes(ctx) {
            Ok(b) => out.push(b),
            Err(_) => self.encode_errors += 1,
        }
    }

    /// Appends BoRR (`begin`) or EoRR (RFC 7313 section 4).
    pub(crate) fn encode_refresh_marker(
        &mut self,
        family: AfiSafi,
        begin: bool,
        ctx: &SessionContext,
        out: &mut Vec<Bytes>,
    ) {
        let subtype = if begin {
            RouteRefreshSubtype::BeginningOfRefresh
        } else {
            RouteRefreshSubtype::EndOfRefresh
        };
        let msg = Message::RouteRefresh(RouteRefresh { family, subtype });
        match msg.to_bytes(ctx) {
            Ok(b) => out.push(b),
            Err(_) => self.encode_errors += 1,
        }
    }
}
