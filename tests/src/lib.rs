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
//!
//! ```no_run
//! use std::time::Duration;
//! use bgplet_tests::*;
//!
//! # fn main() -> anyhow::Result<()> {
//! require_tools(&["ip", "bird", "birdc", "gobgpd", "gobgp"])?;
//! let (a, b) = (Netns::new()?, Netns::new()?);
//! let l = link(&a, &b, 0)?; // 10.0.0.1 / fd00::1 in a, .2 / ::2 in b
//! let bird = Bird::start(
//!     &a,
//!     BirdConfig::new(l.a_v4, 4200000001)
//!         .neighbor(BirdNeighbor::new("peer1", l.b_v4, 65002))
//!         .static_route(StaticRoute::new("10.1.0.0/24").community("65000:1")),
//! )?;
//! let gobgp = Gobgp::start(
//!     &b,
//!     GobgpConfig::new(l.b_v4, 65002)
//!         .neighbor(GobgpNeighbor::new(l.a_v4, 4200000001)),
//! )?;
//! bird.wait_established(&l.b_v4.to_string(), Duration::from_secs(30))?;
//! let r = gobgp.wait_route("10.1.0.0/24", Duration::from_secs(20))?;
//! assert_eq!(r.as_path, vec![4200000001]);
//! # Ok(())
//! # }
//! ```

mod bgplet;
mod bird;
mod frr;
mod gobgp;
mod kube;
mod kubeapi;
mod manifest;
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
pub use kube::{CALICO_CRD_GROUP, KubeApiServer, base64};
pub use kubeapi::{FakeApi, path_of};
pub use manifest::{prepend_manifest, write_manifest};
pub use netns::{Link, Netns, cleanup_stale, link};
pub use preflight::{require_root, require_tools};
pub use process::{Frozen, Process, tail_file};
pub use raw::{
    Message, MessageType, OpenBuilder, RawListener, RawPeer, UpdateBuilder,
    message,
};
pub use resources::{CalicoNode, CalicoPeer, Resources};
pub use route::{Family, Route};
pub use speaker::Speaker;
pub use tempdir::TestDir;
pub use wait::{wait_for, wait_until};
