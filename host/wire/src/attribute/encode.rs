//! Attribute encoding, in ascending type-code order (RFC 4271 5: the
//! sender SHOULD order path attributes by type code).

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use super::{
    Aggregator, AsPath, PathAttributes, UnknownAttribute, code, flags,
};
use crate::context::SessionContext;
use crate::open::AS_TRANS;

const WELL_KNOWN: u8 = flags::TRANSITIVE;
const OPTIONAL_TRANSITIVE: u8 = flags::OPTIONAL | flags::TRANSITIVE;
const OPTIONAL: u8 = flags::OPTIONAL;

/// The known codes in wire order (MP_REACH/MP_UNREACH are written by
/// the UPDATE encoder between 10 and 16).
const KNOWN: [u8; 14] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17, 18, 32];

/// Appends an attribute header; Extended Length only when needed.
pub(crate) fn header(out: &mut BytesMut, flag: u8, code: u8, len: usize) {
    if len > 255 {
        out.put_u8(flag | flags::EXTENDED_LENGTH);
        out.put_u8(code);
        // Callers keep values under 65536: an UPDATE cannot be longer.
        out.put_u16(len.min(usize::from(u16::MAX)) as u16);
    } else {
        out.put_u8(flag & !flags::EXTENDED_LENGTH);
        out.put_u8(code);
        out.put_u8(len as u8);
    }
}

/// Appends the attributes whose type code is in `lo..=hi`.
pub(crate) fn encode_range(
    attrs: &PathAttributes,
    ctx: &SessionContext,
    lo: u8,
    hi: u8,
    out: &mut BytesMut,
) {
    encode_range_with_next_hop(attrs, ctx, lo, hi, attrs.next_hop, out);
}

/// [`encode_range`] with `next_hop` in place of the set's own NEXT_HOP,
/// so a caller that changes only the next hop need not clone the set.
pub(crate) fn encode_range_with_next_hop(
    attrs: &PathAttributes,
    ctx: &SessionContext,
    lo: u8,
    hi: u8,
    next_hop: Option<Ipv4Addr>,
    out: &mut BytesMut,
) {
    let mut unknown: Vec<&UnknownAttribute> = attrs
        .unknown
        .iter()
        .filter(|u| (lo..=hi).contains(&u.code))
        .collect();
    unknown.sort_by_key(|u| u.code);
    let mut unknown = unknown.into_iter().peekable();
    for &c in KNOWN.iter().filter(|c| (lo..=hi).contains(*c)) {
        while let Some(u) = unknown.next_if(|u| u.code < c) {
            header(out, u.flags, u.code, u.value.len());
            out.put_slice(&u.value);
        }
        known(attrs, ctx, c, next_hop, out);
    }
    for u in unknown {
        header(out, u.flags, u.code, u.value.len());
        out.put_slice(&u.value);
    }
}

