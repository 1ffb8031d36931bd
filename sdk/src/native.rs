//! Running a plugin natively behind the host's [`Policy`] trait: the
//! same words in and out as the wasm build, without wasmtime. Used by
//! golden-vector tests and by benchmarks comparing native and wasm.

use bgplet_plugin_abi::{
    FilterResult, PeerInfo, Policy, PolicyError, RawAttributes,
};

use crate::hooks::{Exported, HookTable, PluginInfo};
use crate::{Hook, runtime};

/// A plugin instance that implements [`Policy`] natively.
pub struct NativePolicy<P: Exported> {
    plugin: P,
    hooks: HookTable<P>,
}

impl<P: Exported> NativePolicy<P> {
    /// Initialises the plugin with `config` (see [`crate::Plugin::init`]).
    pub fn new(config: &str) -> Result<Self, String> {
        Ok(Self::from_plugin(P::init(config)?))
    }

    /// Wraps an existing instance.
    pub fn from_plugin(plugin: P) -> Self {
        Self {
            plugin,
            hooks: P::hooks(),
        }
    }

    /// What `describe` reports: info and implemented hooks.
    pub fn describe(&self) -> (PluginInfo, Vec<Hook>) {
        (P::describe(), self.hooks.hooks())
    }

    /// The instance.
    pub fn plugin(&self) -> &P {
        &self.plugin
    }

    /// The instance, mutably.
    pub fn plugin_mut(&mut self) -> &mut P {
        &mut self.plugin
    }
}

impl<P: Exported> Policy for NativePolicy<P> {
    fn import(
        &mut self,
        from: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        runtime::filter(
            &mut self.plugin,
            self.hooks.import,
            from,
            attrs,
            routes,
            raw,
        )
        .map_err(PolicyError::BadInput)
    }

    fn select(
        &mut self,
        candidates: &[u32],
        counts: &[u32],
    ) -> Result<Vec<u32>, PolicyError> {
        runtime::select(
            &mut self.plugin,
            self.hooks.selection,
            candidates,
            counts,
        )
        .map_err(PolicyError::BadInput)
    }

    fn export(
        &mut self,
        to: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        runtime::filter(
            &mut self.plugin,
            self.hooks.export,
            to,
            attrs,
            routes,
            raw,
        )
        .map_err(PolicyError::BadInput)
    }

    fn kernel(
        &mut self,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<Vec<u32>, PolicyError> {
        runtime::kernel(&mut self.plugin, self.hooks.kernel, attrs, routes, raw)
            .map_err(PolicyError::BadInput)
    }
}
