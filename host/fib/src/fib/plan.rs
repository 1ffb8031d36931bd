//! Planning: from desired and installed state to netlink requests, and
//! folding the kernel's answers back into the state.

use std::collections::HashMap;

use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use rtnetlink::packet_route::RouteNetlinkMessage;

use super::{
    EEXIST, EHOSTUNREACH, ENETDOWN, ENETUNREACH, ENODEV, ESRCH, Fib, Op,
};
use crate::codec;
use crate::types::{effective_metric, satisfies};
use crate::{
    FibAction, FibError, FibFailure, FibNextHop, FibReport, FibRoute,
    PendingReason, Prefix,
};

impl Fib {
    /// Plans and sends what the given prefixes need.
    pub(super) async fn program(
        &mut self,
        prefixes: Vec<Prefix>,
        report: &mut FibReport,
    ) {
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

    /// When a previous run left two routes of ours for the prefix and the
    /// one at the wanted metric is the spare, swap them, so the wanted key
    /// is replaced in place rather than added (which would collide).
    fn promote_extra(&mut self, prefix: Prefix) {
        if self.extra.is_empty() {
            return;
        }
        let Some(want) = self.desired.get(&prefix) else {
            return;
        };
        let metric = effective_metric(&prefix, want.metric);
        let Some(at) = self.extra.iter().position(|r| {
            r.prefix == prefix && effective_metric(&prefix, r.metric) == metric
        }) else {
            return;
        };
        let spare = self.extra.swap_remove(at);
        if let Some(old) = self.installed.insert(prefix, spare) {
            self.extra.push(old);
        }
    }

    fn plan(
        &mut self,
        prefix: Prefix,
        ops: &mut Vec<Op>,
        cache: &mut HashMap<FibNextHop, bool>,
        report: &mut FibReport,
    ) {
        self.promote_extra(prefix);
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
    pub(super) async fn execute(
        &mut self,
        ops: Vec<Op>,
        report: &mut FibReport,
    ) {
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
