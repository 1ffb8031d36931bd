//! The policy context's JSON shape.

#![allow(clippy::unwrap_used)]
#![cfg(feature = "serde")]

use bgplet_plugin_abi::context::*;

#[test]
fn an_empty_object_is_the_default_context() {
    let c: PolicyContext = serde_json::from_str("{}").unwrap();
    assert_eq!(c, PolicyContext::default());
    assert_eq!(c.ipv4_normal_route_priority, 1024);
    assert_eq!(
        c.program_cluster_routes,
        ProgramClusterRoutes::EnabledNoEncapOnly
    );
    assert!(c.services.lb_aggregation);
}

#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct Mine {
    count: u8,
}

#[test]
fn bgp_filters_use_calico_field_names_and_plugin_config_is_typed() {
    let json = r#"{
      "node": {"name": "n1", "as": 64512, "router_id": "10.0.0.11",
               "ipv4_address": "10.0.0.11", "ipv4_subnet": "10.0.0.0/24"},
      "pools": [{"cidr": "10.244.0.0/16", "block_size": 26,
                 "ipip_mode": "CrossSubnet", "vxlan_mode": "Never"}],
      "program_cluster_routes": "EnabledIPIPOnly",
      "bgp_filters": {"f": {"importV4": [{
          "cidr": "0.0.0.0/0", "matchOperator": "Equal",
          "prefixLength": {"min": 0, "max": 8},
          "peerType": "eBGP", "source": "RemotePeers",
          "communities": {"values": ["65000:1"]},
          "asPathPrefix": [65000], "priority": 512,
          "action": "Accept",
          "operations": [{"prependASPath": {"prefix": [1, 2]}},
                         {"setPriority": {"value": 512}},
                         {"addCommunity": {"value": "1:2:3"}}]}]}},
      "plugin": {"count": 3}
    }"#;
    let c: PolicyContext<Mine> = serde_json::from_str(json).unwrap();
    assert_eq!(c.node.as_number, 64512);
    assert_eq!(c.pools[0].ipip_mode, EncapMode::CrossSubnet);
    assert!(c.program_cluster_routes.owns_ipip());
    let rule = &c.bgp_filters["f"].import_v4[0];
    assert_eq!(rule.match_operator, Some(MatchOperator::Equal));
    assert_eq!(rule.peer_type, Some(PeerType::Ebgp));
    assert_eq!(rule.operations.len(), 3);
    assert_eq!(
        rule.operations[0].prepend_as_path.as_ref().unwrap().prefix,
        vec![1, 2]
    );
    assert_eq!(c.plugin, Mine { count: 3 });
    // The default plugin config ignores whatever is there.
    let _: PolicyContext = serde_json::from_str(json).unwrap();
}
