//! Test scaffolding: a small native policy and builders.
//!
//! The policy accepts everything and selects in plain RFC 4271 order;
//! it is not a copy of the Calico rules, only enough to drive the RIB.

#![allow(dead_code)]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use bgplet_plugin_abi::{
    Candidates, Edit, FilterResult, KernelAction, PeerInfo, Policy,
    PolicyError, RawAttributes, RouteAction, Routes, Selection, SelectionKey,
    Verdict, encode_kernel, encode_selections,
};
use bgplet_rib::{
    KernelChange, NextHopMode, Output, PeerConfig, PeerKind, Rib, RibConfig,
    RouteUpdate,
};
use bgplet_wire::attribute::{AsPath, Origin};
use bgplet_wire::{
    AfiSafi, FamilySet, Incoming, Message, NextHop, Nlri, PathAttributes,
    Prefix, SessionContext, Update,
};
use bytes::Bytes;

/// Our AS in every test.
pub const LOCAL_AS: u32 = 64512;

/// Accept-all policy with knobs.
#[derive(Default)]
pub struct TestPolicy {
    /// Import rejects these prefixes.
    pub reject_import: HashSet<Prefix>,
    /// Export adds these edits to every route.
    pub export_edits: Vec<Edit>,
    /// Every hook fails.
    pub broken: bool,
    /// The export hook fails.
    pub fail_export: bool,
    /// The selection hook fails.
    pub fail_select: bool,
    /// Calls per hook: import, select, export, kernel.
    pub calls: [u64; 4],
}

impl Policy for TestPolicy {
    fn import(
        &mut self,
        _from: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        _raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        self.calls[0] += 1;
        if self.broken {
            return Err(PolicyError::Trap("broken".into()));
        }
        let table = bgplet_plugin_abi::AttrTable::parse(attrs)
            .map_err(PolicyError::BadInput)?;
        let routes = Routes::parse(routes, table.len())
            .map_err(PolicyError::BadInput)?;
        let verdicts: Vec<Verdict> = routes
            .iter()
            .map(|r| {
                let p = Prefix::new(r.prefix, r.len).unwrap();
                if self.reject_import.contains(&p) {
                    Verdict::Reject
                } else {
                    Verdict::Accept
                }
            })
            .collect();
        Ok(FilterResult::encode(&verdicts))
    }

    fn select(
        &mut self,
        candidates: &[u32],
        counts: &[u32],
    ) -> Result<Vec<u32>, PolicyError> {
        self.calls[1] += 1;
        if self.broken || self.fail_select {
            return Err(PolicyError::Trap("broken".into()));
        }
        let c = Candidates::parse(candidates, counts)
            .map_err(PolicyError::BadInput)?;
        let answers: Vec<Selection> = c
            .prefixes()
            .map(|keys| {
                let keys: Vec<SelectionKey> = keys.collect();
                let best = (0..keys.len())
                    .min_by(|&a, &b| rank(&keys[a]).cmp(&rank(&keys[b])))
                    .unwrap_or(0);
                let mut mask = 0u32;
                for (i, k) in keys.iter().enumerate().take(32) {
                    if ecmp(k) == ecmp(&keys[best]) {
                        mask |= 1 << i;
                    }
                }
                Selection {
                    best: best as u32,
                    multipath: mask
                        | 1u32.checked_shl(best as u32).unwrap_or(0),
                }
            })
            .collect();
        Ok(encode_selections(&answers))
    }

    fn export(
        &mut self,
        _to: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        _raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        self.calls[2] += 1;
        if self.broken || self.fail_export {
            return Err(PolicyError::Trap("broken".into()));
        }
        let table = bgplet_plugin_abi::AttrTable::parse(attrs)
            .map_err(PolicyError::BadInput)?;
        let routes = Routes::parse(routes, table.len())
            .map_err(PolicyError::BadInput)?;
        let v = if self.export_edits.is_empty() {
            Verdict::Accept
        } else {
            Verdict::AcceptWith(self.export_edits.clone())
        };
        Ok(FilterResult::encode(&vec![v; routes.len()]))
    }

    fn kernel(
        &mut self,
        attrs: &[u32],
        routes: &[u32],
        _raw: &dyn RawAttributes,
    ) -> Result<Vec<u32>, PolicyError> {
        self.calls[3] += 1;
        if self.broken {
            return Err(PolicyError::Trap("broken".into()));
        }
        let table = bgplet_plugin_abi::AttrTable::parse(attrs)
            .map_err(PolicyError::BadInput)?;
        let routes = Routes::parse(routes, table.len())
            .map_err(PolicyError::BadInput)?;
        let actions: Vec<KernelAction> = routes
            .iter()
            .map(|r| KernelAction {
                action: if r
                    .source
                    .contains(bgplet_plugin_abi::SourceFlags::OWN_BLOCK)
                {
                    RouteAction::Blackhole
                } else {
                    RouteAction::Install
                },
                metric: 0,
            })
            .collect();
        Ok(encode_kernel(&actions))
    }
}

