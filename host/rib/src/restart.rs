//! Graceful restart, receiving side (RFC 4724 section 4.2; Calico's
//! behaviour in calico-bgp.md 5.6): a session that drops without a
//! NOTIFICATION leaves its paths in place, marked stale. Its next
//! incarnation replaces them path by path, and each End-of-RIB it sends
//! sweeps the stale paths of that family; the daemon's restart timer
//! calls [`Rib::sweep_stale`] for whatever is left.

use bgplet_plugin_abi::Policy;
use bgplet_wire::AfiSafi;

use crate::error::RibError;
use crate::rib::{Dirty, Outbox, Output, Rib, SourceId};

impl<P: Policy> Rib<P> {
    /// A session went down gracefully: it leaves its update group, its
    /// paths stay (stale, selection key flag 3) and its name is free for
    /// the next incarnation. Stale paths of an earlier restart that
    /// never finished are dropped first: consecutive restarts do not
    /// keep stale paths.
    pub fn peer_down_graceful(
        &mut self,
        name: &str,
    ) -> Result<Vec<Output>, RibError> {
        let id = self.source_id(name)?;
        let mut dirty = Dirty::default();
        self.end_session(id);
        if let Some(old) = self.stale.remove(name) {
            self.drop_source(old, &mut dirty);
        }
        if let Some(p) = self.peers.get_mut(&id) {
            p.stale = true;
            p.predecessor = None;
            for &(prefix, _) in p.adj_in.keys() {
                dirty.mark(prefix);
            }
        }
        self.stale.insert(name.to_owned(), id);
        let mut outbox = Outbox::default();
        // The stale flag changes the selection keys.
        self.run(&dirty, false, &mut outbox);
        Ok(self.finish(outbox))
    }

    /// Drops the stale paths kept for `name` (restart timer expired, or
    /// the new session did not negotiate graceful restart). Nothing
    /// happens if there are none.
    pub fn sweep_stale(&mut self, name: &str) -> Vec<Output> {
        let mut dirty = Dirty::default();
        if let Some(old) = self.stale.remove(name) {
            self.drop_source(old, &mut dirty);
        }
        if let Some(&id) = self.by_name.get(name)
            && let Some(p) = self.peers.get_mut(&id)
        {
            p.predecessor = None;
        }
        let mut outbox = Outbox::default();
        self.run(&dirty, false, &mut outbox);
        self.finish(outbox)
    }

    /// Takes a live session out of the name table and its group.
    pub(crate) fn end_session(&mut self, id: SourceId) {
        let Some(p) = self.peers.get(&id) else {
            return;
        };
        let (name, gid) = (p.cfg.name.clone(), p.group);
        self.by_name.remove(&name);
        self.leave_group(gid, id);
    }

    /// Forgets a source and every path it contributed.
    pub(crate) fn drop_source(&mut self, id: SourceId, dirty: &mut Dirty) {
        let Some(peer) = self.peers.remove(&id) else {
            return;
        };
        self.interner.released(peer.adj_in.len());
        for (prefix, path_id) in peer.adj_in.into_keys() {
            self.remove_cand(prefix, id, path_id, dirty);
        }
    }

    /// A fresh path from a restarted session replaces its stale twin.
    pub(crate) fn replace_stale(
        &mut self,
        id: SourceId,
        key: (bgplet_wire::Prefix, u32),
        dirty: &mut Dirty,
    ) {
        let Some(old) = self.peers.get(&id).and_then(|p| p.predecessor) else {
            return;
        };
        let removed =
            self.peers.get_mut(&old).and_then(|p| p.adj_in.remove(&key));
        if removed.is_some() {
            self.interner.released(1);
            self.remove_cand(key.0, old, key.1, dirty);
        }
    }

    /// End-of-RIB from a restarted session: its stale paths of `family`
    /// go (RFC 4724 section 4.2).
    pub(crate) fn sweep_family(
        &mut self,
        id: SourceId,
        family: AfiSafi,
        dirty: &mut Dirty,
    ) {
        let Some(old) = self.peers.get(&id).and_then(|p| p.predecessor) else {
            return;
        };
        let Some(p) = self.peers.get_mut(&old) else {
            return;
        };
        let keys: Vec<_> = p
            .adj_in
            .keys()
            .filter(|(prefix, _)| prefix.family() == family)
            .copied()
            .collect();
        for key in &keys {
            p.adj_in.remove(key);
        }
        let empty = p.adj_in.is_empty();
        let name = p.cfg.name.clone();
        self.interner.released(keys.len());
        for (prefix, path_id) in keys {
            self.remove_cand(prefix, old, path_id, dirty);
        }
        if empty {
            self.peers.remove(&old);
            self.stale.remove(&name);
            if let Some(p) = self.peers.get_mut(&id) {
                p.predecessor = None;
            }
        }
    }
}
