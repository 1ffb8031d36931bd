//! One plugin instance (a Store) and the fault handling around a call.

use std::sync::Arc;

use wasmtime::component::{ComponentExportIndex, Func, InstancePre};
use wasmtime::{Store, Trap};

use crate::bindings::bgplet::plugin::types::{FilterResult, Peer};
use crate::bindings::exports::bgplet::plugin::lifecycle::Info;
use crate::bindings::{FullPlugin, FullPluginPre};
use crate::error::{Fault, FaultKind};
use crate::host::HostInner;
use crate::plugin::{Hook, LoadedPlugin};
use crate::raw::RawSlot;
use crate::state::{HostState, Limiter};
use crate::stats::PluginStats;

/// Longest error text kept for a log line or a `LoadError`.
const MAX_ERROR_TEXT: usize = 2048;

/// A Store with one instantiated plugin in it.
pub(crate) struct Instance {
    pub(crate) store: Store<HostState>,
    pub(crate) api: FullPlugin,
    pub(crate) hot: Hot,
}

/// Where the hook functions are in the component, found once per load.
/// The hooks are called through these rather than through bindgen's
/// `call_*`, whose signatures take `&Vec<u32>` for the WIT `words` alias
/// and would cost a copy of every batch.
#[derive(Clone)]
pub(crate) struct HotIndices {
    import: ComponentExportIndex,
    export: ComponentExportIndex,
    select: ComponentExportIndex,
    program: ComponentExportIndex,
}

impl HotIndices {
    pub(crate) fn new(pre: &InstancePre<HostState>) -> wasmtime::Result<Self> {
        let c = pre.component();
        let find = |iface: &str, func: &str| {
            let i = c.get_export_index(None, iface).ok_or_else(|| {
                wasmtime::format_err!("no exported instance named `{iface}`")
            })?;
            c.get_export_index(Some(&i), func).ok_or_else(|| {
                wasmtime::format_err!("`{iface}` does not export `{func}`")
            })
        };
        Ok(Self {
            import: find("bgplet:plugin/import-policy@0.1.0", "filter")?,
            export: find("bgplet:plugin/export-policy@0.1.0", "filter")?,
            select: find("bgplet:plugin/selection@0.1.0", "select")?,
            program: find("bgplet:plugin/kernel@0.1.0", "program")?,
        })
    }
}

/// The hook functions of one instance.
pub(crate) struct Hot {
    import: Func,
    export: Func,
    select: Func,
    program: Func,
}

/// A filter hook's parameters, borrowed.
type FilterArgs<'a> = (&'a Peer, &'a [u32], &'a [u32]);

impl Hot {
    fn new(
        store: &mut Store<HostState>,
        instance: &wasmtime::component::Instance,
        idx: &HotIndices,
    ) -> wasmtime::Result<Self> {
        let mut get = |i: &ComponentExportIndex| {
            instance
                .get_func(&mut *store, i)
                .ok_or_else(|| wasmtime::format_err!("hook function missing"))
        };
        Ok(Self {
            import: get(&idx.import)?,
            export: get(&idx.export)?,
            select: get(&idx.select)?,
            program: get(&idx.program)?,
        })
    }

    /// `import-policy.filter` or `export-policy.filter`.
    pub(crate) fn filter(
        &self,
        store: &mut Store<HostState>,
        export: bool,
        args: FilterArgs<'_>,
    ) -> wasmtime::Result<FilterResult> {
        let f = if export { &self.export } else { &self.import };
        let f = f.typed::<FilterArgs<'_>, (FilterResult,)>(&*store)?;
        Ok(f.call(store, args)?.0)
    }

    /// `selection.select`.
    pub(crate) fn select(
        &self,
        store: &mut Store<HostState>,
        candidates: &[u32],
        counts: &[u32],
    ) -> wasmtime::Result<Vec<u32>> {
        let f = self
            .select
            .typed::<(&[u32], &[u32]), (Vec<u32>,)>(&*store)?;
        Ok(f.call(store, (candidates, counts))?.0)
    }

    /// `kernel.program`.
    pub(crate) fn program(
        &self,
        store: &mut Store<HostState>,
        attrs: &[u32],
        routes: &[u32],
    ) -> wasmtime::Result<Vec<u32>> {
        let f = self
            .program
            .typed::<(&[u32], &[u32]), (Vec<u32>,)>(&*store)?;
        Ok(f.call(store, (attrs, routes))?.0)
    }
}

