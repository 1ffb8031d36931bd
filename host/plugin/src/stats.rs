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

/// Upper bounds (seconds) of the hook call latency histogram: a hook
/// normally answers a batch in microseconds to a millisecond; the top
/// buckets catch calls running into the deadline.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5,
    0.005, 0.01, 0.1, 1.0,
];

/// The bucket bounds in nanoseconds, compared without floats per call.
const LATENCY_NANOS: [u64; 12] = [
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Buckets per hook: one per bound and +Inf.
const SLOTS: usize = LATENCY_BUCKETS.len() + 1;

/// Observed call latencies of one hook.
#[derive(Debug, Default)]
struct Latency {
    counts: [AtomicU64; SLOTS],
    sum_nanos: AtomicU64,
}

/// A copy of one hook's latency histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencySnapshot {
    /// Calls per bucket of [`LATENCY_BUCKETS`] (not cumulative), then
    /// the calls above the last bound.
    pub counts: Vec<u64>,
    /// Total time in nanoseconds.
    pub sum_nanos: u64,
}

impl LatencySnapshot {
    /// Calls observed.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Total time in seconds.
    pub fn sum_seconds(&self) -> f64 {
        self.sum_nanos as f64 / 1e9
    }
}

/// Live counters of one plugin name (shared by its generations).
#[derive(Debug, Default)]
pub struct PluginStats {
    calls: [AtomicU64; HOOKS],
    latency: [Latency; HOOKS],
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

    /// Records how long one call of `hook` took (faulty calls too: a
    /// timeout shows in the top buckets).
    pub(crate) fn observe(&self, hook: Hook, took: std::time::Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let slot = LATENCY_NANOS
            .iter()
            .position(|&b| nanos <= b)
            .unwrap_or(LATENCY_NANOS.len());
        let l = &self.latency[hook.index()];
        l.counts[slot].fetch_add(1, Ordering::Relaxed);
        l.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
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
        let latency = Hook::ALL.map(|h| {
            let l = &self.latency[h.index()];
            let snap = LatencySnapshot {
                counts: l.counts.iter().map(load).collect(),
                sum_nanos: load(&l.sum_nanos),
            };
            (h, snap)
        });
        PluginMetrics {
            plugin: plugin.to_owned(),
            calls: per_hook(&self.calls),
            latency,
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
    /// Call latency per hook.
    pub latency: [(Hook, LatencySnapshot); HOOKS],
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

    /// The latency histogram of `hook`.
    pub fn latency_of(&self, hook: Hook) -> &LatencySnapshot {
        &self.latency[hook.index()].1
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn latencies_land_in_their_bucket_and_add_up() {
        let s = PluginStats::default();
        s.observe(Hook::Export, Duration::from_micros(5));
        s.observe(Hook::Export, Duration::from_micros(10));
        s.observe(Hook::Export, Duration::from_micros(300));
        s.observe(Hook::Export, Duration::from_secs(2));
        let m = s.snapshot("p");
        let l = m.latency_of(Hook::Export);
        assert_eq!(l.counts.len(), LATENCY_BUCKETS.len() + 1);
        assert_eq!(l.counts[0], 2, "10 µs is inside the first bucket");
        assert_eq!(l.counts[5], 1, "300 µs: the 500 µs bucket");
        assert_eq!(l.counts[LATENCY_BUCKETS.len()], 1, "+Inf");
        assert_eq!(l.count(), 4);
        assert_eq!(l.sum_nanos, 2_000_315_000);
        assert_eq!(m.latency_of(Hook::Import).count(), 0);
    }

    #[test]
    fn the_nanosecond_bounds_are_the_published_ones() {
        for (s, n) in LATENCY_BUCKETS.iter().zip(LATENCY_NANOS) {
            assert_eq!((s * 1e9).round() as u64, n);
        }
    }
}
