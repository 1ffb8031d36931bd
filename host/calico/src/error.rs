//! Errors and warnings of loading and planning.

use std::fmt;

/// One problem in one resource: which resource, which field, what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {name:?} field {field}: {message}")]
pub struct FieldError {
    /// The resource kind (`BGPPeer`), or `document #N` when the kind is
    /// unknown.
    pub kind: String,
    /// metadata.name (empty when missing).
    pub name: String,
    /// The field path, e.g. `spec.peerIP`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Something that loads but that an operator should hear about:
/// skipped kinds, missing secrets, ignored per-node fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The resource kind.
    pub kind: String,
    /// metadata.name.
    pub name: String,
    /// What happened.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.kind, self.name, self.message)
    }
}

/// Why a set of resources could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A YAML document is not well-formed (parsing stops there).
    #[error("YAML document {document}: {message}")]
    Yaml {
        /// 1-based index of the document in the stream.
        document: usize,
        /// The YAML parser's message (with line and column).
        message: String,
    },
    /// One or more resources are invalid; every problem is listed.
    #[error("{}", join_errors(errors))]
    Invalid {
        /// All field errors, in document order.
        errors: Vec<FieldError>,
        /// Warnings gathered before validation failed.
        warnings: Vec<Warning>,
    },
}

fn join_errors(errors: &[FieldError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    lines.join("; ")
}

/// Why a node's sessions could not be planned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// No Calico Node with this name exists.
    #[error("no Calico Node named {0:?}")]
    UnknownNode(String),
    /// The node has no IPv4 address and no router id override; BIRD
    /// needs one (an IPv6-only node must set `CALICO_ROUTER_ID`).
    #[error("node {0:?} has no IPv4 address; set a router id")]
    NoRouterId(String),
    /// The router id override is neither `hash` nor an IPv4 address.
    #[error("router id {0:?} is neither \"hash\" nor an IPv4 address")]
    BadRouterId(String),
}
