//! Read-only views for the control API and tests.

use std::net::IpAddr;
use std::sync::Arc;

use bgplet_plugin_abi::{Policy, PolicyError};
use bgplet_wire::{FamilySet, Prefix};

use crate::attrs::AttrSet;
use crate::attrs::Map;
use crate::rib::{Dest, LOCAL, PolicyErrors, Rib, SourceId};
use crate::safety::SafetyCounters;

/// One candidate path of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathView {
    /// The source session's name, or "local".
    pub source: Arc<str>,
    /// The source's address (`None` for local routes).
    pub peer_address: Option<IpAddr>,
    /// The path id the source used (0 without ADD-PATH).
    pub path_id: u32,
    /// The path id we send it with to ADD-PATH peers.
    pub out_path_id: u32,
    /// The attributes after import.
    pub attrs: Arc<AttrSet>,
    /// The selected best path.
    pub best: bool,
    /// In the multipath (ECMP) set; the best path always is.
    pub multipath: bool,
    /// Kept from a session that went down gracefully (RFC 4724).
    pub stale: bool,
}

/// Every candidate path of one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteView {
    /// The prefix.
    pub prefix: Prefix,
    /// Candidates, the best first, then by source name and path id.
    pub paths: Vec<PathView>,
}

/// Counters and state of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    /// Session name.
    pub name: Arc<str>,
    /// Paths in its Adj-RIB-In (passed the safety checks).
    pub received: u64,
    /// Of those, accepted by import.
    pub accepted: u64,
    /// Paths its update group advertises to it now.
    pub advertised: u64,
    /// What the safety checks dropped from it.
    pub safety: SafetyCounters,
    /// Families it sent End-of-RIB for.
    pub end_of_rib: FamilySet,
    /// Its update group's id.
    pub group: u32,
    /// How many sessions share that group.
    pub group_members: usize,
}

/// One path of a session's Adj-RIB-In.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedView {
    /// The prefix.
    pub prefix: Prefix,
    /// The path id the peer used.
    pub path_id: u32,
    /// The attributes as received (after the safety checks), before
    /// import policy.
    pub raw: Arc<AttrSet>,
    /// The attributes import accepted it with; `None` if rejected.
    pub accepted: Option<Arc<AttrSet>>,
}

/// Whole-RIB statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RibStats {
    /// Prefixes in the Loc-RIB.
    pub prefixes: usize,
    /// Candidate paths in the Loc-RIB.
    pub paths: usize,
    /// Distinct attribute sets held (including not yet swept ones).
    pub interned_sets: usize,
    /// Update groups.
    pub groups: usize,
    /// Prefixes programmed in the kernel.
    pub kernel_routes: usize,
    /// Paths kept stale for sessions restarting (RFC 4724).
    pub stale_paths: usize,
    /// Every safety drop since start, departed sessions included.
    pub safety: SafetyCounters,
    /// Failed hook calls.
    pub policy_errors: PolicyErrors,
    /// UPDATEs that could not be encoded (attributes too large).
    pub encode_errors: u64,
    /// Exports dropped for lack of a usable next hop.
    pub no_next_hop: u64,
}

impl<P: Policy> Rib<P> {
    /// The candidates of one prefix.
    pub fn route(&self, prefix: &Prefix) -> Option<RouteView> {
        self.loc.get(prefix).map(|d| self.route_view(*prefix, d))
    }

    /// Every prefix, sorted.
    pub fn routes(&self) -> Vec<RouteView> {
        let mut prefixes: Vec<&Prefix> = self.loc.keys().collect();
        prefixes.sort();
        prefixes.into_iter().filter_map(|p| self.route(p)).collect()
    }

    fn route_view(&self, prefix: Prefix, dest: &Dest) -> RouteView {
        let local: Arc<str> = Arc::from("local");
        let mut paths: Vec<PathView> = dest
            .cands
            .iter()
            .map(|c| {
                let peer = self.peers.get(&c.source);
                PathView {
                    source: match peer {
                        Some(p) if c.source != LOCAL => p.name.clone(),
                        _ => local.clone(),
                    },
                    peer_address: peer.map(|p| p.cfg.address),
                    path_id: c.path_id,
                    out_path_id: c.out_id,
                    attrs: c.attrs.clone(),
                    best: c.best,
                    multipath: c.multipath,
                    stale: peer.is_some_and(|p| p.stale),
                }
            })
            .collect();
        paths.sort_by(|a, b| {
            b.best
                .cmp(&a.best)
                .then_with(|| a.source.cmp(&b.source))
                .then(a.path_id.cmp(&b.path_id))
        });
        RouteView { prefix, paths }
    }

