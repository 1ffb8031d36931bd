//! Inputs found by the fuzz targets in fuzz/ (style habit 4), kept as
//! fast unit tests. Each test names the target that found it and what
//! broke; the bytes are the minimised input in hex.

// Tests may unwrap: a panic is a test failure.
#![allow(clippy::unwrap_used)]

use bgplet_wire::{Incoming, Message, SessionContext, Update, UpdateOutcome};

/// Decodes a frame that must be a Clean UPDATE.
fn clean_update(frame: &[u8], ctx: &SessionContext) -> Update {
    match Message::decode(frame, ctx).unwrap() {
        Incoming::Update(UpdateOutcome::Clean(u)) => u,
        other => panic!("not a clean UPDATE: {other:?}"),
    }
}

/// Decode, encode, decode gives the first decoded value.
fn assert_round_trips(frame: &[u8], ctx: &SessionContext) {
    let first = clean_update(frame, ctx);
    let bytes = Message::Update(first.clone()).to_bytes(ctx).unwrap();
    let second = clean_update(&bytes, ctx);
    assert_eq!(second, first, "re-encoded as {}", hex::encode(&bytes));
}

/// Found by `roundtrip`: an optional attribute with the reserved type
/// code 0 was kept on decode but silently dropped on encode, because
/// the encoder's unknown-attribute ranges started at code 1.
#[test]
fn unknown_attribute_with_type_code_zero_survives_reencoding() {
    let frame = hex::decode(concat!(
        "ffffffffffffffffffffffffffffffff", // marker
        "0035",                             // length 53
        "02",                               // UPDATE
        "0000",                             // no withdrawn routes
        "001b",                             // 27 octets of attributes
        "40010100",                         // ORIGIN IGP
        "4002060202fde9fdea",               // AS_PATH 65001 65002
        "4003040a000001",                   // NEXT_HOP 10.0.0.1
        "80000400000064",                   // optional, type 0, 4 octets
        "100a01",                           // NLRI 10.1.0.0/16
    ))
    .unwrap();
    let ctx = SessionContext::default();
    let update = clean_update(&frame, &ctx);
    assert_eq!(update.attributes.unknown.len(), 1);
    assert_eq!(update.attributes.unknown[0].code, 0);
    assert_round_trips(&frame, &ctx);
}

/// Found by `roundtrip`, kept to document why that target skips the
/// case: on a 2-octet session an AGGREGATOR other than AS_TRANS means a
/// 2-octet speaker aggregated the route, so AS4_PATH is stale and is
/// ignored (RFC 6793 4.2.3). Re-encoding such a route therefore cannot
/// carry its 4-octet ASNs to a 2-octet peer.
#[test]
fn as4_path_behind_a_two_octet_aggregator_is_ignored() {
    let frame = hex::decode(concat!(
        "ffffffffffffffffffffffffffffffff",
        "0044",                       // length 68
        "02",                         // UPDATE
        "0000",                       // no withdrawn routes
        "002a",                       // 42 octets of attributes
        "40010100",                   // ORIGIN IGP
        "40020602025ba0fdea",         // AS_PATH 23456 65002
        "4003040a000001",             // NEXT_HOP 10.0.0.1
        "c00706fde801020304",         // AGGREGATOR 65000 1.2.3.4
        "c0110a0202fa56ea000000fdea", // AS4_PATH 4200000000 65002
        "100a01",                     // NLRI 10.1.0.0/16
    ))
    .unwrap();
    let ctx = SessionContext::default();
    let update = clean_update(&frame, &ctx);
    let path = update.attributes.as_path.unwrap();
    assert_eq!(path.segments[0].asns, [23456, 65002]);
}
