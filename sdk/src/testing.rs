//! Native test support: the recorder behind the host functions, and
//! routes built from plain values.

use std::cell::RefCell;
use std::collections::BTreeMap;

use bgplet_plugin_abi::{
    AttrSet, AttrTable, NoRawAttributes, RawAttributes, Route, SourceFlags,
};

use crate::host::{Level, Node};
use crate::{Prefix, RouteRef};

/// What the host functions saw on this thread (native builds).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    /// Log lines in order.
    pub logs: Vec<(Level, String)>,
    /// Counter totals.
    pub counters: BTreeMap<String, u64>,
    /// What `node_context` returns.
    pub node: Node,
    /// What `attribute(set, type_code)` returns.
    pub attributes: BTreeMap<(u32, u8), Vec<u8>>,
}

thread_local! {
    static RECORDER: RefCell<Recorder> = RefCell::new(Recorder::default());
}

/// Runs `f` on this thread's recorder.
pub fn with_recorder<R>(f: impl FnOnce(&mut Recorder) -> R) -> R {
    RECORDER.with(|r| f(&mut r.borrow_mut()))
}

/// Takes this thread's recorder, leaving a default one.
pub fn take_recorder() -> Recorder {
    with_recorder(std::mem::take)
}

/// Sets what `node_context` returns on this thread.
pub fn set_node(node: Node) {
    with_recorder(|r| r.node = node);
}

/// A route with its own attribute table, for unit tests.
#[derive(Debug, Clone)]
pub struct OwnedRoute {
    words: Vec<u32>,
    route: Route,
}

impl OwnedRoute {
    /// `prefix` (e.g. "10.244.0.0/26") with `attrs`, from `source`.
    ///
    /// # Panics
    ///
    /// When `prefix` does not parse (test input).
    #[allow(clippy::expect_used)]
    pub fn new(prefix: &str, source: SourceFlags, attrs: &AttrSet) -> Self {
        let p: Prefix = prefix.parse().expect("test prefix");
        let mut words = Vec::new();
        attrs.encode(&mut words);
        Self {
            words,
            route: Route {
                attr: 0,
                prefix: p.addr,
                len: p.len,
                source,
                path_id: 0,
            },
        }
    }

    /// Runs `f` on the route as a hook sees it.
    pub fn with<R>(&self, f: impl FnOnce(&RouteRef<'_>) -> R) -> R {
        self.with_raw(&NoRawAttributes, f)
    }

    /// Like [`OwnedRoute::with`], with raw attribute access.
    ///
    /// # Panics
    ///
    /// Never: the words come from `AttrSet::encode`.
    #[allow(clippy::expect_used)]
    pub fn with_raw<R>(
        &self,
        raw: &dyn RawAttributes,
        f: impl FnOnce(&RouteRef<'_>) -> R,
    ) -> R {
        let table = AttrTable::parse(&self.words).expect("encoded set");
        let view = table.get(0).expect("one set");
        f(&RouteRef::new(0, self.route, view, raw))
    }
}
