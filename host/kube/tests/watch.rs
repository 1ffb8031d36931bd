//! The datastore against a list/watch server on 127.0.0.1 (see
//! common/mod.rs): a real `kube::Client` and `kube` watcher, real
//! HTTP/1.1 with chunked watch streams, fixtures shaped like `kubectl get
//! -o yaml` output. No test here runs against a real kube-apiserver.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bgplet_calico::{PlanOptions, Resources, SecretKeyRef, plan_node};
use bgplet_kube::{Error, KubeDatastore, KubeOptions, Snapshots};
use common::{FakeApi, client, fixtures};
use serde_json::{Value, json};

const CRD_PLURALS: &[&str] = &[
    "bgpconfigurations",
    "bgppeers",
    "bgpfilters",
    "ippools",
    "blockaffinities",
];
const PEERS: &str = "/apis/crd.projectcalico.org/v1/bgppeers";
const NODES: &str = "/api/v1/nodes";
const SECRETS: &str = "/api/v1/namespaces/calico-system/secrets";

fn cluster() -> Vec<Value> {
    fixtures(include_str!("fixtures/cluster.yaml"))
}

fn options() -> KubeOptions {
    KubeOptions {
        debounce: Duration::from_millis(100),
        ..KubeOptions::default()
    }
}

async fn start() -> (FakeApi, Snapshots) {
    let groups = [("crd.projectcalico.org", "v1", CRD_PLURALS)];
    let api = FakeApi::start(&cluster(), &groups).await;
    let rx = KubeDatastore::new(client(&api), options()).run();
    (api, rx)
}

async fn next(rx: &mut Snapshots) -> Result<Resources, Error> {
    tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("no snapshot within 15 s")
        .expect("datastore stopped")
}

async fn next_ok(rx: &mut Snapshots) -> Resources {
    next(rx).await.unwrap()
}

async fn assert_quiet(rx: &mut Snapshots, wait: Duration) {
    if let Ok(item) = tokio::time::timeout(wait, rx.recv()).await {
        panic!("unexpected snapshot: {item:?}");
    }
}

fn peer(name: &str, ip: &str) -> Value {
    json!({
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": "BGPPeer",
        "metadata": {
            "annotations": {"projectcalico.org/metadata":
                "{\"creationTimestamp\":\"2026-10-03T10:00:00Z\"}"},
            "creationTimestamp": "2026-10-03T10:00:00Z",
            "generation": 1,
            "name": name,
            "uid": format!("00000000-0000-4000-8000-{:0>12}", name.len())
        },
        "spec": {"peerIP": ip, "asNumber": 65020}
    })
}

fn node(name: &str) -> Value {
    cluster()
        .into_iter()
        .find(|o| o["kind"] == "Node" && o["metadata"]["name"] == name)
        .unwrap()
}

fn ipv4(res: &Resources, node: &str) -> String {
    res.nodes[node].bgp.ipv4_address.unwrap().to_string()
}

fn secret_ref(name: &str) -> SecretKeyRef {
    SecretKeyRef {
        name: name.into(),
        key: "password".into(),
    }
}

#[tokio::test]
async fn initial_sync_yields_one_complete_snapshot() {
    let groups = [("crd.projectcalico.org", "v1", CRD_PLURALS)];
    let api = FakeApi::start(&cluster(), &groups).await;
    // Nodes list late: a partial snapshot would lack them.
    api.delay_lists(NODES, Duration::from_millis(800));
    let mut rx = KubeDatastore::new(client(&api), options()).run();
    let res = next_ok(&mut rx).await;

    assert_eq!(res.bgp_configurations.len(), 1);
    assert!(res.peers.contains_key("rack-a-tor"));
    assert!(res.pools.contains_key("default-ipv4-ippool"));
    assert!(res.block_affinities.contains_key("node-1-10-244-12-0-26"));
    assert_eq!(ipv4(&res, "node-1"), "10.0.0.11/24");
    assert_eq!(ipv4(&res, "node-2"), "10.0.0.12/24");
    assert_eq!(res.nodes["node-1"].labels["rack"], "a");
    let mut secrets: Vec<&str> =
        res.secrets.iter().map(|s| s.name.as_str()).collect();
    secrets.sort();
    assert_eq!(secrets, ["bgp-mesh", "bgp-tor"], "only referenced Secrets");
    assert_eq!(
        res.secret_value(&secret_ref("bgp-tor"), None),
        Some("tor-password")
    );
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);

    // The snapshot plans: mesh to node-2, the ToR by rack label.
    let opts = PlanOptions {
        router_id: None,
        secret_namespace: Some("calico-system".into()),
    };
    let plan = plan_node(&res, "node-1", &opts).unwrap();
    let names: Vec<&str> =
        plan.sessions.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Mesh_10_0_0_12", "Node_10_0_0_254"]);
    assert!(plan.sessions.iter().all(|s| s.password.is_some()));

    assert_quiet(&mut rx, Duration::from_millis(800)).await;

    // Secrets are read one by one by name, never the whole namespace.
    let secret_requests: Vec<String> = api
        .requests()
        .into_iter()
        .filter(|r| r.contains(SECRETS))
        .collect();
    assert!(!secret_requests.is_empty());
    for r in &secret_requests {
        assert!(r.contains("fieldSelector=metadata.name%3Dbgp-"), "{r}");
    }
}

