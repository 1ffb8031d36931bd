//! The manifests in deploy/: each parses into its k8s-openapi type with
//! nothing left over (a round trip through the type must give back the
//! same document, so an unknown or misspelt field fails), passes
//! `kubernetes-validate --strict` against the oldest and newest
//! Kubernetes we support, and the kustomization lists every manifest.
//! The Calico sample loads through the same loader as the datastore.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, Role, RoleBinding,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Oldest and newest Kubernetes minor we support (kube 5: 1.33 to 1.37).
const KUBERNETES_VERSIONS: [&str; 2] = ["1.33.0", "1.37.0"];

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The Kubernetes manifests: every YAML file but the kustomization and
/// the Calico sample.
fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name != "kustomization.yaml" && name != "sample-resources.yaml"
        })
        .collect();
    files.sort();
    files
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// The first path where `a` and `b` differ.
fn difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = difference(v, w, &p) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{p} is not a known field")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{path}.{k} appeared"))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (v, w))| {
                difference(v, w, &format!("{path}[{i}]"))
            })
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} became {b}")),
    }
}

fn round_trip<T: DeserializeOwned + serde::Serialize>(doc: &Value) {
    let typed: T = serde_json::from_value(doc.clone()).unwrap_or_else(|e| {
        panic!("{} does not parse: {e}", doc["metadata"]["name"])
    });
    let back = serde_json::to_value(&typed).unwrap();
    if let Some(d) = difference(doc, &back, "") {
        panic!("{} {}: {d}", doc["kind"], doc["metadata"]["name"]);
    }
}

#[test]
fn every_manifest_parses_into_its_kubernetes_type_with_nothing_unknown() {
    let mut kinds = Vec::new();
    for file in manifests() {
        for doc in documents(&file) {
            let kind = doc["kind"].as_str().unwrap().to_string();
            match kind.as_str() {
                "DaemonSet" => round_trip::<DaemonSet>(&doc),
                "ServiceAccount" => round_trip::<ServiceAccount>(&doc),
                "ClusterRole" => round_trip::<ClusterRole>(&doc),
                "ClusterRoleBinding" => round_trip::<ClusterRoleBinding>(&doc),
                "Role" => round_trip::<Role>(&doc),
                "RoleBinding" => round_trip::<RoleBinding>(&doc),
                "ConfigMap" => round_trip::<ConfigMap>(&doc),
                "Namespace" => round_trip::<Namespace>(&doc),
                other => panic!("{}: unexpected kind {other}", file.display()),
            }
            kinds.push(kind);
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "ConfigMap",
            "DaemonSet",
            "Namespace",
            "Role",
            "Role",
            "RoleBinding",
            "RoleBinding",
            "ServiceAccount"
        ]
    );
}

#[test]
fn round_trip_catches_a_misspelt_field() {
    let mut doc = documents(&deploy_dir().join("daemonset.yaml")).remove(0);
    doc["spec"]["template"]["spec"]["hostNetwrk"] = Value::Bool(true);
    let result = std::panic::catch_unwind(|| round_trip::<DaemonSet>(&doc));
    assert!(result.is_err());
}

#[test]
fn every_manifest_passes_kubernetes_validate_strict() {
    let files = manifests();
    for version in KUBERNETES_VERSIONS {
        let out = Command::new("kubernetes-validate")
            .args(["--strict", "--quiet", "-k", version])
            .args(&files)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run kubernetes-validate ({e}); install it with \
                     `pip install kubernetes-validate==1.37.0` \
                     (scripts/setup.sh does)"
                )
            });
        assert!(
            out.status.success(),
            "Kubernetes {version}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn kustomization_lists_every_manifest() {
    let kustomization =
        documents(&deploy_dir().join("kustomization.yaml")).remove(0);
    let mut listed: Vec<String> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    listed.sort();
    let mut files: Vec<String> = manifests()
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    files.sort();
    assert_eq!(listed, files);
}

#[test]
fn daemonset_runs_the_kubernetes_datastore_on_every_node() {
    let doc = documents(&deploy_dir().join("daemonset.yaml")).remove(0);
    let ds: DaemonSet = serde_json::from_value(doc).unwrap();
    let pod = ds.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.host_network, Some(true));
    let tolerations = pod.tolerations.unwrap();
    assert!(tolerations.iter().any(|t| {
        t.operator.as_deref() == Some("Exists") && t.key.is_none()
    }));
    let c = &pod.containers[0];
    let args = c.args.clone().unwrap().join(" ");
    assert_eq!(
        args,
        "run --datastore kubernetes --node $(NODENAME) --control-socket \
         /var/run/bgplet/bgplet.ctl --bird-socket /var/run/calico/bird.ctl \
         --plugins-configmap bgplet-system/bgplet-plugins"
    );
    let env = c.env.clone().unwrap();
    let nodename = env.iter().find(|e| e.name == "NODENAME").unwrap();
    let field = nodename.value_from.as_ref().unwrap().field_ref.as_ref();
    assert_eq!(field.unwrap().field_path, "spec.nodeName");
    let caps = c
        .security_context
        .as_ref()
        .unwrap()
        .capabilities
        .as_ref()
        .unwrap();
    let added = caps.add.clone().unwrap();
    assert!(added.contains(&"NET_ADMIN".to_string()));
    assert!(added.contains(&"NET_RAW".to_string()));
    assert_eq!(caps.drop.clone().unwrap(), ["ALL"]);
    assert!(c.liveness_probe.is_some() && c.readiness_probe.is_some());
    let limits = c.resources.as_ref().unwrap().limits.as_ref().unwrap();
    assert!(limits.contains_key("memory"));
}

