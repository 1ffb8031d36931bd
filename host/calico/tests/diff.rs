//! Plan diffs: only sessions whose parameters changed are "changed".

#![allow(clippy::unwrap_used)]

mod common;

use bgplet_calico::{Resources, diff};
use common::{load, plan};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn identical_plans_have_an_empty_diff() {
    let res = load("tor.yaml");
    let d = diff(&plan(&res, "n1"), &plan(&res, "n1"));
    assert!(d.is_empty());
    assert_eq!(
        d.unchanged,
        ["Global_10_0_0_1", "Mesh_10_0_0_12", "Mesh_10_0_0_13"]
    );
}

#[test]
fn changing_one_peer_reports_only_that_session_as_changed() {
    let old = load("tor.yaml");
    let text = fixture("tor.yaml").replace(
        "  peerIP: 10.0.0.1\n  asNumber: 65000\n",
        "  peerIP: 10.0.0.1\n  asNumber: 65000\n  ttlSecurity: 1\n",
    );
    let new = Resources::from_yaml_str(&text).unwrap();
    let d = diff(&plan(&old, "n1"), &plan(&new, "n1"));
    assert!(d.added.is_empty() && d.removed.is_empty());
    assert_eq!(d.changed.len(), 1);
    assert_eq!(d.changed[0].old.name, "Global_10_0_0_1");
    assert_eq!(d.changed[0].old.ttl_security, None);
    assert_eq!(d.changed[0].new.ttl_security, Some(1));
    assert_eq!(d.unchanged, ["Mesh_10_0_0_12", "Mesh_10_0_0_13"]);
}

#[test]
fn adding_and_removing_nodes_adds_and_removes_mesh_sessions() {
    let old = load("mesh_3node.yaml");
    let text = fixture("mesh_3node.yaml")
        .replace("ipv4Address: 10.0.0.13/24", "ipv4Address: 10.0.0.14/24");
    let new = Resources::from_yaml_str(&text).unwrap();
    let d = diff(&plan(&old, "n1"), &plan(&new, "n1"));
    let added: Vec<&str> = d.added.iter().map(|s| s.name.as_str()).collect();
    let removed: Vec<&str> =
        d.removed.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(added, ["Mesh_10_0_0_14"]);
    assert_eq!(removed, ["Mesh_10_0_0_13"]);
    assert!(d.changed.is_empty());
    assert_eq!(d.unchanged, ["Mesh_10_0_0_12"]);
}

#[test]
fn a_mesh_password_change_resets_every_mesh_session() {
    let old = load("dual_stack.yaml");
    let text = fixture("dual_stack.yaml")
        .replace("mesh: bWVzaC1wYXNzd29yZA==", "mesh: bmV3LXBhc3N3b3Jk");
    let new = Resources::from_yaml_str(&text).unwrap();
    let d = diff(&plan(&old, "n1"), &plan(&new, "n1"));
    let changed: Vec<&str> =
        d.changed.iter().map(|c| c.new.name.as_str()).collect();
    assert_eq!(
        changed,
        ["Mesh_10_0_0_12", "Mesh_fd00__12", "Mesh_fd00__13"]
    );
    assert_eq!(
        d.changed[0].new.password.as_ref().unwrap().as_str(),
        "new-password"
    );
    assert_eq!(d.unchanged.len(), 4);
}
