//! Golden planning tests: the oracles of calico-bgp.md §3 and §6.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use bgplet_calico::{
    Asn, BindMode, Family, NextHopMode, PeerKind, PlanError, PlanOptions,
    hashed_router_id, plan_node,
};
use common::{load, names, plan, session};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn three_node_mesh_has_the_expected_sessions_and_passive_sides() {
    let res = load("mesh_3node.yaml");
    // n1: both peers sort after 10.0.0.11, so both are passive.
    let n1 = plan(&res, "n1");
    assert_eq!(names(&n1), ["Mesh_10_0_0_12", "Mesh_10_0_0_13"]);
    assert!(session(&n1, "Mesh_10_0_0_12").passive);
    assert!(session(&n1, "Mesh_10_0_0_13").passive);
    // n2: active to n1, passive to n3.
    let n2 = plan(&res, "n2");
    assert_eq!(names(&n2), ["Mesh_10_0_0_11", "Mesh_10_0_0_13"]);
    assert!(!session(&n2, "Mesh_10_0_0_11").passive);
    assert!(session(&n2, "Mesh_10_0_0_13").passive);
    // n3: active to both.
    let n3 = plan(&res, "n3");
    assert_eq!(names(&n3), ["Mesh_10_0_0_11", "Mesh_10_0_0_12"]);
    assert!(n3.sessions.iter().all(|s| !s.passive));
}

#[test]
fn mesh_sessions_carry_calico_defaults() {
    let res = load("mesh_3node.yaml");
    let n1 = plan(&res, "n1");
    let s = session(&n1, "Mesh_10_0_0_12");
    assert_eq!(s.kind, PeerKind::Mesh);
    assert_eq!(s.kind.label(), "node-to-node mesh");
    assert_eq!(s.family, Family::V4);
    assert_eq!(s.peer_ip, ip("10.0.0.12"));
    assert_eq!(s.port, 179);
    assert_eq!(s.local_as, Asn::DEFAULT);
    assert_eq!(s.remote_as, Asn::DEFAULT);
    assert!(s.ibgp);
    assert_eq!(s.source_address, Some(ip("10.0.0.11")));
    assert_eq!(s.ttl_security, None);
    assert_eq!(s.password, None);
    assert_eq!(s.restart_time_secs, 120);
    assert_eq!(s.keepalive_secs, None);
    assert!(s.filters.is_empty());
    assert_eq!(s.next_hop, NextHopMode::Auto);
    assert!(!s.rr_client);
    assert_eq!(s.rr_cluster_id, None);
}

#[test]
fn mesh_local_parameters_blocks_and_pools_are_planned() {
    let res = load("mesh_3node.yaml");
    let n1 = plan(&res, "n1");
    let l = &n1.local;
    assert_eq!(l.name, "n1");
    assert_eq!(l.ipv4, Some(Ipv4Addr::new(10, 0, 0, 11)));
    assert_eq!(l.ipv4_subnet.unwrap().to_string(), "10.0.0.0/24");
    assert_eq!(l.ipv6, None);
    assert_eq!(l.router_id, Ipv4Addr::new(10, 0, 0, 11));
    assert_eq!(l.as_number.value(), 64512);
    assert_eq!(l.listen_port, 179);
    assert_eq!(l.rr_cluster_id, None);
    assert_eq!(l.bind_mode, BindMode::None);
    assert_eq!(l.log_severity, "Info");
    let blocks: Vec<String> =
        n1.local_blocks.iter().map(|b| b.cidr.to_string()).collect();
    assert_eq!(blocks, ["10.244.0.0/26"]);
    assert_eq!(n1.pools.len(), 1);
    assert_eq!(n1.pools[0].cidr.to_string(), "10.244.0.0/16");
    assert_eq!(n1.pools[0].block_size, 26);
    assert!(n1.warnings.is_empty(), "{:?}", n1.warnings);
}

