//! Value parsers for each known attribute. They only say what is wrong;
//! the RFC 7606 step decides what to do about it.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{
    Aggregator, AsPath, AsSegment, Community, ExtCommunity, LargeCommunity,
    Origin, SegmentKind,
};
use crate::afi::AfiSafi;
use crate::context::SessionContext;
use crate::nlri::decode_nlri;
use crate::update::{MpReach, MpUnreach, NextHop};

/// ORIGIN: one octet, 0 to 2 (RFC 4271 5.1.1).
pub(crate) fn origin(v: &[u8]) -> Result<Origin, String> {
    match v {
        [x] => {
            Origin::from_wire(*x).ok_or_else(|| format!("undefined value {x}"))
        }
        _ => Err(bad_len(v.len(), "1")),
    }
}

/// AS_PATH or AS4_PATH with 2- or 4-octet AS numbers.
pub(crate) fn as_path(v: &[u8], four_octet: bool) -> Result<AsPath, String> {
    let width = if four_octet { 4 } else { 2 };
    let mut segments = Vec::new();
    let mut rest = v;
    while !rest.is_empty() {
        let [ty, count, body @ ..] = rest else {
            return Err(format!(
                "segment header truncated at {} remaining octet",
                rest.len()
            ));
        };
        let kind = SegmentKind::from_wire(*ty)
            .ok_or_else(|| format!("bad segment type {ty}"))?;
        if *count == 0 {
            return Err("zero-length segment".to_owned());
        }
        let need = usize::from(*count) * width;
        let Some(asns) = body.get(..need) else {
            return Err(format!(
                "segment of {count} ASNs overruns {} remaining octets",
                body.len()
            ));
        };
        let asns = if four_octet {
            asns.chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        } else {
            asns.chunks_exact(2)
                .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                .collect()
        };
        segments.push(AsSegment { kind, asns });
        rest = &body[need..];
    }
    Ok(AsPath { segments })
}

/// A 4-octet IPv4 address (NEXT_HOP, ORIGINATOR_ID).
pub(crate) fn ipv4(v: &[u8]) -> Result<Ipv4Addr, String> {
    let b: [u8; 4] = v.try_into().map_err(|_| bad_len(v.len(), "4"))?;
    Ok(Ipv4Addr::from(b))
}

/// A 4-octet number (MED, LOCAL_PREF).
pub(crate) fn u32(v: &[u8]) -> Result<u32, String> {
    let b: [u8; 4] = v.try_into().map_err(|_| bad_len(v.len(), "4"))?;
    Ok(u32::from_be_bytes(b))
}

/// AGGREGATOR (6 or 8 octets by session) or AS4_AGGREGATOR (8).
pub(crate) fn aggregator(
    v: &[u8],
    four_octet: bool,
) -> Result<Aggregator, String> {
    match (four_octet, v) {
        (false, [a0, a1, ip @ ..]) if ip.len() == 4 => Ok(Aggregator {
            asn: u32::from(u16::from_be_bytes([*a0, *a1])),
            address: Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]),
        }),
        (true, [a0, a1, a2, a3, ip @ ..]) if ip.len() == 4 => Ok(Aggregator {
            asn: u32::from_be_bytes([*a0, *a1, *a2, *a3]),
            address: Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]),
        }),
        _ => Err(bad_len(v.len(), if four_octet { "8" } else { "6" })),
    }
}

/// A non-empty list of fixed-size items.
fn list<T, const N: usize>(
    v: &[u8],
    f: impl Fn(&[u8; N]) -> T,
) -> Result<Vec<T>, String> {
    if v.is_empty() || !v.len().is_multiple_of(N) {
        return Err(format!(
            "length {} is not a non-zero multiple of {N}",
            v.len()
        ));
    }
    Ok(v.chunks_exact(N)
        .filter_map(|c| <&[u8; N]>::try_from(c).ok())
        .map(f)
        .collect())
}

/// COMMUNITIES (RFC 1997).
pub(crate) fn communities(v: &[u8]) -> Result<Vec<Community>, String> {
    list::<_, 4>(v, |c| Community(u32::from_be_bytes(*c)))
}