#[tokio::test]
async fn bgp_peer_added_then_removed_live_yields_both_snapshots() {
    let (api, mut rx) = start().await;
    let first = next_ok(&mut rx).await;
    assert_eq!(first.peers.len(), 1);

    api.put(peer("extra", "192.0.2.7"));
    let added = next_ok(&mut rx).await;
    assert_eq!(added.peers.len(), 2);
    assert_eq!(added.peers["extra"].as_number.unwrap().value(), 65020);

    api.delete(PEERS, "extra");
    let removed = next_ok(&mut rx).await;
    assert_eq!(removed.peers.keys().collect::<Vec<_>>(), ["rack-a-tor"]);
    assert_eq!(api.lists_of(PEERS), 1, "live changes need no relist");
}

#[tokio::test]
async fn node_annotation_change_is_seen_and_status_churn_is_not() {
    let (api, mut rx) = start().await;
    next_ok(&mut rx).await;

    // A kubelet status update changes nothing Calico reads.
    let mut n2 = node("node-2");
    n2["status"]["conditions"][0]["lastHeartbeatTime"] =
        json!("2026-10-02T09:25:14Z");
    api.put(n2.clone());
    assert_quiet(&mut rx, Duration::from_millis(600)).await;

    n2["metadata"]["annotations"]["projectcalico.org/IPv4Address"] =
        json!("10.0.0.22/24");
    api.put(n2);
    let res = next_ok(&mut rx).await;
    assert_eq!(ipv4(&res, "node-2"), "10.0.0.22/24");
}

#[tokio::test]
async fn burst_of_changes_becomes_one_snapshot() {
    let (api, mut rx) = start().await;
    next_ok(&mut rx).await;
    for i in 0..5 {
        api.put(peer(&format!("burst-{i}"), &format!("192.0.2.{}", 10 + i)));
    }
    let res = next_ok(&mut rx).await;
    assert_eq!(res.peers.len(), 6);
    assert_quiet(&mut rx, Duration::from_millis(500)).await;
}

#[tokio::test]
async fn gone_watch_relists_and_yields_a_correct_snapshot() {
    let (api, mut rx) = start().await;
    next_ok(&mut rx).await;

    // Changes the open watch never sees, then compaction: resuming from
    // the old revision gets 410 Gone, so only a relist can find them.
    api.delete_unseen(PEERS, "rack-a-tor");
    api.put_unseen(peer("after-gone", "192.0.2.9"));
    api.compact();
    api.drop_watches();

    let res = next_ok(&mut rx).await;
    assert_eq!(res.peers.keys().collect::<Vec<_>>(), ["after-gone"]);
    assert_eq!(api.lists_of(PEERS), 2, "410 Gone must cause a relist");
    // The other kinds stay intact through the relist.
    assert_eq!(res.nodes.len(), 2);
}

#[tokio::test]
async fn dropped_watch_resumes_from_the_last_revision() {
    let (api, mut rx) = start().await;
    next_ok(&mut rx).await;
    let watches_before = api.watches_of(PEERS);
    assert_eq!(watches_before.len(), 1);

    // Recorded while the connection is being cut: the resumed watch
    // replays it from history.
    api.put_unseen(peer("missed", "192.0.2.8"));
    api.drop_watches();

    let res = next_ok(&mut rx).await;
    assert!(res.peers.contains_key("missed"));
    assert_eq!(api.lists_of(PEERS), 1, "a resume, not a relist");
    let watches = api.watches_of(PEERS);
    assert!(watches.len() >= 2);
    assert_eq!(
        watches[1], watches_before[0],
        "resumed at the same revision"
    );
}