/// RFC 4271 9.1.2 in one tuple (lower is better); MED compared always,
/// which is enough for these tests.
fn rank(k: &SelectionKey) -> impl Ord {
    (
        std::cmp::Reverse(k.preference),
        std::cmp::Reverse(k.local_pref),
        k.as_path_len,
        k.origin,
        k.med,
        !k.ebgp(),
        k.router_id,
        k.cluster_list_len,
        k.peer_address,
    )
}

/// What must be equal for two paths to share the multipath set.
fn ecmp(k: &SelectionKey) -> impl Eq {
    (
        k.preference,
        k.local_pref,
        k.as_path_len,
        k.origin,
        k.med,
        k.ebgp(),
    )
}

/// The node used by every test: router id 10.0.0.1, AS 64512.
pub fn rib_config() -> RibConfig {
    RibConfig {
        router_id: Ipv4Addr::new(10, 0, 0, 1),
        local_as: LOCAL_AS,
        cluster_id: None,
        own_addresses: vec!["10.0.0.1".parse().unwrap()],
    }
}

/// A session from 10.0.0.1; iBGP when `peer_as` is ours.
pub fn peer(name: &str, address: &str, peer_as: u32) -> PeerConfig {
    let ibgp = peer_as == LOCAL_AS;
    let addr: Ipv4Addr = address.parse().unwrap();
    PeerConfig {
        name: name.into(),
        kind: if ibgp {
            PeerKind::Mesh
        } else {
            PeerKind::Global
        },
        address: IpAddr::V4(addr),
        local_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
        local_v6: Some("2001:db8::1".parse().unwrap()),
        router_id: addr,
        local_as: LOCAL_AS,
        peer_as,
        ibgp,
        rr_client: false,
        check_cluster_list: false,
        allow_local_as: 0,
        next_hop_mode: NextHopMode::Auto,
        filters: Vec::new(),
        ctx: SessionContext {
            four_octet_as: true,
            ibgp,
            ..SessionContext::default()
        },
        families: [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST]
            .into_iter()
            .collect::<FamilySet>(),
        enhanced_route_refresh: false,
    }
}

/// ORIGIN IGP with this AS path.
pub fn attrs(path: &[u32]) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(path.iter().copied())),
        ..PathAttributes::default()
    }
}

pub fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

/// An UPDATE announcing `prefixes` via `next_hop`.
pub fn announce(
    next_hop: &str,
    prefixes: &[&str],
    attributes: PathAttributes,
) -> RouteUpdate {
    let nh = match next_hop.parse::<IpAddr>().unwrap() {
        IpAddr::V4(v4) => NextHop::V4(v4),
        IpAddr::V6(global) => NextHop::V6 {
            global,
            link_local: None,
        },
    };
    RouteUpdate {
        announced: vec![(
            nh,
            prefixes.iter().map(|p| Nlri::new(pfx(p))).collect(),
        )],
        attributes,
        ..RouteUpdate::default()
    }
}

/// An UPDATE withdrawing `prefixes`.
pub fn withdraw(prefixes: &[&str]) -> RouteUpdate {
    RouteUpdate {
        withdrawn: prefixes.iter().map(|p| Nlri::new(pfx(p))).collect(),
        ..RouteUpdate::default()
    }
}

/// The messages sent to `peer` in `out`.
pub fn messages<'a>(out: &'a [Output], peer: &str) -> Vec<&'a Bytes> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { peer: p, messages } if &**p == peer => {
                Some(messages)
            }
            _ => None,
        })
        .flatten()
        .collect()
}

/// What `peer` (configured as `cfg`) would decode from `out`.
pub fn received(out: &[Output], cfg: &PeerConfig) -> Vec<Incoming> {
    let ctx = SessionContext {
        add_path_rx: cfg.ctx.add_path_tx,
        ..cfg.ctx
    };
    messages(out, &cfg.name)
        .into_iter()
        .map(|b| Message::decode(b, &ctx).unwrap())
        .collect()
}

/// The UPDATEs among `received`.
pub fn updates(out: &[Output], cfg: &PeerConfig) -> Vec<Update> {
    received(out, cfg)
        .into_iter()
        .filter_map(|m| match m {
            Incoming::Update(u) => Some(u.into_update()),
            _ => None,
        })
        .collect()
}

/// Every announced (prefix, path id) with the UPDATE's attributes and
/// next hop.
pub fn announced(
    out: &[Output],
    cfg: &PeerConfig,
) -> Vec<(Nlri, PathAttributes, NextHop)> {
    let mut all = Vec::new();
    for u in updates(out, cfg) {
        for a in u.announcements() {
            for n in a.nlri {
                all.push((*n, u.attributes.clone(), a.next_hop));
            }
        }
    }
    all
}

/// Every withdrawn (prefix, path id).
pub fn withdrawn(out: &[Output], cfg: &PeerConfig) -> Vec<Nlri> {
    updates(out, cfg)
        .iter()
        .flat_map(|u| {
            u.withdrawals()
                .flat_map(|(_, n)| n.iter().copied())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A RIB with the default test policy.
pub fn rib() -> Rib<TestPolicy> {
    Rib::new(rib_config(), TestPolicy::default())
}

/// The kernel changes in `out`.
pub fn kernel(out: &[Output]) -> Vec<KernelChange> {
    out.iter()
        .filter_map(|o| match o {
            Output::Kernel(k) => Some(k.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}
