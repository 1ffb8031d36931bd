//! `Message::decode`: one whole frame, header included, on a session
//! derived from the input. Every error must name its NOTIFICATION.

#![no_main]

use bgplet_wire::{Incoming, Message};
use bgplet_wire_fuzz::FuzzCtx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (FuzzCtx, &[u8])| {
    let (fctx, frame) = input;
    let ctx = fctx.session();
    match Message::decode(frame, &ctx) {
        Ok(Incoming::Update(outcome)) => {
            let _ = outcome.errors();
            let update = outcome.update();
            let _ = update.announcements().count();
            let _ = update.withdrawals().count();
            let _ = update.end_of_rib_family();
        }
        Ok(_) => {}
        Err(e) => {
            let n = e.notification();
            assert_ne!(n.code, 0, "error without a NOTIFICATION code: {e}");
        }
    }
});
