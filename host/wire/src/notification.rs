//! NOTIFICATION codes, subcodes and their human names (RFC 4271 4.5,
//! RFC 4486, RFC 6608, RFC 7313, RFC 8538, RFC 9003).

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

/// Error codes (RFC 4271 section 4.5, RFC 7313 section 5).
pub mod code {
    /// 1: Message Header Error.
    pub const MESSAGE_HEADER: u8 = 1;
    /// 2: OPEN Message Error.
    pub const OPEN_MESSAGE: u8 = 2;
    /// 3: UPDATE Message Error.
    pub const UPDATE_MESSAGE: u8 = 3;
    /// 4: Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// 5: Finite State Machine Error.
    pub const FSM: u8 = 5;
    /// 6: Cease.
    pub const CEASE: u8 = 6;
    /// 7: ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH: u8 = 7;
}

/// Message Header Error subcodes (RFC 4271 section 6.1).
pub mod header {
    /// 1: Connection Not Synchronized (bad marker).
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// 2: Bad Message Length; data is the 2-octet bad length.
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// 3: Bad Message Type; data is the 1-octet bad type.
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes (RFC 4271 6.2, RFC 5492, RFC 9234).
pub mod open {
    /// 1: Unsupported Version Number; data is our 2-octet version.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// 2: Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// 3: Bad BGP Identifier.
    pub const BAD_BGP_ID: u8 = 3;
    /// 4: Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// 6: Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// 7: Unsupported Capability (RFC 5492).
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    /// 11: Role Mismatch (RFC 9234).
    pub const ROLE_MISMATCH: u8 = 11;
}

/// UPDATE Message Error subcodes (RFC 4271 section 6.3).
pub mod update {
    /// 1: Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// 2: Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    /// 3: Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN: u8 = 3;
    /// 4: Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS: u8 = 4;
    /// 5: Attribute Length Error.
    pub const ATTRIBUTE_LENGTH: u8 = 5;
    /// 6: Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN: u8 = 6;
    /// 8: Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP: u8 = 8;
    /// 9: Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE: u8 = 9;
    /// 10: Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// 11: Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Finite State Machine Error subcodes (RFC 6608).
pub mod fsm {
    /// 0: Unspecified Error.
    pub const UNSPECIFIED: u8 = 0;
    /// 1: Receive Unexpected Message in OpenSent State.
    pub const UNEXPECTED_IN_OPEN_SENT: u8 = 1;
    /// 2: Receive Unexpected Message in OpenConfirm State.
    pub const UNEXPECTED_IN_OPEN_CONFIRM: u8 = 2;
    /// 3: Receive Unexpected Message in Established State.
    pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
}

/// Cease subcodes (RFC 4486, RFC 8538, RFC 9384).
pub mod cease {
    /// 1: Maximum Number of Prefixes Reached.
    pub const MAX_PREFIXES: u8 = 1;
    /// 2: Administrative Shutdown (may carry RFC 9003 text).
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    /// 3: Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// 4: Administrative Reset (may carry RFC 9003 text).
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    /// 5: Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// 6: Other Configuration Change.
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    /// 7: Connection Collision Resolution.
    pub const CONNECTION_COLLISION: u8 = 7;
    /// 8: Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// 9: Hard Reset (RFC 8538); data is the inner code and subcode.
    pub const HARD_RESET: u8 = 9;
    /// 10: BFD Down (RFC 9384).
    pub const BFD_DOWN: u8 = 10;
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313 section 5).
pub mod route_refresh {
    /// 1: Invalid Message Length.
    pub const INVALID_MESSAGE_LENGTH: u8 = 1;
}

/// A NOTIFICATION message (RFC 4271 section 4.5).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Error code    | Error subcode |   Data (variable)             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Diagnostic data.
    pub data: Bytes,
}

impl Notification {
    /// A NOTIFICATION with the given data.
    pub fn new(code: u8, subcode: u8, data: impl Into<Bytes>) -> Self {
        Self {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// A Cease with an RFC 9003 shutdown communication (for subcodes 2
    /// and 4). The text is cut at a character boundary to 255 octets.
    pub fn cease_with_message(subcode: u8, message: &str) -> Self {
        let mut end = message.len().min(255);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let text = &message.as_bytes()[..end];
        let mut data = BytesMut::with_capacity(1 + text.len());
        // Cannot truncate: `end` is at most 255.
        data.put_u8(end as u8);
        data.put_slice(text);
        Self::new(code::CEASE, subcode, data.freeze())
    }

    /// A Cease / Hard Reset wrapping the NOTIFICATION that caused it
    /// (RFC 8538 section 3): data is the inner code, subcode and data.
    pub fn hard_reset(inner: &Notification) -> Self {
        let mut data = BytesMut::with_capacity(2 + inner.data.len());
        data.put_u8(inner.code);
        data.put_u8(inner.subcode);
        data.put_slice(&inner.data);
        Self::new(code::CEASE, cease::HARD_RESET, data.freeze())
    }

    /// Decodes the message body (everything after the header).
    pub fn decode(body: &[u8]) -> Option<Self> {
        match body {
            [code, subcode, data @ ..] => {
                Some(Self::new(*code, *subcode, Bytes::copy_from_slice(data)))
            }
            _ => None,
        }
    }

    /// Appends the message body (everything after the header).
    pub fn encode_body(&self, out: &mut BytesMut) {
        out.put_u8(self.code);
        out.put_u8(self.subcode);
        out.put_slice(&self.data);
    }

    /// The RFC 9003 shutdown communication of a Cease / Administrative
    /// Shutdown or Reset, when present and valid UTF-8.
    pub fn shutdown_message(&self) -> Option<&str> {
        if self.code != code::CEASE
            || !matches!(
                self.subcode,
                cease::ADMINISTRATIVE_SHUTDOWN | cease::ADMINISTRATIVE_RESET
            )
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(len))?;
        std::str::from_utf8(text).ok()
    }

    /// The NOTIFICATION wrapped in a Cease / Hard Reset (RFC 8538).
    pub fn hard_reset_inner(&self) -> Option<Notification> {
        if self.code != code::CEASE || self.subcode != cease::HARD_RESET {
            return None;
        }
        Self::decode(&self.data)
    }

    /// The human name of the error code.
    pub fn code_name(&self) -> &'static str {
        code_name(self.code)
    }

