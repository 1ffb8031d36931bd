//! Plugin manifests, their sources (a directory or a ConfigMap, both
//! watched) and the validation that precedes every swap.

pub mod diff;
pub mod diff_view;
pub mod load;
pub mod manifest;
pub mod reloads;
pub mod watch;

use bgplet_plugin::{ChainSpec, Hook};
use serde::{Deserialize, Serialize};

/// The `plugins` section of the control API's status reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginsStatus {
    /// The active chain generation.
    pub generation: u64,
    /// Where the active manifest came from ("embedded defaults",
    /// "directory /x", "configmap ns/name").
    pub source: String,
    /// Per hook, the active chain as `name@sha256-prefix`.
    pub chains: Vec<ChainStatus>,
    /// Reloads activated since start.
    pub reloads_ok: u64,
    /// Reloads refused since start.
    pub reloads_failed: u64,
    /// The last reload attempt, if any.
    pub last_reload: Option<ReloadOutcome>,
}

/// One hook's active chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// Hook name.
    pub hook: String,
    /// Plugins in order, `name@` and 12 hex digits of the wasm's sha256.
    pub plugins: Vec<String>,
}

/// What happened to one reload attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReloadOutcome {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The source of the candidate.
    pub source: String,
    /// Whether it was activated.
    pub ok: bool,
    /// Why it was refused.
    pub error: Option<String>,
    /// Validation time in milliseconds.
    pub validate_ms: u64,
}

/// Each hook's chain of `spec` as `name@` and 12 hex digits of the
/// wasm's sha256, in hook order.
pub fn chain_status(spec: &ChainSpec) -> Vec<ChainStatus> {
    Hook::ALL
        .iter()
        .map(|&hook| ChainStatus {
            hook: hook.as_str().to_owned(),
            plugins: spec
                .chain(hook)
                .iter()
                .map(|p| format!("{}@{}", p.name(), &p.sha256()[..12]))
                .collect(),
        })
        .collect()
}
