//! UPDATE body decoding in its two steps: `ReceivedUpdate::parse`
//! (framing and prefixes) then RFC 7606 `validate`, on a session
//! derived from the input.
//!
//! Invariants: no panic; a session reset carries an UPDATE Message
//! Error (code 3); treat-as-withdraw leaves no announcement and no
//! attributes; attribute-discard and treat-as-withdraw always say why.

#![no_main]

use bgplet_wire::{ReceivedUpdate, Update, UpdateOutcome};
use bgplet_wire_fuzz::FuzzCtx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (FuzzCtx, &[u8])| {
    let (fctx, body) = input;
    let ctx = fctx.session();
    let outcome = match ReceivedUpdate::parse(body, &ctx) {
        Ok(received) => received.validate(&ctx),
        Err(e) => Err(e),
    };
    assert_eq!(outcome, Update::decode(body, &ctx));
    match outcome {
        Err(e) => assert_eq!(e.notification.code, 3, "{e}"),
        Ok(UpdateOutcome::Clean(_)) => {}
        Ok(UpdateOutcome::TreatAsWithdraw { update, errors }) => {
            assert!(!errors.is_empty());
            assert!(!update.has_announcements(), "{update:?}");
            assert!(update.attributes.is_empty(), "{update:?}");
        }
        Ok(UpdateOutcome::AttributeDiscard { errors, .. }) => {
            assert!(!errors.is_empty());
        }
    }
});