#[tokio::test]
async fn bookmark_advances_the_resume_revision() {
    let (api, mut rx) = start().await;
    next_ok(&mut rx).await;

    // Other kinds move the global revision on; BGPPeers stay quiet.
    let mut n1 = node("node-1");
    n1["metadata"]["labels"]["zone"] = json!("z1");
    api.put(n1);
    next_ok(&mut rx).await;
    let rv = api.bookmark();
    // Let the bookmark reach the watcher before compacting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    api.compact();
    api.drop_watches();

    // Without the bookmark the peer watch would resume from its old
    // revision, get 410 Gone and relist.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(api.lists_of(PEERS), 1, "bookmark spared a relist");
    let watches = api.watches_of(PEERS);
    assert_eq!(watches.last().unwrap(), &rv.to_string());
    assert_quiet(&mut rx, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn invalid_snapshot_is_reported_and_a_fix_recovers() {
    let (api, mut rx) = start().await;
    next_ok(&mut rx).await;

    api.put(peer("broken", "not-an-ip"));
    match next(&mut rx).await {
        Err(Error::Invalid(e)) => {
            assert!(e.to_string().contains("broken"), "{e}")
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    api.put(peer("broken", "192.0.2.77"));
    let res = next_ok(&mut rx).await;
    assert!(res.peers.contains_key("broken"));
}

#[tokio::test]
async fn newly_referenced_secret_is_watched_before_the_snapshot() {
    let (api, mut rx) = start().await;
    next_ok(&mut rx).await;
    // The new Secret's list is slow: a snapshot sent before it would
    // configure the peer without its password.
    api.delay_lists(SECRETS, Duration::from_millis(800));
    api.put(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "bgp-new", "namespace": "calico-system",
                     "uid": "8f9a0b1c-2d3e-4f4a-8b5c-6d7e8f9a0b1c",
                     "creationTimestamp": "2026-10-03T10:00:00Z"},
        "type": "Opaque",
        "data": {"password": "bmV3LXBhc3N3b3Jk"}
    }));
    let mut p = peer("with-password", "192.0.2.5");
    p["spec"]["password"] =
        json!({"secretKeyRef": {"name": "bgp-new", "key": "password"}});
    api.put(p);
    let res = next_ok(&mut rx).await;
    assert_eq!(
        res.secret_value(&secret_ref("bgp-new"), None),
        Some("new-password"),
        "the snapshot waited for the new Secret's list"
    );
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
}

#[tokio::test]
async fn v3_group_is_read_when_v1_is_absent() {
    // Only projectcalico.org/v3 served, and without BGPFilter: the
    // missing kind counts as empty.
    let groups = [(
        "projectcalico.org",
        "v3",
        &[
            "bgpconfigurations",
            "bgppeers",
            "ippools",
            "blockaffinities",
        ][..],
    )];
    let objects: Vec<Value> = cluster()
        .into_iter()
        .map(|mut o| {
            if o["apiVersion"] == "crd.projectcalico.org/v1" {
                o["apiVersion"] = json!("projectcalico.org/v3");
            }
            o
        })
        .collect();
    let api = FakeApi::start(&objects, &groups).await;
    let mut rx = KubeDatastore::new(client(&api), options()).run();
    let res = next_ok(&mut rx).await;
    assert!(res.peers.contains_key("rack-a-tor"));
    assert!(res.filters.is_empty());
    assert_eq!(api.lists_of("/apis/projectcalico.org/v3/bgppeers"), 1);
    assert!(
        api.requests()
            .iter()
            .all(|r| !r.contains("crd.projectcalico"))
    );

    // A Calico upgrade installs the BGPFilter CRD: it is picked up
    // without a restart (kube's watcher keeps retrying the list).
    api.serve_kind("projectcalico.org", "v3", "bgpfilters");
    api.put(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "BGPFilter",
        "metadata": {"name": "only-default",
                     "uid": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
                     "creationTimestamp": "2026-10-03T10:00:00Z"},
        "spec": {"importV4": [{"action": "Accept", "matchOperator": "Equal",
                               "cidr": "0.0.0.0/0"}]}
    }));
    let res = tokio::time::timeout(Duration::from_secs(40), rx.recv())
        .await
        .expect("no snapshot after the CRD appeared")
        .unwrap()
        .unwrap();
    assert!(res.filters.contains_key("only-default"));
}

#[tokio::test]
async fn forbidden_secret_means_no_password_and_does_not_block() {
    let (api, mut rx) = start().await;
    next_ok(&mut rx).await;
    api.forbid("bgp-outside-role");
    let mut p = peer("no-access", "192.0.2.6");
    p["spec"]["password"] = json!(
        {"secretKeyRef": {"name": "bgp-outside-role", "key": "password"}}
    );
    api.put(p);
    let res = next_ok(&mut rx).await;
    assert!(res.peers.contains_key("no-access"));
    assert_eq!(
        res.secret_value(&secret_ref("bgp-outside-role"), None),
        None
    );
    assert!(
        res.warnings.iter().any(|w| w.name == "no-access"
            && w.message.contains("no password")),
        "{:?}",
        res.warnings
    );
}

#[tokio::test]
async fn secret_no_longer_referenced_leaves_the_snapshot() {
    let (api, mut rx) = start().await;
    let first = next_ok(&mut rx).await;
    assert_eq!(first.secrets.len(), 2);
    api.delete(PEERS, "rack-a-tor");
    let res = next_ok(&mut rx).await;
    let names: Vec<&str> =
        res.secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["bgp-mesh"]);
}

#[tokio::test]
async fn cluster_without_calico_reports_no_calico_group() {
    let api = FakeApi::start(&[], &[]).await;
    let mut rx = KubeDatastore::new(client(&api), options()).run();
    assert!(matches!(next(&mut rx).await, Err(Error::NoCalicoGroup)));
}
