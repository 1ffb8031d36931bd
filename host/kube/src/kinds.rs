//! The kinds we watch, and the part of each object a snapshot keeps.
//!
//! Objects are trimmed to what the calico loader reads (name, labels,
//! Calico annotations and pod CIDRs on Nodes, `spec`, Secret `data`,
//! the advertised addresses of Services, where the ready endpoints of an
//! EndpointSlice run). Volatile fields (resourceVersion, managedFields,
//! Node status, endpoint addresses) are dropped so that a Node
//! heartbeat, a pod IP change or a no-op update does not produce a new
//! snapshot.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
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
    /// A Service: the fields that decide its advertised addresses.
    Service,
    /// An EndpointSlice: its Service, address type, and the node and
    /// readiness of each endpoint.
    EndpointSlice,
}

/// The label naming an EndpointSlice's Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The Service `spec` fields service advertisement reads
/// (calico-bgp.md 4.9).
const SERVICE_SPEC_FIELDS: [&str; 7] = [
    "type",
    "clusterIP",
    "clusterIPs",
    "externalIPs",
    "loadBalancerIP",
    "externalTrafficPolicy",
    "ipFamilies",
];

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

    /// Kubernetes `v1` Services.
    pub fn services() -> Self {
        Self {
            resource: ApiResource::erase::<Service>(&()),
            shape: Shape::Service,
        }
    }

    /// Kubernetes `discovery.k8s.io/v1` EndpointSlices.
    pub fn endpoint_slices() -> Self {
        Self {
            resource: ApiResource::erase::<EndpointSlice>(&()),
            shape: Shape::EndpointSlice,
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
        let labels = obj.metadata.labels.iter().flatten();
        let labels: Vec<(&String, &String)> = match self.shape {
            // A Service's labels decide nothing here.
            Shape::Service => Vec::new(),
            Shape::EndpointSlice => labels
                .filter(|(k, _)| k.as_str() == SERVICE_NAME_LABEL)
                .collect(),
            _ => labels.collect(),
        };
        if !labels.is_empty() {
            meta.insert("labels".into(), string_map(labels.into_iter()));
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
                // Host-local IPAM's blocks; set once, never volatile.
                let spec = pick(obj.data.get("spec"), &["podCIDR", "podCIDRs"]);
                if let Some(spec) = spec {
                    out.insert("spec".into(), spec);
                }
                &[]
            }
            Shape::Secret => &["data", "stringData"],
            Shape::Service => {
                let spec = pick(obj.data.get("spec"), &SERVICE_SPEC_FIELDS);
                if let Some(spec) = spec {
                    out.insert("spec".into(), spec);
                }
                if let Some(status) = lb_ingress_ips(&obj.data) {
                    out.insert("status".into(), status);
                }
                &[]
            }
            Shape::EndpointSlice => {
                if let Some(t) = obj.data.get("addressType") {
                    out.insert("addressType".into(), t.clone());
                }
                out.insert("endpoints".into(), endpoints(&obj.data));
                &[]
            }
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

/// The listed keys of an object, or `None` when none is there.
fn pick(obj: Option<&Value>, keys: &[&str]) -> Option<Value> {
    let obj = obj?.as_object()?;
    let kept: Map<String, Value> = keys
        .iter()
        .filter_map(|k| {
            let v = obj.get(*k).filter(|v| !v.is_null())?;
            Some(((*k).to_string(), v.clone()))
        })
        .collect();
    (!kept.is_empty()).then_some(Value::Object(kept))
}

/// `status.loadBalancer.ingress[].ip` (hostname-only ingress points and
/// ports dropped).
fn lb_ingress_ips(data: &Value) -> Option<Value> {
    let ingress = data.pointer("/status/loadBalancer/ingress")?.as_array()?;
    let ips: Vec<Value> = ingress
        .iter()
        .filter_map(|i| i.get("ip").filter(|ip| ip.is_string()))
        .map(|ip| serde_json::json!({ "ip": ip }))
        .collect();
    (!ips.is_empty())
        .then(|| serde_json::json!({ "loadBalancer": { "ingress": ips } }))
}

/// Each endpoint's `nodeName` and `conditions.ready`, in order.
fn endpoints(data: &Value) -> Value {
    let list = data.get("endpoints").and_then(Value::as_array);
    let kept = list.into_iter().flatten().map(|e| {
        let mut out = Map::new();
        if let Some(n) = e.get("nodeName").filter(|n| n.is_string()) {
            out.insert("nodeName".into(), n.clone());
        }
        if let Some(r) =
            e.pointer("/conditions/ready").filter(|r| r.is_boolean())
        {
            out.insert("conditions".into(), serde_json::json!({ "ready": r }));
        }
        Value::Object(out)
    });
    Value::Array(kept.collect())
}

/// Whether a trimmed object is the `default` BGPConfiguration with a
/// service range set: then Services and EndpointSlices are watched
/// (calico-bgp.md 2.1).
pub(crate) fn advertises_services(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("BGPConfiguration")
        && obj.pointer("/metadata/name").and_then(Value::as_str)
            == Some("default")
        && [
            "serviceClusterIPs",
            "serviceExternalIPs",
            "serviceLoadBalancerIPs",
        ]
        .iter()
        .any(|f| {
            obj.pointer(&format!("/spec/{f}"))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        })
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
                },
                "spec": {"podCIDR": "10.244.0.0/24"}
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

    #[test]
    fn service_keeps_only_what_decides_its_advertised_addresses() {
        let obj = dynamic(json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u",
                         "labels": {"app": "web"}, "resourceVersion": "5"},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10",
                     "clusterIPs": ["10.96.0.10"], "ipFamilies": ["IPv4"],
                     "externalTrafficPolicy": "Local",
                     "ports": [{"port": 80}], "selector": {"app": "web"},
                     "healthCheckNodePort": 31234},
            "status": {"loadBalancer": {"ingress": [
                {"ip": "192.0.2.10", "ipMode": "VIP"},
                {"hostname": "lb.example.com"}
            ]}}
        }));
        let (key, v) = WatchedKind::services().trim(&obj);
        assert_eq!(key, "shop/web");
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10",
                         "clusterIPs": ["10.96.0.10"],
                         "ipFamilies": ["IPv4"],
                         "externalTrafficPolicy": "Local"},
                "status": {"loadBalancer": {"ingress": [
                    {"ip": "192.0.2.10"}
                ]}}
            })
        );
    }

    #[test]
    fn endpoint_slice_keeps_node_and_readiness_not_addresses() {
        let obj = dynamic(json!({
            "metadata": {"name": "web-1", "namespace": "shop",
                         "labels": {"kubernetes.io/service-name": "web",
                                    "endpointslice.kubernetes.io/managed-by":
                                        "endpointslice-controller.k8s.io"}},
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["10.244.1.7"], "nodeName": "node-1",
                 "conditions": {"ready": true, "serving": true},
                 "targetRef": {"kind": "Pod", "name": "web-x"}},
                {"addresses": ["10.244.2.9"]}
            ],
            "ports": [{"port": 8080}]
        }));
        let (key, v) = WatchedKind::endpoint_slices().trim(&obj);
        assert_eq!(key, "shop/web-1");
        assert_eq!(
            v,
            json!({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "web-1", "namespace": "shop",
                             "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "endpoints": [
                    {"nodeName": "node-1", "conditions": {"ready": true}},
                    {}
                ]
            })
        );
    }

    #[test]
    fn only_a_default_configuration_with_a_range_turns_services_on() {
        let cfg = |name: &str, spec: Value| {
            json!({"kind": "BGPConfiguration",
                   "metadata": {"name": name}, "spec": spec})
        };
        let range = json!({"serviceExternalIPs": [{"cidr": "203.0.113.0/24"}]});
        assert!(advertises_services(&cfg("default", range.clone())));
        assert!(!advertises_services(&cfg("node.n1", range)));
        let empty = json!({"serviceClusterIPs": []});
        assert!(!advertises_services(&cfg("default", empty)));
        assert!(!advertises_services(&cfg("default", json!({}))));
    }
}
