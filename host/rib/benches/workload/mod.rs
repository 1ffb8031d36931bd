//! The workload shared by the pipeline bench and the CPU-time example:
//! an accept-all native policy and 100,000 IPv4 prefixes from one eBGP
//! peer, 3 per attribute set, exported to one other eBGP peer.

#![allow(clippy::unwrap_used, dead_code)]

use std::net::{IpAddr, Ipv4Addr};

use bgplet_plugin_abi::{
    FilterResult, PeerInfo, Policy, PolicyError, ROUTE_STRIDE, RawAttributes,
    Selection, encode_selections,
};
use bgplet_rib::{
    NextHopMode, PeerConfig, PeerKind, Rib, RibConfig, RouteUpdate,
};
use bgplet_wire::attribute::{AsPath, Community, Origin};
use bgplet_wire::{
    AfiSafi, FamilySet, Ipv4Prefix, NextHop, Nlri, PathAttributes,
    SessionContext,
};

pub const PREFIXES: u32 = 100_000;
pub const PER_SET: u32 = 3;

/// Accepts everything, keeps the first candidate, installs every route.
pub struct AcceptAll;

impl Policy for AcceptAll {
    fn import(
        &mut self,
        _: &PeerInfo,
        _: &[u32],
        routes: &[u32],
        _: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        Ok(FilterResult::accept_all(routes.len() / ROUTE_STRIDE))
    }

    fn select(
        &mut self,
        _: &[u32],
        counts: &[u32],
    ) -> Result<Vec<u32>, PolicyError> {
        Ok(encode_selections(&vec![Selection::single(0); counts.len()]))
    }

    fn export(
        &mut self,
        _: &PeerInfo,
        _: &[u32],
        routes: &[u32],
        _: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        Ok(FilterResult::accept_all(routes.len() / ROUTE_STRIDE))
    }

    fn kernel(
        &mut self,
        _: &[u32],
        routes: &[u32],
        _: &dyn RawAttributes,
    ) -> Result<Vec<u32>, PolicyError> {
        Ok([1, 0].repeat(routes.len() / ROUTE_STRIDE))
    }
}

fn peer(name: &str, address: Ipv4Addr, peer_as: u32) -> PeerConfig {
    PeerConfig {
        name: name.into(),
        kind: PeerKind::Global,
        address: IpAddr::V4(address),
        local_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
        local_v6: None,
        router_id: address,
        local_as: 64512,
        peer_as,
        ibgp: false,
        rr_client: false,
        check_cluster_list: false,
        allow_local_as: 0,
        next_hop_mode: NextHopMode::Auto,
        filters: Vec::new(),
        ctx: SessionContext {
            four_octet_as: true,
            ..SessionContext::default()
        },
        families: [AfiSafi::IPV4_UNICAST].into_iter().collect::<FamilySet>(),
        enhanced_route_refresh: false,
    }
}

pub fn rib() -> Rib<AcceptAll> {
    let mut rib = Rib::new(
        RibConfig {
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            local_as: 64512,
            cluster_id: None,
            own_addresses: Vec::new(),
        },
        AcceptAll,
    );
    rib.peer_up(peer("src", Ipv4Addr::new(192, 0, 2, 1), 65001))
        .unwrap();
    rib.peer_up(peer("dst", Ipv4Addr::new(198, 51, 100, 1), 65002))
        .unwrap();
    rib
}

/// 100,000 /24s in UPDATEs of 3, each UPDATE with its own attributes.
pub fn updates() -> Vec<RouteUpdate> {
    let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
    (0..PREFIXES.div_ceil(PER_SET))
        .map(|u| {
            let nlri = (0..PER_SET)
                .map(|k| u * PER_SET + k)
                .filter(|&i| i < PREFIXES)
                .map(|i| {
                    let addr = Ipv4Addr::from((10 << 24) | (i << 8));
                    Nlri::new(Ipv4Prefix::new(addr, 24).unwrap())
                })
                .collect();
            RouteUpdate {
                announced: vec![(nh, nlri)],
                attributes: PathAttributes {
                    origin: Some(Origin::Igp),
                    as_path: Some(AsPath::sequence([65001, 65100 + u % 50])),
                    communities: Some(vec![Community(u)]),
                    ..PathAttributes::default()
                },
                ..RouteUpdate::default()
            }
        })
        .collect()
}
