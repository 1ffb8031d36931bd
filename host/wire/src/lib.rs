//! The BGP-4 wire codec for bgplet.
//!
//! This crate is pure: it never touches a socket, a clock or a runtime.
//! Decoding always takes the negotiated [`SessionContext`] (4-octet AS,
//! ADD-PATH per family, extended messages, iBGP), because the same bytes
//! mean different things on different sessions (RFC 6793, RFC 7911).
//!
//! The socket loop only buffers: [`message_len`] says how long the next
//! message is, [`Message::decode`] turns one frame into an [`Incoming`]
//! message, and every error knows its NOTIFICATION. UPDATEs are parsed
//! into a [`ReceivedUpdate`] first and then judged by RFC 7606 into an
//! [`UpdateOutcome`] ([`rfc7606`]).
//!
//! Layout: [`afi`], [`capability`], [`open`], [`notification`],
//! [`route_refresh`], [`message`] (framing), [`prefix`], [`nlri`],
//! [`attribute`], [`update`] (UPDATE, End-of-RIB, the packer),
//! [`rfc7606`], [`context`], [`error`].

#![warn(missing_docs)]

pub mod afi;
pub mod attribute;
pub mod capability;
pub mod context;
pub mod error;
pub mod message;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod prefix;
pub mod rfc7606;
pub mod route_refresh;
pub mod update;

pub use afi::AfiSafi;
pub use attribute::{
    Aggregator, AsPath, AsSegment, Community, ExtCommunity, LargeCommunity,
    Origin, PathAttributes, SegmentKind, UnknownAttribute,
};
pub use capability::{
    AddPathEntry, AddPathMode, Capability, GracefulRestart,
    GracefulRestartFamily,
};
pub use context::{
    EXTENDED_MAX_MESSAGE_LEN, FamilySet, MAX_MESSAGE_LEN, SessionContext,
};
pub use error::{
    AttrError, DecodeError, EncodeError, HeaderError, OpenError, UpdateError,
};
pub use message::{HEADER_LEN, Incoming, Message, MessageType, message_len};
pub use nlri::Nlri;
pub use notification::Notification;
pub use open::{AS_TRANS, Open};
pub use prefix::{Ipv4Prefix, Ipv6Prefix, Prefix, PrefixError};
pub use rfc7606::UpdateOutcome;
pub use route_refresh::{RouteRefresh, RouteRefreshSubtype};
pub use update::{
    Announcement, MpReach, MpUnreach, NextHop, RawAttribute, ReceivedUpdate,
    Update, encode_announcements, encode_withdrawals,
};