#[test]
fn kubernetes_storage_shape_plans_like_the_v3_shape() {
    let v3 = load("mesh_3node.yaml");
    let mut kdd = load("mesh_3node_kdd.yaml");
    // Only the Kubernetes Node carries a podCIDR (host-local IPAM).
    let n1 = kdd.nodes.get_mut("n1").unwrap();
    assert_eq!(n1.pod_cidrs[0].to_string(), "10.244.0.0/24");
    n1.pod_cidrs.clear();
    assert_eq!(v3.nodes, kdd.nodes);
    assert_eq!(v3.pools, kdd.pools);
    assert_eq!(v3.block_affinities, kdd.block_affinities);
    for node in ["n1", "n2", "n3"] {
        assert_eq!(plan(&v3, node), plan(&kdd, node));
    }
    // The IPAMBlock is not read: skipped with a warning, not an error.
    assert!(kdd.warnings.iter().any(|w| w.kind == "IPAMBlock"));
}

#[test]
fn route_reflector_clients_peer_with_both_reflectors() {
    let res = load("route_reflectors.yaml");
    for client in ["n1", "n2", "n3"] {
        let p = plan(&res, client);
        assert_eq!(names(&p), ["Node_10_0_0_21", "Node_10_0_0_22"]);
        for s in &p.sessions {
            assert_eq!(s.kind, PeerKind::Node);
            assert_eq!(s.kind.label(), "node specific");
            assert!(!s.passive, "{} on {client}", s.name);
            assert!(!s.rr_client);
            assert!(s.ibgp);
        }
    }
}

#[test]
fn route_reflectors_treat_clients_as_clients_and_each_other_as_peers() {
    let res = load("route_reflectors.yaml");
    let rr1 = plan(&res, "rr1");
    assert_eq!(
        names(&rr1),
        [
            "Node_10_0_0_11",
            "Node_10_0_0_12",
            "Node_10_0_0_13",
            "Node_10_0_0_22"
        ]
    );
    let cluster = Some(Ipv4Addr::new(224, 0, 0, 1));
    for n in ["Node_10_0_0_11", "Node_10_0_0_12", "Node_10_0_0_13"] {
        let s = session(&rr1, n);
        assert!(s.rr_client, "{n}");
        assert_eq!(s.rr_cluster_id, cluster);
        assert!(!s.passive);
    }
    let peer = session(&rr1, "Node_10_0_0_22");
    assert!(!peer.rr_client);
    assert_eq!(peer.rr_cluster_id, None);
    assert_eq!(rr1.local.rr_cluster_id, cluster);
    let rr2 = plan(&res, "rr2");
    assert!(!session(&rr2, "Node_10_0_0_21").rr_client);
    assert!(session(&rr2, "Node_10_0_0_12").rr_client);
}

#[test]
fn route_reflectors_stay_out_of_an_enabled_mesh() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/route_reflectors.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace(
        "nodeToNodeMeshEnabled: false",
        "nodeToNodeMeshEnabled: true",
    );
    let res = bgplet_calico::Resources::from_yaml_str(&text).unwrap();
    let n1 = plan(&res, "n1");
    assert_eq!(
        names(&n1),
        [
            "Mesh_10_0_0_12",
            "Mesh_10_0_0_13",
            "Node_10_0_0_21",
            "Node_10_0_0_22"
        ]
    );
    let rr1 = plan(&res, "rr1");
    assert!(rr1.sessions.iter().all(|s| s.kind == PeerKind::Node));
}

#[test]
fn tor_is_a_global_ebgp_peer_next_to_the_mesh() {
    let res = load("tor.yaml");
    let n1 = plan(&res, "n1");
    assert_eq!(
        names(&n1),
        ["Global_10_0_0_1", "Mesh_10_0_0_12", "Mesh_10_0_0_13"]
    );
    let tor = session(&n1, "Global_10_0_0_1");
    assert_eq!(tor.kind, PeerKind::Global);
    assert_eq!(tor.kind.label(), "global");
    assert_eq!(tor.remote_as.value(), 65000);
    assert_eq!(tor.local_as.value(), 64512);
    assert!(!tor.ibgp);
    assert_eq!(tor.ttl_security, None);
    assert_eq!(tor.source_address, Some(ip("10.0.0.11")));
    // Not a Calico node, so never passive.
    assert!(!tor.passive);
    assert_eq!(tor.port, 179);
}

