//! OPEN message capabilities (RFC 5492 and the RFCs of each capability).

use bytes::{BufMut, Bytes, BytesMut};

use crate::afi::AfiSafi;
use crate::error::EncodeError;

/// One capability advertised in an OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Code 1, RFC 4760: the speaker carries this family.
    Multiprotocol(AfiSafi),
    /// Code 2, RFC 2918.
    RouteRefresh,
    /// Code 70, RFC 7313.
    EnhancedRouteRefresh,
    /// Code 6, RFC 8654: messages up to 65535 octets.
    ExtendedMessage,
    /// Code 64, RFC 4724 (with the N bit of RFC 8538).
    GracefulRestart(GracefulRestart),
    /// Code 65, RFC 6793: the speaker's real AS number.
    FourOctetAs(u32),
    /// Code 69, RFC 7911.
    AddPath(Vec<AddPathEntry>),
    /// Any other capability, kept verbatim.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value, without code and length.
        value: Bytes,
    },
}

/// The graceful-restart capability (RFC 4724 section 3).
///
/// ```text
/// +--------------------------------------------------+
/// | Restart Flags (4 bits: R N 0 0) | Restart Time   |
/// |                                 | (12 bits, s)   |
/// +--------------------------------------------------+
/// | AFI (2 octets) | SAFI (1) | Flags for AF (1: F)  |  repeated
/// +--------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestart {
    /// R bit: the sender has restarted and is waiting for End-of-RIB.
    pub restart_state: bool,
    /// N bit (RFC 8538): NOTIFICATIONs are covered by graceful restart.
    pub notification: bool,
    /// Restart time in seconds (12 bits on the wire).
    pub restart_time: u16,
    /// Families for which forwarding state may be preserved.
    pub families: Vec<GracefulRestartFamily>,
}

/// One family in the graceful-restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestartFamily {
    /// The family.
    pub family: AfiSafi,
    /// F bit: forwarding state was preserved across the restart.
    pub forwarding_preserved: bool,
}

/// One family in the ADD-PATH capability (RFC 7911 section 4).
///
/// ```text
/// +------------------------------------------------+
/// | AFI (2 octets) | SAFI (1 octet) | Send/Receive |  repeated
/// +------------------------------------------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddPathEntry {
    /// The family.
    pub family: AfiSafi,
    /// Whether the sender can receive, send, or both.
    pub mode: AddPathMode,
}

/// The Send/Receive field of an ADD-PATH entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddPathMode {
    /// 1: the sender can receive multiple paths.
    Receive,
    /// 2: the sender can send multiple paths.
    Send,
    /// 3: both.
    Both,
}

impl AddPathMode {
    /// Whether this mode includes receiving.
    pub fn receives(self) -> bool {
        matches!(self, Self::Receive | Self::Both)
    }

    /// Whether this mode includes sending.
    pub fn sends(self) -> bool {
        matches!(self, Self::Send | Self::Both)
    }
}

/// Capability codes (IANA "Capability Codes" registry).
pub mod code {
    /// Multiprotocol Extensions (RFC 4760).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route Refresh (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Extended Message (RFC 8654).
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// Graceful Restart (RFC 4724).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// Support for 4-octet AS numbers (RFC 6793).
    pub const FOUR_OCTET_AS: u8 = 65;
    /// ADD-PATH (RFC 7911).
    pub const ADD_PATH: u8 = 69;
    /// Enhanced Route Refresh (RFC 7313).
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
}

