//! The [`Fib`] handle: desired state, what is installed, what is pending,
//! and the calls the daemon makes.

mod events;
mod plan;

use std::collections::{HashMap, HashSet};

use tokio::sync::mpsc;

use crate::codec;
use crate::nl::{self, Conn, Event};
use crate::reach::KernelView;
use crate::types::valid_prefix;
use crate::{
    FibChange, FibConfig, FibCounters, FibError, FibFailure, FibReport,
    FibRoute, PendingReason, Prefix,
};

/// Errnos the FIB acts on: unreachable next hops (the route waits), a
/// taken key, a route already gone.
const ENODEV: i32 = 19;
const EEXIST: i32 = 17;
const ESRCH: i32 = 3;
const ENETDOWN: i32 = 100;
const ENETUNREACH: i32 = 101;
const EHOSTUNREACH: i32 = 113;

/// One kernel request.
#[derive(Debug)]
enum Op {
    /// `NLM_F_CREATE | NLM_F_EXCL`: never takes the key of a route that
    /// appeared behind our back (another protocol's, say).
    Add(FibRoute),
    /// `NLM_F_CREATE | NLM_F_REPLACE` over our own route at the same key.
    Replace(FibRoute),
    /// Delete our route (protocol set in the request).
    Delete(FibRoute),
}

/// The kernel FIB as bgplet programs it. Only routes carrying
/// [`FibConfig::protocol`] in [`FibConfig::table`] are ever changed; every
/// other route is read to learn reachability and occupied keys, never
/// touched.
pub struct Fib {
    config: FibConfig,
    /// `None` runs without touching the kernel (`--no-fib`).
    conn: Option<Conn>,
    events: Option<mpsc::UnboundedReceiver<Event>>,
    view: KernelView,
    /// What the daemon asked for, per prefix.
    desired: HashMap<Prefix, FibRoute>,
    /// Our routes in the kernel as far as we know, per prefix.
    installed: HashMap<Prefix, FibRoute>,
    /// Our routes found in the kernel at another metric than the one in
    /// `installed` (left by a previous run); removed by `remove_stale`.
    extra: Vec<FibRoute>,
    /// Prefixes found in the kernel and not re-asserted since.
    adopted: HashSet<Prefix>,
    pending: HashMap<Prefix, PendingReason>,
    counters: FibCounters,
    /// Notifications were lost: re-read the kernel before the next retry.
    resync: bool,
    /// Reachability may have dropped: re-plan every desired route.
    recheck_all: bool,
    /// Prefixes whose route of ours someone else deleted: re-plan them.
    recheck: HashSet<Prefix>,
    /// Deletes we sent whose notification has not been seen yet, by key,
    /// so that only deletions by others trigger a re-install.
    expected_dels: HashMap<(Prefix, u32), u32>,
}

impl Fib {
    /// Opens the FIB in the current network namespace (the socket belongs
    /// to the namespace of the thread that creates it), reads links and
    /// routes, and takes note of the routes of ours already there (see
    /// [`Fib::adopt`]). Must run inside a tokio runtime.
    pub async fn new(config: FibConfig) -> Result<Fib, FibError> {
        let conn = Conn::open()?;
        let events = if config.watch {
            Some(nl::watch(config.protocol)?)
        } else {
            None
        };
        let mut fib = Fib::with(config, Some(conn), events);
        fib.reread().await?;
        Ok(fib)
    }

    /// A FIB that records what it is asked and never touches the kernel
    /// (`--no-fib`): every route counts as installed.
    pub fn disabled(config: FibConfig) -> Fib {
        Fib::with(config, None, None)
    }

    fn with(
        config: FibConfig,
        conn: Option<Conn>,
        events: Option<mpsc::UnboundedReceiver<Event>>,
    ) -> Fib {
        Fib {
            config,
            conn,
            events,
            view: KernelView::default(),
            desired: HashMap::new(),
            installed: HashMap::new(),
            extra: Vec::new(),
            adopted: HashSet::new(),
            pending: HashMap::new(),
            counters: FibCounters::default(),
            resync: false,
            recheck_all: false,
            recheck: HashSet::new(),
            expected_dels: HashMap::new(),
        }
    }

    /// Whether this FIB programs the kernel.
    pub fn is_enabled(&self) -> bool {
        self.conn.is_some()
    }

    /// The counters; `pending` is the current number of pending routes.
    pub fn counters(&self) -> FibCounters {
        FibCounters {
            pending: self.pending.len() as u64,
            ..self.counters
        }
    }

    /// Our routes in the kernel, as far as this handle knows.
    pub fn installed(&self) -> impl Iterator<Item = &FibRoute> {
        self.installed.values()
    }

    /// Routes waiting for reachability or a free key, with the reason.
    pub fn pending(&self) -> impl Iterator<Item = (&Prefix, &PendingReason)> {
        self.pending.iter()
    }

    /// Re-reads the kernel table and returns our routes in it (protocol and
    /// table as configured) that have not been re-asserted since. They stay
    /// installed until [`Fib::remove_stale`]: routes of a previous run
    /// keep forwarding through a graceful restart. Routes of other
    /// protocols are not returned and never touched.
    pub async fn adopt(&mut self) -> Result<Vec<FibRoute>, FibError> {
        self.reread().await?;
        let mut out: Vec<FibRoute> = self
            .adopted
            .iter()
            .filter_map(|p| self.installed.get(p).cloned())
            .collect();
        out.extend(self.extra.iter().cloned());
        Ok(out)
    }

