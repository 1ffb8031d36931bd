//! The BGP-4 wire codec for bgplet.
//!
//! This crate is pure: it never touches a socket, a clock or a runtime.
//! Decoding always takes the negotiated [`SessionContext`] (4-octet AS,
//! ADD-PATH per family, extended messages), because the same bytes mean
//! different things on different sessions (RFC 6793, RFC 7911).
//!
//! Layout: [`afi`] (address families), [`capability`] (OPEN optional
//! parameters), [`message`] (framing, OPEN, NOTIFICATION, KEEPALIVE,
//! ROUTE-REFRESH).

pub mod afi;
pub mod capability;
pub mod message;

pub use afi::AfiSafi;
pub use capability::{
    AddPathEntry, AddPathMode, Capability, GracefulRestart, GracefulRestartFamily,
};
pub use message::{Notification, Open};
