//! Host settings.

use std::path::PathBuf;
use std::time::Duration;

/// How the plugin host sizes its engine and bounds every plugin.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Threads that call plugins at the same time (each gets its own
    /// Store per plugin).
    pub workers: u32,
    /// Plugins loaded at the same time (every hook chain together).
    pub max_plugins: u32,
    /// Linear-memory cap of one plugin instance, in bytes.
    pub memory_limit: usize,
    /// Wall-clock budget of one hook call (one batch). Epochs count
    /// wall-clock time, descheduling included, so keep it generous.
    pub call_deadline: Duration,
    /// Budget of instantiation, `describe` and `init` at load.
    pub load_deadline: Duration,
    /// Epoch tick: the resolution of the deadlines.
    pub tick: Duration,
    /// Directory for compiled artifacts; `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Write `/tmp/perf-<pid>.map` so `perf` can name plugin functions.
    pub perf_map: bool,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            max_plugins: 8,
            memory_limit: 64 << 20,
            call_deadline: Duration::from_millis(100),
            load_deadline: Duration::from_secs(1),
            tick: Duration::from_millis(1),
            cache_dir: None,
            perf_map: false,
        }
    }
}

impl HostConfig {
    /// Deadline in ticks, at least one.
    pub(crate) fn ticks(&self, budget: Duration) -> u64 {
        let tick = self.tick.as_nanos().max(1);
        u64::try_from(budget.as_nanos().div_ceil(tick))
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Component instances in the pool: workers x plugins x 2 (the x2
    /// covers the overlap of two generations during a swap), plus a few
    /// for the scratch instances of loads in progress.
    pub(crate) fn pool_instances(&self) -> u32 {
        self.workers
            .max(1)
            .saturating_mul(self.max_plugins.max(1))
            .saturating_mul(2)
            .saturating_add(4)
    }
}