    /// Every session, sorted by name.
    pub fn peers(&self) -> Vec<PeerView> {
        // One scan per group: its size, and how many of its paths each
        // member is the source of (those it is not sent).
        let mut counts: Map<u32, (u64, Map<SourceId, u64>)> = Map::default();
        for (&gid, g) in &self.groups {
            let mut own: Map<SourceId, u64> = Map::default();
            let mut total = 0;
            for e in g.out.values().flatten() {
                total += 1;
                if g.members.contains(&e.source) {
                    *own.entry(e.source).or_default() += 1;
                }
            }
            counts.insert(gid, (total, own));
        }
        let mut out: Vec<PeerView> = self
            .peers
            .iter()
            .filter(|(_, p)| !p.stale)
            .map(|(&id, p)| {
                let group = self.groups.get(&p.group);
                let advertised = counts.get(&p.group).map_or(0, |(t, own)| {
                    t - own.get(&id).copied().unwrap_or(0)
                });
                PeerView {
                    name: p.name.clone(),
                    received: p.adj_in.len() as u64,
                    accepted: p.accepted,
                    advertised,
                    safety: p.safety,
                    end_of_rib: p.eor,
                    group: p.group,
                    group_members: group.map_or(0, |g| g.members.len()),
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// One session's Adj-RIB-In: every path it sent that passed the
    /// safety checks, as received and as accepted, sorted.
    pub fn received(&self, peer: &str) -> Option<Vec<ReceivedView>> {
        let id = *self.by_name.get(peer)?;
        let p = self.peers.get(&id)?;
        let mut out: Vec<ReceivedView> = p
            .adj_in
            .iter()
            .map(|(&(prefix, path_id), r)| ReceivedView {
                prefix,
                path_id,
                raw: r.raw.clone(),
                accepted: self.loc.get(&prefix).and_then(|d| {
                    d.cands
                        .iter()
                        .find(|c| c.source == id && c.path_id == path_id)
                        .map(|c| c.attrs.clone())
                }),
            })
            .collect();
        out.sort_by_key(|r| (r.prefix, r.path_id));
        Some(out)
    }

    /// What a session is sent now: its group's Adj-RIB-Out without the
    /// paths it is the source of, as (prefix, path id, attributes),
    /// sorted.
    pub fn advertised(
        &self,
        peer: &str,
    ) -> Option<Vec<(Prefix, u32, Arc<AttrSet>)>> {
        let id = *self.by_name.get(peer)?;
        let g = self.groups.get(&self.peers.get(&id)?.group)?;
        let mut out: Vec<(Prefix, u32, Arc<AttrSet>)> = g
            .out
            .iter()
            .flat_map(|(p, es)| {
                es.iter()
                    .filter(|e| e.source != id)
                    .map(|e| (*p, e.path_id, e.attrs.clone()))
            })
            .collect();
        out.sort_by_key(|r| (r.0, r.1));
        Some(out)
    }

    /// Whole-RIB statistics.
    pub fn stats(&self) -> RibStats {
        RibStats {
            prefixes: self.loc.len(),
            paths: self.loc.values().map(|d| d.cands.len()).sum(),
            interned_sets: self.interner.len(),
            groups: self.groups.len(),
            kernel_routes: self.fib.len(),
            stale_paths: self
                .peers
                .values()
                .filter(|p| p.stale)
                .map(|p| p.adj_in.len())
                .sum(),
            safety: self.safety,
            policy_errors: self.policy_errors,
            encode_errors: self.encode_errors,
            no_next_hop: self.no_next_hop,
        }
    }

    /// The last hook failure, for logs and status.
    pub fn last_policy_error(&self) -> Option<&PolicyError> {
        self.last_policy_error.as_ref()
    }
}
