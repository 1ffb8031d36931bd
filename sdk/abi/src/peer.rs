//! The WIT `peer` record as a plain type.

/// How a session relates to this node (WIT `peer-kind`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PeerKind {
    /// Node-to-node mesh (`Mesh_`).
    #[default]
    Mesh,
    /// Node-scoped BGPPeer or reverse peering (`Node_`).
    Node,
    /// Global BGPPeer (`Global_`).
    Global,
    /// Not a session: routes this node originates.
    Local,
}

/// `nextHopMode` of a session (WIT `next-hop-mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum NextHopMode {
    /// BIRD's defaults (calico-bgp.md 5.3).
    #[default]
    Auto,
    /// Always the session's source address (WIT `self-addr`, Calico's
    /// `Self`).
    #[cfg_attr(feature = "serde", serde(rename = "self"))]
    SelfAddr,
    /// Always the original next hop.
    Keep,
}

/// The session a batch came from or goes to (WIT `peer`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct PeerInfo {
    /// Session name, e.g. "Global_10_0_0_1"; "local" for originated.
    pub name: String,
    /// Session kind.
    pub kind: PeerKind,
    /// Peer address as text ("" for local).
    pub address: String,
    /// The peer's AS.
    pub peer_as: u32,
    /// Our AS on this session.
    pub local_as: u32,
    /// `peer_as == local_as`.
    pub ibgp: bool,
    /// The peer is our route-reflector client (RFC 4456).
    pub rr_client: bool,
    /// Next-hop mode.
    pub next_hop_mode: NextHopMode,
    /// BGPFilter names applied to this session, in order.
    pub filters: Vec<String>,
}
