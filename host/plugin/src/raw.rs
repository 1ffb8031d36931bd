//! Lends the batch's [`RawAttributes`] to the `host.attribute` import
//! for the duration of one hook call.
//!
//! wasmtime wants the Store's data to be `'static`, but the RIB hands
//! the raw-attribute accessor to a hook call as a plain borrow. The
//! only way to reach it from inside the guest's callback without
//! copying every attribute up front is to erase the borrow's lifetime
//! for exactly as long as the call runs; this module does that and
//! nothing else, which is why it is the one place (with the artifact
//! cache) allowed to use `unsafe`.
#![allow(unsafe_code)]

use std::ptr::NonNull;

use bgplet_plugin_abi::RawAttributes;
use wasmtime::Store;

use crate::state::HostState;

/// The accessor of the call in progress, if any.
#[derive(Default)]
pub(crate) struct RawSlot(Option<NonNull<dyn RawAttributes + 'static>>);

// SAFETY: the pointer is only set while the owning thread is inside
// `lend`, which holds `&mut` to the Store for the whole time and clears
// the slot before returning (or unwinding). A Store moved to another
// thread therefore always carries an empty slot.
unsafe impl Send for RawSlot {}

impl RawSlot {
    /// The `host.attribute` import: forwards to the lent accessor.
    pub(crate) fn attribute(&self, set: u32, code: u8) -> Option<Vec<u8>> {
        let ptr = self.0?;
        // SAFETY: see `lend`: the referent outlives every use of the
        // pointer, and it is only read through `&`.
        unsafe { ptr.as_ref() }.attribute(set, code)
    }
}

/// Makes `raw` reachable from the Store's `host.attribute` while `f`
/// runs.
pub(crate) fn lend<R>(
    store: &mut Store<HostState>,
    raw: &dyn RawAttributes,
    f: impl FnOnce(&mut Store<HostState>) -> R,
) -> R {
    struct Clear<'a> {
        store: &'a mut Store<HostState>,
    }
    impl Drop for Clear<'_> {
        fn drop(&mut self) {
            self.store.data_mut().raw.0 = None;
        }
    }

    let short: NonNull<dyn RawAttributes + '_> = NonNull::from(raw);
    // SAFETY: only the trait object's lifetime bound changes (same
    // layout). The erased pointer lives in the slot until `Clear` runs,
    // which happens before `raw`'s borrow ends, on return or unwind.
    let erased: NonNull<dyn RawAttributes + 'static> =
        unsafe { std::mem::transmute(short) };
    store.data_mut().raw.0 = Some(erased);
    let guard = Clear { store };
    f(&mut *guard.store)
}
