//! Helpers shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used)]

use bgplet_calico::{NodePlan, PlanOptions, PlannedSession, Resources};

/// Loads and validates a fixture from tests/fixtures.
pub fn load(name: &str) -> Resources {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    match Resources::from_yaml_str(&text) {
        Ok(r) => r,
        Err(e) => panic!("{name}: {e}"),
    }
}

/// Plans a node with default options.
pub fn plan(res: &Resources, node: &str) -> NodePlan {
    bgplet_calico::plan_node(res, node, &PlanOptions::default()).unwrap()
}

/// The session names of a plan, in order.
pub fn names(plan: &NodePlan) -> Vec<&str> {
    plan.sessions.iter().map(|s| s.name.as_str()).collect()
}

/// A session that must exist.
pub fn session<'a>(plan: &'a NodePlan, name: &str) -> &'a PlannedSession {
    plan.session(name)
        .unwrap_or_else(|| panic!("no session {name} in {:?}", names(plan)))
}
