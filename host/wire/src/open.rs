//! OPEN message (RFC 4271 section 4.2) with capabilities (RFC 5492).

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use crate::afi::AfiSafi;
use crate::capability::{AddPathEntry, Capability, GracefulRestart};
use crate::error::{EncodeError, OpenError};

/// `AS_TRANS`, the 2-octet stand-in for a 4-octet AS (RFC 6793 9).
pub const AS_TRANS: u16 = 23456;

/// Optional parameter type for capabilities (RFC 5492 section 4).
const PARAM_CAPABILITIES: u8 = 2;
/// Marks the RFC 9072 extended optional parameters length.
const PARAM_EXTENDED: u8 = 255;

/// An OPEN message (RFC 4271 section 4.2). Capabilities are the only
/// optional parameter in use (RFC 5492).
///
/// ```text
/// +-+-+-+-+-+-+-+-+
/// |    Version    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     My Autonomous System      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Hold Time           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         BGP Identifier                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Opt Parm Len  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             Optional Parameters (variable)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
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

impl Open {
    /// A version-4 OPEN for `asn`. A 4-octet AS goes in as AS_TRANS; the
    /// caller adds [`Capability::FourOctetAs`] to `capabilities`.
    pub fn new(
        asn: u32,
        hold_time: u16,
        bgp_id: Ipv4Addr,
        capabilities: Vec<Capability>,
    ) -> Self {
        Self {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time,
            bgp_id,
            capabilities,
        }
    }

    /// Decodes and checks the message body (after the header).
    ///
    /// Checks, in RFC 4271 6.2 order: version (2/1), AS 0 (2/2, RFC 7607),
    /// hold time 1 or 2 (2/6), BGP Identifier 0 (2/3, RFC 6286),
    /// non-capability parameters (2/4). Several capabilities in one
    /// parameter and one parameter per capability are both accepted, as
    /// is the RFC 9072 extended parameters length.
    pub fn decode(body: &[u8]) -> Result<Self, OpenError> {
        let Some((fixed, rest)) = body.split_first_chunk::<10>() else {
            return Err(OpenError::Malformed("OPEN shorter than 10 octets"));
        };
        let version = fixed[0];
        if version != 4 {
            return Err(OpenError::UnsupportedVersion(version));
        }
        let my_as = u16::from_be_bytes([fixed[1], fixed[2]]);
        let hold_time = u16::from_be_bytes([fixed[3], fixed[4]]);
        let bgp_id = Ipv4Addr::new(fixed[5], fixed[6], fixed[7], fixed[8]);
        if my_as == 0 {
            return Err(OpenError::BadPeerAs(0));
        }
        if hold_time == 1 || hold_time == 2 {
            return Err(OpenError::UnacceptableHoldTime(hold_time));
        }
        if bgp_id.is_unspecified() {
            return Err(OpenError::BadBgpId(bgp_id));
        }
        let capabilities = decode_params(fixed[9], rest)?;
        let open = Self {
            version,
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        };
        if open.four_octet_as() == Some(0) {
            return Err(OpenError::BadPeerAs(0));
        }
        Ok(open)
    }