    /// Applies incremental changes: only the requests needed are sent, in
    /// batches; a refused route does not stop the others.
    pub async fn apply(&mut self, changes: Vec<FibChange>) -> FibReport {
        let mut report = FibReport::default();
        let mut touched = Vec::with_capacity(changes.len());
        let mut seen = HashSet::with_capacity(changes.len());
        for change in changes {
            let prefix = match &change {
                FibChange::Upsert(r) => r.prefix,
                FibChange::Remove(p) => *p,
            };
            if !valid_prefix(&prefix) {
                report.failures.push(FibFailure {
                    prefix,
                    error: FibError::InvalidPrefix(prefix.0, prefix.1),
                });
                continue;
            }
            self.adopted.remove(&prefix);
            match change {
                FibChange::Upsert(r) => {
                    self.desired.insert(prefix, r);
                }
                FibChange::Remove(p) => {
                    self.desired.remove(&p);
                }
            }
            if seen.insert(prefix) {
                touched.push(prefix);
            }
        }
        self.program(touched, &mut report).await;
        report
    }

    /// Makes our routes equal `desired`: upserts every route and removes
    /// the ones previously asked for and absent now. Adopted routes not in
    /// `desired` stay until [`Fib::remove_stale`].
    pub async fn sync(&mut self, desired: &[FibRoute]) -> FibReport {
        let wanted: HashSet<Prefix> =
            desired.iter().map(|r| r.prefix).collect();
        let mut changes: Vec<FibChange> = self
            .desired
            .keys()
            .filter(|p| !wanted.contains(p))
            .map(|p| FibChange::Remove(*p))
            .collect();
        changes.extend(desired.iter().cloned().map(FibChange::Upsert));
        self.apply(changes).await
    }

    /// Deletes our adopted routes that were not re-asserted and are not in
    /// `keep`; the daemon calls it when the graceful-restart window ends.
    /// Routes of other protocols are never deleted.
    pub async fn remove_stale(&mut self, keep: &HashSet<Prefix>) -> FibReport {
        let mut ops = Vec::new();
        for prefix in std::mem::take(&mut self.adopted) {
            if keep.contains(&prefix) || self.desired.contains_key(&prefix) {
                continue;
            }
            if let Some(r) = self.installed.get(&prefix) {
                ops.push(Op::Delete(r.clone()));
            }
        }
        for r in std::mem::take(&mut self.extra) {
            ops.push(Op::Delete(r));
        }
        let mut report = FibReport::default();
        self.execute(ops, &mut report).await;
        report
    }

    /// Waits for a kernel notification (link, address, or a route of
    /// another protocol) or for [`FibConfig::retry_interval`], absorbs all
    /// queued notifications, and returns; call [`Fib::retry_pending`] next.
    /// Cancel-safe, so it can sit in a `select!` beside the change feed.
    pub async fn next_event(&mut self) -> Result<(), FibError> {
        let interval = self.config.retry_interval;
        let Some(rx) = self.events.as_mut() else {
            tokio::time::sleep(interval).await;
            return Ok(());
        };
        let first = match tokio::time::timeout(interval, rx.recv()).await {
            Err(_) => return Ok(()),
            Ok(None) => return Err(FibError::Closed),
            Ok(Some(ev)) => ev,
        };
        let mut batch = vec![first];
        while let Ok(ev) = rx.try_recv() {
            batch.push(ev);
        }
        for ev in batch {
            self.absorb(ev);
        }
        Ok(())
    }

    /// Re-checks pending routes (all desired routes if reachability may
    /// have dropped, after a full re-read if notifications were lost) and
    /// installs what has become possible.
    pub async fn retry_pending(&mut self) -> FibReport {
        let mut report = FibReport::default();
        if self.resync {
            if let Err(error) = self.reread().await {
                tracing::warn!(%error, "re-reading the kernel table failed");
                return report;
            }
            self.recheck_all = true;
        }
        let recheck = std::mem::take(&mut self.recheck);
        let prefixes: Vec<Prefix> = if std::mem::take(&mut self.recheck_all) {
            self.desired.keys().copied().collect()
        } else {
            let pending = self.pending.keys().copied();
            let mut all: HashSet<Prefix> = pending.collect();
            all.extend(recheck);
            all.into_iter().collect()
        };
        self.program(prefixes, &mut report).await;
        report
    }

    /// Reads links and routes into the view; our routes into `installed`.
    async fn reread(&mut self) -> Result<(), FibError> {
        let Some(conn) = self.conn.clone() else {
            return Ok(());
        };
        let links = conn.links().await?;
        let routes = conn.routes().await?;
        self.resync = false;
        self.view.clear();
        for link in &links {
            if let Some((index, name, up)) = nl::link_info(link) {
                self.view.links.upsert(index, name, up);
            }
        }
        self.installed.clear();
        self.extra.clear();
        for msg in &routes {
            let Some(kr) = codec::decode(msg) else {
                continue;
            };
            if kr.table != self.config.table {
                continue;
            }
            if kr.protocol != self.config.protocol {
                self.view.route_event(&kr, true);
                continue;
            }
            let Some(route) = kr.to_fib(&self.view.links) else {
                tracing::debug!(
                    ?kr,
                    "route of ours of a type we do not manage"
                );
                continue;
            };
            if self.installed.contains_key(&route.prefix) {
                self.extra.push(route);
                continue;
            }
            if !self.desired.contains_key(&route.prefix) {
                self.adopted.insert(route.prefix);
            }
            self.installed.insert(route.prefix, route);
        }
        Ok(())
    }
}
