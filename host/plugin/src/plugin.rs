//! A loaded, validated plugin generation.

use std::fmt;
use std::sync::Arc;

use crate::bindings::FullPluginPre;
use crate::bindings::exports::bgplet::plugin::lifecycle;
use crate::cache::{ArtifactSource, hex};
use crate::host::HostInner;
use crate::instance::HotIndices;
use crate::state::HostState;
use crate::stats::PluginStats;

/// The decision hooks (WIT `lifecycle.hook`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hook {
    /// Import policy.
    Import,
    /// Route selection.
    Selection,
    /// Export policy.
    Export,
    /// Kernel programming.
    Kernel,
}

impl Hook {
    /// Every hook, in pipeline order of the WIT enum.
    pub const ALL: [Self; 4] =
        [Self::Import, Self::Selection, Self::Export, Self::Kernel];

    /// Label value for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Import => "import",
            Self::Selection => "selection",
            Self::Export => "export",
            Self::Kernel => "kernel",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn from_wit(h: lifecycle::Hook) -> Self {
        match h {
            lifecycle::Hook::Import => Self::Import,
            lifecycle::Hook::Selection => Self::Selection,
            lifecycle::Hook::Export => Self::Export,
            lifecycle::Hook::Kernel => Self::Kernel,
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `describe` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// The plugin's own name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Free text.
    pub description: String,
    /// The hooks it makes decisions in (deduplicated, WIT order).
    pub hooks: Vec<Hook>,
}

/// A plugin that passed every load stage. Cheap to clone; every clone
/// is the same generation. Dropping the last clone (and the last chain
/// holding it) frees the compiled code.
#[derive(Clone)]
pub struct LoadedPlugin {
    pub(crate) inner: Arc<PluginInner>,
}

pub(crate) struct PluginInner {
    pub(crate) name: Arc<str>,
    pub(crate) generation: u64,
    pub(crate) sha256: [u8; 32],
    pub(crate) source: ArtifactSource,
    pub(crate) info: PluginInfo,
    pub(crate) config: String,
    pub(crate) pre: FullPluginPre<HostState>,
    pub(crate) hot: HotIndices,
    pub(crate) stats: Arc<PluginStats>,
    pub(crate) host: Arc<HostInner>,
}

impl LoadedPlugin {
    /// The name it was loaded under (the metric label).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Unique number of this load in the host (increases with every
    /// load).
    pub fn generation(&self) -> u64 {
        self.inner.generation
    }

    /// sha256 of the wasm, lower-case hex.
    pub fn sha256(&self) -> String {
        hex(&self.inner.sha256)
    }

    /// Where the compiled code came from.
    pub fn artifact_source(&self) -> ArtifactSource {
        self.inner.source
    }

    /// What `describe` returned.
    pub fn info(&self) -> &PluginInfo {
        &self.inner.info
    }

    /// Whether `describe` lists `hook`.
    pub fn implements(&self, hook: Hook) -> bool {
        self.inner.info.hooks.contains(&hook)
    }

    /// The configuration `init` accepted.
    pub fn config(&self) -> &str {
        &self.inner.config
    }

    /// The host it was loaded into.
    pub fn host(&self) -> crate::PluginHost {
        crate::PluginHost {
            inner: self.inner.host.clone(),
        }
    }

    /// The same compiled plugin and configuration as a new generation
    /// with counters of its own: for scratch chains (a what-if), whose
    /// calls must not count as the live plugin's.
    pub fn detached(&self) -> LoadedPlugin {
        let i = &self.inner;
        LoadedPlugin {
            inner: Arc::new(PluginInner {
                name: i.name.clone(),
                generation: i
                    .host
                    .next_generation
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                sha256: i.sha256,
                source: i.source,
                info: i.info.clone(),
                config: i.config.clone(),
                pre: i.pre.clone(),
                hot: i.hot.clone(),
                stats: Arc::default(),
                host: i.host.clone(),
            }),
        }
    }
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.inner.name)
            .field("generation", &self.inner.generation)
            .field("hooks", &self.inner.info.hooks)
            .finish_non_exhaustive()
    }
}
