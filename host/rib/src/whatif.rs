//! What-if evaluation: every route decided again under another policy
//! (a plugin candidate, before it is activated) and compared with what
//! the RIB decided under its own.
//!
//! [`Rib::what_if`] takes `&self`: the Loc-RIB, the Adj-RIBs-Out, the
//! kernel state and the RIB's own policy are neither changed nor called,
//! so nothing a session or the kernel sees can move. It runs the same
//! stages as [`Rib::reevaluate`] (import from the pre-policy Adj-RIB-In
//! copies and the local routes, selection, export per update group,
//! kernel) in the same batches, without encoding any UPDATE, and
//! reports per prefix what a reload to that policy would change.

mod eval;

use std::net::IpAddr;
use std::sync::Arc;

use bgplet_plugin_abi::{Policy, PolicyError};
use bgplet_wire::Prefix;

use crate::attrs::AttrSet;
use crate::kernel::KernelOp;
use crate::rib::{PolicyErrors, Rib};

/// What a policy would change, prefix by prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhatIf {
    /// Every prefix with at least one difference, sorted.
    pub changes: Vec<PrefixChange>,
    /// Prefixes evaluated (the Loc-RIB and the kernel state together).
    pub prefixes: usize,
    /// Received and local paths run through import.
    pub paths: usize,
    /// Batches of the evaluated policy that failed (trap, timeout,
    /// malformed answer); the RIB's fallback for each was applied, as a
    /// live reload would. A hook the policy does not implement is not
    /// counted.
    pub policy_errors: PolicyErrors,
    /// The last of those failures.
    pub last_policy_error: Option<PolicyError>,
}

/// The differences for one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixChange {
    /// The prefix.
    pub prefix: Prefix,
    /// Paths whose import verdict or accepted attributes change.
    pub import: Vec<ImportChange>,
    /// The best path changes (another path, other attributes, or none).
    pub best: Option<BestChange>,
    /// Update groups whose advertisement changes.
    pub export: Vec<ExportChange>,
    /// The kernel route changes.
    pub kernel: Option<KernelDiff>,
}

/// One received (or local) path under both policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportChange {
    /// Session name, or "local".
    pub source: Arc<str>,
    /// The path id the source used (0 without ADD-PATH).
    pub path_id: u32,
    /// Accepted attributes now; `None`: rejected.
    pub before: Option<Arc<AttrSet>>,
    /// Accepted attributes under the evaluated policy.
    pub after: Option<Arc<AttrSet>>,
}

/// A selected path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRef {
    /// Session name, or "local".
    pub source: Arc<str>,
    /// The path id the source used.
    pub path_id: u32,
    /// Its attributes after import.
    pub attrs: Arc<AttrSet>,
}

/// The best path now and under the evaluated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestChange {
    /// Now; `None`: no usable path.
    pub before: Option<PathRef>,
    /// Under the evaluated policy.
    pub after: Option<PathRef>,
}

/// What one update group is sent for a prefix (one path id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportChange {
    /// The update group's id.
    pub group: u32,
    /// The sessions that would see the change, sorted.
    pub peers: Vec<Arc<str>>,
    /// Our ADD-PATH path id, 0 without ADD-PATH.
    pub path_id: u32,
    /// Attributes sent now (next hop included); `None`: not announced.
    pub before: Option<Arc<AttrSet>>,
    /// Attributes that would be sent.
    pub after: Option<Arc<AttrSet>>,
}

/// A kernel route as programmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRoute {
    /// Install, blackhole or onlink (never `Remove`).
    pub action: KernelOp,
    /// ECMP next hops; empty for blackholes.
    pub next_hops: Vec<IpAddr>,
    /// Route metric; 0 for the kernel default.
    pub metric: u32,
}

/// The kernel route now and under the evaluated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelDiff {
    /// Programmed now; `None`: not installed.
    pub before: Option<KernelRoute>,
    /// Under the evaluated policy.
    pub after: Option<KernelRoute>,
}

impl PrefixChange {
    fn new(prefix: Prefix) -> Self {
        Self {
            prefix,
            import: Vec::new(),
            best: None,
            export: Vec::new(),
            kernel: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.import.is_empty()
            && self.best.is_none()
            && self.export.is_empty()
            && self.kernel.is_none()
    }
}

impl<P: Policy> Rib<P> {
    /// Decides every route again under `policy` and returns what would
    /// differ from the RIB's current decisions, without changing the RIB
    /// or calling its own policy. Costs about what [`Rib::reevaluate`]
    /// costs (the same hook calls), less the encoding.
    pub fn what_if<Q: Policy + ?Sized>(&self, policy: &mut Q) -> WhatIf {
        eval::Eval::new(self, policy).run()
    }
}

/// Attribute sets equal by handle or by value.
fn same_attrs(a: &Arc<AttrSet>, b: &Arc<AttrSet>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

/// Whether a failed hook call counts as a failure of the evaluated
/// policy (a hook it does not implement is its choice, not a fault).
fn counts_as_error(e: &PolicyError) -> bool {
    !matches!(e, PolicyError::NotImplemented(_))
}
