//! Routes (docs/plugin-abi.md, "Routes", stride 7).

use std::net::IpAddr;

use crate::AbiError;
use crate::ip::{ip_from_words, ip_to_words};

/// Words per route.
pub const ROUTE_STRIDE: usize = 7;

/// Where a route came from (bits 16-23 of route word 1, shifted down).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SourceFlags(pub u8);

impl SourceFlags {
    /// Learned over eBGP.
    pub const EBGP: Self = Self(1);
    /// Learned over iBGP.
    pub const IBGP: Self = Self(1 << 1);
    /// Learned from a route-reflector client (RFC 4456).
    pub const RR_CLIENT: Self = Self(1 << 2);
    /// Originated by this node (static, block, service route).
    pub const LOCAL: Self = Self(1 << 3);
    /// One of this node's own IPAM blocks.
    pub const OWN_BLOCK: Self = Self(1 << 4);
    /// Every defined bit.
    pub const ALL: Self = Self((1 << 5) - 1);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Learned from BGP (eBGP or iBGP).
    pub fn from_bgp(self) -> bool {
        self.0 & (Self::EBGP.0 | Self::IBGP.0) != 0
    }
}

impl core::ops::BitOr for SourceFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// One route of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Route {
    /// Index of its attribute set in the batch's table.
    pub attr: u32,
    /// Prefix address.
    pub prefix: IpAddr,
    /// Prefix length.
    pub len: u8,
    /// Where it came from.
    pub source: SourceFlags,
    /// ADD-PATH path identifier (RFC 7911), 0 when none.
    pub path_id: u32,
}

impl Route {
    /// Appends the route's 7 words.
    pub fn encode(&self, out: &mut Vec<u32>) {
        let family: u32 = if self.prefix.is_ipv4() { 4 } else { 6 };
        out.push(self.attr);
        out.push(
            u32::from(self.len)
                | (family << 8)
                | (u32::from(self.source.0) << 16),
        );
        out.extend_from_slice(&ip_to_words(self.prefix));
        out.push(self.path_id);
    }

    /// Decodes one route without checking the attribute index.
    pub fn decode(
        words: &[u32; ROUTE_STRIDE],
        index: usize,
    ) -> Result<Self, AbiError> {
        let h = words[1];
        let len = (h & 0xff) as u8;
        let family = ((h >> 8) & 0xff) as u8;
        let source = ((h >> 16) & 0xff) as u8;
        let max = match family {
            4 => 32,
            6 => 128,
            _ => 0,
        };
        if max == 0
            || len > max
            || h >> 24 != 0
            || source & !SourceFlags::ALL.0 != 0
        {
            return Err(AbiError::RouteHeader {
                route: index,
                word: h,
            });
        }
        let addr = [words[2], words[3], words[4], words[5]];
        if family == 4 && addr[1..].iter().any(|&w| w != 0) {
            return Err(AbiError::Padding {
                what: "route",
                index,
            });
        }
        Ok(Self {
            attr: words[0],
            prefix: ip_from_words(family, addr),
            len,
            source: SourceFlags(source),
            path_id: words[6],
        })
    }
}

/// Encodes routes into a word list.
pub fn encode_routes(routes: &[Route]) -> Vec<u32> {
    let mut out = Vec::with_capacity(routes.len() * ROUTE_STRIDE);
    for r in routes {
        r.encode(&mut out);
    }
    out
}

/// A validated route list borrowing its words.
#[derive(Debug, Clone, Copy)]
pub struct Routes<'a> {
    words: &'a [u32],
}

impl<'a> Routes<'a> {
    /// Validates every route; `sets` is the size of the batch's attribute
    /// table (every route must name one of its sets).
    pub fn parse(words: &'a [u32], sets: usize) -> Result<Self, AbiError> {
        if !words.len().is_multiple_of(ROUTE_STRIDE) {
            return Err(AbiError::RouteStride { len: words.len() });
        }
        for (i, chunk) in words.chunks_exact(ROUTE_STRIDE).enumerate() {
            let r = Route::decode(stride(chunk), i)?;
            if usize::try_from(r.attr).map_or(true, |a| a >= sets) {
                return Err(AbiError::AttrIndex {
                    route: i,
                    set: r.attr,
                    sets,
                });
            }
        }
        Ok(Self { words })
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.words.len() / ROUTE_STRIDE
    }

    /// True when the batch has no route.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Route `index`.
    pub fn get(&self, index: usize) -> Option<Route> {
        let chunk = self
            .words
            .get(index * ROUTE_STRIDE..(index + 1) * ROUTE_STRIDE)?;
        Route::decode(stride(chunk), index).ok()
    }

    /// Every route in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Route> + 'a {
        self.words
            .chunks_exact(ROUTE_STRIDE)
            .enumerate()
            // Validated in `parse`; the fallback is never taken.
            .map(|(i, c)| {
                Route::decode(stride(c), i).unwrap_or(Route {
                    attr: 0,
                    prefix: IpAddr::from([0u8; 4]),
                    len: 0,
                    source: SourceFlags::default(),
                    path_id: 0,
                })
            })
    }
}

fn stride(chunk: &[u32]) -> &[u32; ROUTE_STRIDE] {
    // chunks_exact/get above always hand over exactly ROUTE_STRIDE words.
    chunk.try_into().unwrap_or(&[0, 0x400, 0, 0, 0, 0, 0])
}