impl Capability {
    /// Parses one capability value. A known code whose value has the
    /// wrong shape is kept as [`Capability::Unknown`] rather than failing
    /// the OPEN: RFC 5492 lets a speaker ignore what it cannot use.
    pub fn decode(code: u8, value: &[u8]) -> Self {
        Self::decode_known(code, value).unwrap_or_else(|| Self::Unknown {
            code,
            value: Bytes::copy_from_slice(value),
        })
    }

    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Self::Multiprotocol(_) => code::MULTIPROTOCOL,
            Self::RouteRefresh => code::ROUTE_REFRESH,
            Self::EnhancedRouteRefresh => code::ENHANCED_ROUTE_REFRESH,
            Self::ExtendedMessage => code::EXTENDED_MESSAGE,
            Self::GracefulRestart(_) => code::GRACEFUL_RESTART,
            Self::FourOctetAs(_) => code::FOUR_OCTET_AS,
            Self::AddPath(_) => code::ADD_PATH,
            Self::Unknown { code, .. } => *code,
        }
    }

    /// Appends code, length and value.
    ///
    /// ```text
    /// +------------------------------+
    /// | Capability Code (1 octet)    |
    /// | Capability Length (1 octet)  |
    /// | Capability Value (variable)  |
    /// +------------------------------+
    /// ```
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_u8(self.code());
        let len_at = out.len();
        out.put_u8(0);
        match self {
            Self::Multiprotocol(f) => {
                out.put_u16(f.afi);
                out.put_u8(0);
                out.put_u8(f.safi);
            }
            Self::RouteRefresh
            | Self::EnhancedRouteRefresh
            | Self::ExtendedMessage => {}
            Self::GracefulRestart(gr) => {
                // RFC 4724 3 / RFC 8538 2: R, N, two reserved bits,
                // then the 12-bit restart time.
                let mut word = gr.restart_time & 0x0fff;
                if gr.restart_state {
                    word |= 0x8000;
                }
                if gr.notification {
                    word |= 0x4000;
                }
                out.put_u16(word);
                for fam in &gr.families {
                    out.put_u16(fam.family.afi);
                    out.put_u8(fam.family.safi);
                    out.put_u8(if fam.forwarding_preserved { 0x80 } else { 0 });
                }
            }
            Self::FourOctetAs(asn) => out.put_u32(*asn),
            Self::AddPath(entries) => {
                for e in entries {
                    out.put_u16(e.family.afi);
                    out.put_u8(e.family.safi);
                    out.put_u8(e.mode.to_wire());
                }
            }
            Self::Unknown { value, .. } => out.put_slice(value),
        }
        let len = u8::try_from(out.len() - len_at - 1)
            .map_err(|_| EncodeError::FieldOverflow("capability length"))?;
        out[len_at] = len;
        Ok(())
    }

    fn decode_known(code: u8, v: &[u8]) -> Option<Self> {
        let cap = match code {
            code::MULTIPROTOCOL => match *v {
                [a0, a1, _reserved, safi] => Self::Multiprotocol(AfiSafi {
                    afi: u16::from_be_bytes([a0, a1]),
                    safi,
                }),
                _ => return None,
            },
            code::ROUTE_REFRESH if v.is_empty() => Self::RouteRefresh,
            code::ENHANCED_ROUTE_REFRESH if v.is_empty() => {
                Self::EnhancedRouteRefresh
            }
            code::EXTENDED_MESSAGE if v.is_empty() => Self::ExtendedMessage,
            code::FOUR_OCTET_AS => {
                Self::FourOctetAs(u32::from_be_bytes(v.try_into().ok()?))
            }
            code::GRACEFUL_RESTART => {
                let (head, rest) = v.split_first_chunk::<2>()?;
                if !rest.len().is_multiple_of(4) {
                    return None;
                }
                let word = u16::from_be_bytes(*head);
                let families = rest
                    .chunks_exact(4)
                    .map(|c| GracefulRestartFamily {
                        family: AfiSafi {
                            afi: u16::from_be_bytes([c[0], c[1]]),
                            safi: c[2],
                        },
                        forwarding_preserved: c[3] & 0x80 != 0,
                    })
                    .collect();
                Self::GracefulRestart(GracefulRestart {
                    restart_state: word & 0x8000 != 0,
                    notification: word & 0x4000 != 0,
                    restart_time: word & 0x0fff,
                    families,
                })
            }
            code::ADD_PATH => {
                if v.is_empty() || !v.len().is_multiple_of(4) {
                    return None;
                }
                let mut entries = Vec::with_capacity(v.len() / 4);
                for c in v.chunks_exact(4) {
                    entries.push(AddPathEntry {
                        family: AfiSafi {
                            afi: u16::from_be_bytes([c[0], c[1]]),
                            safi: c[2],
                        },
                        mode: AddPathMode::from_wire(c[3])?,
                    });
                }
                Self::AddPath(entries)
            }
            _ => return None,
        };
        Some(cap)
    }
}

impl AddPathMode {
    /// The Send/Receive octet.
    pub fn to_wire(self) -> u8 {
        match self {
            Self::Receive => 1,
            Self::Send => 2,
            Self::Both => 3,
        }
    }

    /// Parses the Send/Receive octet; other values are invalid.
    pub fn from_wire(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::Receive),
            2 => Some(Self::Send),
            3 => Some(Self::Both),
            _ => None,
        }
    }
}