/// CLUSTER_LIST (RFC 4456).
pub(crate) fn cluster_list(v: &[u8]) -> Result<Vec<Ipv4Addr>, String> {
    list::<_, 4>(v, |c| Ipv4Addr::from(*c))
}

/// EXTENDED COMMUNITIES (RFC 4360).
pub(crate) fn ext_communities(v: &[u8]) -> Result<Vec<ExtCommunity>, String> {
    list::<_, 8>(v, |c| ExtCommunity(*c))
}

/// LARGE_COMMUNITY (RFC 8092).
pub(crate) fn large_communities(
    v: &[u8],
) -> Result<Vec<LargeCommunity>, String> {
    list::<_, 12>(v, |c| LargeCommunity {
        global_admin: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
        local_data_1: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
        local_data_2: u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
    })
}

/// The AFI/SAFI that starts both MP attributes.
fn family(v: &[u8]) -> Result<(AfiSafi, &[u8]), String> {
    match v {
        [a0, a1, safi, rest @ ..] => Ok((
            AfiSafi {
                afi: u16::from_be_bytes([*a0, *a1]),
                safi: *safi,
            },
            rest,
        )),
        _ => Err(format!("{} octets cannot hold AFI and SAFI", v.len())),
    }
}

/// MP_REACH_NLRI; `Ok(None)` for a family bgplet does not carry.
pub(crate) fn mp_reach(
    v: &[u8],
    ctx: &SessionContext,
) -> Result<Option<MpReach>, String> {
    let (family, rest) = family(v)?;
    if !family.is_supported() {
        return Ok(None);
    }
    let [nh_len, rest @ ..] = rest else {
        return Err("missing next-hop length".to_owned());
    };
    let nh_len = usize::from(*nh_len);
    // The reserved octet (once the SNPA count) follows the next hop and
    // is ignored on receipt (RFC 4760 section 3).
    let Some(nh) = rest.get(..nh_len) else {
        return Err(format!(
            "next hop of {nh_len} octets overruns {} remaining",
            rest.len()
        ));
    };
    let Some(nlri) = rest.get(nh_len + 1..) else {
        return Err("missing reserved octet".to_owned());
    };
    let v6 = |b: &[u8]| {
        <[u8; 16]>::try_from(b)
            .map(Ipv6Addr::from)
            .unwrap_or(Ipv6Addr::UNSPECIFIED)
    };
    // IPv4 NLRI may have an IPv6 next hop (RFC 8950); IPv6 NLRI never
    // has an IPv4 one.
    let next_hop = match (nh_len, family == AfiSafi::IPV4_UNICAST) {
        (4, true) => NextHop::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3])),
        (16, _) => NextHop::V6 {
            global: v6(nh),
            link_local: None,
        },
        (32, _) => NextHop::V6 {
            global: v6(&nh[..16]),
            link_local: Some(v6(&nh[16..])),
        },
        _ => {
            return Err(format!(
                "next-hop length {nh_len} is invalid for {family}"
            ));
        }
    };
    let mut out = Vec::new();
    decode_nlri(nlri, family, ctx.rx_path_id(family), &mut out)
        .map_err(|e| format!("NLRI {e}"))?;
    Ok(Some(MpReach {
        family,
        next_hop,
        nlri: out,
    }))
}

/// MP_UNREACH_NLRI; `Ok(None)` for a family bgplet does not carry.
pub(crate) fn mp_unreach(
    v: &[u8],
    ctx: &SessionContext,
) -> Result<Option<MpUnreach>, String> {
    let (family, rest) = family(v)?;
    if !family.is_supported() {
        return Ok(None);
    }
    let mut withdrawn = Vec::new();
    decode_nlri(rest, family, ctx.rx_path_id(family), &mut withdrawn)
        .map_err(|e| format!("withdrawn {e}"))?;
    Ok(Some(MpUnreach { family, withdrawn }))
}

fn bad_len(len: usize, want: &str) -> String {
    format!("length {len}, expected {want}")
}
