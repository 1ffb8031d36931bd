//! Packing many prefixes that share one attribute set into as few
//! UPDATE messages as the session's maximum message size allows.

use bytes::{BufMut, Bytes, BytesMut};

use super::NextHop;
use super::encode::{mp_reach_head, patch_u16};
use crate::afi::AfiSafi;
use crate::attribute::{PathAttributes, code, encode, flags};
use crate::context::SessionContext;
use crate::error::EncodeError;
use crate::message::{HEADER_LEN, MessageType, finish_header, start_header};
use crate::nlri::{Nlri, encode_one};

/// Encodes announcements of `nlri` (all of `family`) with one attribute
/// set, appending complete messages (headers included) to `out`.
///
/// The attributes are encoded once. IPv4 unicast with an IPv4 next hop
/// uses the classic NLRI field and NEXT_HOP; anything else uses
/// MP_REACH_NLRI (RFC 4760), whose value length is always written in
/// the 2-octet form so its size never changes while filling.
pub fn encode_announcements(
    attrs: &PathAttributes,
    family: AfiSafi,
    next_hop: NextHop,
    nlri: &[Nlri],
    ctx: &SessionContext,
    out: &mut Vec<Bytes>,
) -> Result<(), EncodeError> {
    if nlri.is_empty() {
        return Ok(());
    }
    let max = ctx.max_message_len();
    let path_id = ctx.tx_path_id(family);
    let nlri_len = nlri_len(nlri, path_id);
    // The attributes go straight into the first message; later messages
    // copy them from it. One buffer holds every message of the call.
    if let (AfiSafi::IPV4_UNICAST, NextHop::V4(ip)) = (family, next_hop) {
        let mut buf = BytesMut::with_capacity(
            (HEADER_LEN + 4 + ATTRS_GUESS + nlri_len).min(max),
        );
        let start = start_header(&mut buf, MessageType::Update);
        buf.put_u16(0);
        let attr_at = buf.len();
        buf.put_u16(0);
        encode::encode_range_with_next_hop(
            attrs,
            ctx,
            0,
            255,
            Some(ip),
            &mut buf,
        );
        let head = attr_at + 2..buf.len();
        let fixed = buf.len() - start;
        check_room(fixed, path_id, max)?;
        patch_u16(&mut buf, attr_at, "total path attribute length")?;
        reserve_all(&mut buf, fixed, nlri_len, path_id, max);
        let mut rest = fill(&mut buf, nlri, path_id, max - fixed);
        finish_header(&mut buf, start);
        let first = buf.split().freeze();
        let head = first.slice(head);
        out.push(first);
        while !rest.is_empty() {
            let start = start_header(&mut buf, MessageType::Update);
            buf.put_u16(0);
            // `check_room` bounds the attributes below `max`.
            buf.put_u16(head.len() as u16);
            buf.put_slice(&head);
            let room = max - (buf.len() - start);
            rest = fill(&mut buf, rest, path_id, room);
            finish_header(&mut buf, start);
            out.push(buf.split().freeze());
        }
        return Ok(());
    }
    // Written after the NLRI: encoded apart (usually empty, so free).
    let mut tail = BytesMut::new();
    encode::encode_range(attrs, ctx, 16, 255, &mut tail);
    let mp_fixed = 4 + 5 + next_hop.wire_len();
    let mut buf = BytesMut::with_capacity(
        (HEADER_LEN + 4 + ATTRS_GUESS + mp_fixed + tail.len() + nlri_len)
            .min(max),
    );
    let start = start_header(&mut buf, MessageType::Update);
    buf.put_u16(0);
    let attr_at = buf.len();
    buf.put_u16(0);
    encode::encode_range_with_next_hop(attrs, ctx, 0, 13, None, &mut buf);
    let head = attr_at + 2..buf.len();
    let fixed = buf.len() - start + mp_fixed + tail.len();
    check_room(fixed, path_id, max)?;
    reserve_all(&mut buf, fixed, nlri_len, path_id, max);
    let mut first: Option<Bytes> = None;
    let mut rest = nlri;
    while !rest.is_empty() {
        let start = if let Some(head) = &first {
            let start = start_header(&mut buf, MessageType::Update);
            buf.put_u16(0);
            buf.put_u16(0);
            buf.put_slice(head);
            start
        } else {
            start
        };
        buf.put_u8(flags::OPTIONAL | flags::EXTENDED_LENGTH);
        buf.put_u8(code::MP_REACH_NLRI);
        let mp_at = buf.len();
        buf.put_u16(0);
        mp_reach_head(family, &next_hop, &mut buf);
        let room = max - (buf.len() - start) - tail.len();
        rest = fill(&mut buf, rest, path_id, room);
        patch_u16(&mut buf, mp_at, "MP_REACH_NLRI length")?;
        buf.put_slice(&tail);
        patch_u16(&mut buf, start + attr_at, "total path attribute length")?;
        finish_header(&mut buf, start);
        let msg = buf.split().freeze();
        if first.is_none() {
            first = Some(msg.slice(head.clone()));
        }
        out.push(msg);
    }
    Ok(())
}

