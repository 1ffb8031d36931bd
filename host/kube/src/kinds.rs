//! The kinds we watch, and the part of each object a snapshot keeps.
//!
//! Objects are trimmed to what the calico loader reads (name, labels,
//! Calico annotations on Nodes, `spec`, Secret `data`). Volatile fields
//! (resourceVersion, managedFields, Node status) are dropped so that a
//! Node heartbeat or a no-op update does not produce a new snapshot.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Secret};
use kube::core::{ApiResource, DynamicObject};
use serde_json::{Map, Value};

use crate::options::CalicoApiGroup;

/// Node annotations that Calico's node conversion reads all start with
/// this (calico-bgp.md 2.1).
const CALICO_ANNOTATION_PREFIX: &str = "projectcalico.org/";

/// What a watched kind is, for trimming its objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A Calico resource: `spec` is kept.
    Calico,
    /// A Kubernetes Node: labels and `projectcalico.org/*` annotations.
    Node,
    /// A Secret: `data` and `stringData`.
    Secret,
}

/// One kind the datastore watches.
#[derive(Clone, Debug)]
pub(crate) struct WatchedKind {
    /// Group, version, kind and plural for `kube`.
    pub resource: ApiResource,
    /// How objects are trimmed.
    pub shape: Shape,
}

/// Calico's BGP-relevant kinds and their plurals (the bgp syncer's
/// list, calico-bgp.md 2.1; Node is not a CRD).
pub(crate) const CALICO_KINDS: [(&str, &str); 5] = [
    ("BGPConfiguration", "bgpconfigurations"),
    ("BGPPeer", "bgppeers"),
    ("BGPFilter", "bgpfilters"),
    ("IPPool", "ippools"),
    ("BlockAffinity", "blockaffinities"),
];

impl WatchedKind {
    /// A Calico kind in `group`.
    pub fn calico(group: CalicoApiGroup, kind: &str, plural: &str) -> Self {
        let resource = ApiResource {
            group: group.group().to_string(),
            version: group.version().to_string(),
            api_version: group.api_version(),
            kind: kind.to_string(),
            plural: plural.to_string(),
        };
        Self {
            resource,
            shape: Shape::Calico,
        }
    }

    /// Kubernetes `v1` Nodes.
    pub fn nodes() -> Self {
        Self {
            resource: ApiResource::erase::<Node>(&()),
            shape: Shape::Node,
        }
    }

    /// Kubernetes `v1` Secrets.
    pub fn secrets() -> Self {
        Self {
            resource: ApiResource::erase::<Secret>(&()),
            shape: Shape::Secret,
        }
    }

    /// The object's cache key (`namespace/name`, or `name`) and its
    /// trimmed form, with `apiVersion` and `kind` filled in (list items
    /// of built-in kinds arrive without them).
    pub fn trim(&self, obj: &DynamicObject) -> (String, Value) {
        let name = obj.metadata.name.clone().unwrap_or_default();
        let namespace = obj.metadata.namespace.clone();
        let key = match &namespace {
            Some(ns) => format!("{ns}/{name}"),
            None => name.clone(),
        };
        let mut meta = Map::new();
        meta.insert("name".into(), Value::String(name));
        if let Some(ns) = namespace {
            meta.insert("namespace".into(), Value::String(ns));
        }
        if let Some(labels) = &obj.metadata.labels
            && !labels.is_empty()
        {
            meta.insert("labels".into(), string_map(labels.iter()));
        }
        let mut out = Map::new();
        out.insert(
            "apiVersion".into(),
            Value::String(self.resource.api_version.clone()),
        );
        out.insert("kind".into(), Value::String(self.resource.kind.clone()));
        let keep: &[&str] = match self.shape {
            Shape::Calico => &["spec"],
            Shape::Node => {
                let calico =
                    obj.metadata.annotations.iter().flatten().filter(
                        |(k, _)| k.starts_with(CALICO_ANNOTATION_PREFIX),
                    );
                let annotations = string_map(calico);
                if annotations.as_object().is_some_and(|m| !m.is_empty()) {
                    meta.insert("annotations".into(), annotations);
                }
                &[]
            }
            Shape::Secret => &["data", "stringData"],
        };
        out.insert("metadata".into(), Value::Object(meta));
        for field in keep {
            if let Some(v) = obj.data.get(*field)
                && !v.is_null()
            {
                out.insert((*field).to_string(), v.clone());
            }
        }
        (key, Value::Object(out))
    }
}

fn string_map<'a>(
    entries: impl Iterator<Item = (&'a String, &'a String)>,
) -> Value {
    let map: BTreeMap<&String, &String> = entries.collect();
    Value::Object(
        map.into_iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The Secret names a trimmed Calico object's password fields point at:
/// `spec.password.secretKeyRef.name` on a BGPPeer and
/// `spec.nodeMeshPassword.secretKeyRef.name` on a BGPConfiguration.
pub(crate) fn secret_refs(obj: &Value) -> Vec<String> {
    let field = match obj.get("kind").and_then(Value::as_str) {
        Some("BGPPeer") => "password",
        Some("BGPConfiguration") => "nodeMeshPassword",
        _ => return Vec::new(),
    };
    obj.pointer(&format!("/spec/{field}/secretKeyRef/name"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(|n| vec![n.to_string()])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dynamic(v: Value) -> DynamicObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn node_keeps_labels_and_only_calico_annotations() {
        let obj = dynamic(json!({
            "metadata": {
                "name": "n1", "resourceVersion": "7", "uid": "u",
                "labels": {"kubernetes.io/hostname": "n1"},
                "annotations": {
                    "projectcalico.org/IPv4Address": "10.0.0.1/24",
                    "node.alpha.kubernetes.io/ttl": "0"
                }
            },
            "spec": {"podCIDR": "10.244.0.0/24"},
            "status": {"conditions": []}
        }));
        let (key, v) = WatchedKind::nodes().trim(&obj);
        assert_eq!(key, "n1");
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {
                    "name": "n1",
                    "labels": {"kubernetes.io/hostname": "n1"},
                    "annotations": {
                        "projectcalico.org/IPv4Address": "10.0.0.1/24"
                    }
                }
            })
        );
    }

    #[test]
    fn calico_object_keeps_spec_and_drops_volatile_metadata() {
        let kind =
            WatchedKind::calico(CalicoApiGroup::CrdV1, "BGPPeer", "bgppeers");
        let obj = dynamic(json!({
            "apiVersion": "crd.projectcalico.org/v1", "kind": "BGPPeer",
            "metadata": {"name": "tor", "generation": 3,
                         "resourceVersion": "9"},
            "spec": {"peerIP": "10.0.0.254", "asNumber": 65001,
                     "password": {"secretKeyRef": {"name": "bgp", "key": "k"}}}
        }));
        let (key, v) = kind.trim(&obj);
        assert_eq!(key, "tor");
        assert_eq!(v["metadata"], json!({"name": "tor"}));
        assert_eq!(v["spec"]["asNumber"], json!(65001));
        assert_eq!(secret_refs(&v), vec!["bgp".to_string()]);
    }

    #[test]
    fn secret_key_is_namespaced_and_keeps_data() {
        let obj = dynamic(json!({
            "metadata": {"name": "bgp", "namespace": "calico-system"},
            "type": "Opaque",
            "data": {"k": "c2VjcmV0"}
        }));
        let (key, v) = WatchedKind::secrets().trim(&obj);
        assert_eq!(key, "calico-system/bgp");
        assert_eq!(v["data"], json!({"k": "c2VjcmV0"}));
        assert!(v.get("type").is_none());
    }
}
