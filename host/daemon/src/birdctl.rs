//! A BIRD-compatible control socket, so calico-node's readiness probe,
//! `calicoctl node status` and the CalicoNodeStatus populators work
//! unchanged against bgplet (calico-bgp.md §1 item 4, §7).
//!
//! Only the replies Calico parses are served: `show status`, `show
//! protocols [all [NAME]]` and `show route [for ADDR]`. The text mimics
//! BIRD 1.6 byte for byte where Calico's parsers look (reply codes,
//! column widths, continuation lines starting with a space). The agent
//! describes its state as a [`BirdView`]; the server asks for a fresh one
//! per command and renders it, so this module owns no BGP state.

mod clock;
mod ready;
mod render;
mod server;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

pub use ready::{bird_ready, calico_peer_address};
pub use render::{Command, RouteFilter, answer, greeting, parse_command};
pub use server::{BirdServer, ViewRequest};

/// Where calico-node and calicoctl look for the IPv4 daemon.
pub const DEFAULT_SOCKET_V4: &str = "/var/run/calico/bird.ctl";
/// Where calico-node and calicoctl look for the IPv6 daemon.
pub const DEFAULT_SOCKET_V6: &str = "/var/run/calico/bird6.ctl";

/// Which daemon a socket impersonates: Calico runs `bird` for IPv4 and
/// `bird6` for IPv6, each with its own socket and its own sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `bird.ctl`: IPv4 sessions and routes.
    V4,
    /// `bird6.ctl`: IPv6 sessions and routes.
    V6,
}

impl Family {
    /// Whether `addr` belongs to this family.
    pub fn contains(self, addr: IpAddr) -> bool {
        matches!(
            (self, addr),
            (Family::V4, IpAddr::V4(_)) | (Family::V6, IpAddr::V6(_))
        )
    }
}

/// Everything the BIRD socket can show, as of one moment.
#[derive(Debug, Clone)]
pub struct BirdView {
    /// Version text after "BIRD ". Calico's CalicoNodeStatus keeps it
    /// only when it starts with "v" (e.g. "v0.3.3+bgplet0.1.0").
    pub version: String,
    /// BGP identifier.
    pub router_id: Ipv4Addr,
    /// "Current server time"; also the reference for the short
    /// (`%T` within 20 hours) time format of protocol and route rows.
    pub server_time: SystemTime,
    /// "Last reboot on": when the agent started.
    pub started: SystemTime,
    /// "Last reconfiguration on": when the configuration last changed.
    pub last_reconfig: SystemTime,
    /// Graceful restart recovery still running (`0024` lines), which
    /// calico-node's readiness treats as not ready.
    pub graceful_restart: Option<GrProgress>,
    /// What the final `0013` line says.
    pub phase: DaemonPhase,
    /// Rows of `show protocols`, in display order. BGP rows of both
    /// families may be given; each socket shows its own family.
    pub protocols: Vec<ProtocolView>,
    /// Rows of `show route`. Paths of one prefix must be adjacent, the
    /// primary one first (BIRD prints the prefix only on the first).
    pub routes: Vec<RouteRow>,
}

/// BIRD's graceful restart recovery report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrProgress {
    /// Protocols not yet recovered.
    pub waiting: u32,
    /// Seconds left on the wait timer.
    pub wait_remaining: u32,
    /// The wait timer's length in seconds (BIRD's default is 240).
    pub wait_total: u32,
}

/// The daemon-wide state in the last line of `show status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DaemonPhase {
    /// "Daemon is up and running".
    #[default]
    Running,
    /// "Reconfiguration in progress".
    Reconfiguring,
    /// "Shutdown in progress".
    ShuttingDown,
}

/// One row of `show protocols`.
#[derive(Debug, Clone)]
pub struct ProtocolView {
    /// Protocol name: `device1`, `direct1`, `kernel1`, `static1`, or a
    /// Calico session name such as `Mesh_10_0_0_12`.
    pub name: String,
    /// Protocol type column.
    pub proto: ProtoKind,
    /// State column.
    pub state: ProtoState,
    /// When the state last changed.
    pub since: SystemTime,
    /// Info column for non-BGP protocols (usually empty). BGP rows build
    /// theirs from [`BgpDetail`] as BIRD does.
    pub info: String,
    /// Routes this protocol has in the table.
    pub routes: RouteCounts,
    /// The "Route change stats" block of `show protocols all`.
    pub changes: ChangeStats,
    /// Session details; `Some` for every BGP protocol.
    pub bgp: Option<BgpDetail>,
}

/// The protocol types Calico's BIRD configuration instantiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtoKind {
    /// Interface scanner.
    Device,
    /// Interface (connected) routes.
    Direct,
    /// Kernel table synchronisation.
    Kernel,
    /// Locally originated routes (IPAM blocks, service IPs).
    Static,
    /// A BGP session.
    Bgp,
}

impl ProtoKind {
    /// The proto column (BIRD's protocol class name).
    pub fn name(self) -> &'static str {
        match self {
            ProtoKind::Device => "Device",
            ProtoKind::Direct => "Direct",
            ProtoKind::Kernel => "Kernel",
            ProtoKind::Static => "Static",
            ProtoKind::Bgp => "BGP",
        }
    }

    /// BIRD 1.6's default route preference for the protocol type.
    pub fn preference(self) -> u32 {
        match self {
            ProtoKind::Device | ProtoKind::Direct => 240,
            ProtoKind::Kernel => 10,
            ProtoKind::Static => 200,
            ProtoKind::Bgp => 100,
        }
    }
}

