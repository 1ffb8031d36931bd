//! Write bgplet policy plugins in plain Rust.
//!
//! A plugin is a type that implements [`Plugin`] (a name and an `init`
//! that parses the configuration) and any of the hook traits
//! [`ImportPolicy`], [`SelectionPolicy`], [`ExportPolicy`],
//! [`KernelPolicy`]. One macro, [`export_plugin!`], turns it into a
//! `bgplet:plugin/full-plugin` component when built with
//! `cargo build --target wasm32-wasip2 --release`. Hooks the type does
//! not implement answer with pass-through decisions (accept unchanged,
//! candidate 0, install) and are left out of `describe`, so the host
//! never calls them.
//!
//! Plugin code never sees the packed words of docs/plugin-abi.md: hooks
//! get a [`RouteRef`] (prefix, source, attributes) and return a
//! [`Verdict`], a [`Selection`] or a [`KernelAction`]. Compiled natively,
//! the same code runs under `cargo test`: host functions go to a
//! thread-local recorder ([`testing`]) and [`native::NativePolicy`] runs
//! the plugin behind the host's [`Policy`] trait.
//!
//! ```
//! use bgplet_sdk::{Community, ImportPolicy, PeerInfo, Plugin, PluginInfo,
//!     RouteRef, Verdict, Edit};
//!
//! struct Shutdown;
//!
//! impl Plugin for Shutdown {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::new("shutdown", "0.1.0", "RFC 8326")
//!     }
//!     fn init(_config: &str) -> Result<Self, String> {
//!         Ok(Shutdown)
//!     }
//! }
//!
//! impl ImportPolicy for Shutdown {
//!     fn import(&mut self, _from: &PeerInfo, route: &RouteRef<'_>) -> Verdict {
//!         if route.has_community(Community::GRACEFUL_SHUTDOWN) {
//!             return Verdict::AcceptWith(vec![Edit::SetLocalPref(0)]);
//!         }
//!         Verdict::Accept
//!     }
//! }
//!
//! bgplet_sdk::export_plugin!(Shutdown);
//! ```

mod hooks;
pub mod host;
pub mod native;
#[doc(hidden)]
pub mod runtime;
pub mod testing;
mod types;
#[cfg(not(target_arch = "wasm32"))]
pub mod vectors;
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod wasm;

pub use bgplet_plugin_abi as abi;
pub use bgplet_plugin_abi::context;
pub use bgplet_plugin_abi::{
    AttrSet, AttrView, Edit, FilterResult, KernelAction, NextHopMode,
    NoRawAttributes, Origin, PeerInfo, PeerKind, Policy, PolicyContext,
    PolicyError, RawAttributes, Route, RouteAction, Segment, SegmentKind,
    Selection, SelectionKey, SourceFlags, Verdict,
};
pub use hooks::{
    ExportPolicy, Exported, Hook, HookTable, ImportPolicy, KernelPolicy,
    Plugin, PluginInfo, SelectionPolicy,
};
pub use types::{AsPath, Community, Prefix, RouteRef, parse_config};

/// Turns a [`Plugin`] type into a plugin.
///
/// `bgplet_sdk::export_plugin!(MyPlugin);` at the crate root:
///
/// - implements [`Exported`] for `MyPlugin` (which hooks it implements,
///   and where its instance lives), which [`native::NativePolicy`] uses;
/// - on `wasm32`, exports the `bgplet:plugin/full-plugin` world: every
///   hook interface, decoding the packed words into plain types and
///   encoding the answers.
///
/// The crate must be a `cdylib` (and may also be an `rlib` for tests).
#[macro_export]
macro_rules! export_plugin {
    ($ty:ty) => {
        const _: () = {
            #[allow(unused_imports)]
            use $crate::runtime::probe::{
                HasExport as _, HasImport as _, HasKernel as _,
                HasSelection as _, NoExport as _, NoImport as _, NoKernel as _,
                NoSelection as _,
            };

            impl $crate::Exported for $ty {
                fn hooks() -> $crate::HookTable<Self> {
                    let p = $crate::runtime::probe::Probe::<$ty>::new();
                    $crate::HookTable {
                        import: (&p).import_hook(),
                        selection: (&p).selection_hook(),
                        export: (&p).export_hook(),
                        kernel: (&p).kernel_hook(),
                    }
                }

                fn with_instance<R>(
                    f: impl FnOnce(&mut Option<Self>) -> R,
                ) -> R {
                    ::std::thread_local! {
                        static INSTANCE: ::core::cell::RefCell<
                            Option<$ty>,
                        > = const { ::core::cell::RefCell::new(None) };
                    }
                    INSTANCE.with(|i| f(&mut i.borrow_mut()))
                }
            }

            #[cfg(target_arch = "wasm32")]
            type __BgpletExports = $crate::wasm::Exports<$ty>;
            #[cfg(target_arch = "wasm32")]
            $crate::wasm::bindings::export!(
                __BgpletExports with_types_in $crate::wasm::bindings
            );
        };
    };
}
