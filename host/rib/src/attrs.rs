//! Interned attribute sets (hash-consing).
//!
//! Every path holds an `Arc<AttrSet>`; equal sets share one allocation,
//! so a route costs a pointer and comparing two sets is usually a
//! pointer comparison. Sets nobody holds any more are freed by
//! [`Interner::collect`], which the RIB runs once enough paths have
//! been released to make the sweep worth it.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgplet_wire::{NextHop, PathAttributes};

/// One attribute set with the next hop it applies to.
///
/// The wire codec keeps an IPv6 next hop in MP_REACH_NLRI, outside
/// [`PathAttributes`]; the RIB folds every next hop into `next_hop` so
/// one handle describes a path completely. `attrs.next_hop` is always
/// `None` here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AttrSet {
    /// The next hop; `None` for routes this node originates before
    /// export (their next hop is the session's own address).
    pub next_hop: Option<NextHop>,
    /// Every other attribute.
    pub attrs: PathAttributes,
}

impl AttrSet {
    /// A set from received attributes and the next hop of their
    /// announcement.
    pub fn new(mut attrs: PathAttributes, next_hop: Option<NextHop>) -> Self {
        attrs.next_hop = None;
        Self { next_hop, attrs }
    }

    /// The next hop as an address (the global one for IPv6).
    pub fn next_hop_ip(&self) -> Option<IpAddr> {
        self.next_hop.map(|nh| match nh {
            NextHop::V4(ip) => IpAddr::V4(ip),
            NextHop::V6 { global, .. } => IpAddr::V6(global),
        })
    }

    /// ORIGINATOR_ID, if present.
    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        self.attrs.originator_id
    }
}

/// The table of live attribute sets.
#[derive(Debug, Default)]
pub struct Interner {
    sets: HashSet<Arc<AttrSet>>,
    released: usize,
}

impl Interner {
    /// The shared handle for `set`, allocating it on first sight.
    pub fn intern(&mut self, set: AttrSet) -> Arc<AttrSet> {
        if let Some(found) = self.sets.get(&set) {
            return found.clone();
        }
        let arc = Arc::new(set);
        self.sets.insert(arc.clone());
        arc
    }

    /// Records that a holder dropped `n` handles, so [`Self::maybe_collect`]
    /// knows when a sweep pays off.
    pub fn released(&mut self, n: usize) {
        self.released += n;
    }

    /// Sweeps when at least a quarter of the table (or 4096 handles)
    /// may have been released since the last sweep: amortised O(1) per
    /// release.
    pub fn maybe_collect(&mut self) {
        if self.released >= (self.sets.len() / 4).max(4096) {
            self.collect();
        }
    }

    /// Frees every set that only the table still holds.
    pub fn collect(&mut self) {
        self.sets.retain(|s| Arc::strong_count(s) > 1);
        self.released = 0;
    }

    /// How many distinct sets are in the table (including unused ones
    /// not yet swept).
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}
