//! A plugin ConfigMap change through the Kubernetes API, end to end: the
//! real `bgplet` binary runs `--datastore kubernetes --plugins-configmap
//! bgplet-system/bgplet-plugins` against the test API server
//! (tests/src/kubeapi.rs: real list/watch wire format, chunked watch
//! streams), which serves Calico's CRDs, the Node and the ConfigMap in
//! the agent's namespace. A real BIRD peers with it over a veth.
//!
//! The object shapes follow `kubectl get -o yaml` output of a Calico
//! (operator install, crd.projectcalico.org/v1 storage) cluster and of a
//! ConfigMap with `binaryData`; names, addresses and uids are made up.
//! This is not a kube-apiserver: RBAC, admission and the real server's
//! timing are not exercised here.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::{Duration, Instant};

use bgplet_tests::*;
use serde_json::{Value, json};

const OUR_AS: u32 = 4200000001;
const BIRD_AS: u32 = 65002;
const NODE: &str = "node-a";
const BLOCKS: [&str; 2] = ["10.244.0.0/26", "10.244.0.64/26"];
const CM_NAMESPACE: &str = "bgplet-system";
const CM_NAME: &str = "bgplet-plugins";
const UP: Duration = Duration::from_secs(30);
const ROUTE: Duration = Duration::from_secs(15);
/// Debug builds compile a plugin slowly (Cranelift itself unoptimised).
const SWAP: Duration = Duration::from_secs(60);

/// Calico's `projectcalico.org/metadata` annotation as its KDD backend
/// writes it on CRD objects.
fn calico_meta(name: &str, uid: &str) -> Value {
    json!({
        "annotations": {
            "projectcalico.org/metadata": format!(
                "{{\"uid\":\"{uid}\",\"creationTimestamp\":\"2026-10-02T08:14:31Z\"}}"
            )
        },
        "creationTimestamp": "2026-10-02T08:14:31Z",
        "generation": 1,
        "name": name,
        "uid": uid,
    })
}

fn crd(kind: &str, name: &str, uid: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": kind,
        "metadata": calico_meta(name, uid),
        "spec": spec,
    })
}

/// The cluster as the API server holds it: BGP configuration, the BIRD
/// peer, a pool, the node's two blocks and the Kubernetes Node whose
/// `projectcalico.org/IPv4Address` annotation calico-node wrote.
fn cluster(l: &Link) -> Vec<Value> {
    let mut objects = vec![
        crd(
            "BGPConfiguration",
            "default",
            "0e0b6b63-8a9e-4f43-9f4a-0d3b1b5c2e71",
            json!({
                "asNumber": OUR_AS,
                "logSeverityScreen": "Info",
                "nodeToNodeMeshEnabled": false,
            }),
        ),
        crd(
            "BGPPeer",
            "tor-v4",
            "6b8d4f5e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
            json!({"peerIP": l.b_v4.to_string(), "asNumber": BIRD_AS}),
        ),
        crd(
            "IPPool",
            "default-ipv4-ippool",
            "2c4e6a8b-0d1f-4e3a-9b5c-7d9e1f3a5b7c",
            json!({
                "allowedUses": ["Workload", "Tunnel"],
                "blockSize": 26,
                "cidr": "10.244.0.0/16",
                "ipipMode": "Never",
                "natOutgoing": true,
                "nodeSelector": "all()",
                "vxlanMode": "Never",
            }),
        ),
    ];
    for (i, block) in BLOCKS.iter().enumerate() {
        let name = format!("{NODE}-{}", block.replace(['.', '/'], "-"));
        // BlockAffinities carry no Calico metadata annotation.
        objects.push(json!({
            "apiVersion": "crd.projectcalico.org/v1",
            "kind": "BlockAffinity",
            "metadata": {
                "creationTimestamp": "2026-10-02T08:15:02Z",
                "generation": 1,
                "name": name,
                "uid": format!("9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1{i}"),
            },
            "spec": {
                "cidr": block,
                "deleted": "false",
                "node": NODE,
                "state": "confirmed",
            },
        }));
    }
    objects.push(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "projectcalico.org/IPv4Address": l.a_v4_cidr(),
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": "2026-10-02T08:10:44Z",
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": NODE,
                "kubernetes.io/os": "linux",
            },
            "name": NODE,
            "uid": "4a1b2c3d-5e6f-4789-8a0b-1c2d3e4f5a6b",
        },
        "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]},
        "status": {
            "addresses": [
                {"address": l.a_v4.to_string(), "type": "InternalIP"},
                {"address": NODE, "type": "Hostname"},
            ],
            "conditions": [{
                "lastHeartbeatTime": "2026-10-02T09:20:11Z",
                "lastTransitionTime": "2026-10-02T08:15:35Z",
                "message": "kubelet is posting ready status",
                "reason": "KubeletReady",
                "status": "True",
                "type": "Ready",
            }],
        },
    }));
    objects
}

