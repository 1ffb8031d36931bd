//! bgplet's wasmtime component host.

mod bindings;
mod cache;
mod chain;
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
pub use stats::{PluginMetrics, PluginStats};
