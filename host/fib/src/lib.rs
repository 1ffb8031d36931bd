//! bgplet's FIB programming over rtnetlink (no `ip` subprocesses).
//!
//! The daemon decides which best routes go to the kernel; this crate
//! installs, replaces and deletes them, the way Calico's BIRD does
//! (calico-bgp.md sections 4.8 and 10):
//!
//! * routes carry protocol `bird` (12) by default, so Felix and operators'
//!   tools treat them as BGP routes; only routes with that protocol (and
//!   table) are ever changed, whatever their prefix;
//! * block blackholes are `RTN_BLACKHOLE`, IPIP tunnel routes are `onlink`
//!   through `tunl0`, equal-cost sets are one `RTA_MULTIPATH` route;
//! * requests are pipelined: many per datagram, several datagrams in
//!   flight, each route's result reported on its own;
//! * at start the routes of ours already in the kernel are adopted and kept
//!   until [`Fib::remove_stale`] (after the graceful-restart window);
//! * a next hop that is not reachable is not installed: the route waits and
//!   is retried when links, addresses or connected routes change.
//!
//! ```no_run
//! # async fn demo() -> Result<(), bgplet_fib::FibError> {
//! use bgplet_fib::{Fib, FibAction, FibChange, FibConfig, FibNextHop, FibRoute};
//! let mut fib = Fib::new(FibConfig::default()).await?;
//! let kept = fib.adopt().await?;
//! let route = FibRoute {
//!     prefix: ("10.244.0.64".parse().unwrap(), 26),
//!     action: FibAction::Unicast(vec![FibNextHop::via(
//!         "10.0.0.12".parse().unwrap(),
//!     )]),
//!     metric: 1024,
//! };
//! let report = fib.apply(vec![FibChange::Upsert(route)]).await;
//! assert!(report.failures.is_empty());
//! # drop(kept);
//! # Ok(()) }
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod codec;
mod error;
mod fib;
mod nl;
mod reach;
mod types;

pub use error::FibError;
pub use fib::Fib;
pub use types::{
    FibAction, FibChange, FibConfig, FibCounters, FibFailure, FibNextHop,
    FibReport, FibRoute, PROTO_BIRD, PendingReason, Prefix, TABLE_MAIN,
    metric_from_local_pref,
};
