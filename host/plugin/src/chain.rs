//! Hook chains: the [`Policy`] the RIB calls, over an ordered list of
//! plugins per hook, with atomic swaps and per-plugin fallback.
//!
//! Combination rules:
//!
//! - import and export: every plugin of the hook's chain sees the same
//!   batch, as the RIB built it (a later plugin does not see an earlier
//!   plugin's edits). A route is rejected if any plugin rejects it.
//!   Otherwise its edits are the concatenation of every plugin's edits
//!   for it, in chain order, so a later plugin's edits apply after an
//!   earlier one's (for a "set" edit the later plugin wins; additions
//!   and removals apply in order). An empty chain accepts everything
//!   unchanged.
//! - selection and kernel: the last plugin of the chain decides alone.
//!   An empty chain answers `PolicyError::NotImplemented`, and the RIB
//!   uses its built-in decision.
//!
//! Faults: a plugin that traps, times out, runs out of memory or gives a
//! malformed answer is counted and logged (plugin, hook, kind), its
//! instance is rebuilt on the next call, and the batch is answered by
//! the plugin's previous generation (the version it replaced in the
//! last [`PolicyChains::swap`]). When there is none, or it fails too,
//! the host's default answers: import and export reject every route of
//! the batch (a brand-new plugin must not let through what it would
//! have filtered), kernel skips every route, and selection returns
//! `PolicyError::Trap` so the RIB keeps each prefix's previous best:
//! picking candidate 0 would invent a policy decision.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use bgplet_plugin_abi::{
    AbiError, Candidates, EditProgram, FilterResult, NextHopMode, PeerInfo,
    PeerKind, Policy, PolicyError, ROUTE_STRIDE, RawAttributes,
    validate_kernel, validate_selection,
};

use crate::bindings::bgplet::plugin::types;
use crate::error::{Fault, FaultKind};
use crate::instance::Runner;
use crate::plugin::{Hook, LoadedPlugin};
use crate::raw::lend;

/// Which plugins serve each hook, in order.
#[derive(Debug, Clone, Default)]
pub struct ChainSpec {
    hooks: [Vec<LoadedPlugin>; 4],
}

impl ChainSpec {
    /// Every plugin in `plugins`, in order, in the chain of each hook its
    /// `describe` lists.
    pub fn new(plugins: Vec<LoadedPlugin>) -> Self {
        let mut spec = Self::default();
        for hook in Hook::ALL {
            spec.hooks[hook.index()] = plugins
                .iter()
                .filter(|p| p.implements(hook))
                .cloned()
                .collect();
        }
        spec
    }

    /// Replaces the chain of `hook`; plugins whose `describe` does not
    /// list the hook are left out.
    pub fn with_hook(mut self, hook: Hook, plugins: Vec<LoadedPlugin>) -> Self {
        self.hooks[hook.index()] =
            plugins.into_iter().filter(|p| p.implements(hook)).collect();
        self
    }

    /// The chain of `hook`.
    pub fn chain(&self, hook: Hook) -> &[LoadedPlugin] {
        &self.hooks[hook.index()]
    }
}

/// One plugin in a chain with its fallback.
#[derive(Debug, Clone)]
struct Slot {
    current: LoadedPlugin,
    previous: Option<LoadedPlugin>,
}

/// An active set of chains.
#[derive(Debug)]
struct Generation {
    id: u64,
    hooks: [Vec<Slot>; 4],
}

/// The shared, swappable chains. Cheap to clone; hand each RIB worker
/// its own [`PolicyChain`] from [`PolicyChains::worker`].
#[derive(Clone)]
pub struct PolicyChains {
    shared: Arc<Shared>,
}

struct Shared {
    current: ArcSwap<Generation>,
    next_id: AtomicU64,
}

