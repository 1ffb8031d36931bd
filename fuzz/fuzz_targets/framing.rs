//! `message_len`: the framing helper of the socket loop.
//!
//! Invariants: it never panics; a complete length is within the
//! session's bounds and the buffer; and a frame it accepts never fails
//! `Message::decode` with a header error (the two agree on headers).

#![no_main]

use bgplet_wire::{
    DecodeError, EXTENDED_MAX_MESSAGE_LEN, HEADER_LEN, MAX_MESSAGE_LEN,
    Message, message_len,
};
use bgplet_wire_fuzz::FuzzCtx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (FuzzCtx, &[u8])| {
    let (fctx, buf) = input;
    let ctx = fctx.session();
    let max = ctx.max_message_len();
    assert!(max == MAX_MESSAGE_LEN || max == EXTENDED_MAX_MESSAGE_LEN);
    match message_len(buf, max) {
        Ok(Some(len)) => {
            assert!((HEADER_LEN..=max).contains(&len), "length {len}");
            assert!(len <= buf.len());
            let result = Message::decode(&buf[..len], &ctx);
            assert!(
                !matches!(result, Err(DecodeError::Header(_))),
                "message_len accepted a frame decode rejects: {result:?}"
            );
        }
        Ok(None) => {
            if buf.len() >= HEADER_LEN {
                let declared =
                    usize::from(u16::from_be_bytes([buf[16], buf[17]]));
                assert!(
                    declared > buf.len(),
                    "incomplete, yet {declared} <= {}",
                    buf.len()
                );
            }
        }
        Err(e) => {
            assert!(buf.len() >= HEADER_LEN);
            let _ = e.notification();
        }
    }
});
