//! Per-plugin counters: hook calls, faults by kind, fallbacks and the
//! plugin's own `count` counters, readable by the daemon for /metrics.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::FaultKind;
use crate::plugin::Hook;

/// Distinct `count` names one plugin may create; later names are
/// dropped so a plugin cannot grow the host's memory without bound.
const MAX_COUNTERS: usize = 256;
/// Longest `count` name kept, in bytes.
const MAX_COUNTER_NAME: usize = 64;

const HOOKS: usize = 4;
const KINDS: usize = FaultKind::ALL.len();

/// Live counters of one plugin name (shared by its generations).
#[derive(Debug, Default)]
pub struct PluginStats {
    calls: [AtomicU64; HOOKS],
    faults: [[AtomicU64; KINDS]; HOOKS],
    fallbacks: [AtomicU64; HOOKS],
    defaults: [AtomicU64; HOOKS],
    instantiations: AtomicU64,
    loads: AtomicU64,
    load_failures: AtomicU64,
    dropped_counters: AtomicU64,
    counters: Mutex<BTreeMap<String, u64>>,
}

impl PluginStats {
    pub(crate) fn call(&self, hook: Hook) {
        self.calls[hook.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn fault(&self, hook: Hook, kind: FaultKind) {
        self.faults[hook.index()][kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn fallback(&self, hook: Hook) {
        self.fallbacks[hook.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn defaulted(&self, hook: Hook) {
        self.defaults[hook.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn instantiated(&self) {
        self.instantiations.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn loaded(&self, ok: bool) {
        let c = if ok { &self.loads } else { &self.load_failures };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The host side of `host.count`.
    pub(crate) fn count(&self, name: &str, delta: u64) {
        let Ok(mut map) = self.counters.lock() else {
            return;
        };
        if let Some(v) = map.get_mut(name) {
            *v = v.saturating_add(delta);
            return;
        }
        if map.len() >= MAX_COUNTERS || name.len() > MAX_COUNTER_NAME {
            self.dropped_counters.fetch_add(1, Ordering::Relaxed);
            return;
        }
        map.insert(name.to_owned(), delta);
    }

    /// A consistent-enough copy of every counter.
    pub fn snapshot(&self, plugin: &str) -> PluginMetrics {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let per_hook = |arr: &[AtomicU64; HOOKS]| {
            Hook::ALL.map(|h| (h, load(&arr[h.index()])))
        };
        let mut faults = Vec::new();
        for hook in Hook::ALL {
            for kind in FaultKind::ALL {
                let n = load(&self.faults[hook.index()][kind.index()]);
                if n > 0 {
                    faults.push((hook, kind, n));
                }
            }
        }
        let counters =
            self.counters.lock().map(|m| m.clone()).unwrap_or_default();
        PluginMetrics {
            plugin: plugin.to_owned(),
            calls: per_hook(&self.calls),
            faults,
            fallbacks: per_hook(&self.fallbacks),
            defaults: per_hook(&self.defaults),
            instantiations: load(&self.instantiations),
            loads: load(&self.loads),
            load_failures: load(&self.load_failures),
            dropped_counters: load(&self.dropped_counters),
            counters,
        }
    }
}

/// A copy of one plugin's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginMetrics {
    /// Plugin name.
    pub plugin: String,
    /// Hook calls (batches) per hook, faulty ones included.
    pub calls: [(Hook, u64); HOOKS],
    /// Faults per hook and kind (only non-zero entries).
    pub faults: Vec<(Hook, FaultKind, u64)>,
    /// Batches answered by the previous generation after a fault.
    pub fallbacks: [(Hook, u64); HOOKS],
    /// Batches answered by the host's default (reject, skip, keep the
    /// previous best) because no good version was left.
    pub defaults: [(Hook, u64); HOOKS],
    /// Instances created (the first per worker, then one per fault).
    pub instantiations: u64,
    /// Successful loads.
    pub loads: u64,
    /// Rejected loads.
    pub load_failures: u64,
    /// `count` calls dropped by the name limits.
    pub dropped_counters: u64,
    /// The plugin's own counters (`host.count`).
    pub counters: BTreeMap<String, u64>,
}

impl PluginMetrics {
    /// Faults of one kind over every hook.
    pub fn faults_of(&self, kind: FaultKind) -> u64 {
        self.faults
            .iter()
            .filter(|(_, k, _)| *k == kind)
            .map(|(_, _, n)| n)
            .sum()
    }

    /// Faults of one hook and kind.
    pub fn faults_in(&self, hook: Hook, kind: FaultKind) -> u64 {
        self.faults
            .iter()
            .filter(|(h, k, _)| *h == hook && *k == kind)
            .map(|(_, _, n)| n)
            .sum()
    }

    /// Calls of `hook`.
    pub fn calls_of(&self, hook: Hook) -> u64 {
        self.calls[hook.index()].1
    }

    /// Fallback answers for `hook`.
    pub fn fallbacks_of(&self, hook: Hook) -> u64 {
        self.fallbacks[hook.index()].1
    }

    /// Default answers for `hook`.
    pub fn defaults_of(&self, hook: Hook) -> u64 {
        self.defaults[hook.index()].1
    }

    /// The plugin's counter `name` (0 when never counted).
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }
}