#[test]
fn rack_tor_selected_by_label_is_node_specific_with_its_options() {
    let res = load("tor.yaml");
    assert!(plan(&res, "n1").session("Node_10_0_1_1").is_none());
    let n2 = plan(&res, "n2");
    let s = session(&n2, "Node_10_0_1_1");
    assert_eq!(s.kind, PeerKind::Node);
    assert_eq!(s.remote_as.value(), 65546, "asdot 1.10");
    assert!(!s.ibgp);
    assert_eq!(s.next_hop, NextHopMode::Keep, "legacy flag on eBGP");
    assert_eq!(s.allow_local_as, 1);
    assert_eq!(s.restart_time_secs, 300);
    assert_eq!(s.keepalive_secs, Some(20));
    assert_eq!(s.ttl_security, Some(1));
    assert_eq!(s.filters, ["no-default-route"], "missing filter skipped");
}

#[test]
fn node_specific_as_changes_local_and_remote_as() {
    let res = load("tor.yaml");
    let n1 = plan(&res, "n1");
    let to_n3 = session(&n1, "Mesh_10_0_0_13");
    assert_eq!(to_n3.remote_as.value(), 65003);
    assert!(!to_n3.ibgp);
    let n3 = plan(&res, "n3");
    assert_eq!(n3.local.as_number.value(), 65003);
    let to_n1 = session(&n3, "Mesh_10_0_0_11");
    assert_eq!(to_n1.local_as.value(), 65003);
    assert_eq!(to_n1.remote_as.value(), 64512);
    assert_eq!(session(&n3, "Global_10_0_0_1").local_as.value(), 65003);
}

#[test]
fn passive_side_uses_text_order_not_numeric_order() {
    let res = load("string_order.yaml");
    // "10.0.0.10" < "10.0.0.9" as text: .10 waits for .9 to connect.
    let nine = plan(&res, "nine");
    assert!(!session(&nine, "Mesh_10_0_0_10").passive);
    let ten = plan(&res, "ten");
    assert!(session(&ten, "Mesh_10_0_0_9").passive);
}

#[test]
fn global_peer_ip_of_a_calico_node_takes_its_port_and_passive_rule() {
    let res = load("global_peer_ip.yaml");
    let master = plan(&res, "master");
    assert_eq!(
        names(&master),
        [
            "Global_10_192_0_1_port_150",
            "Global_10_192_0_1_port_166",
            "Global_10_192_0_3_port_150"
        ]
    );
    let a = session(&master, "Global_10_192_0_1_port_150");
    assert_eq!(a.port, 150);
    assert!(!a.passive, ".1 sorts before .2");
    let b = session(&master, "Global_10_192_0_3_port_150");
    assert!(b.passive, ".3 is a Calico node sorting after .2");
    assert_eq!(b.source_address, None, "sourceAddress: None");
    let other = session(&master, "Global_10_192_0_1_port_166");
    assert_eq!(other.port, 166);
    assert!(!other.passive);
    assert_eq!(master.local.listen_port, 150);
    assert_eq!(master.local.bind_mode, BindMode::NodeIp);
    assert_eq!(master.local.log_severity, "Debug");
}

#[test]
fn global_peer_ip_of_a_calico_node_gets_reverse_peerings_on_that_node() {
    let res = load("global_peer_ip.yaml");
    let b = plan(&res, "worker-b");
    // Its own entry is skipped; the reverse of "to-worker-b" adds the
    // other nodes unless a global entry already has the key.
    assert_eq!(
        names(&b),
        [
            "Global_10_192_0_1_port_150",
            "Global_10_192_0_1_port_166",
            "Node_10_192_0_2_port_150"
        ]
    );
}

