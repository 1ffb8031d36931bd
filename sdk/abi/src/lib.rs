//! The packed batch layouts of bgplet's plugin interface.
//!
//! This crate implements `docs/plugin-abi.md` once, for both sides: the
//! host encodes batches and validates answers with it, the SDK decodes
//! batches and encodes answers with it. It has no dependencies (serde is
//! optional, feature `serde`) and builds for `wasm32-wasip2` and native.
//!
//! - [`AttrSet`], [`AttrTableWriter`], [`AttrTable`]: the attribute table.
//! - [`Route`], [`encode_routes`], [`Routes`]: routes (stride 7).
//! - [`Verdict`], [`Edit`], [`FilterResult`], [`EditProgram`]: filter
//!   answers.
//! - [`SelectionKey`], [`Candidates`], [`Selection`]: selection.
//! - [`KernelAction`]: kernel answers.
//! - [`Policy`]: what the RIB calls, words in and words out, and the
//!   `validate_*` functions every host checks answers with.
//! - `PolicyContext` (feature `serde`): the plugin's config JSON.
//!
//! ```
//! use bgplet_plugin_abi::{AttrSet, AttrTable, AttrTableWriter};
//!
//! let mut table = AttrTableWriter::new();
//! let set = AttrSet { local_pref: Some(100), ..AttrSet::default() };
//! let index = table.push(&set);
//! let words = table.finish();
//! let parsed = AttrTable::parse(&words).unwrap();
//! assert_eq!(parsed.get(index).unwrap().local_pref(), Some(100));
//! ```

mod attrs;
#[cfg(feature = "serde")]
pub mod context;
mod edits;
mod error;
mod ip;
mod kernel;
mod peer;
mod policy;
mod routes;
mod selection;

pub use attrs::{
    AttrSet, AttrTable, AttrTableWriter, AttrView, Origin, Segment,
    SegmentIter, SegmentKind,
};
#[cfg(feature = "serde")]
pub use context::PolicyContext;
pub use edits::{
    Edit, EditIter, EditOp, EditProgram, FilterResult, MAX_PREPEND, Verdict,
    encode_edits, validate_filter_result,
};
pub use error::AbiError;
pub use ip::{ip_from_words, ip_to_words};
pub use kernel::{KernelAction, RouteAction, encode_kernel, validate_kernel};
pub use peer::{NextHopMode, PeerInfo, PeerKind};
pub use policy::{NoRawAttributes, Policy, PolicyError, RawAttributes};
pub use routes::{ROUTE_STRIDE, Route, Routes, SourceFlags, encode_routes};
pub use selection::{
    Candidates, KEY_STRIDE, KeyIter, Selection, SelectionKey,
    encode_candidates, encode_selections, validate_selection,
};
