//! Kernel notifications: links, addresses, routes of others and of ours.

use rtnetlink::packet_core::{NLM_F_REPLACE, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;

use super::Fib;
use crate::PendingReason;
use crate::codec::{self, KernelRoute};
use crate::nl::{self, Event};
use crate::types::effective_metric;

impl Fib {
    /// Updates the view from one notification.
    pub(super) fn absorb(&mut self, ev: Event) {
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
}
