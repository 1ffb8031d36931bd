//! The engine, the epoch ticker and the load path.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
    ProfilingStrategy,
};

use crate::bindings::{FullPlugin, FullPluginPre};
use crate::cache::ArtifactCache;
use crate::config::HostConfig;
use crate::error::{HostError, LoadError};
use crate::imports::disallowed_import;
use crate::instance::{HotIndices, Instance, error_text};
use crate::plugin::{Hook, LoadedPlugin, PluginInfo, PluginInner};
use crate::state::{HostState, NodeRecord};
use crate::stats::{PluginMetrics, PluginStats};

/// The wasmtime host: one per process. Cheap to clone.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bgplet_plugin::{ChainSpec, HostConfig, PluginHost, PolicyChains};
/// # let wasm: &[u8] = &[];
/// let host = PluginHost::new(HostConfig::default())?;
/// let calico = host.load("calico", wasm, "{}")?;
/// let chains = PolicyChains::new(ChainSpec::new(vec![calico]));
/// let mut policy = chains.worker(); // one per RIB worker thread
/// # let _ = &mut policy;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PluginHost {
    pub(crate) inner: Arc<HostInner>,
}

pub(crate) struct HostInner {
    pub(crate) engine: Engine,
    linker: Linker<HostState>,
    pub(crate) config: HostConfig,
    cache: ArtifactCache,
    pub(crate) node: Arc<ArcSwap<NodeRecord>>,
    stats: Mutex<BTreeMap<String, Arc<PluginStats>>>,
    pub(crate) next_generation: AtomicU64,
    _ticker: Ticker,
}

impl PluginHost {
    /// Creates the engine (Cranelift, epoch interruption, pooling
    /// allocator sized `workers x max_plugins x 2`) and starts the epoch
    /// ticker thread, which stops when the host and every plugin loaded
    /// from it are dropped.
    pub fn new(config: HostConfig) -> Result<Self, HostError> {
        let mut pool = PoolingAllocationConfig::new();
        let n = config.pool_instances();
        // A Rust wasm32-wasip2 component is a handful of core instances
        // (the program, its adapter shims) with one or two memories.
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(8))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(4))
            .max_memory_size(config.memory_limit);
        let mut wc = Config::new();
        wc.epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if config.perf_map {
            wc.profiler(ProfilingStrategy::PerfMap);
        }
        let engine =
            Engine::new(&wc).map_err(|e| HostError::Engine(error_text(&e)))?;
        let mut linker = Linker::new(&engine);
        FullPlugin::add_to_linker::<HostState, HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )
        .map_err(|e| HostError::Linker(error_text(&e)))?;
        let ticker = Ticker::start(&engine, config.tick)?;
        let cache = ArtifactCache::new(&engine, config.cache_dir.clone());
        Ok(Self {
            inner: Arc::new(HostInner {
                engine,
                linker,
                config,
                cache,
                node: Arc::new(ArcSwap::from_pointee(NodeRecord::default())),
                stats: Mutex::new(BTreeMap::new()),
                next_generation: AtomicU64::new(1),
                _ticker: ticker,
            }),
        })
    }

    /// Sets what `node-context` returns to every plugin from now on.
    pub fn set_node(&self, node: NodeRecord) {
        self.inner.node.store(Arc::new(node));
    }

    /// Validates and prepares a plugin: sha256, compile (or the artifact
    /// cache), import allow-list, world type check, a scratch instance,
    /// `describe`, `init(config)`. Every failure is a [`LoadError`]
    /// naming the stage; nothing is activated here (see
    /// [`crate::PolicyChains::swap`]).
    #[tracing::instrument(level = "info", skip_all, fields(plugin = name))]
    pub fn load(
        &self,
        name: &str,
        wasm: &[u8],
        config: &str,
    ) -> Result<LoadedPlugin, LoadError> {
        let stats = self.inner.stats_for(name);
        let r = self.inner.load(name, wasm, config, &stats, &self.inner);
        stats.loaded(r.is_ok());
        match &r {
            Ok(p) => tracing::info!(
                generation = p.generation(),
                sha256 = %p.sha256(),
                hooks = ?p.info().hooks,
                source = ?p.artifact_source(),
                "plugin loaded"
            ),
            Err(e) => tracing::warn!("plugin rejected: {e}"),
        }
        r
    }

    /// [`Self::load`] for a plugin that is only tried (`bgplet plugin
    /// diff`): every stage is the same, but its counters are its own
    /// rather than those of its name, so trying a candidate leaves the
    /// live plugins' metrics alone.
    pub fn load_detached(
        &self,
        name: &str,
        wasm: &[u8],
        config: &str,
    ) -> Result<LoadedPlugin, LoadError> {
        let stats = Arc::default();
        self.inner.load(name, wasm, config, &stats, &self.inner)
    }

    /// Counters of every plugin name ever loaded, by name.
    pub fn metrics(&self) -> Vec<PluginMetrics> {
        let Ok(map) = self.inner.stats.lock() else {
            return Vec::new();
        };
        map.iter().map(|(n, s)| s.snapshot(n)).collect()
    }

    /// Counters of one plugin name.
    pub fn metrics_of(&self, name: &str) -> Option<PluginMetrics> {
        let map = self.inner.stats.lock().ok()?;
        map.get(name).map(|s| s.snapshot(name))
    }
}

