//! bgplet's RIB: Adj-RIB-In per session, the Loc-RIB with every
//! candidate path and the selected best and multipath set, and an
//! Adj-RIB-Out per update group, over interned attribute sets.
//!
//! The crate is sans-IO: the daemon feeds it inputs ([`Rib::peer_up`],
//! [`Rib::update`], [`Rib::update_many`], [`Rib::route_refresh`],
//! [`Rib::set_local`], [`Rib::peer_down`], [`Rib::peer_down_graceful`],
//! [`Rib::sweep_stale`], [`Rib::reevaluate`]) and
//! carries out the [`Output`]s they return: encoded messages per
//! session (one set of `Bytes` shared by an update group) and batched
//! kernel changes. Every routing decision is made through the
//! [`Policy`] trait of `bgplet-plugin-abi`, one batch at a time:
//!
//! ```text
//! UPDATE -> safety checks -> import hook -> Adj-RIB-In/Loc-RIB
//!        -> selection hook (changed prefixes, batched)
//!        -> export hook per update group -> Adj-RIB-Out diff -> UPDATEs
//!        -> kernel hook (changed best routes) -> KernelChange list
//! ```
//!
//! Layout: [`attrs`] (interning), [`config`] (inputs), [`safety`],
//! `import`, `select`, `export`, `group`, [`kernel`], `restart`
//! (graceful restart, receiving side), `view`,
//! `words` (the packed ABI from the RIB's side).

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod attrs;
pub mod config;
mod error;
mod export;
mod group;
mod import;
pub mod kernel;
mod restart;
mod rib;
pub mod safety;
mod select;
mod view;
mod words;

pub use attrs::AttrSet;
pub use bgplet_plugin_abi::{NextHopMode, PeerKind, Policy};
pub use config::{LocalRoute, PeerConfig, RibConfig, RouteUpdate};
pub use error::RibError;
pub use kernel::{KernelChange, KernelOp};
pub use rib::{Output, PolicyErrors, Rib};
pub use safety::SafetyCounters;
pub use view::{PathView, PeerView, ReceivedView, RibStats, RouteView};
