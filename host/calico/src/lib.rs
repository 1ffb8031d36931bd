//! Calico's BGP resources (`projectcalico.org/v3`, and the
//! `crd.projectcalico.org/v1` storage shape), their validation, and the
//! per-node session plan that calico-node's confd would compute.
//!
//! The crate is pure: it reads strings and returns data. The flow is
//!
//! 1. [`Resources::from_yaml_str`] parses `calicoctl apply -f` style
//!    YAML and validates it, collecting every [`FieldError`];
//! 2. [`plan_node`] turns the resources into a [`NodePlan`] for one
//!    node: local parameters, BGP sessions per family, local blocks,
//!    pools, service ranges and the per-service host routes of
//!    Kubernetes Services (calico-bgp.md 4.9);
//! 3. [`diff`] compares two plans so a daemon knows which sessions to
//!    add, remove or reset.
//!
//! ```
//! use bgplet_calico::{PlanOptions, Resources, diff, plan_node};
//!
//! let yaml = r#"
//! apiVersion: projectcalico.org/v3
//! kind: Node
//! metadata: {name: n1}
//! spec: {bgp: {ipv4Address: 10.0.0.11/24}}
//! ---
//! apiVersion: projectcalico.org/v3
//! kind: Node
//! metadata: {name: n2}
//! spec: {bgp: {ipv4Address: 10.0.0.12/24}}
//! "#;
//! let res = Resources::from_yaml_str(yaml)?;
//! let plan = plan_node(&res, "n1", &PlanOptions::default())?;
//! assert_eq!(plan.sessions[0].name, "Mesh_10_0_0_12");
//! assert!(plan.sessions[0].passive); // "10.0.0.12" sorts after ours
//! assert!(diff(&plan, &plan).is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! References to "calico-bgp.md" are to the project's Calico spec
//! (`docs/calico-bgp.md` in the shared docs).

#![warn(missing_docs)]
// Tests may unwrap (house rule); library code may not.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod convert;
mod diff;
mod encoding;
mod error;
mod k8s;
mod load;
mod model;
mod plan;
mod raw;
mod selector;
mod types;

pub use error::{ConfigError, FieldError, PlanError, Warning};
pub use k8s::*;
pub use load::Resources;
pub use model::*;

pub use diff::{SessionChange, SessionDiff, diff};
pub use plan::*;
pub use selector::{Selector, SelectorError};
pub use types::{Asn, Cidr, Family, PeerAddr, parse_go_duration};
