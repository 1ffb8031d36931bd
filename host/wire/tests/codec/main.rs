//! Codec tests: hex fixtures checked both ways, RFC 7606 outcomes,
//! the UPDATE packer and proptest round-trips.
//!
//! Fixtures are hand-computed from the RFC layouts (each one's comment
//! says what it holds); they follow the shapes common in real captures
//! (e.g. BIRD packs all capabilities into one optional parameter, GoBGP
//! sends one parameter per capability).

// Tests may unwrap (house style): a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod framing;
mod open;
mod other;
mod packer;
mod rfc7606;
mod roundtrip;
mod update;

use bgplet_wire::{Incoming, Message, SessionContext, UpdateOutcome};
use bytes::Bytes;

/// Decodes a hex message that must be clean, and checks that it matches
/// `want` and that encoding `want` gives the same bytes back.
pub fn both_ways(hex_msg: &str, want: &Message, ctx: &SessionContext) {
    let bytes = hex::decode(hex_msg).unwrap();
    let got = decode_clean(&bytes, ctx);
    assert_eq!(&got, want, "decode of {hex_msg}");
    let encoded = want.to_bytes(ctx).unwrap();
    assert_eq!(hex::encode(&encoded), hex_msg, "encode of {want:?}");
}

/// Decodes a message, requiring a clean UPDATE when it is one.
pub fn decode_clean(bytes: &[u8], ctx: &SessionContext) -> Message {
    match Message::decode(bytes, ctx).unwrap() {
        Incoming::Open(o) => Message::Open(o),
        Incoming::Update(UpdateOutcome::Clean(u)) => Message::Update(u),
        Incoming::Update(other) => panic!("not clean: {other:?}"),
        Incoming::Notification(n) => Message::Notification(n),
        Incoming::Keepalive => Message::Keepalive,
        Incoming::RouteRefresh(r) => Message::RouteRefresh(r),
    }
}

/// Wraps an UPDATE body in a header.
pub fn update_msg(body: &[u8]) -> Bytes {
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    v.push(2);
    v.extend_from_slice(body);
    Bytes::from(v)
}

/// A session context for a 4-octet-AS session.
pub fn ctx4() -> SessionContext {
    SessionContext {
        four_octet_as: true,
        ..SessionContext::default()
    }
}