impl Instance {
    /// A fresh Store and instance from the `InstancePre`.
    pub(crate) fn new(
        host: &HostInner,
        pre: &FullPluginPre<HostState>,
        hot: &HotIndices,
        plugin: &Arc<str>,
        stats: &Arc<PluginStats>,
        ticks: u64,
    ) -> wasmtime::Result<Self> {
        let state = HostState {
            limiter: Limiter::new(host.config.memory_limit),
            plugin: plugin.clone(),
            hook: "load",
            stats: stats.clone(),
            node: host.node.clone(),
            raw: RawSlot::default(),
        };
        let mut store = Store::new(&host.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(ticks);
        let instance = pre.instance_pre().instantiate(&mut store)?;
        let api = FullPlugin::new(&mut store, &instance)?;
        let hot = Hot::new(&mut store, &instance, hot)?;
        stats.instantiated();
        Ok(Self { store, api, hot })
    }

    pub(crate) fn describe(&mut self, ticks: u64) -> wasmtime::Result<Info> {
        self.store.set_epoch_deadline(ticks);
        self.api
            .bgplet_plugin_lifecycle()
            .call_describe(&mut self.store)
    }

    pub(crate) fn init(
        &mut self,
        config: &str,
        ticks: u64,
    ) -> wasmtime::Result<Result<(), String>> {
        self.store.set_epoch_deadline(ticks);
        self.api
            .bgplet_plugin_lifecycle()
            .call_init(&mut self.store, config)
    }
}

/// One worker's use of one plugin generation: the instance is created
/// on first use and dropped after any fault, so the next call starts
/// from a fresh Store (a trap poisons a Store in wasmtime 48).
pub(crate) struct Runner {
    pub(crate) plugin: LoadedPlugin,
    inst: Option<Instance>,
}

impl Runner {
    pub(crate) fn new(plugin: LoadedPlugin) -> Self {
        Self { plugin, inst: None }
    }

    /// Runs one hook call under the call deadline; any error is turned
    /// into a counted, logged [`Fault`] and the instance is discarded.
    pub(crate) fn call<R>(
        &mut self,
        hook: Hook,
        f: impl FnOnce(&Hot, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, Fault> {
        let p = &self.plugin.inner;
        let _span = tracing::debug_span!(
            "plugin_call",
            plugin = &*p.name,
            hook = hook.as_str(),
            generation = p.generation
        )
        .entered();
        p.stats.call(hook);
        let cfg = &p.host.config;
        let inst = match &mut self.inst {
            Some(i) => i,
            slot @ None => {
                let ticks = cfg.ticks(cfg.load_deadline);
                let made = Instance::new(
                    &p.host, &p.pre, &p.hot, &p.name, &p.stats, ticks,
                )
                .and_then(|mut i| {
                    match i.init(&p.config, ticks)? {
                        Ok(()) => Ok(i),
                        Err(m) => Err(wasmtime::Error::msg(m)),
                    }
                });
                match made {
                    Ok(i) => slot.insert(i),
                    Err(e) => {
                        return Err(self.fault(
                            hook,
                            Fault {
                                kind: FaultKind::Instantiate,
                                message: error_text(&e),
                            },
                        ));
                    }
                }
            }
        };
        inst.store.data_mut().hook = hook.as_str();
        inst.store.data_mut().limiter.denied = false;
        inst.store.set_epoch_deadline(cfg.ticks(cfg.call_deadline));
        let started = std::time::Instant::now();
        let answer = f(&inst.hot, &mut inst.store);
        p.stats.observe(hook, started.elapsed());
        match answer {
            Ok(r) => Ok(r),
            Err(e) => {
                let fault = classify(&e, inst.store.data().limiter.denied);
                Err(self.fault(hook, fault))
            }
        }
    }

    /// Counts and logs `fault` and drops the instance.
    pub(crate) fn fault(&mut self, hook: Hook, fault: Fault) -> Fault {
        let p = &self.plugin.inner;
        p.stats.fault(hook, fault.kind);
        tracing::warn!(
            plugin = &*p.name,
            hook = hook.as_str(),
            generation = p.generation,
            kind = fault.kind.as_str(),
            "plugin call failed: {}",
            fault.message
        );
        self.inst = None;
        fault
    }
}

fn classify(e: &wasmtime::Error, memory_denied: bool) -> Fault {
    let kind = if memory_denied {
        FaultKind::OutOfMemory
    } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        FaultKind::Timeout
    } else {
        FaultKind::Trap
    };
    Fault {
        kind,
        message: error_text(e),
    }
}

/// wasmtime's error with its causes on one line (a wasm backtrace
/// spans several), bounded in length.
pub(crate) fn error_text(e: &wasmtime::Error) -> String {
    let full = format!("{e:#}");
    let mut s = full.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.len() > MAX_ERROR_TEXT {
        let mut end = MAX_ERROR_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}