#[test]
fn cluster_role_grants_only_reads_of_the_watched_kinds() {
    let docs = documents(&deploy_dir().join("rbac.yaml"));
    let role: ClusterRole = serde_json::from_value(
        docs.iter()
            .find(|d| d["kind"] == "ClusterRole")
            .unwrap()
            .clone(),
    )
    .unwrap();
    let mut resources = Vec::new();
    for rule in role.rules.unwrap() {
        let rs = rule.resources.clone().unwrap();
        let groups = rule.api_groups.clone().unwrap_or_default();
        // Services and EndpointSlices are only ever listed and watched.
        let service_kinds = rs.iter().all(|r| {
            (r == "services" && groups == [""])
                || (r == "endpointslices" && groups == ["discovery.k8s.io"])
        });
        if service_kinds {
            assert_eq!(rule.verbs, ["list", "watch"], "{rs:?}");
        } else {
            assert_eq!(rule.verbs, ["get", "list", "watch"], "{rs:?}");
        }
        for r in rule.resources.unwrap() {
            assert_ne!(r, "secrets", "Secrets belong in the namespaced Role");
            resources.push(r);
        }
    }
    resources.sort();
    resources.dedup();
    assert_eq!(
        resources,
        [
            "bgpconfigurations",
            "bgpfilters",
            "bgppeers",
            "blockaffinities",
            "endpointslices",
            "ippools",
            "nodes",
            "services"
        ]
    );
    let secrets = role_named(&docs, "bgplet-bgp-passwords");
    let ns = secrets.metadata.namespace.as_deref();
    assert_eq!(ns, Some(bgplet_kube::DEFAULT_SECRET_NAMESPACE));
    let rule = &secrets.rules.unwrap()[0];
    assert_eq!(rule.resources.as_deref().unwrap(), ["secrets"]);
    assert!(rule.resource_names.as_ref().is_some_and(|n| !n.is_empty()));
}

fn role_named(docs: &[Value], name: &str) -> Role {
    let doc = docs
        .iter()
        .find(|d| d["kind"] == "Role" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Role {name}"));
    serde_json::from_value(doc.clone()).unwrap()
}

#[test]
fn the_plugin_configmap_is_readable_and_nothing_else_in_its_namespace() {
    let docs = documents(&deploy_dir().join("rbac.yaml"));
    let role = role_named(&docs, "bgplet-plugins");
    let cm = documents(&deploy_dir().join("configmap-plugins.yaml")).remove(0);
    let (ns, name) = (
        cm["metadata"]["namespace"].as_str().unwrap(),
        cm["metadata"]["name"].as_str().unwrap(),
    );
    assert_eq!(role.metadata.namespace.as_deref(), Some(ns));
    let rules = role.rules.unwrap();
    assert_eq!(rules.len(), 1);
    let rule = &rules[0];
    assert_eq!(rule.api_groups.as_deref().unwrap(), [""]);
    assert_eq!(rule.resources.as_deref().unwrap(), ["configmaps"]);
    assert_eq!(rule.resource_names.as_deref().unwrap(), [name]);
    assert_eq!(rule.verbs, ["get", "list", "watch"]);
    let binding: RoleBinding = serde_json::from_value(
        docs.iter()
            .find(|d| {
                d["kind"] == "RoleBinding"
                    && d["metadata"]["name"] == "bgplet-plugins"
            })
            .unwrap()
            .clone(),
    )
    .unwrap();
    assert_eq!(binding.metadata.namespace.as_deref(), Some(ns));
    assert_eq!(binding.role_ref.kind, "Role");
    assert_eq!(binding.role_ref.name, "bgplet-plugins");
    let subject = &binding.subjects.unwrap()[0];
    assert_eq!(
        (subject.kind.as_str(), subject.name.as_str()),
        ("ServiceAccount", "bgplet")
    );
    // The DaemonSet watches exactly that ConfigMap.
    let ds = documents(&deploy_dir().join("daemonset.yaml")).remove(0);
    let args = ds["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect::<Vec<_>>();
    let at = args
        .iter()
        .position(|a| *a == "--plugins-configmap")
        .unwrap();
    assert_eq!(args[at + 1], format!("{ns}/{name}"));
}

#[test]
fn sample_resources_load_without_errors_or_warnings() {
    let text =
        std::fs::read_to_string(deploy_dir().join("sample-resources.yaml"))
            .unwrap();
    let res = bgplet_calico::Resources::from_yaml_str(&text).unwrap();
    assert_eq!(res.peers.len(), 2);
    assert_eq!(res.filters.len(), 1);
    assert_eq!(res.pools.len(), 1);
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
}
