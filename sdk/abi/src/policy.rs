//! The host-side view of a plugin: words in, words out.

use core::fmt;

use crate::AbiError;
use crate::edits::FilterResult;
use crate::peer::PeerInfo;

/// Raw attribute access for attributes the packed table does not carry
/// (the WIT `host.attribute` function).
pub trait RawAttributes {
    /// The value of attribute `type_code` of attribute set `set`.
    fn attribute(&self, set: u32, type_code: u8) -> Option<Vec<u8>>;
}

/// No raw attributes at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRawAttributes;

impl RawAttributes for NoRawAttributes {
    fn attribute(&self, _set: u32, _type_code: u8) -> Option<Vec<u8>> {
        None
    }
}

/// Why a policy call gave no usable answer. The caller falls back to the
/// built-in decision for the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The answer does not follow docs/plugin-abi.md.
    Malformed(AbiError),
    /// The input batch does not follow docs/plugin-abi.md.
    BadInput(AbiError),
    /// The plugin trapped, ran out of time or memory.
    Trap(String),
    /// The plugin does not implement this hook.
    NotImplemented(&'static str),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed plugin answer: {e}"),
            Self::BadInput(e) => write!(f, "malformed batch: {e}"),
            Self::Trap(m) => write!(f, "plugin trapped: {m}"),
            Self::NotImplemented(h) => {
                write!(f, "plugin does not implement the {h} hook")
            }
        }
    }
}

impl std::error::Error for PolicyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e) | Self::BadInput(e) => Some(e),
            _ => None,
        }
    }
}

/// What the RIB calls; the wasm host and the SDK's native adapter
/// implement it. Slices are passed straight to the plugin. Answers are
/// returned as the plugin gave them: callers check them with
/// [`crate::validate_filter_result`], [`crate::validate_selection`] and
/// [`crate::validate_kernel`].
pub trait Policy {
    /// Import filter for a batch from `from` (attribute table `attrs`,
    /// routes `routes` of stride 7).
    fn import(
        &mut self,
        from: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError>;

    /// Best path and multipath set per prefix: `candidates` are keys of
    /// stride 14, `counts[i]` the candidates of prefix i. Two words per
    /// prefix.
    fn select(
        &mut self,
        candidates: &[u32],
        counts: &[u32],
    ) -> Result<Vec<u32>, PolicyError>;

    /// Export filter for a batch to the update group described by `to`.
    fn export(
        &mut self,
        to: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError>;

    /// Kernel programming for best routes. Two words per route.
    fn kernel(
        &mut self,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<Vec<u32>, PolicyError>;
}
