//! The received form of an UPDATE: framing checked and prefixes parsed,
//! attributes only split apart so that RFC 7606 can judge each one.

use bytes::Bytes;

use crate::afi::AfiSafi;
use crate::attribute::flags;
use crate::context::SessionContext;
use crate::error::{AttrError, UpdateError};
use crate::nlri::{Nlri, decode_nlri};
use crate::notification::update as sub;

/// One path attribute as received: header fields and a borrowed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttribute<'a> {
    /// Attribute flags as sent, including Extended Length.
    pub flags: u8,
    /// Attribute type code.
    pub code: u8,
    /// The value.
    pub value: &'a [u8],
    /// The whole attribute with its header, for NOTIFICATION data.
    pub raw: &'a [u8],
}

/// An UPDATE whose layout is valid but whose attributes are unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedUpdate<'a> {
    /// Classic withdrawn routes.
    pub withdrawn: Vec<Nlri>,
    /// The attributes in received order, duplicates included.
    pub attributes: Vec<RawAttribute<'a>>,
    /// Classic NLRI.
    pub nlri: Vec<Nlri>,
}

impl<'a> ReceivedUpdate<'a> {
    /// Splits an UPDATE body (after the header).
    ///
    /// Session resets here are the errors after which prefixes cannot be
    /// located (RFC 7606 sections 4 and 5.3): lengths that overrun give
    /// 3/1 Malformed Attribute List and unparsable prefixes give 3/10
    /// Invalid Network Field. RFC 7606 section 4 would let an attribute
    /// overrunning the attribute section be treat-as-withdraw, but an
    /// MP_REACH_NLRI hidden in the unparsed tail could then never be
    /// withdrawn, so bgplet resets instead.
    pub fn parse(
        body: &'a [u8],
        ctx: &SessionContext,
    ) -> Result<Self, UpdateError> {
        let path_id = ctx.rx_path_id(AfiSafi::IPV4_UNICAST);
        let Some((wlen, rest)) = body.split_first_chunk::<2>() else {
            return Err(list_error("withdrawn routes length missing"));
        };
        let wlen = usize::from(u16::from_be_bytes(*wlen));
        let Some(withdrawn_raw) = rest.get(..wlen) else {
            return Err(list_error(format!(
                "withdrawn routes length {wlen} overruns {} octets",
                rest.len()
            )));
        };
        let rest = &rest[wlen..];
        let Some((alen, rest)) = rest.split_first_chunk::<2>() else {
            return Err(list_error("total path attribute length missing"));
        };
        let alen = usize::from(u16::from_be_bytes(*alen));
        let Some(attrs_raw) = rest.get(..alen) else {
            return Err(list_error(format!(
                "total path attribute length {alen} overruns {} octets",
                rest.len()
            )));
        };
        let nlri_raw = &rest[alen..];

        let mut withdrawn = Vec::new();
        decode_nlri(
            withdrawn_raw,
            AfiSafi::IPV4_UNICAST,
            path_id,
            &mut withdrawn,
        )
        .map_err(|e| network_error("withdrawn routes", e))?;
        let attributes = split_attributes(attrs_raw)?;
        let mut nlri = Vec::new();
        decode_nlri(nlri_raw, AfiSafi::IPV4_UNICAST, path_id, &mut nlri)
            .map_err(|e| network_error("NLRI", e))?;
        Ok(Self {
            withdrawn,
            attributes,
            nlri,
        })
    }
}

/// Splits the path attribute section into attributes.
fn split_attributes(
    mut buf: &[u8],
) -> Result<Vec<RawAttribute<'_>>, UpdateError> {
    let mut out = Vec::with_capacity(8);
    while !buf.is_empty() {
        let (flag, code, len, head) = match *buf {
            [f, c, hi, lo, ..] if f & flags::EXTENDED_LENGTH != 0 => {
                (f, c, usize::from(u16::from_be_bytes([hi, lo])), 4)
            }
            [f, c, len, ..] if f & flags::EXTENDED_LENGTH == 0 => {
                (f, c, usize::from(len), 3)
            }
            _ => {
                return Err(list_error(format!(
                    "{} octets left cannot hold an attribute header",
                    buf.len()
                )));
            }
        };
        let Some(raw) = buf.get(..head + len) else {
            return Err(list_error(format!(
                "attribute type {code} of length {len} overruns {} \
                 remaining octets",
                buf.len() - head
            )));
        };
        out.push(RawAttribute {
            flags: flag,
            code,
            value: &raw[head..],
            raw,
        });
        buf = &buf[head + len..];
    }
    Ok(out)
}

fn list_error(reason: impl Into<String>) -> UpdateError {
    UpdateError::new(
        AttrError::new("path attributes", reason),
        sub::MALFORMED_ATTRIBUTE_LIST,
        Bytes::new(),
    )
}

fn network_error(field: &'static str, reason: String) -> UpdateError {
    UpdateError::new(
        AttrError::new(field, reason),
        sub::INVALID_NETWORK_FIELD,
        Bytes::new(),
    )
}