    /// The human name of the subcode, if it is a known one.
    pub fn subcode_name(&self) -> Option<&'static str> {
        subcode_name(self.code, self.subcode)
    }
}

impl fmt::Display for Notification {
    /// Formats as e.g. `Cease / Administrative Shutdown: "maintenance"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code_name())?;
        match self.subcode_name() {
            Some(name) => write!(f, " / {name}")?,
            None => write!(f, " / subcode {}", self.subcode)?,
        }
        if let Some(text) = self.shutdown_message() {
            write!(f, ": {text:?}")?;
        } else if let Some(inner) = self.hard_reset_inner() {
            write!(f, " ({inner})")?;
        }
        Ok(())
    }
}

/// The human name of an error code, or "Unknown Error Code".
pub fn code_name(code: u8) -> &'static str {
    match code {
        code::MESSAGE_HEADER => "Message Header Error",
        code::OPEN_MESSAGE => "OPEN Message Error",
        code::UPDATE_MESSAGE => "UPDATE Message Error",
        code::HOLD_TIMER_EXPIRED => "Hold Timer Expired",
        code::FSM => "Finite State Machine Error",
        code::CEASE => "Cease",
        code::ROUTE_REFRESH => "ROUTE-REFRESH Message Error",
        _ => "Unknown Error Code",
    }
}

/// The human name of a subcode within its code, when known.
pub fn subcode_name(code: u8, subcode: u8) -> Option<&'static str> {
    if subcode == 0 && code != code::FSM {
        return Some("Unspecific");
    }
    let name = match (code, subcode) {
        (code::MESSAGE_HEADER, 1) => "Connection Not Synchronized",
        (code::MESSAGE_HEADER, 2) => "Bad Message Length",
        (code::MESSAGE_HEADER, 3) => "Bad Message Type",
        (code::OPEN_MESSAGE, 1) => "Unsupported Version Number",
        (code::OPEN_MESSAGE, 2) => "Bad Peer AS",
        (code::OPEN_MESSAGE, 3) => "Bad BGP Identifier",
        (code::OPEN_MESSAGE, 4) => "Unsupported Optional Parameter",
        (code::OPEN_MESSAGE, 5) => "Authentication Failure",
        (code::OPEN_MESSAGE, 6) => "Unacceptable Hold Time",
        (code::OPEN_MESSAGE, 7) => "Unsupported Capability",
        (code::OPEN_MESSAGE, 11) => "Role Mismatch",
        (code::UPDATE_MESSAGE, 1) => "Malformed Attribute List",
        (code::UPDATE_MESSAGE, 2) => "Unrecognized Well-known Attribute",
        (code::UPDATE_MESSAGE, 3) => "Missing Well-known Attribute",
        (code::UPDATE_MESSAGE, 4) => "Attribute Flags Error",
        (code::UPDATE_MESSAGE, 5) => "Attribute Length Error",
        (code::UPDATE_MESSAGE, 6) => "Invalid ORIGIN Attribute",
        (code::UPDATE_MESSAGE, 7) => "AS Routing Loop",
        (code::UPDATE_MESSAGE, 8) => "Invalid NEXT_HOP Attribute",
        (code::UPDATE_MESSAGE, 9) => "Optional Attribute Error",
        (code::UPDATE_MESSAGE, 10) => "Invalid Network Field",
        (code::UPDATE_MESSAGE, 11) => "Malformed AS_PATH",
        (code::FSM, 0) => "Unspecified Error",
        (code::FSM, 1) => "Receive Unexpected Message in OpenSent State",
        (code::FSM, 2) => "Receive Unexpected Message in OpenConfirm State",
        (code::FSM, 3) => "Receive Unexpected Message in Established State",
        (code::CEASE, 1) => "Maximum Number of Prefixes Reached",
        (code::CEASE, 2) => "Administrative Shutdown",
        (code::CEASE, 3) => "Peer De-configured",
        (code::CEASE, 4) => "Administrative Reset",
        (code::CEASE, 5) => "Connection Rejected",
        (code::CEASE, 6) => "Other Configuration Change",
        (code::CEASE, 7) => "Connection Collision Resolution",
        (code::CEASE, 8) => "Out of Resources",
        (code::CEASE, 9) => "Hard Reset",
        (code::CEASE, 10) => "BFD Down",
        (code::ROUTE_REFRESH, 1) => "Invalid Message Length",
        _ => return None,
    };
    Some(name)
}
