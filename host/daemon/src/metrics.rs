//! Prometheus metrics and health endpoints.
//!
//! The agent describes its counters as a [`MetricsView`]; [`render`]
//! turns it into the text exposition format (version 0.0.4) and
//! [`MetricsServer`] serves `/metrics`, `/healthz` and `/readyz` over
//! plain HTTP/1.1 on a loopback port. Like the BIRD socket, the server
//! owns no state: each request asks the agent through a channel.

mod http;
mod render;
#[cfg(test)]
mod tests;

pub use http::{DEFAULT_ADDR, Health, MetricsServer, Probe};
pub use render::{CONTENT_TYPE, render};

/// Upper bounds (seconds) of the plugin latency histogram: the plugin
/// host's buckets (a WASM hook normally answers in microseconds; the top
/// buckets catch calls running into the deadline).
pub const LATENCY_BUCKETS: [f64; 12] = bgplet_plugin::LATENCY_BUCKETS;

/// Everything exported, as of one moment.
#[derive(Debug, Clone, Default)]
pub struct MetricsView {
    /// Agent version, exported as `bgplet_build_info{version}`.
    pub version: String,
    /// One entry per configured BGP session.
    pub sessions: Vec<SessionMetrics>,
    /// One entry per loaded policy plugin.
    pub plugins: Vec<PluginMetrics>,
    /// Plugin reloads (manifest changes) by outcome.
    pub reloads: ReloadMetrics,
    /// Kernel route programming.
    pub fib: FibMetrics,
}

/// RFC 4271 §8.2.2 states, numbered 1 to 6 in the state gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// 1.
    Idle,
    /// 2.
    Connect,
    /// 3.
    Active,
    /// 4.
    OpenSent,
    /// 5.
    OpenConfirm,
    /// 6.
    Established,
}

impl SessionState {
    /// Every state, in gauge order.
    pub const ALL: [SessionState; 6] = [
        SessionState::Idle,
        SessionState::Connect,
        SessionState::Active,
        SessionState::OpenSent,
        SessionState::OpenConfirm,
        SessionState::Established,
    ];

    /// The `state` label value.
    pub fn label(self) -> &'static str {
        match self {
            SessionState::Idle => "idle",
            SessionState::Connect => "connect",
            SessionState::Active => "active",
            SessionState::OpenSent => "opensent",
            SessionState::OpenConfirm => "openconfirm",
            SessionState::Established => "established",
        }
    }

    /// The value of the per-peer state gauge.
    pub fn number(self) -> u8 {
        match self {
            SessionState::Idle => 1,
            SessionState::Connect => 2,
            SessionState::Active => 3,
            SessionState::OpenSent => 4,
            SessionState::OpenConfirm => 5,
            SessionState::Established => 6,
        }
    }
}

/// One BGP session.
#[derive(Debug, Clone)]
pub struct SessionMetrics {
    /// Session name (`Mesh_10_0_0_12`), the `peer` label.
    pub name: String,
    /// Peer address, the `address` label.
    pub address: String,
    /// Peer AS, the `peer_as` label.
    pub peer_as: u32,
    /// Current state.
    pub state: SessionState,
    /// Prefix counts per address family.
    pub families: Vec<FamilyPrefixes>,
    /// UPDATE messages received since the agent started.
    pub updates_received: u64,
    /// UPDATE messages sent since the agent started.
    pub updates_sent: u64,
}

/// Prefix counts of one session in one address family.
#[derive(Debug, Clone)]
pub struct FamilyPrefixes {
    /// `family` label, e.g. "ipv4_unicast" or "ipv6_unicast".
    pub family: String,
    /// Prefixes the peer announced and we hold.
    pub received: u64,
    /// Of those, prefixes import policy accepted.
    pub accepted: u64,
    /// Prefixes we announce to the peer.
    pub advertised: u64,
}

/// One policy plugin.
#[derive(Debug, Clone)]
pub struct PluginMetrics {
    /// Plugin name, the `plugin` label.
    pub plugin: String,
    /// One entry per hook the plugin implements.
    pub hooks: Vec<HookMetrics>,
    /// Loads of this plugin name (start, reloads, context changes).
    pub loads: LoadCounts,
}

/// Calls of one hook of one plugin.
#[derive(Debug, Clone)]
pub struct HookMetrics {
    /// Hook name, the `hook` label (e.g. "import", "export").
    pub hook: String,
    /// Calls made.
    pub calls: u64,
    /// Failed calls by cause.
    pub errors: HookErrors,
    /// Calls whose result was replaced by the built-in decision.
    pub fallbacks: u64,
    /// Call latency.
    pub latency: Histogram,
}

/// Failed plugin calls, by the `kind` label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HookErrors {
    /// The guest trapped.
    pub trap: u64,
    /// The call ran out of time or fuel.
    pub timeout: u64,
    /// The guest hit its memory limit.
    pub oom: u64,
    /// The guest answered something that does not decode.
    pub malformed: u64,
}

/// Loads of one plugin name, by the `outcome` label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadCounts {
    /// Compiled, checked and initialised.
    pub ok: u64,
    /// Refused by a load stage (compile, imports, world, init).
    pub rejected: u64,
}

/// Reloads of the whole plugin set (a new manifest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadMetrics {
    /// Validated and swapped in.
    pub applied: u64,
    /// Refused, per `reason` label (the failed stage), the running
    /// plugins kept.
    pub rejected: Vec<(String, u64)>,
}

/// Kernel route programming.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FibMetrics {
    /// Operations done, by the `op` label.
    pub operations: FibOps,
    /// Operations the kernel refused, by the `op` label.
    pub errors: FibOps,
    /// Changes waiting to be written.
    pub pending: u64,
}

/// Counts per route operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FibOps {
    /// New routes.
    pub add: u64,
    /// Changed routes.
    pub replace: u64,
    /// Removed routes.
    pub delete: u64,
}

/// A cumulative-on-render histogram with fixed bucket bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    bounds: Vec<f64>,
    /// Observations per bucket (not cumulative); one more entry than
    /// `bounds` for the +Inf bucket.
    counts: Vec<u64>,
    sum: f64,
}

impl Histogram {
    /// An empty histogram with the given ascending upper bounds.
    pub fn new(bounds: &[f64]) -> Self {
        Histogram {
            bounds: bounds.to_vec(),
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    /// An empty histogram with [`LATENCY_BUCKETS`].
    pub fn latency() -> Self {
        Self::new(&LATENCY_BUCKETS)
    }

    /// A histogram observed elsewhere: `counts` per bucket (not
    /// cumulative, the +Inf bucket last; missing buckets count 0, extra
    /// ones are added to +Inf) and the sum of the observations.
    pub fn from_counts(bounds: &[f64], counts: &[u64], sum: f64) -> Self {
        let mut h = Self::new(bounds);
        let last = h.counts.len() - 1;
        for (i, &n) in counts.iter().enumerate() {
            h.counts[i.min(last)] += n;
        }
        h.sum = sum;
        h
    }

    /// Records one observation (seconds).
    pub fn observe(&mut self, value: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(count) = self.counts.get_mut(slot) {
            *count += 1;
        }
        self.sum += value;
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Sum of the observations.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// `(upper bound, cumulative count)` per bucket, ending with +Inf.
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut total = 0;
        let mut out = Vec::with_capacity(self.counts.len());
        for (i, count) in self.counts.iter().enumerate() {
            total += count;
            let bound = self.bounds.get(i).copied().unwrap_or(f64::INFINITY);
            out.push((bound, total));
        }
        out
    }
}
