//! Reload outcomes since start, by outcome and reason, for
//! `bgplet_plugin_reloads_total`. One set per process: there is one
//! agent, and the counters only ever grow.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::load::ReloadError;

/// Every `reason` label value a rejected reload can carry, so each
/// series exists from the start (dashboards see stable names).
pub const REASONS: [&str; 11] = [
    "manifest",
    "source",
    "pin",
    "compile",
    "import",
    "world",
    "instantiate",
    "init",
    "hook",
    "self_test",
    "host",
];

static REJECTED: Mutex<BTreeMap<&'static str, u64>> =
    Mutex::new(BTreeMap::new());
static APPLIED: Mutex<u64> = Mutex::new(0);

/// Counts one reload that was swapped in.
pub fn applied() {
    if let Ok(mut n) = APPLIED.lock() {
        *n += 1;
    }
}

/// Counts one refused reload; `reason` is one of [`REASONS`].
pub fn rejected(reason: &'static str) {
    if let Ok(mut map) = REJECTED.lock() {
        *map.entry(reason).or_default() += 1;
    }
}

/// Counts the outcome of `Policies::reload`.
pub fn count(outcome: &Result<u64, crate::policy::PolicyError>) {
    use crate::policy::PolicyError;
    match outcome {
        Ok(_) => applied(),
        Err(PolicyError::Reload(e)) => rejected(e.reason()),
        Err(_) => rejected("host"),
    }
}

/// Counts a candidate that could not even be read.
pub fn unreadable(e: &ReloadError) {
    rejected(e.reason());
}

/// Applied reloads, then rejected ones per reason (every reason of
/// [`REASONS`], zero included).
pub fn snapshot() -> (u64, Vec<(&'static str, u64)>) {
    let applied = APPLIED.lock().map_or(0, |n| *n);
    let map = REJECTED.lock().map(|m| m.clone()).unwrap_or_default();
    let rejected = REASONS
        .iter()
        .map(|&r| (r, map.get(r).copied().unwrap_or(0)))
        .collect();
    (applied, rejected)
}
