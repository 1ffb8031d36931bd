//! What the daemon tells the RIB: the node, each established session,
//! the routes this node originates, and each received UPDATE.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgplet_plugin_abi::{NextHopMode, PeerKind};
use bgplet_wire::attribute::{Community, LargeCommunity};
use bgplet_wire::{
    AfiSafi, FamilySet, NextHop, Nlri, PathAttributes, Prefix, SessionContext,
    Update,
};

/// This node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibConfig {
    /// Our BGP identifier: the ORIGINATOR_ID loop check compares with
    /// it (RFC 4456 section 8).
    pub router_id: Ipv4Addr,
    /// The node's AS.
    pub local_as: u32,
    /// Our route-reflector cluster id; `None` means the router id
    /// (RFC 4456 section 7).
    pub cluster_id: Option<Ipv4Addr>,
    /// This node's own addresses: a received next hop equal to one of
    /// them is treated as a withdrawal (next to the sessions' local
    /// addresses, which are always included).
    pub own_addresses: Vec<IpAddr>,
}

impl RibConfig {
    /// The cluster id in effect.
    pub fn cluster_id(&self) -> Ipv4Addr {
        self.cluster_id.unwrap_or(self.router_id)
    }
}

/// An established session, as [`crate::Rib::peer_up`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// Session name, e.g. "Mesh_10_0_0_2"; unique among live sessions.
    pub name: String,
    /// Session kind.
    pub kind: PeerKind,
    /// The peer's address.
    pub address: IpAddr,
    /// Our IPv4 address on this session (next hop self for IPv4).
    pub local_v4: Option<Ipv4Addr>,
    /// Our IPv6 address on this session (next hop self for IPv6).
    pub local_v6: Option<Ipv6Addr>,
    /// The peer's BGP identifier (from its OPEN).
    pub router_id: Ipv4Addr,
    /// Our AS on this session.
    pub local_as: u32,
    /// The peer's AS.
    pub peer_as: u32,
    /// Internal session (peer AS equals local AS).
    pub ibgp: bool,
    /// The peer is our route-reflector client (RFC 4456).
    pub rr_client: bool,
    /// Drop received routes whose CLUSTER_LIST holds our cluster id.
    /// BIRD 1.x checks this only on `rr client` sessions
    /// (calico-bgp.md 5.2), so the daemon sets it to `rr_client`.
    pub check_cluster_list: bool,
    /// How often our AS may appear in a received AS_PATH.
    pub allow_local_as: u8,
    /// Next-hop mode.
    pub next_hop_mode: NextHopMode,
    /// BGPFilter names, in order.
    pub filters: Vec<String>,
    /// The negotiated encoding context.
    pub ctx: SessionContext,
    /// The negotiated families we exchange routes for.
    pub families: FamilySet,
    /// Enhanced route refresh was negotiated (RFC 7313): refreshes are
    /// framed by BoRR and EoRR.
    pub enhanced_route_refresh: bool,
}

/// A route this node originates (its IPAM blocks, service ranges).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalRoute {
    /// The prefix.
    pub prefix: Prefix,
    /// Standard communities.
    pub communities: Vec<Community>,
    /// Large communities.
    pub large_communities: Vec<LargeCommunity>,
    /// This is one of this node's own IPAM blocks (source flag bit 20).
    pub is_own_block: bool,
}

/// One UPDATE after RFC 7606, as the RIB takes it: the daemon's
/// `UpdateIn` moves its fields here unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteUpdate {
    /// Withdrawn prefixes, every family (treat-as-withdraw included).
    pub withdrawn: Vec<Nlri>,
    /// Announced prefixes grouped by next hop.
    pub announced: Vec<(NextHop, Vec<Nlri>)>,
    /// The attributes shared by every announced prefix.
    pub attributes: PathAttributes,
    /// This UPDATE is an End-of-RIB marker (RFC 4724 section 2).
    pub end_of_rib: Option<AfiSafi>,
}

impl From<Update> for RouteUpdate {
    fn from(update: Update) -> Self {
        let end_of_rib = update.end_of_rib_family();
        let withdrawn = update
            .withdrawals()
            .flat_map(|(_, nlri)| nlri.iter().copied())
            .collect();
        let announced = update
            .announcements()
            .map(|a| (a.next_hop, a.nlri.to_vec()))
            .collect();
        Self {
            withdrawn,
            announced,
            attributes: update.attributes,
            end_of_rib,
        }
    }
}
