//! NLRI encoding (RFC 4271 4.3, RFC 4760 5, RFC 7911 3).
//!
//! ```text
//! +---------------------------+
//! | Path Identifier (4 octets)|  only when ADD-PATH is negotiated
//! +---------------------------+
//! |   Length (1 octet)        |
//! +---------------------------+
//! |   Prefix (variable)       |
//! +---------------------------+
//! ```

use bytes::{BufMut, BytesMut};

use crate::afi::AfiSafi;
use crate::prefix::{Ipv4Prefix, Ipv6Prefix, Prefix};

/// One NLRI entry: a prefix with its ADD-PATH path identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nlri {
    /// Path identifier (RFC 7911); 0 when ADD-PATH is not in use.
    pub path_id: u32,
    /// The prefix.
    pub prefix: Prefix,
}

impl Nlri {
    /// An NLRI without a path identifier.
    pub fn new(prefix: impl Into<Prefix>) -> Self {
        Self {
            path_id: 0,
            prefix: prefix.into(),
        }
    }

    /// An NLRI with a path identifier.
    pub fn with_path_id(path_id: u32, prefix: impl Into<Prefix>) -> Self {
        Self {
            path_id,
            prefix: prefix.into(),
        }
    }

    /// Octets this entry takes on the wire.
    pub fn wire_len(&self, path_id: bool) -> usize {
        usize::from(path_id) * 4
            + 1
            + usize::from(self.prefix.len()).div_ceil(8)
    }
}

/// Parses a run of NLRI of one family, appending to `out`.
///
/// Trailing bits beyond the length are cleared (RFC 4271 4.3 says they
/// are irrelevant). Fails with a reason when a length is too long for
/// the family or an entry overruns the field; the caller picks the
/// NOTIFICATION because it knows where the NLRI came from.
pub fn decode_nlri(
    buf: &[u8],
    family: AfiSafi,
    path_id: bool,
    out: &mut Vec<Nlri>,
) -> Result<(), String> {
    // A /24 with no path id is 4 octets; reserving for that shape avoids
    // regrowth on full-table UPDATEs without over-allocating much.
    out.reserve(buf.len() / if path_id { 8 } else { 4 });
    match (family == AfiSafi::IPV6_UNICAST, path_id) {
        (false, false) => decode_v4::<false>(buf, out),
        (false, true) => decode_v4::<true>(buf, out),
        (true, false) => decode_v6::<false>(buf, out),
        (true, true) => decode_v6::<true>(buf, out),
    }
}

fn decode_v4<const PATH_ID: bool>(
    buf: &[u8],
    out: &mut Vec<Nlri>,
) -> Result<(), String> {
    let mut i = 0;
    while i < buf.len() {
        let mut path_id = 0;
        if PATH_ID {
            let Some(id) = buf.get(i..i + 4) else {
                return Err(overrun(i, buf.len()));
            };
            path_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
            i += 4;
        }
        let Some(&len) = buf.get(i) else {
            return Err(overrun(i, buf.len()));
        };
        if len > 32 {
            return Err(format!("prefix length {len} exceeds 32"));
        }
        let end = i + 1 + usize::from(len).div_ceil(8);
        if end > buf.len() {
            return Err(overrun(i, buf.len()));
        }
        // Hot path: load four octets at once even if some belong to the
        // next entry; the mask clears them. Near the end of the buffer,
        // copy only the prefix octets.
        let bits = match buf.get(i + 1..i + 5) {
            Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
            _ => {
                let mut addr = [0u8; 4];
                addr[..end - i - 1].copy_from_slice(&buf[i + 1..end]);
                u32::from_be_bytes(addr)
            }
        };
        let prefix = Ipv4Prefix::new_masked(bits, len);
        out.push(Nlri {
            path_id,
            prefix: Prefix::V4(prefix),
        });
        i = end;
    }
    Ok(())
}

fn decode_v6<const PATH_ID: bool>(
    buf: &[u8],
    out: &mut Vec<Nlri>,
) -> Result<(), String> {
    let mut i = 0;
    while i < buf.len() {
        let mut path_id = 0;
        if PATH_ID {
            let Some(id) = buf.get(i..i + 4) else {
                return Err(overrun(i, buf.len()));
            };
            path_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
            i += 4;
        }
        let Some(&len) = buf.get(i) else {
            return Err(overrun(i, buf.len()));
        };
        if len > 128 {
            return Err(format!("prefix length {len} exceeds 128"));
        }
        let end = i + 1 + usize::from(len).div_ceil(8);
        if end > buf.len() {
            return Err(overrun(i, buf.len()));
        }
        // As for IPv4: a fixed 16-octet load when the buffer allows it.
        let addr = match buf.get(i + 1..).and_then(|b| b.first_chunk()) {
            Some(&b) => b,
            None => {
                let mut addr = [0u8; 16];
                addr[..end - i - 1].copy_from_slice(&buf[i + 1..end]);
                addr
            }
        };
        let prefix = Ipv6Prefix::new_masked(addr, len);
        out.push(Nlri {
            path_id,
            prefix: Prefix::V6(prefix),
        });
        i = end;
    }
    Ok(())
}

fn overrun(at: usize, len: usize) -> String {
    format!("entry at octet {at} overruns the {len}-octet field")
}

/// Appends NLRI entries, with path identifiers when `path_id` is set.
pub fn encode_nlri(nlri: &[Nlri], path_id: bool, out: &mut BytesMut) {
    for n in nlri {
        encode_one(n, path_id, out);
    }
}

/// Appends one NLRI entry.
#[inline]
pub(crate) fn encode_one(n: &Nlri, path_id: bool, out: &mut BytesMut) {
    if path_id {
        out.put_u32(n.path_id);
    }
    match &n.prefix {
        Prefix::V4(p) => {
            let len = p.len();
            let bytes = p.bits().to_be_bytes();
            out.put_u8(len);
            out.put_slice(&bytes[..usize::from(len).div_ceil(8)]);
        }
        Prefix::V6(p) => {
            let len = p.len();
            out.put_u8(len);
            out.put_slice(&p.octets()[..usize::from(len).div_ceil(8)]);
        }
    }
}

impl std::fmt::Display for Nlri {
    /// Formats as "10.0.0.0/24", or "10.0.0.0/24 path-id 7" with ADD-PATH.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path_id == 0 {
            write!(f, "{}", self.prefix)
        } else {
            write!(f, "{} path-id {}", self.prefix, self.path_id)
        }
    }
}
