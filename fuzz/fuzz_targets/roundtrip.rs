//! Decode, encode, decode: a frame that decodes Clean re-encodes on the
//! same session to a frame that decodes Clean to the same value. OPENs
//! must round-trip the same way.
//!
//! Unknown attributes are compared in type-code order: the encoder
//! writes attributes in ascending code order (RFC 4271 5 recommends
//! it), so their received order is not preserved.

#![no_main]

use bgplet_wire::{EncodeError, Incoming, Message, UpdateOutcome};
use bgplet_wire_fuzz::FuzzCtx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (FuzzCtx, &[u8])| {
    let (fctx, frame) = input;
    let ctx = fctx.session();
    let msg = match Message::decode(frame, &ctx) {
        Ok(Incoming::Update(UpdateOutcome::Clean(u))) => Message::Update(u),
        Ok(Incoming::Open(o)) => Message::Open(o),
        _ => return,
    };
    let bytes = match msg.to_bytes(&ctx) {
        Ok(b) => b,
        // Re-encoding may legitimately grow past the limit (e.g. an
        // AS4_PATH regenerated on a 2-octet session).
        Err(EncodeError::TooLarge { .. }) => return,
        Err(e) => panic!("decoded message does not encode: {e}"),
    };
    let again = Message::decode(&bytes, &ctx)
        .unwrap_or_else(|e| panic!("re-encoded message rejected: {e}"));
    let again = match again {
        Incoming::Update(UpdateOutcome::Clean(u)) => Message::Update(u),
        Incoming::Open(o) => Message::Open(o),
        other => panic!("re-encoded message not clean: {other:?}"),
    };
    assert_eq!(normalized(again), normalized(msg));
});

fn normalized(mut msg: Message) -> Message {
    if let Message::Update(u) = &mut msg {
        u.attributes.unknown.sort_by_key(|a| a.code);
    }
    msg
}
