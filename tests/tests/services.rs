//! Service advertisement end to end (calico-bgp.md 4.9): a bgplet agent
//! peered with a real BIRD, configured from one resources file holding
//! Calico resources and a Kubernetes Service and EndpointSlice. The
//! Service's cluster IP is announced as a /32 while this node hosts a
//! ready endpoint (`externalTrafficPolicy: Local`) and withdrawn when
//! the endpoint stops being ready; the cluster-IP range stays.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::Duration;

use bgplet_tests::*;
use serde_json::json;

const OUR_AS: u32 = 4200000001;
const BIRD_AS: u32 = 65002;
const NODE: &str = "node-a";
const BLOCK: &str = "10.244.0.0/26";
const RANGE: &str = "10.96.0.0/12";
const CLUSTER_IP: &str = "10.96.0.10";
const HOST_ROUTE: &str = "10.96.0.10/32";
const UP: Duration = Duration::from_secs(30);
const ROUTE: Duration = Duration::from_secs(15);

/// The resources with the web Service's endpoint on this node, ready or
/// not, in the shapes `kubectl get -o yaml` prints.
fn resources(l: &Link, ready: bool) -> Resources {
    Resources::new()
        .bgp_configuration(OUR_AS, None, false)
        .service_cluster_ips(RANGE)
        .node(&CalicoNode::new(NODE, &l.a_v4_cidr()))
        .bgp_peer(&CalicoPeer::new("tor-v4", &l.b_v4.to_string(), BIRD_AS))
        .ip_pool("pool-v4", "10.244.0.0/16")
        .block_affinity(NODE, BLOCK)
        .raw(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop",
                         "uid": "0c9f7d1e-7a52-4a5b-b3c9-2a3c9a8e6f01"},
            "spec": {
                "type": "NodePort",
                "clusterIP": CLUSTER_IP, "clusterIPs": [CLUSTER_IP],
                "externalTrafficPolicy": "Local",
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                "ports": [{"nodePort": 30080, "port": 80,
                           "protocol": "TCP", "targetPort": 8080}],
                "selector": {"app": "web"},
                "sessionAffinity": "None"
            },
            "status": {"loadBalancer": {}}
        }))
        .raw(json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {
                "name": "web-7x2kq", "namespace": "shop",
                "generateName": "web-",
                "labels": {
                    "kubernetes.io/service-name": "web",
                    "endpointslice.kubernetes.io/managed-by":
                        "endpointslice-controller.k8s.io"
                }
            },
            "addressType": "IPv4",
            "endpoints": [{
                "addresses": ["10.244.0.7"],
                "conditions": {"ready": ready, "serving": true,
                               "terminating": !ready},
                "nodeName": NODE,
                "targetRef": {"kind": "Pod", "name": "web-6d9c7b8f5-2lqwn",
                              "namespace": "shop"}
            }],
            "ports": [{"port": 8080, "protocol": "TCP"}]
        }))
}

#[test]
fn a_local_service_host_route_follows_endpoint_readiness_at_bird() {
    require_tools(&["ip", "ss", "bird", "birdc"]).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 51).unwrap();
    let bird_cfg = BirdConfig::new(l.b_v4, BIRD_AS).neighbor(
        BirdNeighbor::new("node_v4", l.a_v4, OUR_AS)
            .local_address(l.b_v4)
            .ipv4_only(),
    );
    let bird = Bird::start(&b, bird_cfg).unwrap();
    let bgplet = Bgplet::start(&a, &resources(&l, true), NODE).unwrap();
    bgplet.wait_established(&l.b_v4.to_string(), UP).unwrap();
    bird.wait_established(&l.a_v4.to_string(), UP).unwrap();

    // The block, the range from every node, and the /32 from this node.
    for prefix in [BLOCK, RANGE, HOST_ROUTE] {
        let r = bird.wait_route(prefix, ROUTE).unwrap();
        assert_eq!(r.as_path, vec![OUR_AS], "{prefix}");
    }
    let shown = bird.birdc(&["show", "route", HOST_ROUTE]).unwrap();
    assert!(shown.contains(HOST_ROUTE), "{shown}");
    // The kernel gets the block's blackhole, never a service route:
    // both lie in rejectcidrs (calico-bgp.md 4.8).
    let kernel = wait_for_blackhole(&a);
    assert!(!kernel.contains("10.96."), "{kernel}");

    // The endpoint goes not ready: the /32 is withdrawn, the range stays.
    bgplet.write_resources(&resources(&l, false)).unwrap();
    bird.wait_withdrawn(HOST_ROUTE, ROUTE).unwrap();
    assert!(bird.route(RANGE).unwrap().is_some());
    assert!(bird.route(BLOCK).unwrap().is_some());

    // Ready again: announced again, on the same session.
    let since = bgplet.status().unwrap().peers[0].since.clone();
    bgplet.write_resources(&resources(&l, true)).unwrap();
    bird.wait_route(HOST_ROUTE, ROUTE).unwrap();
    assert_eq!(bgplet.status().unwrap().peers[0].since, since);
}

/// The agent's kernel routes once the block's blackhole is in.
fn wait_for_blackhole(ns: &Netns) -> String {
    let deadline = std::time::Instant::now() + ROUTE;
    loop {
        let routes = ns.ip(&["route", "show", "proto", "bird"]).unwrap();
        if routes.contains(&format!("blackhole {BLOCK}")) {
            return routes;
        }
        assert!(std::time::Instant::now() < deadline, "{routes}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
