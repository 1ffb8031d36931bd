//! Stage 4: kernel decisions for prefixes whose best path or multipath
//! set changed, through the kernel hook in batches, diffed against what
//! was programmed before.

use std::net::IpAddr;

use bgplet_plugin_abi::{
    KernelAction, Policy, PolicyError, RouteAction, validate_kernel,
};
use bgplet_wire::Prefix;
use smallvec::SmallVec;

use crate::attrs::AttrSet;
use crate::rib::{Outbox, Rib};
use crate::select::Change;
use crate::words::{Table, encode_route};

/// Routes per kernel call.
const BATCH: usize = 1024;

/// How a prefix is programmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelOp {
    /// A route via the next hops.
    Install,
    /// A blackhole route.
    Blackhole,
    /// A route via the next hops, onlink through `tunl0`.
    Onlink,
    /// Remove the route programmed before.
    Remove,
}

/// One change for the FIB.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KernelChange {
    /// The destination.
    pub prefix: Prefix,
    /// What to do.
    pub action: KernelOp,
    /// The next hops (ECMP set: the best path's first, then the other
    /// multipath members', without duplicates); empty for blackholes and
    /// removals.
    pub next_hops: Vec<IpAddr>,
    /// Route metric; 0 for the kernel default.
    pub metric: u32,
}

/// ECMP next hops, inline up to two.
pub(crate) type Hops = SmallVec<[IpAddr; 2]>;

/// The next hops of a best path followed by its multipath companions,
/// each address once, in that order.
pub(crate) fn ecmp_hops<'a>(
    members: impl IntoIterator<Item = &'a AttrSet>,
) -> Hops {
    let mut hops = Hops::new();
    for ip in members.into_iter().filter_map(AttrSet::next_hop_ip) {
        if !hops.contains(&ip) {
            hops.push(ip);
        }
    }
    hops
}

/// One kernel hook call over `n` routes, its answer validated.
pub(crate) fn ask_kernel<P: Policy + ?Sized>(
    policy: &mut P,
    table: &Table,
    words: &[u32],
    n: usize,
) -> Result<Vec<KernelAction>, PolicyError> {
    policy
        .kernel(&table.words, words, table)
        .and_then(|a| validate_kernel(n, &a).map_err(PolicyError::Malformed))
}

/// What is programmed for a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FibRoute {
    pub action: KernelOp,
    pub next_hops: Hops,
    pub metric: u32,
}

impl<P: Policy> Rib<P> {
    /// Runs the kernel hook over the changed best routes and queues
    /// the differences.
    pub(crate) fn program_kernel(
        &mut self,
        changes: &[Change],
        out: &mut Outbox,
    ) {
        if !self.kernel {
            return;
        }
        let prefixes: Vec<Prefix> = changes
            .iter()
            .filter(|c| c.kernel)
            .map(|c| c.prefix)
            .collect();
        for chunk in prefixes.chunks(BATCH) {
            self.kernel_chunk(chunk, out);
        }
    }

    fn kernel_chunk(&mut self, chunk: &[Prefix], out: &mut Outbox) {
        let mut table = Table::default();
        let mut words = Vec::new();
        // The prefixes asked about, with their ECMP next hops.
        let mut asked: Vec<(Prefix, Hops)> = Vec::new();
        let mut gone: Vec<Prefix> = Vec::new();
        for prefix in chunk {
            let best = self
                .loc
                .get(prefix)
                .and_then(|d| d.cands.iter().find(|c| c.best).map(|b| (d, b)));
            let Some((dest, best)) = best else {
                gone.push(*prefix);
                continue;
            };
            let set = table.index(&best.attrs);
            encode_route(set, prefix, best.flags, best.path_id, &mut words);
            let others = dest.cands.iter().filter(|c| c.multipath && !c.best);
            let hops = ecmp_hops(
                std::iter::once(&*best.attrs).chain(others.map(|c| &*c.attrs)),
            );
            asked.push((*prefix, hops));
        }
        let answers = if asked.is_empty() {
            Vec::new()
        } else {
            match ask_kernel(&mut self.policy, &table, &words, asked.len()) {
                Ok(a) => a,
                Err(e) => {
                    // Leave the kernel as it is for these prefixes.
                    self.policy_errors.kernel += 1;
                    self.policy_failed(e);
                    asked.clear();
                    Vec::new()
                }
            }
        };
        for prefix in gone {
            self.set_fib(prefix, None, out);
        }
        for ((prefix, hops), KernelAction { action, metric }) in
            asked.into_iter().zip(answers)
        {
            let want = match action {
                RouteAction::Skip => None,
                RouteAction::Blackhole => Some(FibRoute {
                    action: KernelOp::Blackhole,
                    next_hops: Hops::new(),
                    metric,
                }),
                // A route without a next hop (a local one) cannot be
                // installed via it.
                RouteAction::Install | RouteAction::Onlink
                    if hops.is_empty() =>
                {
                    None
                }
                RouteAction::Install => Some(FibRoute {
                    action: KernelOp::Install,
                    next_hops: hops,
                    metric,
                }),
                RouteAction::Onlink => Some(FibRoute {
                    action: KernelOp::Onlink,
                    next_hops: hops,
                    metric,
                }),
            };
            self.set_fib(prefix, want, out);
        }
    }

    fn set_fib(
        &mut self,
        prefix: Prefix,
        want: Option<FibRoute>,
        out: &mut Outbox,
    ) {
        let have = self.fib.get(&prefix);
        if have == want.as_ref() {
            return;
        }
        let change = match &want {
            Some(r) => KernelChange {
                prefix,
                action: r.action,
                next_hops: r.next_hops.to_vec(),
                metric: r.metric,
            },
            None => KernelChange {
                prefix,
                action: KernelOp::Remove,
                next_hops: Vec::new(),
                metric: have.map_or(0, |r| r.metric),
            },
        };
        match want {
            Some(r) => {
                self.fib.insert(prefix, r);
            }
            None => {
                self.fib.remove(&prefix);
            }
        }
        out.kernel.push(change);
    }
}
