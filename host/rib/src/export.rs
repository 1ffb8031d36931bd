//! Stage 3: export per update group. The export hook runs once per
//! group and batch; the host then does what BGP requires whatever the
//! plugin said (RFC 4271 5.1, RFC 4456 8, calico-bgp.md 5.2-5.3), diffs
//! against the group's Adj-RIB-Out and encodes the difference once for
//! every member.

use crate::attrs::Map;
use std::collections::hash_map::Entry;
use std::net::IpAddr;
use std::sync::Arc;

use bgplet_plugin_abi::{
    Edit, NextHopMode, Policy, PolicyError, ROUTE_STRIDE, Verdict,
    validate_filter_result,
};
use bgplet_wire::attribute::Community;
use bgplet_wire::{AfiSafi, AsPath, NextHop, Nlri, Prefix, encode_withdrawals};
use bytes::Bytes;

use crate::attrs::AttrSet;
use crate::group::{GroupKey, OutEntries, OutEntry};
use crate::rib::{Dirty, Outbox, Rib, SourceId, Src};
use crate::select::Change;
use crate::words::{Table, apply_edit, encode_route, next_hop, normalize};

/// Routes per export call.
const BATCH: usize = 1024;

/// LOCAL_PREF sent on iBGP when a route has none (RFC 4271 5.1.5;
/// BIRD's `default bgp_local_pref`).
const DEFAULT_LOCAL_PREF: u32 = 100;

/// One route offered to the export hook.
struct Row {
    prefix: Prefix,
    out_id: u32,
    source: SourceId,
    attrs: Arc<AttrSet>,
}

/// Announcements sharing sent attributes, a family and, when that
/// source is a member of the group, the source.
type Batch = (Arc<AttrSet>, AfiSafi, Option<SourceId>, Vec<Nlri>);

/// Sent attribute sets by (path attributes, source, family, edits).
type SentCache =
    Map<(*const AttrSet, SourceId, AfiSafi, Vec<Edit>), Option<Arc<AttrSet>>>;

/// Withdrawals of one family, hidden from one member (the source of
/// the withdrawn path, which never had it) or from none.
type Withdrawals = (AfiSafi, Option<SourceId>, Vec<Nlri>);

/// The difference for one group, waiting to be encoded.
#[derive(Default)]
struct Diff {
    withdraw: Vec<Withdrawals>,
    announce: Vec<Batch>,
    index: Map<(*const AttrSet, AfiSafi, Option<SourceId>), usize>,
    /// Withdrawals for one member only: it had an earlier path under a
    /// path id that now carries a path it is the source of.
    back: Vec<(SourceId, AfiSafi, Vec<Nlri>)>,
}

impl Diff {
    fn withdraw(&mut self, family: AfiSafi, hide: Option<SourceId>, n: Nlri) {
        match self
            .withdraw
            .iter_mut()
            .find(|(f, h, _)| *f == family && *h == hide)
        {
            Some((_, _, list)) => list.push(n),
            None => self.withdraw.push((family, hide, vec![n])),
        }
    }

    fn withdraw_back(&mut self, member: SourceId, family: AfiSafi, n: Nlri) {
        match self
            .back
            .iter_mut()
            .find(|(m, f, _)| *m == member && *f == family)
        {
            Some((_, _, list)) => list.push(n),
            None => self.back.push((member, family, vec![n])),
        }
    }

    fn announce(
        &mut self,
        attrs: &Arc<AttrSet>,
        family: AfiSafi,
        member: Option<SourceId>,
        nlri: Nlri,
    ) {
        let key = (Arc::as_ptr(attrs), family, member);
        let i = *self.index.entry(key).or_insert_with(|| {
            self.announce
                .push((attrs.clone(), family, member, Vec::new()));
            self.announce.len() - 1
        });
        self.announce[i].3.push(nlri);
    }
}

