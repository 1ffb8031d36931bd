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
//! (graceful restart, receiving side), `view`, [`whatif`] (a policy
//! evaluated without activating it, [`Rib::what_if`]),
//! `words` (the packed ABI from the RIB's side).

//! ```
//! use bgplet_plugin_abi::{
//!     FilterResult, PeerInfo, Policy, PolicyError, RawAttributes,
//!     ROUTE_STRIDE, Selection, encode_selections,
//! };
//! use bgplet_rib::{Output, PeerConfig, PeerKind, Rib, RibConfig};
//! use bgplet_rib::{LocalRoute, NextHopMode};
//! use bgplet_wire::{AfiSafi, SessionContext};
//!
//! /// Accepts everything; installs nothing.
//! struct Pass;
//! impl Policy for Pass {
//!     fn import(&mut self, _: &PeerInfo, _: &[u32], r: &[u32],
//!               _: &dyn RawAttributes) -> Result<FilterResult, PolicyError> {
//!         Ok(FilterResult::accept_all(r.len() / ROUTE_STRIDE))
//!     }
//!     fn select(&mut self, _: &[u32], counts: &[u32])
//!               -> Result<Vec<u32>, PolicyError> {
//!         Ok(encode_selections(&vec![Selection::single(0); counts.len()]))
//!     }
//!     fn export(&mut self, _: &PeerInfo, _: &[u32], r: &[u32],
//!               _: &dyn RawAttributes) -> Result<FilterResult, PolicyError> {
//!         Ok(FilterResult::accept_all(r.len() / ROUTE_STRIDE))
//!     }
//!     fn kernel(&mut self, _: &[u32], r: &[u32], _: &dyn RawAttributes)
//!               -> Result<Vec<u32>, PolicyError> {
//!         Ok(vec![0; r.len() / ROUTE_STRIDE * 2])
//!     }
//! }
//!
//! let mut rib = Rib::new(
//!     RibConfig {
//!         router_id: "10.0.0.1".parse().unwrap(),
//!         local_as: 64512,
//!         cluster_id: None,
//!         own_addresses: vec!["10.0.0.1".parse().unwrap()],
//!     },
//!     Pass,
//! );
//! let mesh = PeerConfig {
//!     name: "Mesh_10_0_0_2".into(),
//!     kind: PeerKind::Mesh,
//!     address: "10.0.0.2".parse().unwrap(),
//!     local_v4: Some("10.0.0.1".parse().unwrap()),
//!     local_v6: None,
//!     router_id: "10.0.0.2".parse().unwrap(),
//!     local_as: 64512,
//!     peer_as: 64512,
//!     ibgp: true,
//!     rr_client: false,
//!     check_cluster_list: false,
//!     allow_local_as: 0,
//!     next_hop_mode: NextHopMode::Auto,
//!     filters: Vec::new(),
//!     ctx: SessionContext { four_octet_as: true, ibgp: true, ..Default::default() },
//!     families: [AfiSafi::IPV4_UNICAST].into_iter().collect(),
//!     enhanced_route_refresh: false,
//! };
//! // The new session gets the (empty) table and End-of-RIB.
//! let out = rib.peer_up(mesh).unwrap();
//! assert!(matches!(&out[0], Output::Send { messages, .. } if messages.len() == 1));
//! // This node's block is advertised to it.
//! let out = rib.set_local(vec![LocalRoute {
//!     prefix: "10.244.1.0/26".parse().unwrap(),
//!     communities: Vec::new(),
//!     large_communities: Vec::new(),
//!     is_own_block: true,
//! }]);
//! assert_eq!(out.len(), 1);
//! assert_eq!(rib.peers()[0].advertised, 1);
//! ```

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
pub mod whatif;
mod words;

pub use attrs::AttrSet;
pub use bgplet_plugin_abi::{NextHopMode, PeerKind, Policy};
pub use config::{LocalRoute, PeerConfig, RibConfig, RouteUpdate};
pub use error::RibError;
pub use kernel::{KernelChange, KernelOp};
pub use rib::{Output, PolicyErrors, Rib};
pub use safety::{SafetyCounters, SafetyDrop};
pub use view::{PathView, PeerView, ReceivedView, RibStats, RouteView};
pub use whatif::{
    BestChange, ExportChange, ImportChange, KernelDiff, KernelRoute, PathRef,
    PrefixChange, WhatIf,
};