#[test]
fn ports_name_sessions_and_per_node_listen_port_is_used() {
    let res = load("dual_stack.yaml");
    let n1 = plan(&res, "n1");
    assert_eq!(
        names(&n1),
        [
            "Mesh_10_0_0_12",
            "Node_10_0_0_12_port_1790",
            "Mesh_fd00__12",
            "Mesh_fd00__13",
            "Node_ac13__57_port_50",
            "Node_fd00__12_port_1790",
            "Node_fe0a__3",
        ]
    );
    // A selector peer covers both families when both ends have one.
    assert_eq!(session(&n1, "Node_fd00__12_port_1790").port, 1790);
    assert_eq!(session(&n1, "Mesh_10_0_0_12").port, 1790);
    assert_eq!(session(&n1, "Node_10_0_0_12_port_1790").port, 1790);
    let v6 = session(&n1, "Node_ac13__57_port_50");
    assert_eq!(v6.port, 50);
    assert_eq!(v6.family, Family::V6);
    assert_eq!(v6.source_address, Some(ip("fd00::11")));
    let n2 = plan(&res, "n2");
    assert_eq!(n2.local.listen_port, 1790);
    assert_eq!(n2.local.log_severity, "Debug");
    // reversePeering: Manual, so n2 does not peer back with n1.
    assert!(n2.session("Node_10_0_0_11").is_none());
}

#[test]
fn ipv6_mesh_names_and_v6_only_nodes_are_planned() {
    let res = load("dual_stack.yaml");
    let n2 = plan(&res, "n2");
    assert_eq!(
        names(&n2),
        ["Mesh_10_0_0_11", "Mesh_fd00__11", "Mesh_fd00__13"]
    );
    let s = session(&n2, "Mesh_fd00__13");
    assert_eq!(s.peer_ip, ip("fd00::13"));
    assert!(s.passive, "\"fd00::13\" sorts after \"fd00::12\"");
    // A v6-only node needs an explicit router id.
    let err = plan_node(&res, "v6only", &PlanOptions::default());
    assert_eq!(err, Err(PlanError::NoRouterId("v6only".to_string())));
    let opts = PlanOptions {
        router_id: Some("hash".to_string()),
        ..PlanOptions::default()
    };
    let v6only = plan_node(&res, "v6only", &opts).unwrap();
    assert_eq!(v6only.local.router_id, hashed_router_id("v6only"));
    assert_eq!(v6only.sessions_of(Family::V4).count(), 0);
    assert_eq!(v6only.sessions_of(Family::V6).count(), 2);
}

#[test]
fn passwords_come_from_secrets_and_missing_ones_warn() {
    let res = load("dual_stack.yaml");
    let n1 = plan(&res, "n1");
    let mesh = session(&n1, "Mesh_10_0_0_12");
    assert_eq!(mesh.password.as_ref().unwrap().as_str(), "mesh-password");
    assert_eq!(mesh.restart_time_secs, 120);
    let tor = session(&n1, "Node_ac13__57_port_50");
    assert_eq!(tor.password.as_ref().unwrap().as_str(), "tor-password");
    assert!(!format!("{tor:?}").contains("tor-password"));
    let lost = session(&n1, "Node_fe0a__3");
    assert_eq!(lost.password, None);
    assert_eq!(lost.next_hop, NextHopMode::SetSelf);
    let lost: Vec<_> = n1
        .warnings
        .iter()
        .filter(|w| w.name == "lost-password")
        .collect();
    assert_eq!(lost.len(), 1, "once, not once per family: {lost:?}");
    assert!(lost[0].message.contains("no-such-secret"));
    assert!(res.warnings.iter().any(|w| w.name == "lost-password"));
    // A namespace filter that excludes the Secret drops the password.
    let opts = PlanOptions {
        secret_namespace: Some("kube-system".to_string()),
        ..PlanOptions::default()
    };
    let other_ns = plan_node(&res, "n1", &opts).unwrap();
    assert_eq!(session(&other_ns, "Mesh_10_0_0_12").password, None);
}

