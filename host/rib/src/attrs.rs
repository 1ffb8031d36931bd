//! Interned attribute sets (hash-consing).
//!
//! Every path holds an `Arc<AttrSet>`; equal sets share one allocation,
//! so a route costs a pointer and comparing two sets is usually a
//! pointer comparison. Sets nobody holds any more are freed by
//! [`Interner::collect`], which the RIB runs once enough paths have
//! been released to make the sweep worth it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
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

/// Prefix- and handle-keyed maps: foldhash, seeded per process.
pub(crate) type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A set keyed like [`Map`].
pub(crate) type Set<K> =
    std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Sets in one hash bucket: almost always exactly one.
#[derive(Debug)]
struct Bucket {
    first: Arc<AttrSet>,
    more: Vec<Arc<AttrSet>>,
}

/// A hasher for keys that already are hashes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The table of live attribute sets.
///
/// Keyed by the content hash, computed once per [`Interner::intern`]
/// call: growing the table never hashes a set again.
#[derive(Debug, Default)]
pub struct Interner {
    sets: HashMap<u64, Bucket, BuildHasherDefault<Prehashed>>,
    hasher: foldhash::fast::RandomState,
    len: usize,
    released: usize,
}

impl Interner {
    /// The shared handle for `set`, allocating it on first sight.
    pub fn intern(&mut self, set: AttrSet) -> Arc<AttrSet> {
        let hash = self.hasher.hash_one(&set);
        match self.sets.entry(hash) {
            Entry::Occupied(mut e) => {
                let b = e.get_mut();
                if *b.first == set {
                    return b.first.clone();
                }
                if let Some(found) = b.more.iter().find(|s| ***s == set) {
                    return found.clone();
                }
                let arc = Arc::new(set);
                b.more.push(arc.clone());
                self.len += 1;
                arc
            }
            Entry::Vacant(e) => {
                let arc = Arc::new(set);
                e.insert(Bucket {
                    first: arc.clone(),
                    more: Vec::new(),
                });
                self.len += 1;
                arc
            }
        }
    }

    /// Records that a holder dropped `n` handles, so
    /// [`Self::maybe_collect`] knows when a sweep pays off.
    pub fn released(&mut self, n: usize) {
        self.released += n;
    }

    /// Sweeps when at least a quarter of the table (or 4096 handles)
    /// may have been released since the last sweep: amortised O(1) per
    /// release.
    pub fn maybe_collect(&mut self) {
        if self.released >= (self.len / 4).max(4096) {
            self.collect();
        }
    }

    /// Frees every set that only the table still holds.
    pub fn collect(&mut self) {
        let mut len = 0;
        self.sets.retain(|_, b| {
            b.more.retain(|s| Arc::strong_count(s) > 1);
            if Arc::strong_count(&b.first) == 1 {
                match b.more.pop() {
                    Some(next) => b.first = next,
                    None => return false,
                }
            }
            len += 1 + b.more.len();
            true
        });
        self.len = len;
        self.released = 0;
    }

    /// How many distinct sets are in the table (including unused ones
    /// not yet swept).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