impl PolicyChains {
    /// Activates `spec` as generation 1. Plugins have no fallback yet.
    pub fn new(spec: ChainSpec) -> Self {
        let hooks = spec.hooks.map(|chain| {
            chain
                .into_iter()
                .map(|current| Slot {
                    current,
                    previous: None,
                })
                .collect()
        });
        Self {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(Generation { id: 1, hooks }),
                next_id: AtomicU64::new(2),
            }),
        }
    }

    /// Atomically activates `spec`; workers switch at their next batch.
    /// A plugin whose name was in the same hook's chain before, as
    /// another generation, keeps that generation as its fallback; an
    /// unchanged plugin keeps its fallback. Returns the new chain
    /// generation.
    pub fn swap(&self, spec: ChainSpec) -> u64 {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let old = self.shared.current.load_full();
        let mut hooks: [Vec<Slot>; 4] = Default::default();
        for hook in Hook::ALL {
            let before = &old.hooks[hook.index()];
            hooks[hook.index()] = spec.hooks[hook.index()]
                .iter()
                .map(|p| {
                    let same =
                        before.iter().find(|s| s.current.name() == p.name());
                    let previous = match same {
                        Some(s) if s.current.generation() == p.generation() => {
                            s.previous.clone()
                        }
                        Some(s) => Some(s.current.clone()),
                        None => None,
                    };
                    Slot {
                        current: p.clone(),
                        previous,
                    }
                })
                .collect();
        }
        self.shared
            .current
            .store(Arc::new(Generation { id, hooks }));
        tracing::info!(generation = id, "plugin chains swapped");
        id
    }

    /// The active chain generation.
    pub fn generation(&self) -> u64 {
        self.shared.current.load().id
    }

    /// The plugin names of each hook's active chain, in order.
    pub fn active(&self) -> Vec<(Hook, Vec<String>)> {
        let g = self.shared.current.load();
        Hook::ALL
            .iter()
            .map(|&h| {
                let names = g.hooks[h.index()]
                    .iter()
                    .map(|s| s.current.name().to_owned())
                    .collect();
                (h, names)
            })
            .collect()
    }

    /// A [`Policy`] for one worker thread: it owns one Store per plugin
    /// it has called and follows swaps between batches.
    pub fn worker(&self) -> PolicyChain {
        PolicyChain {
            shared: self.shared.clone(),
            active: self.shared.current.load_full(),
            runners: HashMap::new(),
            peer_cache: None,
        }
    }
}

/// One worker's view of the chains; implements [`Policy`].
pub struct PolicyChain {
    shared: Arc<Shared>,
    active: Arc<Generation>,
    /// By plugin generation, so an unchanged plugin keeps its instance
    /// across chain swaps.
    runners: HashMap<u64, Runner>,
    /// The last peer converted to the WIT record, to skip the string
    /// copies for consecutive batches of one session.
    peer_cache: Option<(PeerInfo, types::Peer)>,
}

/// A filter answer reduced to what the combination needs.
enum Filtered {
    Answer(FilterResult),
    RejectAll,
}

impl PolicyChain {
    /// The chain generation this worker used for its last batch.
    pub fn generation(&self) -> u64 {
        self.active.id
    }

    /// The latest activated chains (the ones the next batch uses) and
    /// their generation, e.g. to build a what-if variant of them.
    /// Fallback generations are not part of a spec.
    pub fn active_spec(&self) -> (u64, ChainSpec) {
        let g = self.shared.current.load();
        let hooks = std::array::from_fn(|i| {
            g.hooks[i].iter().map(|s| s.current.clone()).collect()
        });
        (g.id, ChainSpec { hooks })
    }

    /// Picks up a swap; drops the instances of plugins no longer used.
    fn refresh(&mut self) {
        let cur = self.shared.current.load();
        if cur.id == self.active.id {
            return;
        }
        self.active = arc_swap::Guard::into_inner(cur);
        let mut keep = Vec::new();
        for chain in &self.active.hooks {
            for s in chain {
                keep.push(s.current.generation());
                if let Some(p) = &s.previous {
                    keep.push(p.generation());
                }
            }
        }
        self.runners.retain(|g, _| keep.contains(g));
    }

    fn runner(&mut self, plugin: &LoadedPlugin) -> &mut Runner {
        self.runners
            .entry(plugin.generation())
            .or_insert_with(|| Runner::new(plugin.clone()))
    }

    fn peer(&mut self, info: &PeerInfo) -> types::Peer {
        if let Some((cached, wit)) = &self.peer_cache
            && cached == info
        {
            return wit.clone();
        }
        let wit = wit_peer(info);
        self.peer_cache = Some((info.clone(), wit.clone()));
        wit
    }