impl<P: Policy> Rib<P> {
    /// Exports the changed prefixes to every group: all of them where
    /// the group sends ADD-PATH for the family (every path counts),
    /// otherwise only those whose best path changed.
    pub(crate) fn export_changes(
        &mut self,
        dirty: &Dirty,
        changes: &[Change],
        out: &mut Outbox,
    ) {
        if self.groups.is_empty() {
            return;
        }
        let best: Vec<Prefix> = changes
            .iter()
            .filter(|c| c.best)
            .map(|c| c.prefix)
            .collect();
        let mut gids: Vec<u32> = self.groups.keys().copied().collect();
        gids.sort_unstable();
        for gid in gids {
            let Some(g) = self.groups.get(&gid) else {
                continue;
            };
            let add_path = g.key.ctx.add_path_tx;
            if add_path.is_empty() {
                self.export_group(gid, &best, out);
            } else {
                let mut prefixes: Vec<Prefix> = dirty
                    .list
                    .iter()
                    .filter(|p| add_path.contains(p.family()))
                    .copied()
                    .collect();
                prefixes.extend(
                    best.iter().filter(|p| !add_path.contains(p.family())),
                );
                self.export_group(gid, &prefixes, out);
            }
        }
    }

    /// Exports `prefixes` to group `gid` and sends the difference.
    pub(crate) fn export_group(
        &mut self,
        gid: u32,
        prefixes: &[Prefix],
        out: &mut Outbox,
    ) {
        let mut diff = Diff::default();
        for chunk in prefixes.chunks(BATCH) {
            self.export_chunk(gid, chunk, &mut diff);
        }
        self.send_diff(gid, diff, out);
    }

    fn export_chunk(&mut self, gid: u32, chunk: &[Prefix], diff: &mut Diff) {
        let Some(g) = self.groups.get(&gid) else {
            return;
        };
        let key = g.key.clone();
        // A group whose only member is a path's source sends that path
        // to nobody: skip it and mark the Adj-RIB-Out incomplete until
        // a second member joins (`join_group` refills it).
        let sole = match g.members.as_slice() {
            [only] if !g.refill => Some(*only),
            _ => None,
        };
        let mut skipped = false;
        // Usually one path per prefix: sized once, not grown per route.
        let mut rows: Vec<Row> = Vec::with_capacity(chunk.len());
        let mut table = Table::default();
        let mut words: Vec<u32> =
            Vec::with_capacity(chunk.len() * ROUTE_STRIDE);
        for prefix in chunk {
            let family = prefix.family();
            if !key.families.contains(family) {
                continue;
            }
            let add_path = key.ctx.add_path_tx.contains(family);
            let Some(dest) = self.loc.get(prefix) else {
                continue;
            };
            for c in &dest.cands {
                if !(add_path || c.best)
                    || !host_allows(&key, self.src(c.source), &c.attrs)
                {
                    continue;
                }
                if sole == Some(c.source) {
                    skipped = true;
                    continue;
                }
                let out_id = if add_path { c.out_id } else { 0 };
                let set = table.index(&c.attrs);
                encode_route(set, prefix, c.flags, out_id, &mut words);
                rows.push(Row {
                    prefix: *prefix,
                    out_id,
                    source: c.source,
                    attrs: c.attrs.clone(),
                });
            }
        }
        let verdicts = if rows.is_empty() {
            Vec::new()
        } else {
            self.call_export(gid, &table, &words, rows.len())
        };
        // Sent attribute sets for equal inputs are computed once.
        let mut cache: SentCache = Map::default();
        // New entries in chunk order (rows are generated prefix by
        // prefix), so no map is needed to regroup them.
        let mut fresh: Vec<(Prefix, OutEntry)> = Vec::with_capacity(rows.len());
        for (row, verdict) in rows.iter().zip(verdicts) {
            let edits = match verdict {
                Verdict::Reject => continue,
                Verdict::Accept => Vec::new(),
                Verdict::AcceptWith(e) => e,
            };
            let family = row.prefix.family();
            let ck = (Arc::as_ptr(&row.attrs), row.source, family, edits);
            let sent = match cache.get(&ck) {
                Some(s) => s.clone(),
                None => {
                    let src = self.src(row.source);
                    let s = transform(
                        &key,
                        self.cfg.cluster_id(),
                        src,
                        family,
                        &row.attrs,
                        &ck.3,
                    )
                    .map(|s| self.interner.intern(s));
                    if s.is_none() {
                        self.no_next_hop += 1;
                    }
                    cache.insert(ck, s.clone());
                    s
                }
            };
            if let Some(attrs) = sent {
                fresh.push((
                    row.prefix,
                    OutEntry {
                        path_id: row.out_id,
                        source: row.source,
                        attrs,
                    },
                ));
            }
        }
        let Some(g) = self.groups.get_mut(&gid) else {
            return;
        };
        g.partial |= skipped;
        let mut released = 0;
        let mut fresh = fresh.into_iter().peekable();
        for prefix in chunk {
            let family = prefix.family();
            if !key.families.contains(family) {
                continue;
            }
            let mut new = OutEntries::new();
            while let Some((_, e)) = fresh.next_if(|(p, _)| p == prefix) {
                new.push(e);
            }
            // One lookup per prefix: the entry is read and rewritten in
            // place.
            let mut slot = g.out.entry(*prefix);
            let old = match &mut slot {
                Entry::Occupied(o) => std::mem::take(o.get_mut()),
                Entry::Vacant(_) => OutEntries::new(),
            };
            for e in &new {
                let before = old.iter().find(|o| o.path_id == e.path_id);
                let unchanged = before.is_some_and(|o| {
                    o.source == e.source && Arc::ptr_eq(&o.attrs, &e.attrs)
                });
                if unchanged {
                    continue;
                }
                let member = g.members.contains(&e.source).then_some(e.source);
                let nlri = Nlri::with_path_id(e.path_id, *prefix);
                diff.announce(&e.attrs, family, member, nlri);
                if let Some(m) = member
                    && before.is_some_and(|o| o.source != m)
                {
                    diff.withdraw_back(m, family, nlri);
                }
            }
            for o in &old {
                if !new.iter().any(|e| e.path_id == o.path_id) {
                    let hide =
                        g.members.contains(&o.source).then_some(o.source);
                    let nlri = Nlri::with_path_id(o.path_id, *prefix);
                    diff.withdraw(family, hide, nlri);
                }
            }
            released += old.len();
            match slot {
                Entry::Occupied(o) => {
                    if new.is_empty() {
                        o.remove();
                    } else {
                        *o.into_mut() = new;
                    }
                }
                Entry::Vacant(v) => {
                    if !new.is_empty() {
                        v.insert(new);
                    }
                }
            }
        }
        self.interner.released(released);
    }

