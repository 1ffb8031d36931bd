//! UPDATE body encoding.

use bytes::{BufMut, BytesMut};

use super::{MpReach, MpUnreach, NextHop, Update};
use crate::afi::AfiSafi;
use crate::attribute::{code, encode, flags};
use crate::context::SessionContext;
use crate::error::EncodeError;
use crate::nlri::encode_nlri;

impl Update {
    /// Appends the UPDATE body (after the header). Path identifiers are
    /// written for the families in `ctx.add_path_tx`, AS numbers in the
    /// width `ctx.four_octet_as` says.
    pub fn encode_body(
        &self,
        ctx: &SessionContext,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let path_id = ctx.tx_path_id(AfiSafi::IPV4_UNICAST);
        let at = out.len();
        out.put_u16(0);
        encode_nlri(&self.withdrawn, path_id, out);
        patch_u16(out, at, "withdrawn routes length")?;

        let at = out.len();
        out.put_u16(0);
        encode::encode_range(&self.attributes, ctx, 0, 13, out);
        if let Some(r) = &self.mp_reach {
            mp_reach(r, ctx, out);
        }
        if let Some(u) = &self.mp_unreach {
            mp_unreach(u, ctx, out);
        }
        encode::encode_range(&self.attributes, ctx, 16, 255, out);
        patch_u16(out, at, "total path attribute length")?;

        encode_nlri(&self.nlri, path_id, out);
        Ok(())
    }
}

/// Appends MP_REACH_NLRI.
fn mp_reach(r: &MpReach, ctx: &SessionContext, out: &mut BytesMut) {
    let path_id = ctx.tx_path_id(r.family);
    let nlri: usize = r.nlri.iter().map(|n| n.wire_len(path_id)).sum();
    let len = 5 + r.next_hop.wire_len() + nlri;
    encode::header(out, flags::OPTIONAL, code::MP_REACH_NLRI, len);
    mp_reach_head(r.family, &r.next_hop, out);
    encode_nlri(&r.nlri, path_id, out);
}

/// Appends AFI, SAFI, next hop and the reserved octet.
pub(super) fn mp_reach_head(family: AfiSafi, nh: &NextHop, out: &mut BytesMut) {
    out.put_u16(family.afi);
    out.put_u8(family.safi);
    // At most 32.
    out.put_u8(nh.wire_len() as u8);
    match nh {
        NextHop::V4(ip) => out.put_slice(&ip.octets()),
        NextHop::V6 { global, link_local } => {
            out.put_slice(&global.octets());
            if let Some(ll) = link_local {
                out.put_slice(&ll.octets());
            }
        }
    }
    out.put_u8(0);
}

/// Appends MP_UNREACH_NLRI.
fn mp_unreach(u: &MpUnreach, ctx: &SessionContext, out: &mut BytesMut) {
    let path_id = ctx.tx_path_id(u.family);
    let nlri: usize = u.withdrawn.iter().map(|n| n.wire_len(path_id)).sum();
    encode::header(out, flags::OPTIONAL, code::MP_UNREACH_NLRI, 3 + nlri);
    out.put_u16(u.family.afi);
    out.put_u8(u.family.safi);
    encode_nlri(&u.withdrawn, path_id, out);
}

/// Writes the length of what follows the 2-octet field at `at`.
pub(super) fn patch_u16(
    out: &mut BytesMut,
    at: usize,
    field: &'static str,
) -> Result<(), EncodeError> {
    let len = u16::try_from(out.len() - at - 2)
        .map_err(|_| EncodeError::FieldOverflow(field))?;
    out[at..at + 2].copy_from_slice(&len.to_be_bytes());
    Ok(())
}
