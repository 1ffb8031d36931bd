//! bgplet's wasmtime component host: loads policy plugins (WIT world
//! `bgplet:plugin/full-plugin@0.1.0`), isolates them, and exposes them
//! to the RIB as one [`bgplet_plugin_abi::Policy`] per worker.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use bgplet_plugin::{ChainSpec, HostConfig, NodeRecord, PluginHost, PolicyChains};
//! use bgplet_plugin_abi::Policy;
//! # let calico_wasm: &[u8] = &[];
//! # let policy_context_json = "{}";
//! let host = PluginHost::new(HostConfig::default())?;
//! host.set_node(NodeRecord { name: "n1".into(), ..NodeRecord::default() });
//! let calico = host.load("calico", calico_wasm, policy_context_json)?;
//! let chains = PolicyChains::new(ChainSpec::new(vec![calico]));
//! let mut policy = chains.worker(); // one per RIB worker thread
//! let _: &mut dyn Policy = &mut policy;
//! for m in host.metrics() {
//!     println!("{}: {:?}", m.plugin, m.counters);
//! }
//! # Ok(()) }
//! ```
//!
//! # The plugin call path, step by step
//!
//! 1. [`PluginHost::new`] builds one Engine for the process: Cranelift,
//!    epoch interruption with a ticker thread bumping the epoch every
//!    tick (1 ms), and the pooling allocator sized `workers x plugins x
//!    2` so instantiation is a slot grab (~10 µs), with each memory
//!    capped at `memory_limit`.
//! 2. [`PluginHost::load`] turns bytes into a [`LoadedPlugin`]: sha256,
//!    compile or fetch from the artifact cache, check the imports against
//!    the allow-list (ours, or `wasi:*` stubbed as traps), type-check the
//!    world (`FullPluginPre`), instantiate a scratch Store, `describe`,
//!    `init(config)`. Every stage has its [`LoadError`] variant.
//! 3. [`PolicyChains`] holds the active chains (an `ArcSwap`);
//!    [`PolicyChains::swap`] replaces them atomically and remembers each
//!    replaced plugin generation as the fallback of its successor.
//! 4. Each RIB worker owns a [`PolicyChain`] (from
//!    [`PolicyChains::worker`]). On every batch it first checks the
//!    chain generation (one atomic load), then calls each plugin of the
//!    hook's chain through its own Store: the deadline is set, the
//!    batch's raw-attribute accessor is lent to the Store for the call,
//!    the answer is validated with the abi crate's rules.
//! 5. Any trap, deadline, memory-cap hit or malformed answer becomes a
//!    counted, logged [`Fault`]; the Store is dropped (a trap poisons it)
//!    and rebuilt at the next call; the batch is answered by the
//!    previous generation, or by the host's default (see [`chain`] for
//!    the exact rules).
//!
//! Metrics: [`PluginHost::metrics`] returns, per plugin name, calls,
//! faults per hook and kind, fallbacks, defaults, instantiations, loads
//! the per-hook call latency histogram and the plugin's own `count`
//! counters.

mod bindings;
mod cache;
pub mod chain;
mod config;
mod error;
mod host;
mod imports;
mod instance;
mod plugin;
mod raw;
mod state;
mod stats;

pub use cache::ArtifactSource;
pub use chain::{ChainSpec, PolicyChain, PolicyChains};
pub use config::HostConfig;
pub use error::{Fault, FaultKind, HostError, LoadError};
pub use host::PluginHost;
pub use plugin::{Hook, LoadedPlugin, PluginInfo};
pub use state::NodeRecord;
pub use stats::{LATENCY_BUCKETS, LatencySnapshot, PluginMetrics, PluginStats};

// The daemon moves each worker's policy to its thread and shares the
// host, the chains and loaded plugins between threads.
const _: () = {
    const fn send<T: Send>() {}
    const fn send_sync<T: Send + Sync>() {}
    send::<PolicyChain>();
    send_sync::<PluginHost>();
    send_sync::<PolicyChains>();
    send_sync::<LoadedPlugin>();
};
