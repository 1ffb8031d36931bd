//! The current objects of one watch, fed by watcher events. Pure.
//!
//! A (re)list arrives as `Init`, `InitApply`…, `InitDone`; the listed
//! objects are buffered and replace the store at `InitDone`, so a
//! relist after 410 Gone never exposes a half-listed store, and objects
//! deleted while the watch was down disappear.

use std::collections::BTreeMap;

use serde_json::Value;

/// One watcher event with the object already trimmed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Change {
    /// A list starts.
    Init,
    /// An object of the list.
    InitApply(String, Value),
    /// The list is complete.
    InitDone,
    /// An object was added or modified.
    Apply(String, Value),
    /// An object was deleted.
    Delete(String),
}

/// The objects of one watch.
#[derive(Debug, Default)]
pub(crate) struct Store {
    objects: BTreeMap<String, Value>,
    pending: Option<BTreeMap<String, Value>>,
    synced: bool,
}

impl Store {
    /// Applies one event; returns whether the visible objects changed.
    pub fn apply(&mut self, change: Change) -> bool {
        match change {
            Change::Init => {
                self.pending = Some(BTreeMap::new());
                false
            }
            Change::InitApply(key, value) => {
                self.pending
                    .get_or_insert_with(BTreeMap::new)
                    .insert(key, value);
                false
            }
            Change::InitDone => {
                let listed = self.pending.take().unwrap_or_default();
                let first = !self.synced;
                self.synced = true;
                let changed = listed != self.objects;
                self.objects = listed;
                first || changed
            }
            Change::Apply(key, value) => {
                let old = self.objects.insert(key, value.clone());
                old.as_ref() != Some(&value)
            }
            Change::Delete(key) => self.objects.remove(&key).is_some(),
        }
    }

    /// Treats the watch as listed-and-empty (its kind is not served, or
    /// a Secret cannot be read: Calico then configures no password).
    /// Returns whether this is news.
    pub fn give_up_initial_list(&mut self) -> bool {
        let first = !self.synced;
        self.synced = true;
        first
    }

    /// Whether a complete list has been seen.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// The current objects, in key order.
    pub fn objects(&self) -> impl Iterator<Item = &Value> {
        self.objects.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(n: u32) -> Value {
        json!({ "n": n })
    }

    #[test]
    fn listed_objects_become_visible_only_at_init_done() {
        let mut s = Store::default();
        assert!(!s.apply(Change::Init));
        assert!(!s.apply(Change::InitApply("a".into(), obj(1))));
        assert_eq!(s.objects().count(), 0);
        assert!(!s.synced());
        assert!(s.apply(Change::InitDone));
        assert!(s.synced());
        assert_eq!(s.objects().collect::<Vec<_>>(), vec![&obj(1)]);
    }

    #[test]
    fn an_empty_first_list_still_counts_as_news() {
        let mut s = Store::default();
        s.apply(Change::Init);
        assert!(s.apply(Change::InitDone));
    }

    #[test]
    fn relist_replaces_the_store_and_drops_vanished_objects() {
        let mut s = Store::default();
        s.apply(Change::Init);
        s.apply(Change::InitApply("a".into(), obj(1)));
        s.apply(Change::InitApply("b".into(), obj(2)));
        s.apply(Change::InitDone);
        s.apply(Change::Init);
        s.apply(Change::InitApply("a".into(), obj(1)));
        assert_eq!(s.objects().count(), 2, "old view kept during relist");
        assert!(s.apply(Change::InitDone));
        assert_eq!(s.objects().collect::<Vec<_>>(), vec![&obj(1)]);
    }

    #[test]
    fn identical_relist_and_no_op_update_are_not_changes() {
        let mut s = Store::default();
        s.apply(Change::Init);
        s.apply(Change::InitApply("a".into(), obj(1)));
        s.apply(Change::InitDone);
        s.apply(Change::Init);
        s.apply(Change::InitApply("a".into(), obj(1)));
        assert!(!s.apply(Change::InitDone));
        assert!(!s.apply(Change::Apply("a".into(), obj(1))));
        assert!(s.apply(Change::Apply("a".into(), obj(2))));
        assert!(s.apply(Change::Delete("a".into())));
        assert!(!s.apply(Change::Delete("a".into())));
    }
}