#[test]
fn local_blocks_follow_affinity_state() {
    let res = load("dual_stack.yaml");
    let n1 = plan(&res, "n1");
    let blocks: Vec<(String, bool)> = n1
        .local_blocks
        .iter()
        .map(|b| (b.cidr.to_string(), b.pending_deletion))
        .collect();
    assert_eq!(
        blocks,
        [
            ("10.244.0.0/26".to_string(), false),
            ("10.244.0.64/26".to_string(), true),
            ("fd00:244::/122".to_string(), false),
        ]
    );
}

#[test]
fn services_pools_and_communities_are_carried_into_the_plan() {
    let res = load("dual_stack.yaml");
    let n1 = plan(&res, "n1");
    let cidrs = |v: &[bgplet_calico::Cidr]| -> Vec<String> {
        v.iter().map(|c| c.to_string()).collect()
    };
    assert_eq!(
        cidrs(&n1.services.cluster_ips),
        ["10.96.0.0/12", "fd00:96::/108"]
    );
    assert_eq!(cidrs(&n1.services.external_ips), ["192.0.2.0/24"]);
    assert_eq!(cidrs(&n1.services.load_balancer_ips), ["198.51.100.0/24"]);
    assert!(n1.services.load_balancer_aggregation);
    assert_eq!(n1.prefix_advertisements.len(), 1);
    assert_eq!(
        n1.prefix_advertisements[0].communities,
        ["64512:120", "64512:300:100"]
    );
    let pools: Vec<(String, u8, bool)> = n1
        .pools
        .iter()
        .map(|p| (p.cidr.to_string(), p.block_size, p.disable_bgp_export))
        .collect();
    assert_eq!(
        pools,
        [
            ("10.244.0.0/16".to_string(), 26, false),
            ("fd00:244::/48".to_string(), 122, true),
        ]
    );
    assert!(res.warnings.iter().any(|w| w.kind == "FelixConfiguration"));
}

#[test]
fn router_id_can_be_overridden_or_hashed() {
    let res = load("mesh_3node.yaml");
    let opts = |r: &str| PlanOptions {
        router_id: Some(r.to_string()),
        ..PlanOptions::default()
    };
    let fixed = plan_node(&res, "n1", &opts("192.0.2.1")).unwrap();
    assert_eq!(fixed.local.router_id, Ipv4Addr::new(192, 0, 2, 1));
    let bad = plan_node(&res, "n1", &opts("not-an-ip"));
    assert_eq!(bad, Err(PlanError::BadRouterId("not-an-ip".to_string())));
    let hashed = plan_node(&res, "n1", &opts("hash")).unwrap();
    assert_eq!(hashed.local.router_id, hashed_router_id("n1"));
    assert!(hashed.local.router_id.octets()[0] <= 223);
    assert_eq!(
        plan_node(&res, "nope", &PlanOptions::default()),
        Err(PlanError::UnknownNode("nope".to_string()))
    );
}

#[test]
fn hashed_router_id_matches_calico_and_avoids_class_d_and_e() {
    // confd's golden output for node "kube-master" with
    // CALICO_ROUTER_ID=hash.
    assert_eq!(
        hashed_router_id("kube-master"),
        Ipv4Addr::new(25, 79, 212, 8)
    );
    // SHA-256("node-18") starts f5 c2 8b e3; 245 - 32 = 213.
    assert_eq!(
        hashed_router_id("node-18"),
        Ipv4Addr::new(213, 194, 139, 227)
    );
}

fn inline(yaml: &str) -> bgplet_calico::Resources {
    bgplet_calico::Resources::from_yaml_str(yaml).unwrap()
}

