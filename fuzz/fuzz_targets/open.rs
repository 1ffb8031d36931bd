//! `Open::decode` on a message body, and the OPEN round trip: a body
//! that decodes re-encodes to one that decodes to the same OPEN.

#![no_main]

use bgplet_wire::{Open, SessionContext};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(open) = Open::decode(body) else {
        return;
    };
    let _ = open.families();
    let _ = open.add_path().count();
    let _ = open.real_as();
    let mut out = BytesMut::new();
    if open.encode_body(&mut out).is_err() {
        return;
    }
    let again = Open::decode(&out).expect("re-encoded OPEN must decode");
    assert_eq!(again, open);
    let _ = SessionContext::negotiate(&open, &again, false);
});