impl HostInner {
    fn stats_for(&self, name: &str) -> Arc<PluginStats> {
        match self.stats.lock() {
            Ok(mut map) => map.entry(name.to_owned()).or_default().clone(),
            // A poisoned map only loses the sharing between generations.
            Err(_) => Arc::default(),
        }
    }

    fn load(
        &self,
        name: &str,
        wasm: &[u8],
        config: &str,
        stats: &Arc<PluginStats>,
        me: &Arc<HostInner>,
    ) -> Result<LoadedPlugin, LoadError> {
        let plugin = name.to_owned();
        let sha256: [u8; 32] = Sha256::digest(wasm).into();
        if is_core_module(wasm) {
            return Err(LoadError::World {
                plugin,
                message: "a core wasm module, not a component (build for \
                          wasm32-wasip2 with the SDK)"
                    .into(),
            });
        }
        let (component, source) = self
            .cache
            .get_or_compile(&self.engine, &sha256, wasm)
            .map_err(|e| LoadError::Compile {
                plugin: plugin.clone(),
                message: error_text(&e),
            })?;
        if let Some(import) = disallowed_import(&self.engine, &component) {
            return Err(LoadError::Import { plugin, import });
        }
        let mut linker = self.linker.clone();
        let world = |e: wasmtime::Error| LoadError::World {
            plugin: plugin.clone(),
            message: error_text(&e),
        };
        // Only `wasi:*` imports are left undefined at this point.
        linker
            .define_unknown_imports_as_traps(&component)
            .map_err(world)?;
        let pre = linker.instantiate_pre(&component).map_err(world)?;
        let pre = FullPluginPre::new(pre).map_err(world)?;
        let hot = HotIndices::new(pre.instance_pre()).map_err(world)?;

        let name: Arc<str> = Arc::from(name);
        let load_ticks = self.config.ticks(self.config.load_deadline);
        let mut inst = Instance::new(
            self, &pre, &hot, &name, stats, load_ticks,
        )
        .map_err(|e| LoadError::Instantiate {
            plugin: plugin.clone(),
            message: error_text(&e),
        })?;
        let info =
            inst.describe(load_ticks).map_err(|e| LoadError::Describe {
                plugin: plugin.clone(),
                message: error_text(&e),
            })?;
        match inst.init(config, load_ticks) {
            Err(e) => {
                return Err(LoadError::InitTrap {
                    plugin,
                    message: error_text(&e),
                });
            }
            Ok(Err(message)) => {
                return Err(LoadError::Config { plugin, message });
            }
            Ok(Ok(())) => {}
        }
        let mut hooks: Vec<Hook> =
            info.hooks.into_iter().map(Hook::from_wit).collect();
        hooks.sort();
        hooks.dedup();
        Ok(LoadedPlugin {
            inner: Arc::new(PluginInner {
                name,
                generation: self
                    .next_generation
                    .fetch_add(1, Ordering::Relaxed),
                sha256,
                source,
                info: PluginInfo {
                    name: info.name,
                    version: info.version,
                    description: info.description,
                    hooks,
                },
                config: config.to_owned(),
                pre,
                hot,
                stats: stats.clone(),
                host: me.clone(),
            }),
        })
    }
}

/// A core module starts with the wasm magic and version 1; a component
/// uses the same magic with a different version and layer word.
fn is_core_module(wasm: &[u8]) -> bool {
    wasm.get(..8) == Some(&[0, b'a', b's', b'm', 1, 0, 0, 0])
}

/// Increments the engine's epoch every tick until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(
        engine: &Engine,
        tick: std::time::Duration,
    ) -> Result<Self, HostError> {
        // A zero tick would turn the ticker into a busy loop.
        let tick = tick.max(std::time::Duration::from_micros(100));
        let stop = Arc::new(AtomicBool::new(false));
        let (e, s) = (engine.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    e.increment_epoch();
                }
            })
            .map_err(HostError::Ticker)?;
        Ok(Self {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