const RR_NODES: &str = "\
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.11/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr1, labels: {rr: 'true'}}
spec: {bgp: {ipv4Address: 10.0.0.21/24, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr2, labels: {rr: 'true'}}
spec: {bgp: {ipv4Address: 10.0.0.22/24, routeReflectorClusterID: 224.0.0.2}}
";

#[test]
fn a_global_selector_peer_and_its_reverse_never_duplicate_a_key() {
    let res = inline(&format!(
        "{RR_NODES}---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: everyone-to-rrs}}
spec: {{peerSelector: has(rr)}}
"
    ));
    let n1 = plan(&res, "n1");
    // The mesh leaves RRs out, so only the global entries remain.
    assert_eq!(names(&n1), ["Global_10_0_0_21", "Global_10_0_0_22"]);
    // rr1: the global entry for rr2 exists, so the reverse peering
    // only adds n1 (as a client: peer cluster id unknown = different).
    let rr1 = plan(&res, "rr1");
    assert_eq!(names(&rr1), ["Global_10_0_0_22", "Node_10_0_0_11"]);
    assert!(session(&rr1, "Node_10_0_0_11").rr_client);
    // Selector-derived peers are never passive, even sorting later.
    assert!(!session(&rr1, "Global_10_0_0_22").passive);
    // Different cluster ids: each RR treats the other as a client.
    assert!(session(&rr1, "Global_10_0_0_22").rr_client);
    let rr2 = plan(&res, "rr2");
    assert!(session(&rr2, "Global_10_0_0_21").rr_client);
    assert_eq!(
        session(&rr2, "Global_10_0_0_21").rr_cluster_id,
        Some(Ipv4Addr::new(224, 0, 0, 2))
    );
}

#[test]
fn on_a_route_reflector_an_ibgp_peer_ip_is_a_client_and_ebgp_is_not() {
    let res = inline(&format!(
        "{RR_NODES}---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: same-as-tor}}
spec: {{node: rr1, peerIP: 10.0.0.1, asNumber: 64512}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: other-as-tor}}
spec: {{node: rr1, peerIP: 10.0.0.2, asNumber: 65000, localASNumber: 65100}}
"
    ));
    let rr1 = plan(&res, "rr1");
    let ibgp = session(&rr1, "Node_10_0_0_1");
    assert!(ibgp.ibgp && ibgp.rr_client);
    let ebgp = session(&rr1, "Node_10_0_0_2");
    assert!(!ebgp.ibgp && !ebgp.rr_client);
    assert_eq!(ebgp.local_as.value(), 65100);
    // No mesh on an RR even though the mesh is on.
    assert_eq!(rr1.sessions.len(), 2);
}

#[test]
fn a_node_scoped_peer_loses_to_a_global_peer_with_the_same_key() {
    let res = inline(&format!(
        "{RR_NODES}---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: a-global}}
spec: {{peerIP: 10.0.0.1, asNumber: 65000}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: b-node}}
spec: {{node: n1, peerIP: 10.0.0.1, asNumber: 65001}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: c-node-other-port}}
spec: {{node: n1, peerIP: '10.0.0.1:1179', asNumber: 65001}}
"
    ));
    let n1 = plan(&res, "n1");
    assert_eq!(names(&n1), ["Global_10_0_0_1", "Node_10_0_0_1_port_1179"]);
    assert_eq!(session(&n1, "Global_10_0_0_1").remote_as.value(), 65000);
}

#[test]
fn next_hop_mode_wins_and_legacy_keep_is_ebgp_only() {
    let res = inline(&format!(
        "{RR_NODES}---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: keep-ibgp}}
spec: {{node: n1, peerIP: 10.0.0.1, asNumber: 64512, keepOriginalNextHop: true}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: keep-mode-ibgp}}
spec: {{node: n1, peerIP: 10.0.0.2, asNumber: 64512, nextHopMode: Keep}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {{name: auto}}
spec: {{node: n1, peerIP: 10.0.0.3, asNumber: 65000, nextHopMode: Auto}}
"
    ));
    let n1 = plan(&res, "n1");
    assert_eq!(session(&n1, "Node_10_0_0_1").next_hop, NextHopMode::Auto);
    assert_eq!(session(&n1, "Node_10_0_0_2").next_hop, NextHopMode::Keep);
    assert_eq!(session(&n1, "Node_10_0_0_3").next_hop, NextHopMode::Auto);
}