/// The plugin ConfigMap: `manifest.yaml` in `data`, wasm components
/// base64 in `binaryData` (as the API server returns them).
fn configmap(manifest: &str, wasm: &[(&str, &[u8])]) -> Value {
    let binary: serde_json::Map<String, Value> = wasm
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String(base64(v))))
        .collect();
    let mut cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "creationTimestamp": "2026-10-02T08:12:00Z",
            "labels": {"app.kubernetes.io/name": "bgplet"},
            "name": CM_NAME,
            "namespace": CM_NAMESPACE,
            "uid": "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a",
        },
        "data": {"manifest.yaml": manifest},
    });
    if !binary.is_empty() {
        cm["binaryData"] = Value::Object(binary);
    }
    cm
}

/// deploy/configmap-plugins.yaml's manifest: no plugins, the embedded
/// defaults.
const DEFAULTS: &str = "apiVersion: bgplet.dev/v1\nhooks: {}\n";

/// Withdrawals BIRD received on `proto` (`Import withdraws:`, first
/// column of `show protocols all`): a lost route shows here.
fn bird_withdraws_received(bird: &Bird, proto: &str) -> u64 {
    let out = bird.birdc(&["show", "protocols", "all", proto]).unwrap();
    let line = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Import withdraws:"))
        .unwrap_or_else(|| panic!("no import withdraws line:\n{out}"));
    line.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn a_configmap_change_through_the_api_reloads_without_a_session_reset() {
    require_tools(&["ip", "bird", "birdc"]).unwrap();
    let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
    let l = link(&a, &b, 44).unwrap();
    let bird = Bird::start(
        &b,
        BirdConfig::new(l.b_v4, BIRD_AS).neighbor(
            BirdNeighbor::new("node_v4", l.a_v4, OUR_AS)
                .local_address(l.b_v4)
                .ipv4_only(),
        ),
    )
    .unwrap();

    // The prepend example, as `bgplet plugin builtin` writes it.
    let scratch = TestDir::new("cm-wasm").unwrap();
    let wasm_path = scratch.join("prepend.wasm");
    let out = std::process::Command::new(bgplet_binary().unwrap())
        .args(["plugin", "builtin", "prepend", "--output"])
        .arg(&wasm_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let pin = String::from_utf8(out.stdout).unwrap();
    let pin = pin.split_whitespace().next().unwrap().to_owned();
    let wasm = std::fs::read(&wasm_path).unwrap();

    let mut objects = cluster(&l);
    objects.push(configmap(DEFAULTS, &[]));
    let server =
        KubeApiServer::start(&a, &objects, &[CALICO_CRD_GROUP]).unwrap();
    let api = server.api();
    let opts = BgpletOptions {
        kubeconfig: Some(server.kubeconfig().to_owned()),
        args: vec![
            "--plugins-configmap".into(),
            format!("{CM_NAMESPACE}/{CM_NAME}"),
        ],
        ..BgpletOptions::default()
    };
    let bgplet = Bgplet::start_with(&a, &Resources::new(), NODE, &opts)
        .map_err(|e| {
            anyhow::anyhow!("{e:#}\nAPI requests: {:#?}", api.requests())
        })
        .unwrap();
    bgplet.wait_established(&l.b_v4.to_string(), UP).unwrap();
    bird.wait_established(&l.a_v4.to_string(), UP).unwrap();
    for block in BLOCKS {
        let r = bird.wait_route(block, ROUTE).unwrap();
        assert_eq!(r.as_path, vec![OUR_AS], "{block}");
    }
    let status = bgplet.status().unwrap();
    let since = status.peers[0].since.clone();
    let session = status.peers[0].name.clone();
    assert_eq!(
        status.raw["plugins"]["source"],
        format!("configmap {CM_NAMESPACE}/{CM_NAME}")
    );
    // Read through a name-selected list and watch, which is all the
    // Role in deploy/rbac.yaml (resourceNames) allows.
    let cm_path = format!("/api/v1/namespaces/{CM_NAMESPACE}/configmaps");
    let cm_requests: Vec<String> = api
        .requests()
        .into_iter()
        .filter(|r| r.contains(&cm_path))
        .collect();
    assert!(!cm_requests.is_empty());
    for r in &cm_requests {
        assert!(
            r.contains(&format!("fieldSelector=metadata.name%3D{CM_NAME}"))
                || r.contains(&format!(
                    "fieldSelector=metadata.name={CM_NAME}"
                )),
            "{r}"
        );
    }
    assert!(!api.watches_of(&cm_path).is_empty(), "no ConfigMap watch");
    let bird_line = bird.protocol_line("node_v4").unwrap();
    let withdraws = bird_withdraws_received(&bird, "node_v4");

    // The change: a watch event (MODIFIED) carrying a manifest that
    // prepends twice toward BIRD's session, and the wasm.
    let t0 = Instant::now();
    api.put(configmap(
        &prepend_manifest(&pin, &[session.as_str()], 2),
        &[("prepend.wasm", &wasm)],
    ));
    let prepended = vec![OUR_AS, OUR_AS, OUR_AS];
    for block in BLOCKS {
        bird.wait_route_matching(block, SWAP, &|r| r.as_path == prepended)
            .map_err(|e| {
                anyhow::anyhow!(
                    "{e:#}\nbgplet:\n{}\nstatus: {}",
                    bgplet.log_tail(30),
                    bgplet.status().map(|s| s.raw).unwrap_or_default(),
                )
            })
            .unwrap();
    }
    eprintln!(
        "ConfigMap watch event to prepended routes at BIRD: {:?}",
        t0.elapsed()
    );
    let status = bgplet.status().unwrap();
    assert_eq!(status.peers[0].state, "Established");
    assert_eq!(status.peers[0].since, since, "bgplet reset the session");
    assert_eq!(bird.protocol_line("node_v4").unwrap(), bird_line);
    // Replaced in place: BIRD was never told to withdraw a block.
    assert_eq!(bird_withdraws_received(&bird, "node_v4"), withdraws);
    let p = &status.raw["plugins"];
    assert_eq!(p["reloads_ok"], 1, "{p}");
    assert_eq!(
        p["last_reload"]["source"],
        format!("configmap {CM_NAMESPACE}/{CM_NAME}")
    );

    // A wrong pin: refused, the prepending plugin stays in service.
    let wrong = "0".repeat(64);
    api.put(configmap(
        &prepend_manifest(&wrong, &[session.as_str()], 2),
        &[("prepend.wasm", &wasm)],
    ));
    wait_for("refused reload", SWAP, Duration::from_millis(100), || {
        Ok(bgplet.status()?.raw["plugins"]["reloads_failed"] == 1)
    })
    .unwrap();
    let s = bgplet.status().unwrap();
    let err = s.raw["plugins"]["last_reload"]["error"].as_str().unwrap();
    assert!(err.contains("does not match the pin"), "{err}");
    let log = bgplet.log_tail(200);
    assert!(
        log.lines().any(|l| l.contains("plugin reload refused")
            && l.contains("does not match the pin")),
        "{log}"
    );
    std::thread::sleep(Duration::from_secs(1));
    for block in BLOCKS {
        assert_eq!(bird.route(block).unwrap().unwrap().as_path, prepended);
    }
    let s = bgplet.status().unwrap();
    assert_eq!(s.peers[0].since, since);
    assert_eq!(s.raw["plugins"]["reloads_ok"], 1);
    assert_eq!(bird.protocol_line("node_v4").unwrap(), bird_line);
    assert_eq!(bird_withdraws_received(&bird, "node_v4"), withdraws);
}