/// BIRD's protocol state column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtoState {
    /// Running (for BGP: Established).
    Up,
    /// Starting (for BGP: any state before Established).
    Start,
    /// Stopping.
    Stop,
    /// Down (disabled, or waiting after an error).
    Down,
}

impl ProtoState {
    /// The state column text.
    pub fn name(self) -> &'static str {
        match self {
            ProtoState::Up => "up",
            ProtoState::Start => "start",
            ProtoState::Stop => "stop",
            ProtoState::Down => "down",
        }
    }
}

/// Route counts of the "Routes:" line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteCounts {
    /// Routes this protocol put in the table.
    pub imported: u64,
    /// Routes the table gave this protocol.
    pub exported: u64,
    /// Imported routes that won selection.
    pub preferred: u64,
}

/// Route change statistics. bgplet does not count rejects separately,
/// so received and accepted are the same numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeStats {
    /// Announcements received.
    pub import_updates: u64,
    /// Withdrawals received.
    pub import_withdraws: u64,
    /// Announcements sent.
    pub export_updates: u64,
    /// Withdrawals sent.
    pub export_withdraws: u64,
}

/// RFC 4271 §8.2.2 session states, plus BIRD's extra descriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BgpState {
    /// Idle.
    Idle,
    /// Connect.
    Connect,
    /// Active.
    Active,
    /// OpenSent.
    OpenSent,
    /// OpenConfirm.
    OpenConfirm,
    /// Established.
    Established,
    /// BIRD's "Close": a NOTIFICATION was sent, the session is closing.
    Close,
    /// BIRD's "Passive": idle and waiting for the peer to connect.
    Passive,
    /// BIRD's "Down": the protocol is down.
    Down,
}

impl BgpState {
    /// The name BIRD prints (and Calico maps back).
    pub fn name(self) -> &'static str {
        match self {
            BgpState::Idle => "Idle",
            BgpState::Connect => "Connect",
            BgpState::Active => "Active",
            BgpState::OpenSent => "OpenSent",
            BgpState::OpenConfirm => "OpenConfirm",
            BgpState::Established => "Established",
            BgpState::Close => "Close",
            BgpState::Passive => "Passive",
            BgpState::Down => "Down",
        }
    }
}

/// What `show protocols all NAME` tells about a BGP session.
#[derive(Debug, Clone)]
pub struct BgpDetail {
    /// The peer's address ("Neighbor address:", which Calico reads).
    pub neighbor_address: IpAddr,
    /// The peer's AS.
    pub neighbor_as: u32,
    /// Our AS on this session (decides internal/external).
    pub local_as: u32,
    /// The peer's BGP identifier, once its OPEN arrived.
    pub neighbor_id: Option<Ipv4Addr>,
    /// Session state ("BGP state:", which Calico reads).
    pub bgp_state: BgpState,
    /// Negotiated hold time in seconds.
    pub hold_time: u32,
    /// Seconds until the hold timer fires.
    pub hold_remaining: u32,
    /// Keepalive interval in seconds.
    pub keepalive_time: u32,
    /// Seconds until the next KEEPALIVE.
    pub keepalive_remaining: u32,
    /// Local address of the TCP connection.
    pub source_address: Option<IpAddr>,
    /// Capabilities the peer announced, BIRD style (e.g. "refresh
    /// restart-able AS4 add-path-rx add-path-tx"); empty to omit.
    pub neighbor_caps: String,
    /// Last error with BIRD's class prefix, e.g. "Socket: Connection
    /// refused" or "BGP Error: Bad peer AS".
    pub last_error: Option<String>,
}

/// One path of `show route`.
#[derive(Debug, Clone)]
pub struct RouteRow {
    /// Destination network address.
    pub dst: IpAddr,
    /// Destination prefix length.
    pub len: u8,
    /// Where the route points.
    pub target: RouteTarget,
    /// Protocol that supplied it (`kernel1`, `static1`, `direct1` or a
    /// session name); Calico derives the route source from it.
    pub proto: String,
    /// When the route last changed.
    pub since: SystemTime,
    /// The selected path (`*`; Calico reports it as a FIB route).
    pub primary: bool,
    /// Route preference.
    pub preference: u32,
    /// IGP metric to a recursive BGP next hop: prints "(100/0)" instead
    /// of "(100)".
    pub igp_metric: Option<u32>,
    /// Neighbor the path came from, when it differs from the gateway.
    pub from: Option<IpAddr>,
    /// BGP attributes shown in brackets; `None` for non-BGP routes.
    pub bgp: Option<BgpRouteInfo>,
}

/// The "[AS65001i]" suffix of a BGP route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BgpRouteInfo {
    /// Last AS of the AS_PATH (the originator), if the path is not empty.
    pub origin_as: Option<u32>,
    /// ORIGIN attribute.
    pub origin: Origin,
}

/// ORIGIN attribute values (RFC 4271 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// IGP ("i").
    Igp,
    /// EGP ("e").
    Egp,
    /// INCOMPLETE ("?").
    Incomplete,
}

/// The forwarding part of a route row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTarget {
    /// `via GW on IFACE`.
    Via {
        /// Next hop.
        gateway: IpAddr,
        /// Outgoing interface.
        iface: String,
    },
    /// `dev IFACE` (directly connected).
    Dev {
        /// Interface.
        iface: String,
    },
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
}

impl BirdView {
    /// The view one socket shows: non-BGP protocols, BGP protocols whose
    /// neighbor is in `family`, and routes whose destination is.
    pub fn for_family(&self, family: Family) -> BirdView {
        let mut view = self.clone();
        view.protocols.retain(|p| {
            p.bgp
                .as_ref()
                .is_none_or(|b| family.contains(b.neighbor_address))
        });
        view.routes.retain(|r| family.contains(r.dst));
        view
    }
}
