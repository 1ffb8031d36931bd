//! Decode and encode errors. Every decode error that ends the session
//! knows the exact NOTIFICATION to send (RFC 4271 section 6).

use std::fmt;
use std::net::Ipv4Addr;

use bytes::Bytes;

use crate::notification::{self, Notification, code};

/// The message header is invalid (RFC 4271 section 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The marker is not all ones: NOTIFICATION 1/1.
    #[error("message header marker is not all ones")]
    BadMarker,
    /// The length is below 19, above the maximum, or wrong for the
    /// type: NOTIFICATION 1/2 with the length as data.
    #[error("bad message length {0}")]
    BadLength(u16),
    /// The type is not one we know: NOTIFICATION 1/3 with the type.
    #[error("bad message type {0}")]
    BadType(u8),
}

impl HeaderError {
    /// The NOTIFICATION that reports this error.
    pub fn notification(&self) -> Notification {
        match *self {
            Self::BadMarker => Notification::new(
                code::MESSAGE_HEADER,
                notification::header::CONNECTION_NOT_SYNCHRONIZED,
                Bytes::new(),
            ),
            Self::BadLength(len) => Notification::new(
                code::MESSAGE_HEADER,
                notification::header::BAD_MESSAGE_LENGTH,
                Bytes::copy_from_slice(&len.to_be_bytes()),
            ),
            Self::BadType(ty) => Notification::new(
                code::MESSAGE_HEADER,
                notification::header::BAD_MESSAGE_TYPE,
                Bytes::copy_from_slice(&[ty]),
            ),
        }
    }
}

/// The OPEN message is unacceptable (RFC 4271 section 6.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The version is not 4: NOTIFICATION 2/1, data = our version (4).
    #[error("unsupported BGP version {0}")]
    UnsupportedVersion(u8),
    /// The AS is 0 (RFC 7607) or not the one configured: 2/2.
    #[error("bad peer AS {0}")]
    BadPeerAs(u32),
    /// The BGP Identifier is 0.0.0.0 (RFC 6286) or equals ours: 2/3.
    #[error("bad BGP identifier {0}")]
    BadBgpId(Ipv4Addr),
    /// An optional parameter other than capabilities: 2/4.
    #[error("unsupported optional parameter type {0}")]
    UnsupportedOptionalParameter(u8),
    /// The hold time is 1 or 2 seconds: 2/6.
    #[error("unacceptable hold time {0}")]
    UnacceptableHoldTime(u16),
    /// The optional parameters overrun the message: 2/0.
    #[error("malformed OPEN: {0}")]
    Malformed(&'static str),
}

impl OpenError {
    /// The NOTIFICATION that reports this error.
    pub fn notification(&self) -> Notification {
        use notification::open;
        let (subcode, data) = match *self {
            Self::UnsupportedVersion(_) => {
                // RFC 4271 6.2: data is the largest version we support.
                (open::UNSUPPORTED_VERSION, Bytes::from_static(&[0, 4]))
            }
            Self::BadPeerAs(_) => (open::BAD_PEER_AS, Bytes::new()),
            Self::BadBgpId(_) => (open::BAD_BGP_ID, Bytes::new()),
            Self::UnsupportedOptionalParameter(_) => {
                (open::UNSUPPORTED_OPTIONAL_PARAMETER, Bytes::new())
            }
            Self::UnacceptableHoldTime(_) => {
                (open::UNACCEPTABLE_HOLD_TIME, Bytes::new())
            }
            Self::Malformed(_) => (0, Bytes::new()),
        };
        Notification::new(code::OPEN_MESSAGE, subcode, data)
    }
}

/// What was wrong with one attribute or field of an UPDATE, named so
/// that logs say which field it was.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrError {
    /// The attribute or field, e.g. "AS_PATH" or "NLRI".
    pub attr: &'static str,
    /// What was wrong with it.
    pub reason: String,
}

impl AttrError {
    /// An error about `attr`.
    pub fn new(attr: &'static str, reason: impl Into<String>) -> Self {
        Self {
            attr,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.attr, self.reason)
    }
}

impl std::error::Error for AttrError {}

/// An UPDATE error that resets the session (RFC 7606 "session reset").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} (sending {notification})")]
pub struct UpdateError {
    /// What was wrong.
    pub error: AttrError,
    /// The NOTIFICATION to send (code 3).
    pub notification: Notification,
}

impl UpdateError {
    /// A session reset with UPDATE Message Error `subcode` and `data`.
    pub fn new(error: AttrError, subcode: u8, data: Bytes) -> Self {
        Self {
            error,
            notification: Notification::new(
                code::UPDATE_MESSAGE,
                subcode,
                data,
            ),
        }
    }
}

/// A received message could not be decoded; the session must end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The header is invalid (RFC 4271 section 6.1).
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The OPEN is unacceptable (RFC 4271 section 6.2).
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The UPDATE needs a session reset (RFC 4271 6.3, RFC 7606).
    #[error(transparent)]
    Update(#[from] UpdateError),
    /// A ROUTE-REFRESH body is not 4 octets: NOTIFICATION 7/1 with the
    /// whole message as data (RFC 7313 section 5).
    #[error("ROUTE-REFRESH message of {} octets", .0.len())]
    RouteRefreshLength(Bytes),
}

impl DecodeError {
    /// The NOTIFICATION to send before closing the session.
    pub fn notification(&self) -> Notification {
        match self {
            Self::Header(e) => e.notification(),
            Self::Open(e) => e.notification(),
            Self::Update(e) => e.notification.clone(),
            Self::RouteRefreshLength(msg) => Notification::new(
                code::ROUTE_REFRESH,
                notification::route_refresh::INVALID_MESSAGE_LENGTH,
                msg.clone(),
            ),
        }
    }
}

/// A message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The encoded message exceeds the session's maximum length.
    #[error("message of {len} octets exceeds the maximum of {max}")]
    TooLarge {
        /// The encoded length.
        len: usize,
        /// The session maximum.
        max: usize,
    },
    /// A field does not fit its wire width (e.g. a 2-octet length).
    #[error("{0} does not fit its wire field")]
    FieldOverflow(&'static str),
}
