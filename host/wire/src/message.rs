//! Message framing and the non-UPDATE messages (RFC 4271 section 4).

use std::net::Ipv4Addr;

use bytes::Bytes;

use crate::capability::Capability;

/// An OPEN message (RFC 4271 section 4.2). Capabilities are the only
/// optional parameter in use (RFC 5492).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Protocol version; always 4.
    pub version: u8,
    /// My Autonomous System, 2 octets: AS_TRANS (23456) when the real AS
    /// does not fit (RFC 6793).
    pub my_as: u16,
    /// Proposed hold time in seconds: 0 or at least 3.
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in the order they appeared.
    pub capabilities: Vec<Capability>,
}

/// A NOTIFICATION message (RFC 4271 section 4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Diagnostic data.
    pub data: Bytes,
}
