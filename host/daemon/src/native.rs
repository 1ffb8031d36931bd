//! `bgplet run --native-policy`: the embedded Calico policy compiled
//! into the binary and called directly, instead of the same code as a
//! wasm component in the sandbox.
//!
//! It exists to measure what the sandbox costs (the plugin-cost
//! benchmark runs the same pass-through with the wasm plugin, with this,
//! and with a do-nothing plugin) and as a way out should the wasm engine
//! misbehave on some machine. It gives up what the plugins are for: no
//! manifest, no hot reload, no isolation of a plugin fault.

use std::sync::{Arc, Mutex};

use bgplet_plugin::{ChainSpec, PolicyChain};
use bgplet_plugin_abi::{
    FilterResult, PeerInfo, Policy, PolicyError, RawAttributes,
};
use bgplet_plugin_calico::Calico;
use bgplet_sdk::native::NativePolicy;

/// The policy the routing thread decides with.
pub enum RibPolicy {
    /// The plugin chains (the normal case).
    Plugins(PolicyChain),
    /// The Calico policy compiled natively.
    Native(NativeCalico),
}

/// The latest init text for the native policy, with a generation so the
/// routing thread notices a change between batches.
#[derive(Clone, Default)]
pub struct NativeConfig {
    shared: Arc<Mutex<(u64, String)>>,
}

impl NativeConfig {
    /// Publishes a new configuration (the node's policy context, as the
    /// wasm plugin's `init` would get it).
    pub fn set(&self, config: String) {
        if let Ok(mut s) = self.shared.lock() {
            s.0 += 1;
            s.1 = config;
        }
    }

    /// A worker for the routing thread.
    pub fn worker(&self) -> NativeCalico {
        NativeCalico {
            config: self.clone(),
            seen: 0,
            policy: None,
        }
    }
}

/// The routing thread's native Calico policy.
pub struct NativeCalico {
    config: NativeConfig,
    seen: u64,
    policy: Option<NativePolicy<Calico>>,
}

impl NativeCalico {
    /// The policy for the next batch, re-initialised if the config
    /// changed. A config the policy refuses keeps the previous one, as a
    /// refused plugin reload would.
    fn current(&mut self) -> Result<&mut NativePolicy<Calico>, PolicyError> {
        let fresh = match self.config.shared.lock() {
            Ok(s) if s.0 != self.seen => Some((s.0, s.1.clone())),
            _ => None,
        };
        if let Some((generation, text)) = fresh {
            self.seen = generation;
            match NativePolicy::<Calico>::new(&text) {
                Ok(p) => self.policy = Some(p),
                Err(e) => tracing::error!(
                    error = %e,
                    "native Calico policy refused its configuration; keeping the previous one"
                ),
            }
        }
        self.policy.as_mut().ok_or_else(|| {
            PolicyError::Trap("native Calico policy not configured".into())
        })
    }
}

impl RibPolicy {
    /// The running chains and their generation, for `bgplet plugin diff`;
    /// the native policy has none (generation 0, empty chains), so a
    /// diff against it is refused.
    pub fn active_spec(&mut self) -> (u64, ChainSpec) {
        match self {
            Self::Plugins(p) => p.active_spec(),
            Self::Native(_) => (0, ChainSpec::default()),
        }
    }
}

impl Policy for RibPolicy {
    fn import(
        &mut self,
        from: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        match self {
            Self::Plugins(p) => p.import(from, attrs, routes, raw),
            Self::Native(n) => n.current()?.import(from, attrs, routes, raw),
        }
    }

    fn select(
        &mut self,
        candidates: &[u32],
        counts: &[u32],
    ) -> Result<Vec<u32>, PolicyError> {
        match self {
            Self::Plugins(p) => p.select(candidates, counts),
            Self::Native(n) => n.current()?.select(candidates, counts),
        }
    }

    fn export(
        &mut self,
        to: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        match self {
            Self::Plugins(p) => p.export(to, attrs, routes, raw),
            Self::Native(n) => n.current()?.export(to, attrs, routes, raw),
        }
    }

    fn kernel(
        &mut self,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<Vec<u32>, PolicyError> {
        match self {
            Self::Plugins(p) => p.kernel(attrs, routes, raw),
            Self::Native(n) => n.current()?.kernel(attrs, routes, raw),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn an_unconfigured_native_policy_fails_its_calls() {
        let mut p = RibPolicy::Native(NativeConfig::default().worker());
        assert!(matches!(p.select(&[], &[]), Err(PolicyError::Trap(_))));
    }

    #[test]
    fn a_refused_config_keeps_the_previous_one() {
        let config = NativeConfig::default();
        let mut worker = config.worker();
        config.set("{}".into());
        assert!(worker.current().is_ok(), "an empty context is valid");
        config.set("not json".into());
        assert!(worker.current().is_ok(), "the previous policy stays");
        assert_eq!(worker.seen, 2);
    }
}