fn known(
    a: &PathAttributes,
    ctx: &SessionContext,
    c: u8,
    next_hop: Option<Ipv4Addr>,
    out: &mut BytesMut,
) {
    let four = ctx.four_octet_as;
    match c {
        code::ORIGIN => {
            if let Some(o) = a.origin {
                header(out, WELL_KNOWN, c, 1);
                out.put_u8(o.to_wire());
            }
        }
        code::AS_PATH => {
            if let Some(p) = &a.as_path {
                as_path(out, WELL_KNOWN, c, p, four);
            }
        }
        code::NEXT_HOP => ipv4(out, WELL_KNOWN, c, next_hop),
        code::MED => number(out, OPTIONAL, c, a.med),
        code::LOCAL_PREF => number(out, WELL_KNOWN, c, a.local_pref),
        code::ATOMIC_AGGREGATE if a.atomic_aggregate => {
            header(out, WELL_KNOWN, c, 0);
        }
        code::AGGREGATOR => {
            if let Some(agg) = a.aggregator {
                aggregator(out, c, agg, four);
            }
        }
        code::COMMUNITIES => {
            list(out, c, a.communities.as_deref(), 4, |o, x| {
                o.put_u32(x.0);
            })
        }
        code::ORIGINATOR_ID => ipv4(out, OPTIONAL, c, a.originator_id),
        code::CLUSTER_LIST => {
            if let Some(ids) =
                a.cluster_list.as_deref().filter(|l| !l.is_empty())
            {
                header(out, OPTIONAL, c, ids.len() * 4);
                for id in ids {
                    out.put_slice(&id.octets());
                }
            }
        }
        code::EXTENDED_COMMUNITIES => {
            list(out, c, a.ext_communities.as_deref(), 8, |o, x| {
                o.put_slice(&x.0);
            });
        }
        // RFC 6793 4.2.2: a 2-octet peer gets the real path and
        // aggregator in the AS4 attributes when they do not fit.
        code::AS4_PATH if !four => {
            if let Some(p) = a.as_path.as_ref().filter(|p| p.has_four_octet()) {
                as_path(out, OPTIONAL_TRANSITIVE, c, &p.as4_path(), true);
            }
        }
        code::AS4_AGGREGATOR if !four => {
            if let Some(agg) = a.aggregator.filter(|g| g.asn > 0xffff) {
                aggregator(out, c, agg, true);
            }
        }
        code::LARGE_COMMUNITY => {
            list(out, c, a.large_communities.as_deref(), 12, |o, x| {
                o.put_u32(x.global_admin);
                o.put_u32(x.local_data_1);
                o.put_u32(x.local_data_2);
            });
        }
        _ => {}
    }
}

fn ipv4(out: &mut BytesMut, flag: u8, c: u8, ip: Option<Ipv4Addr>) {
    if let Some(ip) = ip {
        header(out, flag, c, 4);
        out.put_slice(&ip.octets());
    }
}

fn number(out: &mut BytesMut, flag: u8, c: u8, n: Option<u32>) {
    if let Some(n) = n {
        header(out, flag, c, 4);
        out.put_u32(n);
    }
}

/// An optional transitive list; an empty list is not sent, since an
/// empty value is malformed for every list attribute.
fn list<T>(
    out: &mut BytesMut,
    c: u8,
    items: Option<&[T]>,
    size: usize,
    put: impl Fn(&mut BytesMut, &T),
) {
    let Some(items) = items.filter(|l| !l.is_empty()) else {
        return;
    };
    header(out, OPTIONAL_TRANSITIVE, c, items.len() * size);
    for x in items {
        put(out, x);
    }
}

fn aggregator(out: &mut BytesMut, c: u8, agg: Aggregator, four: bool) {
    header(out, OPTIONAL_TRANSITIVE, c, if four { 8 } else { 6 });
    if four {
        out.put_u32(agg.asn);
    } else {
        out.put_u16(u16::try_from(agg.asn).unwrap_or(AS_TRANS));
    }
    out.put_slice(&agg.address.octets());
}

/// AS_PATH or AS4_PATH; segments over 255 ASNs are split, and on a
/// 2-octet session large ASNs become AS_TRANS (RFC 6793 4.2.2).
fn as_path(out: &mut BytesMut, flag: u8, c: u8, p: &AsPath, four: bool) {
    let width = if four { 4 } else { 2 };
    let len: usize = p
        .segments
        .iter()
        .flat_map(|s| s.asns.chunks(255))
        .map(|chunk| 2 + chunk.len() * width)
        .sum();
    header(out, flag, c, len);
    for seg in &p.segments {
        for chunk in seg.asns.chunks(255) {
            out.put_u8(seg.kind.to_wire());
            // At most 255 by `chunks(255)`.
            out.put_u8(chunk.len() as u8);
            for &asn in chunk {
                if four {
                    out.put_u32(asn);
                } else {
                    out.put_u16(u16::try_from(asn).unwrap_or(AS_TRANS));
                }
            }
        }
    }
}
