//! The host functions a plugin may call (WIT `host`).
//!
//! In the wasm build they call the host; compiled natively they go to the
//! thread-local recorder of [`crate::testing`], so plugin logic is
//! unit-testable with `cargo test`.

/// Log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Error.
    Error,
    /// Warning.
    Warn,
    /// Information.
    Info,
    /// Debugging.
    Debug,
    /// Tracing.
    Trace,
}

/// This node, read-only (WIT `host.node`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// Node name.
    pub name: String,
    /// Node AS.
    pub as_number: u32,
    /// Router id, dotted quad.
    pub router_id: String,
    /// IPv4 address ("" when none).
    pub ipv4_address: String,
    /// IPv6 address ("" when none).
    pub ipv6_address: String,
    /// Route-reflector cluster id ("" unless an RR).
    pub rr_cluster_id: String,
}

/// Writes a log line, tagged by the host with the plugin and hook.
pub fn log(level: Level, message: &str) {
    imp::log(level, message);
}

/// Adds `delta` to the plugin's counter `name`.
pub fn count(name: &str, delta: u64) {
    imp::count(name, delta);
}

/// This node.
pub fn node_context() -> Node {
    imp::node_context()
}

/// The raw value of attribute `type_code` of attribute set `set` of the
/// current batch. Prefer [`crate::RouteRef::raw_attribute`].
pub fn attribute(set: u32, type_code: u8) -> Option<Vec<u8>> {
    imp::attribute(set, type_code)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{Level, Node};
    use crate::wasm::bindings::bgplet::plugin::host as h;

    pub fn log(level: Level, message: &str) {
        let level = match level {
            Level::Error => h::Level::Error,
            Level::Warn => h::Level::Warn,
            Level::Info => h::Level::Info,
            Level::Debug => h::Level::Debug,
            Level::Trace => h::Level::Trace,
        };
        h::log(level, message);
    }

    pub fn count(name: &str, delta: u64) {
        h::count(name, delta);
    }

    pub fn node_context() -> Node {
        let n = h::node_context();
        Node {
            name: n.name,
            as_number: n.as_number,
            router_id: n.router_id,
            ipv4_address: n.ipv4_address,
            ipv6_address: n.ipv6_address,
            rr_cluster_id: n.rr_cluster_id,
        }
    }

    pub fn attribute(set: u32, type_code: u8) -> Option<Vec<u8>> {
        h::attribute(set, type_code)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{Level, Node};
    use crate::testing::with_recorder;

    pub fn log(level: Level, message: &str) {
        with_recorder(|r| r.logs.push((level, message.to_owned())));
    }

    pub fn count(name: &str, delta: u64) {
        with_recorder(|r| {
            *r.counters.entry(name.to_owned()).or_insert(0) += delta;
        });
    }

    pub fn node_context() -> Node {
        with_recorder(|r| r.node.clone())
    }

    pub fn attribute(set: u32, type_code: u8) -> Option<Vec<u8>> {
        with_recorder(|r| r.attributes.get(&(set, type_code)).cloned())
    }
}