    /// Appends the message body. All capabilities go in one optional
    /// parameter when they fit in 255 octets, else one parameter each.
    pub fn encode_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_u8(self.version);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_slice(&self.bgp_id.octets());
        let mut caps = BytesMut::new();
        for cap in &self.capabilities {
            cap.encode(&mut caps)?;
        }
        if caps.is_empty() {
            out.put_u8(0);
        } else if caps.len() <= 253 {
            out.put_u8(caps.len() as u8 + 2);
            out.put_u8(PARAM_CAPABILITIES);
            out.put_u8(caps.len() as u8);
            out.put_slice(&caps);
        } else {
            let mut params = BytesMut::new();
            for cap in &self.capabilities {
                let mut one = BytesMut::new();
                cap.encode(&mut one)?;
                params.put_u8(PARAM_CAPABILITIES);
                // Each capability is at most 257 octets, but its own
                // length octet already bounds the value to 255.
                let len = u8::try_from(one.len()).map_err(|_| {
                    EncodeError::FieldOverflow("optional parameter length")
                })?;
                params.put_u8(len);
                params.put_slice(&one);
            }
            let len = u8::try_from(params.len()).map_err(|_| {
                EncodeError::FieldOverflow("optional parameters length")
            })?;
            out.put_u8(len);
            out.put_slice(&params);
        }
        Ok(())
    }

    /// The AS from the 4-octet AS capability, if advertised.
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs(asn) => Some(*asn),
            _ => None,
        })
    }

    /// The speaker's real AS: the 4-octet capability when present, else
    /// `my_as` (RFC 6793 section 4.1).
    pub fn real_as(&self) -> u32 {
        self.four_octet_as().unwrap_or(u32::from(self.my_as))
    }

    /// Families advertised with the multiprotocol capability. An OPEN
    /// without any implies IPv4 unicast only (RFC 4760 section 8).
    pub fn families(&self) -> Vec<AfiSafi> {
        let families: Vec<AfiSafi> = self
            .capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol(f) => Some(*f),
                _ => None,
            })
            .collect();
        if families.is_empty() {
            vec![AfiSafi::IPV4_UNICAST]
        } else {
            families
        }
    }

    /// The ADD-PATH entries advertised (RFC 7911).
    pub fn add_path(&self) -> impl Iterator<Item = &AddPathEntry> + '_ {
        self.capabilities.iter().flat_map(|c| match c {
            Capability::AddPath(entries) => entries.as_slice(),
            _ => &[],
        })
    }

    /// The graceful-restart capability, if advertised.
    pub fn graceful_restart(&self) -> Option<&GracefulRestart> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr),
            _ => None,
        })
    }

    /// Whether the capability with this code was advertised.
    pub fn has_capability(&self, code: u8) -> bool {
        self.capabilities.iter().any(|c| c.code() == code)
    }
}

/// Parses the optional parameters; only capabilities are supported.
fn decode_params(len: u8, rest: &[u8]) -> Result<Vec<Capability>, OpenError> {
    // RFC 9072 2: a length of 255 with a first type of 255 means a
    // 2-octet length follows and every parameter has a 2-octet length.
    let (params, wide) = if len == 255 && rest.first() == Some(&PARAM_EXTENDED)
    {
        let Some([hi, lo]) = rest.get(1..3).map(|s| [s[0], s[1]]) else {
            return Err(OpenError::Malformed("extended parameters length"));
        };
        let n = usize::from(u16::from_be_bytes([hi, lo]));
        (rest.get(3..3 + n), true)
    } else {
        (rest.get(..usize::from(len)), false)
    };
    let Some(mut params) = params else {
        return Err(OpenError::Malformed("optional parameters overrun"));
    };
    let mut caps = Vec::new();
    while let Some(&ty) = params.first() {
        let (plen, head) = if wide {
            match params.get(1..3) {
                Some(s) => (usize::from(u16::from_be_bytes([s[0], s[1]])), 3),
                None => return Err(OpenError::Malformed("parameter header")),
            }
        } else {
            match params.get(1) {
                Some(&l) => (usize::from(l), 2),
                None => return Err(OpenError::Malformed("parameter header")),
            }
        };
        let Some(value) = params.get(head..head + plen) else {
            return Err(OpenError::Malformed("optional parameter overrun"));
        };
        if ty != PARAM_CAPABILITIES {
            return Err(OpenError::UnsupportedOptionalParameter(ty));
        }
        decode_capabilities(value, &mut caps)?;
        params = &params[head + plen..];
    }
    Ok(caps)
}

/// Parses the capabilities packed in one optional parameter.
fn decode_capabilities(
    mut value: &[u8],
    caps: &mut Vec<Capability>,
) -> Result<(), OpenError> {
    while let [code, len, rest @ ..] = value {
        let Some(v) = rest.get(..usize::from(*len)) else {
            return Err(OpenError::Malformed("capability overrun"));
        };
        caps.push(Capability::decode(*code, v));
        value = &rest[usize::from(*len)..];
    }
    if value.is_empty() {
        Ok(())
    } else {
        Err(OpenError::Malformed("truncated capability header"))
    }
}