    /// Runs one filter plugin, then its fallback, then the default.
    fn filter_slot(
        &mut self,
        hook: Hook,
        slot: &Slot,
        peer: &types::Peer,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Filtered {
        let n = routes.len() / ROUTE_STRIDE;
        let tries = std::iter::once(&slot.current).chain(&slot.previous);
        for (i, plugin) in tries.enumerate() {
            let runner = self.runner(plugin);
            let answer = runner.call(hook, |hot, store| {
                lend(store, raw, |store| {
                    hot.filter(
                        store,
                        hook == Hook::Export,
                        (peer, attrs, routes),
                    )
                })
            });
            let checked = answer.and_then(|a| {
                check_filter(n, &a).map_err(|e| {
                    runner.fault(
                        hook,
                        Fault {
                            kind: FaultKind::Malformed,
                            message: e.to_string(),
                        },
                    )
                })?;
                Ok(FilterResult {
                    verdicts: a.verdicts,
                    edits: a.edits,
                })
            });
            if let Ok(r) = checked {
                if i > 0 {
                    slot.current.inner.stats.fallback(hook);
                }
                return Filtered::Answer(r);
            }
        }
        slot.current.inner.stats.defaulted(hook);
        Filtered::RejectAll
    }

    fn filter(
        &mut self,
        hook: Hook,
        info: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        if !routes.len().is_multiple_of(ROUTE_STRIDE) {
            return Err(PolicyError::BadInput(AbiError::RouteStride {
                len: routes.len(),
            }));
        }
        self.refresh();
        let n = routes.len() / ROUTE_STRIDE;
        let active = self.active.clone();
        let chain = &active.hooks[hook.index()];
        if chain.is_empty() {
            return Ok(FilterResult::accept_all(n));
        }
        let peer = self.peer(info);
        let mut answers = Vec::with_capacity(chain.len());
        for slot in chain {
            match self.filter_slot(hook, slot, &peer, attrs, routes, raw) {
                Filtered::Answer(r) => answers.push(r),
                Filtered::RejectAll => return Ok(reject_all(n)),
            }
        }
        Ok(combine(n, answers))
    }

    /// Selection or kernel: the last plugin decides, then its fallback.
    fn decide<R>(
        &mut self,
        hook: Hook,
        call: impl Fn(&mut Runner) -> Result<R, Fault>,
    ) -> Result<Option<R>, PolicyError> {
        self.refresh();
        let active = self.active.clone();
        let Some(slot) = active.hooks[hook.index()].last() else {
            return Err(PolicyError::NotImplemented(hook.as_str()));
        };
        let mut last = None;
        let plugins = std::iter::once(&slot.current).chain(&slot.previous);
        for (i, plugin) in plugins.enumerate() {
            match call(self.runner(plugin)) {
                Ok(r) => {
                    if i > 0 {
                        slot.current.inner.stats.fallback(hook);
                    }
                    return Ok(Some(r));
                }
                Err(f) => last = Some(f),
            }
        }
        slot.current.inner.stats.defaulted(hook);
        if hook == Hook::Selection {
            let why = last.map_or_else(String::new, |f| f.to_string());
            return Err(PolicyError::Trap(format!(
                "{}: no usable selection ({why}); keep the previous best",
                slot.current.name()
            )));
        }
        Ok(None)
    }
}

impl Policy for PolicyChain {
    fn import(
        &mut self,
        from: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        self.filter(Hook::Import, from, attrs, routes, raw)
    }

    fn select(
        &mut self,
        candidates: &[u32],
        counts: &[u32],
    ) -> Result<Vec<u32>, PolicyError> {
        // The RIB sends only prefixes with candidates: for a count of 0
        // no answer is valid.
        Candidates::parse(candidates, counts).map_err(PolicyError::BadInput)?;
        let r = self.decide(Hook::Selection, |runner| {
            let answer = runner.call(Hook::Selection, |hot, store| {
                hot.select(store, candidates, counts)
            })?;
            match validate_selection(counts, &answer) {
                Ok(_) => Ok(answer),
                Err(e) => Err(malformed(runner, Hook::Selection, &e)),
            }
        })?;
        // `decide` only returns Ok(None) for the kernel hook.
        r.ok_or(PolicyError::NotImplemented("selection"))
    }