    /// Calls the export hook; a failure rejects the whole batch.
    fn call_export(
        &mut self,
        gid: u32,
        table: &Table,
        words: &[u32],
        n: usize,
    ) -> Vec<Verdict> {
        let Some(g) = self.groups.get(&gid) else {
            return vec![Verdict::Reject; n];
        };
        let answer = self
            .policy
            .export(&g.info, &table.words, words, table)
            .and_then(|r| {
                validate_filter_result(n, &r).map_err(PolicyError::Malformed)
            });
        match answer {
            Ok(v) => v,
            Err(e) => {
                self.policy_errors.export += 1;
                self.policy_failed(e);
                vec![Verdict::Reject; n]
            }
        }
    }

    /// Encodes a group's difference once and hands it to every member.
    /// A path whose source is a member goes to every other member only
    /// (BIRD never returns a route to the session it came from); that
    /// member is sent a withdrawal instead when it had held an earlier
    /// path under the same path id.
    fn send_diff(&mut self, gid: u32, diff: Diff, out: &mut Outbox) {
        let Some(g) = self.groups.get(&gid) else {
            return;
        };
        if g.members.is_empty() {
            return;
        }
        let members = g.members.clone();
        let ctx = g.key.ctx;
        let mut shared: Vec<Bytes> = Vec::new();
        for (family, hide, nlri) in &diff.withdraw {
            if hide.is_none() {
                self.encode_withdraw(*family, nlri, &ctx, &mut shared);
            }
        }
        for (attrs, family, member, nlri) in &diff.announce {
            if member.is_none() {
                self.encode_announce(attrs, *family, nlri, &ctx, &mut shared);
            }
        }
        for &m in &members {
            out.send(m, &shared);
        }
        let others =
            |hide: SourceId| members.iter().filter(move |&&m| m != hide);
        for (family, hide, nlri) in &diff.withdraw {
            let Some(hide) = *hide else { continue };
            if others(hide).next().is_none() {
                continue;
            }
            let mut bytes = Vec::new();
            self.encode_withdraw(*family, nlri, &ctx, &mut bytes);
            for &m in others(hide) {
                out.send(m, &bytes);
            }
        }
        for (attrs, family, member, nlri) in &diff.announce {
            let Some(hide) = *member else { continue };
            if others(hide).next().is_none() {
                continue;
            }
            let mut bytes = Vec::new();
            self.encode_announce(attrs, *family, nlri, &ctx, &mut bytes);
            for &m in others(hide) {
                out.send(m, &bytes);
            }
        }
        for (m, family, nlri) in &diff.back {
            let mut bytes = Vec::new();
            self.encode_withdraw(*family, nlri, &ctx, &mut bytes);
            out.send(*m, &bytes);
        }
    }

