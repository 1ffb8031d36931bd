//! Errors of the plugin host.

use std::fmt;

/// Why the host could not start.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The wasmtime engine rejected the configuration.
    #[error("wasmtime engine: {0}")]
    Engine(String),
    /// The host interface could not be added to the linker.
    #[error("linker: {0}")]
    Linker(String),
    /// The epoch ticker thread could not be started.
    #[error("epoch ticker thread: {0}")]
    Ticker(std::io::Error),
}

/// Why a plugin was not loaded, one variant per stage of `load`.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a component wasmtime can compile (a plain core
    /// module lands here too).
    #[error("plugin {plugin}: not a valid component: {message}")]
    Compile {
        /// Plugin name.
        plugin: String,
        /// wasmtime's message.
        message: String,
    },
    /// The component imports something the host does not provide and
    /// that is not a `wasi:*` interface.
    #[error("plugin {plugin}: unsupported import `{import}`")]
    Import {
        /// Plugin name.
        plugin: String,
        /// The import's name.
        import: String,
    },
    /// Import resolution or the world check failed: the component is
    /// not a `bgplet:plugin/full-plugin@0.1` component.
    #[error("plugin {plugin}: wrong world: {message}")]
    World {
        /// Plugin name.
        plugin: String,
        /// What is missing or mistyped.
        message: String,
    },
    /// The scratch instance could not be created.
    #[error("plugin {plugin}: instantiation failed: {message}")]
    Instantiate {
        /// Plugin name.
        plugin: String,
        /// wasmtime's message.
        message: String,
    },
    /// `describe` trapped or returned nonsense.
    #[error("plugin {plugin}: describe failed: {message}")]
    Describe {
        /// Plugin name.
        plugin: String,
        /// What went wrong.
        message: String,
    },
    /// `init` trapped.
    #[error("plugin {plugin}: init trapped: {message}")]
    InitTrap {
        /// Plugin name.
        plugin: String,
        /// wasmtime's message.
        message: String,
    },
    /// `init` returned an error: the configuration was rejected.
    #[error("plugin {plugin}: configuration rejected: {message}")]
    Config {
        /// Plugin name.
        plugin: String,
        /// The plugin's error text.
        message: String,
    },
}

/// The kinds of plugin misbehaviour the host isolates and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// A wasm trap (unreachable, out-of-bounds access, a stubbed WASI
    /// call, a panic in the guest).
    Trap,
    /// The call ran past its epoch deadline.
    Timeout,
    /// The instance hit its memory cap.
    OutOfMemory,
    /// The answer does not follow docs/plugin-abi.md.
    Malformed,
    /// No instance could be created for the call (pool exhausted, start
    /// function trapped).
    Instantiate,
}

impl FaultKind {
    /// Every kind, in metric order.
    pub const ALL: [Self; 5] = [
        Self::Trap,
        Self::Timeout,
        Self::OutOfMemory,
        Self::Malformed,
        Self::Instantiate,
    ];

    /// Label value for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trap => "trap",
            Self::Timeout => "timeout",
            Self::OutOfMemory => "out_of_memory",
            Self::Malformed => "malformed",
            Self::Instantiate => "instantiate",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed hook call: what happened and wasmtime's or the
/// validator's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The kind.
    pub kind: FaultKind,
    /// Details for the log.
    pub message: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}
