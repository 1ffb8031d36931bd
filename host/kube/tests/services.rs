//! Services and EndpointSlices in the Kubernetes datastore, against the
//! list/watch server on 127.0.0.1 (see common/mod.rs): watched only
//! while the `default` BGPConfiguration sets a service range, started
//! and stopped live, and part of the first snapshot only once listed.
//! No test here runs against a real kube-apiserver.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bgplet_calico::{PlanOptions, Resources, plan_node};
use bgplet_kube::{KubeDatastore, KubeOptions, Snapshots};
use common::{ENDPOINT_SLICES, FakeApi, SERVICES, client, fixtures};
use serde_json::{Value, json};

const CRD_PLURALS: &[&str] = &[
    "bgpconfigurations",
    "bgppeers",
    "bgpfilters",
    "ippools",
    "blockaffinities",
];

/// The cluster of watch.rs plus a Local Service with a ready endpoint
/// on node-1. `ranges` keeps the fixture's `serviceClusterIPs`.
fn objects(ranges: bool) -> Vec<Value> {
    let mut all = fixtures(include_str!("fixtures/cluster.yaml"));
    if !ranges {
        for o in &mut all {
            if o["kind"] == "BGPConfiguration" {
                o["spec"]
                    .as_object_mut()
                    .unwrap()
                    .remove("serviceClusterIPs");
            }
        }
    }
    all.extend(fixtures(include_str!("fixtures/services.yaml")));
    all
}

fn default_config(all: &[Value]) -> Value {
    all.iter()
        .find(|o| o["kind"] == "BGPConfiguration")
        .unwrap()
        .clone()
}

fn slice(ready: bool) -> Value {
    let mut s = fixtures(include_str!("fixtures/services.yaml"))
        .into_iter()
        .find(|o| o["kind"] == "EndpointSlice")
        .unwrap();
    s["endpoints"][0]["conditions"]["ready"] = json!(ready);
    s
}

async fn start(objects: &[Value]) -> (FakeApi, Snapshots) {
    let groups = [("crd.projectcalico.org", "v1", CRD_PLURALS)];
    let api = FakeApi::start(objects, &groups).await;
    let opts = KubeOptions {
        debounce: Duration::from_millis(100),
        ..KubeOptions::default()
    };
    let rx = KubeDatastore::new(client(&api), opts).run();
    (api, rx)
}

async fn next_ok(rx: &mut Snapshots) -> Resources {
    tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("no snapshot within 15 s")
        .expect("datastore stopped")
        .unwrap()
}

async fn assert_quiet(rx: &mut Snapshots, wait: Duration) {
    if let Ok(item) = tokio::time::timeout(wait, rx.recv()).await {
        panic!("unexpected snapshot: {item:?}");
    }
}

fn host_routes(res: &Resources) -> Vec<String> {
    let opts = PlanOptions {
        router_id: None,
        secret_namespace: Some("calico-system".into()),
    };
    let plan = plan_node(res, "node-1", &opts).unwrap();
    plan.service_addresses
        .iter()
        .map(|c| c.to_string())
        .collect()
}

fn service_requests(api: &FakeApi) -> usize {
    api.requests()
        .iter()
        .filter(|r| r.contains(SERVICES) || r.contains(ENDPOINT_SLICES))
        .count()
}

#[tokio::test]
async fn a_service_range_starts_the_watches_and_the_first_snapshot_waits() {
    let (api, mut rx) = {
        let groups = [("crd.projectcalico.org", "v1", CRD_PLURALS)];
        let api = FakeApi::start(&objects(true), &groups).await;
        // EndpointSlices list late: a snapshot without them would plan
        // no host route, then one, a flap at startup.
        api.delay_lists(ENDPOINT_SLICES, Duration::from_millis(800));
        let opts = KubeOptions {
            debounce: Duration::from_millis(100),
            ..KubeOptions::default()
        };
        let rx = KubeDatastore::new(client(&api), opts).run();
        (api, rx)
    };
    let res = next_ok(&mut rx).await;
    assert!(res.services.contains_key("shop/web"));
    assert!(res.endpoint_slices.contains_key("shop/web-7x2kq"));
    assert_eq!(host_routes(&res), ["10.96.10.10/32"]);
    // The Node's pod CIDRs come along (host-local IPAM).
    let pod: Vec<String> = res.nodes["node-1"]
        .pod_cidrs
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(pod, ["10.244.1.0/24"]);
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
    assert_eq!(api.lists_of(SERVICES), 1);
    assert_eq!(api.lists_of(ENDPOINT_SLICES), 1);
    assert_quiet(&mut rx, Duration::from_millis(600)).await;
}

#[tokio::test]
async fn endpoint_readiness_changes_move_the_host_route_live() {
    let (api, mut rx) = start(&objects(true)).await;
    assert_eq!(host_routes(&next_ok(&mut rx).await), ["10.96.10.10/32"]);

    api.put(slice(false));
    assert!(host_routes(&next_ok(&mut rx).await).is_empty());

    api.put(slice(true));
    assert_eq!(host_routes(&next_ok(&mut rx).await), ["10.96.10.10/32"]);

    // A pod IP change on a ready endpoint changes nothing we read.
    let mut moved = slice(true);
    moved["endpoints"][0]["addresses"] = json!(["10.244.1.99"]);
    api.put(moved);
    assert_quiet(&mut rx, Duration::from_millis(600)).await;

    api.delete(
        "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices",
        "web-7x2kq",
    );
    assert!(host_routes(&next_ok(&mut rx).await).is_empty());
}

#[tokio::test]
async fn without_a_service_range_services_are_never_watched() {
    let all = objects(false);
    let (api, mut rx) = start(&all).await;
    let res = next_ok(&mut rx).await;
    assert!(res.services.is_empty());
    assert!(res.endpoint_slices.is_empty());
    assert_eq!(service_requests(&api), 0, "{:?}", api.requests());

    // Turning advertisement on starts both watches live.
    let mut cfg = default_config(&all);
    cfg["spec"]["serviceLoadBalancerIPs"] = json!([{"cidr": "192.0.2.0/24"}]);
    api.put(cfg.clone());
    let res = next_ok(&mut rx).await;
    assert!(res.services.contains_key("shop/web"));
    assert_eq!(host_routes(&res), ["192.0.2.10/32"]);
    assert_eq!(api.lists_of(SERVICES), 1);

    // And off again: the Services leave the snapshot, and their
    // changes are no longer news.
    cfg["spec"]
        .as_object_mut()
        .unwrap()
        .remove("serviceLoadBalancerIPs");
    api.put(cfg);
    let res = next_ok(&mut rx).await;
    assert!(res.services.is_empty());
    assert!(res.endpoint_slices.is_empty());
    api.put(slice(false));
    assert_quiet(&mut rx, Duration::from_millis(600)).await;
}