    fn encode_withdraw(
        &mut self,
        family: AfiSafi,
        nlri: &[Nlri],
        ctx: &bgplet_wire::SessionContext,
        out: &mut Vec<Bytes>,
    ) {
        if encode_withdrawals(family, nlri, ctx, out).is_err() {
            self.encode_errors += 1;
        }
    }
}

/// The host's own export rules that no plugin decides.
pub(crate) fn host_allows(key: &GroupKey, src: Src, attrs: &AttrSet) -> bool {
    // RFC 4456 section 6 (calico-bgp.md 5.2): an iBGP-learned route goes
    // to another iBGP peer only if one of the two is a client.
    if !src.local && src.ibgp && key.ibgp && !src.rr_client && !key.rr_client {
        return false;
    }
    // RFC 1997 well-known communities.
    if let Some(c) = &attrs.attrs.communities {
        if c.contains(&Community::NO_ADVERTISE) {
            return false;
        }
        if !key.ibgp
            && (c.contains(&Community::NO_EXPORT)
                || c.contains(&Community::NO_EXPORT_SUBCONFED))
        {
            return false;
        }
    }
    true
}

/// The attributes sent to a group for one path: the plugin's edits,
/// then the mechanical rules. `None` when no usable next hop exists.
pub(crate) fn transform(
    key: &GroupKey,
    cluster_id: std::net::Ipv4Addr,
    src: Src,
    family: AfiSafi,
    path: &AttrSet,
    edits: &[Edit],
) -> Option<AttrSet> {
    let mut s = path.clone();
    if !src.local && !s.attrs.unknown.is_empty() {
        // RFC 4271 9.1.3: pass on only transitive unknown attributes,
        // marked Partial.
        s.attrs = s.attrs.for_readvertisement();
    }
    let mut nh_self = false;
    let mut nh_set: Option<IpAddr> = None;
    let mut med_set = false;
    for e in edits {
        match *e {
            Edit::NextHopSelf => nh_self = true,
            Edit::SetNextHop(ip) => nh_set = Some(ip),
            Edit::SetMed(_) => {
                med_set = true;
                apply_edit(&mut s, e);
            }
            _ => apply_edit(&mut s, e),
        }
    }
    let a = &mut s.attrs;
    if key.ibgp {
        a.local_pref.get_or_insert(DEFAULT_LOCAL_PREF);
        if !src.local && src.ibgp {
            // Reflection (RFC 4456 section 8).
            a.originator_id.get_or_insert(src.router_id);
            a.cluster_list.get_or_insert_default().insert(0, cluster_id);
        }
    } else {
        // RFC 4271 5.1.2: our AS goes first toward an external peer.
        a.as_path
            .get_or_insert_with(AsPath::default)
            .prepend(key.local_as);
        // RFC 4271 5.1.5 and RFC 4456: internal attributes stay inside.
        a.local_pref = None;
        a.originator_id = None;
        a.cluster_list = None;
        // RFC 4271 5.1.4: a MED is not passed to another AS unless the
        // export policy set it (BIRD's behaviour).
        if !med_set {
            a.med = None;
        }
    }
    let own = match family {
        AfiSafi::IPV6_UNICAST => key.local_v6.map(IpAddr::V6),
        _ => key.local_v4.map(IpAddr::V4),
    };
    let kept = s.next_hop.and_then(|nh| match (family, nh) {
        (AfiSafi::IPV4_UNICAST, NextHop::V4(ip)) => Some(IpAddr::V4(ip)),
        (AfiSafi::IPV6_UNICAST, NextHop::V6 { global, .. }) => {
            Some(IpAddr::V6(global))
        }
        _ => None,
    });
    let family_of =
        |ip: &IpAddr| ip.is_ipv4() == (family == AfiSafi::IPV4_UNICAST);
    // calico-bgp.md 5.3: local routes and eBGP use our address unless
    // told to keep; iBGP keeps the received next hop.
    let use_self = nh_self
        || src.local
        || key.next_hop_mode == NextHopMode::SelfAddr
        || (!key.ibgp && key.next_hop_mode != NextHopMode::Keep);
    let chosen = match nh_set.filter(family_of) {
        Some(ip) => Some(ip),
        None if use_self => own,
        None => kept.or(own),
    };
    s.next_hop = Some(next_hop(chosen?));
    normalize(&mut s);
    Some(s)
}
