//! Message framing (RFC 4271 section 4.1) and the message enum.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                           Marker (16 octets of 0xff)          +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::context::{MAX_MESSAGE_LEN, SessionContext};
use crate::error::{DecodeError, EncodeError, HeaderError};
use crate::rfc7606::UpdateOutcome;
use crate::route_refresh::RouteRefresh;
use crate::update::Update;

pub use crate::notification::Notification;
pub use crate::open::Open;

/// Octets in the message header.
pub const HEADER_LEN: usize = 19;

/// The message types (RFC 4271 4.1, RFC 2918).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 1: OPEN.
    Open,
    /// 2: UPDATE.
    Update,
    /// 3: NOTIFICATION.
    Notification,
    /// 4: KEEPALIVE.
    Keepalive,
    /// 5: ROUTE-REFRESH (RFC 2918).
    RouteRefresh,
}

impl MessageType {
    /// The wire value.
    pub fn to_wire(self) -> u8 {
        match self {
            Self::Open => 1,
            Self::Update => 2,
            Self::Notification => 3,
            Self::Keepalive => 4,
            Self::RouteRefresh => 5,
        }
    }

    /// Parses the wire value.
    pub fn from_wire(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::Open),
            2 => Some(Self::Update),
            3 => Some(Self::Notification),
            4 => Some(Self::Keepalive),
            5 => Some(Self::RouteRefresh),
            _ => None,
        }
    }

    /// Whether `len` (header included) is allowed for this type (RFC
    /// 4271 6.1; RFC 8654 4 keeps OPEN and KEEPALIVE within 4096).
    fn length_ok(self, len: usize) -> bool {
        match self {
            Self::Open => (29..=MAX_MESSAGE_LEN).contains(&len),
            Self::Update => len >= 23,
            Self::Notification => len >= 21,
            Self::Keepalive => len == HEADER_LEN,
            // A wrong ROUTE-REFRESH length is 7/1, not a header error
            // (RFC 7313 section 5), so it is checked on decode.
            Self::RouteRefresh => true,
        }
    }
}

/// The length of the next complete message at the start of `buf`.
///
/// `Ok(None)` means more bytes are needed. `max_len` is 4096, or 65535
/// once extended messages are negotiated (RFC 8654); see
/// [`SessionContext::max_message_len`]. Checks the marker (1/1), the
/// length (1/2) including per-type minimums, and the type (1/3).
pub fn message_len(
    buf: &[u8],
    max_len: usize,
) -> Result<Option<usize>, HeaderError> {
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let len = check_header(header, max_len)?.1;
    Ok((buf.len() >= len).then_some(len))
}

/// Checks a header; returns the type and the total length.
fn check_header(
    header: &[u8; HEADER_LEN],
    max_len: usize,
) -> Result<(MessageType, usize), HeaderError> {
    if header[..16].iter().any(|&b| b != 0xff) {
        return Err(HeaderError::BadMarker);
    }
    let raw_len = u16::from_be_bytes([header[16], header[17]]);
    let len = usize::from(raw_len);
    if !(HEADER_LEN..=max_len).contains(&len) {
        return Err(HeaderError::BadLength(raw_len));
    }
    let ty = MessageType::from_wire(header[18])
        .ok_or(HeaderError::BadType(header[18]))?;
    if !ty.length_ok(len) {
        return Err(HeaderError::BadLength(raw_len));
    }
    Ok((ty, len))
}

/// A BGP message to send.
// Messages are short-lived values on the way to a buffer; boxing the
// UPDATE would add an allocation per message for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE: the header alone.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

/// A received message, with UPDATEs already judged by RFC 7606.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// OPEN, checked (RFC 4271 6.2).
    Open(Open),
    /// UPDATE as a clean, treat-as-withdraw or attribute-discard outcome.
    Update(UpdateOutcome),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH; an unknown subtype is to be ignored (RFC 7313 5).
    RouteRefresh(RouteRefresh),
}

impl Message {
    /// Decodes one whole message, header included (as framed by
    /// [`message_len`]). The header is checked again, so a frame from
    /// anywhere is safe to pass.
    pub fn decode(
        frame: &[u8],
        ctx: &SessionContext,
    ) -> Result<Incoming, DecodeError> {
        let Some(header) = frame.first_chunk::<HEADER_LEN>() else {
            // Report the length we have; it is below 19.
            return Err(HeaderError::BadLength(frame.len() as u16).into());
        };
        let (ty, len) = check_header(header, ctx.max_message_len())?;
        if len != frame.len() {
            return Err(HeaderError::BadLength(
                u16::try_from(frame.len()).unwrap_or(u16::MAX),
            )
            .into());
        }
        let body = &frame[HEADER_LEN..];
        Ok(match ty {
            MessageType::Open => Incoming::Open(Open::decode(body)?),
            MessageType::Update => Incoming::Update(Update::decode(body, ctx)?),
            MessageType::Notification => Incoming::Notification(
                // `length_ok` guarantees the two octets.
                Notification::decode(body)
                    .unwrap_or_else(|| Notification::new(0, 0, Bytes::new())),
            ),
            MessageType::Keepalive => Incoming::Keepalive,
            MessageType::RouteRefresh => Incoming::RouteRefresh(
                RouteRefresh::decode(body).ok_or_else(|| {
                    DecodeError::RouteRefreshLength(Bytes::copy_from_slice(
                        frame,
                    ))
                })?,
            ),
        })
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Open(_) => MessageType::Open,
            Self::Update(_) => MessageType::Update,
            Self::Notification(_) => MessageType::Notification,
            Self::Keepalive => MessageType::Keepalive,
            Self::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// Appends the whole message, header included. On error nothing is
    /// appended.
    pub fn encode(
        &self,
        ctx: &SessionContext,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let start = start_header(out, self.message_type());
        let result = match self {
            Self::Open(o) => o.encode_body(out),
            Self::Update(u) => u.encode_body(ctx, out),
            Self::Notification(n) => {
                n.encode_body(out);
                Ok(())
            }
            Self::Keepalive => Ok(()),
            Self::RouteRefresh(r) => {
                r.encode_body(out);
                Ok(())
            }
        };
        let len = out.len() - start;
        let max = match self {
            Self::Open(_) | Self::Keepalive => MAX_MESSAGE_LEN,
            _ => ctx.max_message_len(),
        };
        let result = result.and_then(|()| {
            (len <= max)
                .then_some(())
                .ok_or(EncodeError::TooLarge { len, max })
        });
        if result.is_err() {
            out.truncate(start);
        } else {
            finish_header(out, start);
        }
        result
    }

    /// The whole message as bytes.
    pub fn to_bytes(&self, ctx: &SessionContext) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::new();
        self.encode(ctx, &mut out)?;
        Ok(out.freeze())
    }
}

/// Appends a header with a placeholder length; returns where it starts.
pub(crate) fn start_header(out: &mut BytesMut, ty: MessageType) -> usize {
    let start = out.len();
    out.put_slice(&[0xff; 16]);
    out.put_u16(0);
    out.put_u8(ty.to_wire());
    start
}

/// Writes the length of the message that starts at `start`. Callers
/// have checked it against the session maximum (at most 65535).
pub(crate) fn finish_header(out: &mut BytesMut, start: usize) {
    let len = (out.len() - start).min(usize::from(u16::MAX)) as u16;
    out[start + 16..start + 18].copy_from_slice(&len.to_be_bytes());
}
