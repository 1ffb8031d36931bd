//! The [`Fib`] handle: desired state, what is installed, what is pending,
//! and the planning that turns changes into netlink requests.

use std::collections::{HashMap, HashSet};

use rtnetlink::packet_core::{
    NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use tokio::sync::mpsc;

use crate::codec::{self, KernelRoute};
use crate::nl::{self, Conn, Event};
use crate::reach::KernelView;
use crate::types::{effective_metric, satisfies, valid_prefix};
use crate::{
    FibAction, FibChange, FibConfig, FibCounters, FibError, FibFailure,
    FibNextHop, FibReport, FibRoute, PendingReason, Prefix,
};

/// Errnos that mean "the next hop is not usable yet": the route waits.
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
            Some(nl::watch()?)
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

    /// Updates the view from one notification.
    fn absorb(&mut self, ev: Event) {
        let msg = match ev.payload {
            NetlinkPayload::InnerMessage(m) => m,
            NetlinkPayload::Overrun(_) => {
                tracing::warn!("netlink notifications lost; will re-read");
                self.resync = true;
                return;
            }
            _ => return,
        };
        match msg {
            RouteNetlinkMessage::NewLink(l) => {
                if let Some((index, name, up)) = nl::link_info(&l) {
                    if !up && self.view.links.is_up(index) {
                        // IPv4 flushes routes through a downed link
                        // without telling anyone.
                        self.recheck_all = true;
                    }
                    self.view.links.upsert(index, name, up);
                }
            }
            RouteNetlinkMessage::DelLink(l) => {
                self.view.links.remove(l.header.index);
                self.recheck_all = true;
            }
            RouteNetlinkMessage::DelAddress(_) => self.recheck_all = true,
            RouteNetlinkMessage::NewRoute(r) => {
                if let Some(kr) = codec::decode(&r) {
                    let replace = ev.header.flags & NLM_F_REPLACE != 0;
                    self.alien_route(&kr, true, replace);
                }
            }
            RouteNetlinkMessage::DelRoute(r) => {
                if let Some(kr) = codec::decode(&r) {
                    self.our_route_deleted(&kr);
                    self.alien_route(&kr, false, false);
                }
            }
            _ => {}
        }
    }

    /// A route of ours went: expected if we deleted it; otherwise someone
    /// else did (or the kernel did, with a link) and the prefix is
    /// re-planned.
    fn our_route_deleted(&mut self, kr: &KernelRoute) {
        if kr.table != self.config.table || kr.protocol != self.config.protocol
        {
            return;
        }
        let key = (kr.prefix, effective_metric(&kr.prefix, kr.metric));
        if let Some(n) = self.expected_dels.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.expected_dels.remove(&key);
            }
            return;
        }
        let ours = self
            .installed
            .get(&kr.prefix)
            .is_some_and(|r| effective_metric(&r.prefix, r.metric) == key.1);
        if ours {
            tracing::info!(prefix = ?kr.prefix, "route of ours deleted by someone else");
            self.installed.remove(&kr.prefix);
            if self.desired.contains_key(&kr.prefix) {
                self.recheck.insert(kr.prefix);
            }
        }
    }

    fn alien_route(&mut self, kr: &KernelRoute, add: bool, replace: bool) {
        if kr.table != self.config.table || kr.protocol == self.config.protocol
        {
            return;
        }
        if replace {
            // Another protocol replaced the route at this key; if it was
            // ours, it is gone and the prefix waits for the key.
            let ours = self.installed.get(&kr.prefix).is_some_and(|r| {
                effective_metric(&r.prefix, r.metric)
                    == effective_metric(&kr.prefix, kr.metric)
            });
            if !ours {
                return;
            }
            self.installed.remove(&kr.prefix);
            if self.desired.contains_key(&kr.prefix) {
                self.pending.insert(kr.prefix, PendingReason::Occupied);
            }
        }
        self.view.route_event(kr, add);
        if !add && kr.is_connected() {
            self.recheck_all = true;
        }
    }

    /// Plans and sends what the given prefixes need.
    async fn program(&mut self, prefixes: Vec<Prefix>, report: &mut FibReport) {
        let mut ops = Vec::new();
        let mut cache = HashMap::new();
        for prefix in prefixes {
            self.plan(prefix, &mut ops, &mut cache, report);
        }
        report.pending = self.pending.len();
        self.execute(ops, report).await;
        report.pending = self.pending.len();
    }

    /// The next hops of `want` usable now, or why not all are.
    fn effective(
        &self,
        want: &FibRoute,
        cache: &mut HashMap<FibNextHop, bool>,
    ) -> (Option<FibRoute>, Option<PendingReason>) {
        let FibAction::Unicast(hops) = &want.action else {
            return (Some(want.clone()), None);
        };
        if self.conn.is_none() {
            return (Some(want.clone()), None);
        }
        let usable: Vec<FibNextHop> = hops
            .iter()
            .filter(|h| {
                *cache
                    .entry((*h).clone())
                    .or_insert_with(|| self.view.reachable(h))
            })
            .cloned()
            .collect();
        if usable.is_empty() {
            (None, Some(PendingReason::Unreachable))
        } else if usable.len() < hops.len() {
            let route = FibRoute {
                action: FibAction::Unicast(usable),
                ..want.clone()
            };
            (Some(route), Some(PendingReason::Partial))
        } else {
            (Some(want.clone()), None)
        }
    }

    fn plan(
        &mut self,
        prefix: Prefix,
        ops: &mut Vec<Op>,
        cache: &mut HashMap<FibNextHop, bool>,
        report: &mut FibReport,
    ) {
        let have = self.installed.get(&prefix);
        let Some(want) = self.desired.get(&prefix) else {
            self.pending.remove(&prefix);
            if let Some(have) = have {
                ops.push(Op::Delete(have.clone()));
            }
            return;
        };
        if let FibAction::Unicast(hops) = &want.action
            && (hops.is_empty()
                || hops.iter().any(|h| h.onlink && h.device.is_none()))
        {
            report.failures.push(FibFailure {
                prefix,
                error: FibError::InvalidNextHop(format!("{hops:?}")),
            });
            self.counters.failed += 1;
            return;
        }
        let (effective, reason) = self.effective(want, cache);
        let Some(route) = effective else {
            self.pending.insert(prefix, PendingReason::Unreachable);
            if let Some(have) = have {
                ops.push(Op::Delete(have.clone()));
            }
            return;
        };
        let metric = effective_metric(&prefix, route.metric);
        match have {
            Some(have) if satisfies(have, &route) => {}
            Some(have) if effective_metric(&prefix, have.metric) == metric => {
                ops.push(Op::Replace(route));
            }
            _ if self.conn.is_some()
                && self.view.occupied(&prefix, route.metric) =>
            {
                self.pending.insert(prefix, PendingReason::Occupied);
                if let Some(have) = have {
                    ops.push(Op::Delete(have.clone()));
                }
                return;
            }
            Some(have) => {
                // A new metric is a new kernel key: add, then drop the old.
                let old = have.clone();
                ops.push(Op::Add(route));
                ops.push(Op::Delete(old));
            }
            None => ops.push(Op::Add(route)),
        }
        match reason {
            Some(r) => self.pending.insert(prefix, r),
            None => self.pending.remove(&prefix),
        };
    }

    /// Sends the requests and folds the results into the state.
    async fn execute(&mut self, ops: Vec<Op>, report: &mut FibReport) {
        if ops.is_empty() {
            return;
        }
        let (table, proto) = (self.config.table, self.config.protocol);
        let mut requests = Vec::with_capacity(ops.len());
        let mut sent = Vec::with_capacity(ops.len());
        for op in ops {
            let encoded =
                match &op {
                    Op::Add(r) => {
                        codec::encode_new(r, table, proto, &self.view.links)
                            .map(|m| {
                                (
                                    RouteNetlinkMessage::NewRoute(m),
                                    NLM_F_CREATE | NLM_F_EXCL,
                                )
                            })
                    }
                    Op::Replace(r) => {
                        codec::encode_new(r, table, proto, &self.view.links)
                            .map(|m| {
                                (
                                    RouteNetlinkMessage::NewRoute(m),
                                    NLM_F_CREATE | NLM_F_REPLACE,
                                )
                            })
                    }
                    Op::Delete(r) => Ok((
                        RouteNetlinkMessage::DelRoute(codec::encode_del(
                            r, table, proto,
                        )),
                        0,
                    )),
                };
            match encoded {
                Ok(req) => {
                    if let Op::Delete(r) = &op {
                        let key =
                            (r.prefix, effective_metric(&r.prefix, r.metric));
                        *self.expected_dels.entry(key).or_insert(0) += 1;
                    }
                    requests.push(req);
                    sent.push(op);
                }
                Err(error) => self.settle(op, Err(error), report),
            }
        }
        let results = match &self.conn {
            Some(conn) => {
                conn.send_all(
                    requests,
                    self.config.batch_size,
                    self.config.in_flight,
                )
                .await
            }
            None => sent.iter().map(|_| Ok(())).collect(),
        };
        for (op, result) in sent.into_iter().zip(results) {
            self.settle(op, result, report);
        }
    }

    fn settle(
        &mut self,
        op: Op,
        result: Result<(), FibError>,
        report: &mut FibReport,
    ) {
        match (op, result) {
            (Op::Add(r), Ok(())) => {
                self.counters.installed += 1;
                report.installed += 1;
                self.installed.insert(r.prefix, r);
            }
            (Op::Replace(r), Ok(())) => {
                self.counters.replaced += 1;
                report.replaced += 1;
                self.installed.insert(r.prefix, r);
            }
            (Op::Delete(r), result) => {
                if result.is_err() {
                    // No notification follows a refused delete.
                    let key = (r.prefix, effective_metric(&r.prefix, r.metric));
                    if let Some(n) = self.expected_dels.get_mut(&key) {
                        *n -= 1;
                        if *n == 0 {
                            self.expected_dels.remove(&key);
                        }
                    }
                }
                let gone = match result {
                    Ok(()) => {
                        self.counters.removed += 1;
                        report.removed += 1;
                        true
                    }
                    // Already gone (IPv4 flushes routes of downed links).
                    Err(FibError::Kernel(ESRCH)) => true,
                    Err(error) => {
                        self.fail(r.prefix, error, report);
                        false
                    }
                };
                let same = self.installed.get(&r.prefix).is_some_and(|have| {
                    effective_metric(&r.prefix, have.metric)
                        == effective_metric(&r.prefix, r.metric)
                });
                if gone && same {
                    self.installed.remove(&r.prefix);
                }
            }
            (Op::Add(r) | Op::Replace(r), Err(error)) => match error {
                FibError::Kernel(
                    ENETUNREACH | EHOSTUNREACH | ENETDOWN | ENODEV,
                )
                | FibError::NoDevice(_) => {
                    self.pending.insert(r.prefix, PendingReason::Unreachable);
                }
                FibError::Kernel(EEXIST) => {
                    // Our view missed a route at this key: re-read the
                    // table before the next retry.
                    self.pending.insert(r.prefix, PendingReason::Occupied);
                    self.resync = true;
                }
                error => self.fail(r.prefix, error, report),
            },
        }
    }

    fn fail(
        &mut self,
        prefix: Prefix,
        error: FibError,
        report: &mut FibReport,
    ) {
        tracing::warn!(prefix = ?prefix, %error, "kernel refused a route");
        self.counters.failed += 1;
        report.failures.push(FibFailure { prefix, error });
    }
}
