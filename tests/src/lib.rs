//! End-to-end test support for bgplet.
//!
//! Tests build small labs out of network namespaces ([`Netns`]) joined by
//! veth pairs ([`link`]), start real BGP speakers inside them ([`Bird`],
//! [`Gobgp`], [`Frr`], our own [`Bgplet`]) or a hand-driven [`RawPeer`],
//! and then wait for conditions with [`wait_until`]. Every name is unique
//! per process and test, and every guard cleans up on drop, also when a
//! test panics. Labs left behind by a killed test run are removed by
//! [`cleanup_stale`], which [`Netns::new`] calls first.
//!
//! All daemon adapters implement [`Speaker`], so sessions and routes are
//! checked the same way whatever runs on the other side, using the common
//! [`Route`] shape.

mod bgplet;
mod bird;
mod frr;
mod gobgp;
mod netns;
mod preflight;
mod process;
mod raw;
mod resources;
mod route;
mod speaker;
mod tempdir;
mod wait;
mod yaml;

pub use bgplet::{
    Bgplet, BgpletOptions, BgpletPath, BgpletPeer, BgpletStatus, bgplet_binary,
};
pub use bird::{
    Bird, BirdConfig, BirdExport, BirdNeighbor, BirdRoute, StaticRoute,
    parse_show_route,
};
pub use frr::{Frr, FrrConfig, FrrNeighbor, FrrNetwork, FrrPath};
pub use gobgp::{Gobgp, GobgpConfig, GobgpNeighbor, GobgpPath, GobgpRoute};
pub use netns::{Link, Netns, cleanup_stale, link};
pub use preflight::{require_root, require_tools};
pub use process::{Process, tail_file};
pub use raw::{
    Message, MessageType, OpenBuilder, RawListener, RawPeer, UpdateBuilder,
    message,
};
pub use resources::{CalicoNode, CalicoPeer, Resources};
pub use route::{Family, Route};
pub use speaker::Speaker;
pub use tempdir::TestDir;
pub use wait::{wait_for, wait_until};