    fn export(
        &mut self,
        to: &PeerInfo,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<FilterResult, PolicyError> {
        self.filter(Hook::Export, to, attrs, routes, raw)
    }

    fn kernel(
        &mut self,
        attrs: &[u32],
        routes: &[u32],
        raw: &dyn RawAttributes,
    ) -> Result<Vec<u32>, PolicyError> {
        if !routes.len().is_multiple_of(ROUTE_STRIDE) {
            return Err(PolicyError::BadInput(AbiError::RouteStride {
                len: routes.len(),
            }));
        }
        let n = routes.len() / ROUTE_STRIDE;
        let r = self.decide(Hook::Kernel, |runner| {
            let answer = runner.call(Hook::Kernel, |hot, store| {
                lend(store, raw, |store| hot.program(store, attrs, routes))
            })?;
            match validate_kernel(n, &answer) {
                Ok(_) => Ok(answer),
                Err(e) => Err(malformed(runner, Hook::Kernel, &e)),
            }
        })?;
        // No good version: skip (action 0, metric 0) every route.
        Ok(r.unwrap_or_else(|| vec![0; n * 2]))
    }
}

fn malformed(runner: &mut Runner, hook: Hook, e: &AbiError) -> Fault {
    runner.fault(
        hook,
        Fault {
            kind: FaultKind::Malformed,
            message: e.to_string(),
        },
    )
}

/// The checks of `validate_filter_result` without unpacking every
/// verdict: one verdict per route, each 0-2, a valid edit program.
fn check_filter(n: usize, a: &types::FilterResult) -> Result<(), AbiError> {
    if a.verdicts.len() != n {
        return Err(AbiError::VerdictCount {
            expected: n,
            got: a.verdicts.len(),
        });
    }
    if let Some((route, &value)) =
        a.verdicts.iter().enumerate().find(|(_, v)| **v > 2)
    {
        return Err(AbiError::Verdict { route, value });
    }
    if a.edits.is_empty() {
        return Ok(());
    }
    EditProgram::parse(&a.edits, &a.verdicts)?;
    Ok(())
}

fn reject_all(n: usize) -> FilterResult {
    FilterResult {
        verdicts: vec![0; n],
        edits: Vec::new(),
    }
}

/// Combines validated answers of one chain (see the module docs).
fn combine(n: usize, mut answers: Vec<FilterResult>) -> FilterResult {
    if answers.len() == 1 {
        return answers.pop().unwrap_or_else(|| reject_all(n));
    }
    let mut verdicts = vec![1u8; n];
    for a in &answers {
        for (v, &x) in verdicts.iter_mut().zip(&a.verdicts) {
            *v = match (*v, x) {
                (0, _) | (_, 0) => 0,
                (2, _) | (_, 2) => 2,
                _ => 1,
            };
        }
    }
    let mut edits = Vec::new();
    for a in &answers {
        // Validated before, so parsing cannot fail here.
        let Ok(program) = EditProgram::parse(&a.edits, &a.verdicts) else {
            continue;
        };
        for op in program.iter() {
            if verdicts.get(op.route as usize) == Some(&2) {
                op.edit.encode(op.route, &mut edits);
            }
        }
    }
    FilterResult { verdicts, edits }
}

fn wit_peer(p: &PeerInfo) -> types::Peer {
    types::Peer {
        name: p.name.clone(),
        kind: match p.kind {
            PeerKind::Mesh => types::PeerKind::Mesh,
            PeerKind::Node => types::PeerKind::Node,
            PeerKind::Global => types::PeerKind::Global,
            PeerKind::Local => types::PeerKind::Local,
        },
        address: p.address.clone(),
        peer_as: p.peer_as,
        local_as: p.local_as,
        ibgp: p.ibgp,
        rr_client: p.rr_client,
        next_hop_mode: match p.next_hop_mode {
            NextHopMode::Auto => types::NextHopMode::Auto,
            NextHopMode::SelfAddr => types::NextHopMode::SelfAddr,
            NextHopMode::Keep => types::NextHopMode::Keep,
        },
        filters: p.filters.clone(),
    }
}
