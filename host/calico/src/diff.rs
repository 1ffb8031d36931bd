//! Comparing two plans session by session, keyed by session name.

use std::collections::BTreeMap;

use crate::plan::{NodePlan, PlannedSession};

/// A session whose parameters changed (the daemon resets it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionChange {
    /// The session as it was.
    pub old: PlannedSession,
    /// The session as it should be.
    pub new: PlannedSession,
}

/// What changed between two plans.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionDiff {
    /// Sessions to start.
    pub added: Vec<PlannedSession>,
    /// Sessions to stop.
    pub removed: Vec<PlannedSession>,
    /// Sessions to reset with new parameters.
    pub changed: Vec<SessionChange>,
    /// Names of sessions to leave alone.
    pub unchanged: Vec<String>,
}

impl SessionDiff {
    /// Whether nothing needs doing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
    }
}

/// Compares the sessions of two plans by name; every list is sorted by
/// name.
pub fn diff(old: &NodePlan, new: &NodePlan) -> SessionDiff {
    let by_name = |p: &NodePlan| -> BTreeMap<String, PlannedSession> {
        p.sessions
            .iter()
            .map(|s| (s.name.clone(), s.clone()))
            .collect()
    };
    let old_map = by_name(old);
    let mut new_map = by_name(new);
    let mut out = SessionDiff::default();
    for (name, o) in old_map {
        match new_map.remove(&name) {
            None => out.removed.push(o),
            Some(n) if n == o => out.unchanged.push(name),
            Some(n) => out.changed.push(SessionChange { old: o, new: n }),
        }
    }
    out.added = new_map.into_values().collect();
    out
}
