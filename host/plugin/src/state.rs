//! The data of every plugin Store and the host interface the plugin
//! imports (`bgplet:plugin/host`).

use std::sync::Arc;

use arc_swap::ArcSwap;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use crate::bindings::bgplet::plugin::host::{self, Level};
use crate::bindings::bgplet::plugin::types;
use crate::raw::RawSlot;
use crate::stats::PluginStats;

/// Longest log line kept from a plugin, in bytes.
const MAX_LOG_LINE: usize = 1024;

/// This node as the `node-context` import reports it; the daemon sets it
/// with [`crate::PluginHost::set_node`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeRecord {
    /// Node name.
    pub name: String,
    /// Node AS.
    pub as_number: u32,
    /// Router id, dotted quad.
    pub router_id: String,
    /// IPv4 address, "" when none.
    pub ipv4_address: String,
    /// IPv6 address, "" when none.
    pub ipv6_address: String,
    /// Route-reflector cluster id, "" unless a reflector.
    pub rr_cluster_id: String,
}

/// `StoreLimits` plus a flag recording that a growth was refused, so an
/// out-of-memory trap can be told apart from other traps.
pub(crate) struct Limiter {
    limits: StoreLimits,
    pub(crate) denied: bool,
}

impl Limiter {
    pub(crate) fn new(memory: usize) -> Self {
        Self {
            limits: StoreLimitsBuilder::new()
                .memory_size(memory)
                .trap_on_grow_failure(true)
                .build(),
            denied: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let r = self.limits.memory_growing(current, desired, maximum);
        if !matches!(r, Ok(true)) {
            self.denied = true;
        }
        r
    }

    fn memory_grow_failed(
        &mut self,
        error: wasmtime::Error,
    ) -> wasmtime::Result<()> {
        self.denied = true;
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let r = self.limits.table_growing(current, desired, maximum);
        if !matches!(r, Ok(true)) {
            self.denied = true;
        }
        r
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// What one plugin Store carries.
pub(crate) struct HostState {
    pub(crate) limiter: Limiter,
    pub(crate) plugin: Arc<str>,
    /// The hook being called ("load" during describe and init).
    pub(crate) hook: &'static str,
    pub(crate) stats: Arc<PluginStats>,
    pub(crate) node: Arc<ArcSwap<NodeRecord>>,
    pub(crate) raw: RawSlot,
}

impl types::Host for HostState {}

impl host::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        let mut end = message.len().min(MAX_LOG_LINE);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let msg = &message[..end];
        let (plugin, hook) = (&*self.plugin, self.hook);
        match level {
            Level::Error => tracing::error!(plugin, hook, "{msg}"),
            Level::Warn => tracing::warn!(plugin, hook, "{msg}"),
            Level::Info => tracing::info!(plugin, hook, "{msg}"),
            Level::Debug => tracing::debug!(plugin, hook, "{msg}"),
            Level::Trace => tracing::trace!(plugin, hook, "{msg}"),
        }
    }

    fn count(&mut self, name: String, delta: u64) {
        self.stats.count(&name, delta);
    }

    fn node_context(&mut self) -> host::Node {
        let n = self.node.load();
        host::Node {
            name: n.name.clone(),
            as_number: n.as_number,
            router_id: n.router_id.clone(),
            ipv4_address: n.ipv4_address.clone(),
            ipv6_address: n.ipv6_address.clone(),
            rr_cluster_id: n.rr_cluster_id.clone(),
        }
    }

    fn attribute(&mut self, set: u32, type_code: u8) -> Option<Vec<u8>> {
        self.raw.attribute(set, type_code)
    }
}