/// A first guess of the encoded attributes' size (a Calico route's are
/// about 30 octets), so the common single message needs one allocation.
const ATTRS_GUESS: usize = 64;

/// The most [`reserve_all`] reserves at once (BytesMut then grows by
/// about this much when a call needs more).
const RESERVE_CAP: usize = 64 * 1024;

/// The NLRI's encoded size: exact for a few prefixes (sizes a single
/// message exactly), an upper bound past that (the reservation is
/// capped anyway, and a pass over many prefixes is not free).
fn nlri_len(nlri: &[Nlri], path_id: bool) -> usize {
    if nlri.len() > 64 {
        return nlri.len() * (usize::from(path_id) * 4 + 1 + 16);
    }
    nlri.iter().map(|n| n.wire_len(path_id)).sum()
}

/// Reserves room for every message of a call: `fixed` octets each plus
/// `nlri_len` in total. A message closes with less than one longest
/// prefix unused, which bounds their count (`check_room` has made sure
/// that one fits).
fn reserve_all(
    buf: &mut BytesMut,
    fixed: usize,
    nlri_len: usize,
    path_id: bool,
    max: usize,
) {
    let longest = usize::from(path_id) * 4 + 1 + 16;
    let per_message = (max - fixed).saturating_sub(longest - 1).max(1);
    let messages = nlri_len.div_ceil(per_message).max(1);
    // Capped so a huge call grows in chunks below the allocator's mmap
    // threshold instead of faulting in one large fresh mapping.
    let total = (nlri_len + messages * fixed).min(RESERVE_CAP.max(max));
    buf.reserve(total.saturating_sub(buf.len()));
}

/// Encodes withdrawals of `nlri` (all of `family`), appending complete
/// messages to `out`: the classic withdrawn field for IPv4 unicast,
/// MP_UNREACH_NLRI otherwise.
pub fn encode_withdrawals(
    family: AfiSafi,
    nlri: &[Nlri],
    ctx: &SessionContext,
    out: &mut Vec<Bytes>,
) -> Result<(), EncodeError> {
    if nlri.is_empty() {
        return Ok(());
    }
    let max = ctx.max_message_len();
    let path_id = ctx.tx_path_id(family);
    check_room(HEADER_LEN + 4 + 4 + 3, path_id, max)?;
    let mut buf = BytesMut::new();
    let len = nlri_len(nlri, path_id);
    reserve_all(&mut buf, HEADER_LEN + 4 + 4 + 3, len, path_id, max);
    let mut rest = nlri;
    while !rest.is_empty() {
        let start = start_header(&mut buf, MessageType::Update);
        if family == AfiSafi::IPV4_UNICAST {
            let at = buf.len();
            buf.put_u16(0);
            let room = max - (buf.len() - start) - 2;
            rest = fill(&mut buf, rest, path_id, room);
            patch_u16(&mut buf, at, "withdrawn routes length")?;
            buf.put_u16(0);
        } else {
            buf.put_u16(0);
            let attr_at = buf.len();
            buf.put_u16(0);
            buf.put_u8(flags::OPTIONAL | flags::EXTENDED_LENGTH);
            buf.put_u8(code::MP_UNREACH_NLRI);
            let mp_at = buf.len();
            buf.put_u16(0);
            buf.put_u16(family.afi);
            buf.put_u8(family.safi);
            let room = max - (buf.len() - start);
            rest = fill(&mut buf, rest, path_id, room);
            patch_u16(&mut buf, mp_at, "MP_UNREACH_NLRI length")?;
            patch_u16(&mut buf, attr_at, "total path attribute length")?;
        }
        finish_header(&mut buf, start);
        out.push(buf.split().freeze());
    }
    Ok(())
}

/// Fails unless a longest (IPv6) prefix fits after `fixed` octets, so
/// every message makes progress whatever the prefixes are.
fn check_room(
    fixed: usize,
    path_id: bool,
    max: usize,
) -> Result<(), EncodeError> {
    let largest = fixed + usize::from(path_id) * 4 + 1 + 16;
    if largest > max {
        return Err(EncodeError::TooLarge { len: largest, max });
    }
    Ok(())
}

/// Appends NLRI while they fit in `room` octets; returns the rest.
fn fill<'a>(
    buf: &mut BytesMut,
    nlri: &'a [Nlri],
    path_id: bool,
    mut room: usize,
) -> &'a [Nlri] {
    for (i, n) in nlri.iter().enumerate() {
        let len = n.wire_len(path_id);
        if len > room {
            return &nlri[i..];
        }
        room -= len;
        encode_one(n, path_id, buf);
    }
    &[]
}
