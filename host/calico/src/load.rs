//! Reading `calicoctl apply -f` style YAML into [`Resources`].
//!
//! The stream is split into documents; `kind: List` (and `…List` kinds
//! as `calicoctl get -o yaml` prints them) are flattened. Calico kinds
//! are accepted in both the API shape (`projectcalico.org/v3`) and the
//! Kubernetes storage shape (`crd.projectcalico.org/v1`). Other kinds
//! are skipped with a warning. Every problem is collected before
//! failing, so one run reports all of them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

use crate::convert::{self, Ctx};
use crate::error::{ConfigError, FieldError, Warning};
use crate::k8s::{EndpointSlice, SERVICE_NAME_LABEL, Service};
use crate::model::Secret;
use crate::model::{
    AffinityState, BgpConfiguration, BgpFilter, BgpPeer, BlockAffinity, IpPool,
    Labels, Node, SecretKeyRef,
};
use crate::types::Asn;

/// The API groups whose kinds we read.
const CALICO_GROUPS: [&str; 2] =
    ["projectcalico.org/v3", "crd.projectcalico.org/v1"];

/// Every Calico resource that BGP planning reads, validated.
///
/// Maps are keyed by metadata.name, so iteration is in name order and a
/// later document with the same name replaces an earlier one (as
/// `calicoctl apply` would), with a warning.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    /// BGPConfigurations (`default`, `node.<name>`).
    pub bgp_configurations: BTreeMap<String, BgpConfiguration>,
    /// BGPPeers.
    pub peers: BTreeMap<String, BgpPeer>,
    /// BGPFilters.
    pub filters: BTreeMap<String, BgpFilter>,
    /// IPPools.
    pub pools: BTreeMap<String, IpPool>,
    /// Calico Nodes.
    pub nodes: BTreeMap<String, Node>,
    /// BlockAffinities (of every node).
    pub block_affinities: BTreeMap<String, BlockAffinity>,
    /// Secrets that passwords may refer to.
    pub secrets: Vec<Secret>,
    /// Kubernetes Services, by `namespace/name` (service advertisement,
    /// calico-bgp.md 4.9).
    pub services: BTreeMap<String, Service>,
    /// Kubernetes EndpointSlices, by `namespace/name`.
    pub endpoint_slices: BTreeMap<String, EndpointSlice>,
    /// What loading noticed but did not reject.
    pub warnings: Vec<Warning>,
}

impl Resources {
    /// Parses and validates a multi-document YAML stream.
    ///
    /// Returns every field error at once in [`ConfigError::Invalid`];
    /// warnings (skipped kinds, missing secrets) are kept in
    /// [`Resources::warnings`].
    pub fn from_yaml_str(text: &str) -> Result<Self, ConfigError> {
        let mut loader = Loader::default();
        for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let value =
                Value::deserialize(doc).map_err(|e| ConfigError::Yaml {
                    document: i + 1,
                    message: e.to_string(),
                })?;
            loader.object(value, &format!("document #{}", i + 1));
        }
        loader.cross_check();
        let Loader {
            res,
            errors,
            warnings,
        } = loader;
        if errors.is_empty() {
            Ok(Self { warnings, ..res })
        } else {
            Err(ConfigError::Invalid { errors, warnings })
        }
    }

    /// Host-local IPAM (calico-node's `USE_POD_CIDR=true`, libcalico's
    /// `K8sUsePodCIDR`): BlockAffinities are not read, and each entry of
    /// a node's pod CIDRs is a confirmed block of that node
    /// (calico-bgp.md 2.7). Calico's syncer does this conversion, so it
    /// is done here, on the resources, before planning.
    pub fn use_pod_cidrs(&mut self) {
        self.block_affinities = self
            .nodes
            .values()
            .flat_map(|n| {
                n.pod_cidrs.iter().map(|c| {
                    let clean: String =
                        c.to_string()
                            .chars()
                            .map(|ch| {
                                if ch.is_ascii_alphanumeric() {
                                    ch
                                } else {
                                    '-'
                                }
                            })
                            .collect();
                    let name = format!("{}-podcidr-{clean}", n.name);
                    let affinity = BlockAffinity {
                        name: name.clone(),
                        node: n.name.clone(),
                        cidr: *c,
                        state: AffinityState::Confirmed,
                        deleted: false,
                    };
                    (name, affinity)
                })
            })
            .collect();
    }

    /// Whether any service range is configured in the `default`
    /// BGPConfiguration: only then are Services and EndpointSlices
    /// watched (calico-bgp.md 2.1).
    pub fn service_advertisement_configured(&self) -> bool {
        self.default_config().is_some_and(|c| {
            !c.service_cluster_ips.is_empty()
                || !c.service_external_ips.is_empty()
                || !c.service_load_balancer_ips.is_empty()
        })
    }

    /// The `default` BGPConfiguration, if present.
    pub fn default_config(&self) -> Option<&BgpConfiguration> {
        self.bgp_configurations.get("default")
    }

    /// The `node.<name>` BGPConfiguration, if present.
    pub fn node_config(&self, node: &str) -> Option<&BgpConfiguration> {
        self.bgp_configurations.get(&format!("node.{node}"))
    }

    /// The cluster AS: `default.asNumber`, else 64512.
    pub fn global_as(&self) -> Asn {
        self.default_config()
            .and_then(|c| c.as_number)
            .unwrap_or(Asn::DEFAULT)
    }

    /// Whether the node-to-node mesh is on (default true).
    pub fn mesh_enabled(&self) -> bool {
        self.default_config()
            .and_then(|c| c.node_to_node_mesh_enabled)
            .unwrap_or(true)
    }

    /// A node's configured listen port: per-node config, then default.
    /// `None` means nothing is configured (BGP's 179).
    pub fn listen_port(&self, node: &str) -> Option<u16> {
        self.node_config(node)
            .and_then(|c| c.listen_port)
            .or_else(|| self.default_config().and_then(|c| c.listen_port))
    }

    /// A node's effective AS: its own, else the cluster AS.
    pub fn node_as(&self, node: &Node) -> Asn {
        node.bgp.as_number.unwrap_or_else(|| self.global_as())
    }

    /// Looks a password up. With `namespace` set, only a Secret in that
    /// namespace (or one written without a namespace) matches.
    pub fn secret_value(
        &self,
        r: &SecretKeyRef,
        namespace: Option<&str>,
    ) -> Option<&str> {
        self.secrets
            .iter()
            .filter(|s| s.name == r.name)
            .filter(|s| match (namespace, &s.namespace) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            })
            .find_map(|s| s.data.get(&r.key))
            .map(String::as_str)
    }
}

#[derive(Default)]
struct Loader {
    res: Resources,
    errors: Vec<FieldError>,
    warnings: Vec<Warning>,
}

impl Loader {
    fn warn(&mut self, kind: &str, name: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            kind: kind.to_string(),
            name: name.to_string(),
            message: message.into(),
        });
    }

    fn error(&mut self, kind: &str, name: &str, field: &str, msg: String) {
        self.errors.push(FieldError {
            kind: kind.to_string(),
            name: name.to_string(),
            field: field.to_string(),
            message: msg,
        });
    }

    /// One YAML object (a document or a list item).
    fn object(&mut self, value: Value, place: &str) {
        let map = match value {
            Value::Null => return,
            Value::Mapping(map) => map,
            _ => {
                let msg = "expected a resource mapping".to_string();
                return self.error(place, "", "(document)", msg);
            }
        };
        let kind = str_field(&map, "kind").unwrap_or_default().to_string();
        let api = str_field(&map, "apiVersion").unwrap_or_default();
        if kind.is_empty() {
            let msg = "missing kind".to_string();
            return self.error(place, "", "kind", msg);
        }
        if kind == "List" || kind.ends_with("List") {
            return self.list(&map, &kind, place);
        }
        let calico = CALICO_GROUPS.contains(&api);
        match (calico, api, kind.as_str()) {
            (true, _, "BGPConfiguration") => {
                self.calico(&map, &kind, |c, s| {
                    convert::bgp_configuration(c, s)
                        .map(|v| Stored::Config(Box::new(v)))
                })
            }
            (true, _, "BGPPeer") => self.calico(&map, &kind, |c, s| {
                convert::bgp_peer(c, s).map(|v| Stored::Peer(Box::new(v)))
            }),
            (true, _, "BGPFilter") => self.calico(&map, &kind, |c, s| {
                convert::bgp_filter(c, s).map(Stored::Filter)
            }),
            (true, _, "IPPool") => self.calico(&map, &kind, |c, s| {
                convert::ip_pool(c, s).map(Stored::Pool)
            }),
            (true, _, "Node") => self.calico(&map, &kind, |c, s| {
                convert::node(c, s).map(Stored::Node)
            }),
            (true, _, "BlockAffinity") => self.calico(&map, &kind, |c, s| {
                convert::block_affinity(c, s).map(Stored::Affinity)
            }),
            (false, "v1", "Secret") => self.secret(&map),
            (false, "v1", "Node") => self.k8s_node(&map),
            (false, "v1", "Service") => self.k8s_service(&map),
            (false, "discovery.k8s.io/v1", "EndpointSlice") => {
                self.endpoint_slice(&map)
            }
            _ => {
                let name = meta_name(&map).unwrap_or_default();
                let what = format!("{api} {kind}");
                self.warn(&kind, &name, format!("skipped: {what} is not read"));
            }
        }
    }

    fn list(&mut self, map: &Mapping, kind: &str, place: &str) {
        match map.get("items") {
            Some(Value::Sequence(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let place = format!("{place} item #{}", i + 1);
                    self.object(item.clone(), &place);
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => {
                let msg = "items must be a list".to_string();
                self.error(kind, "", "items", msg);
            }
        }
    }

    /// Envelope checks shared by every Calico kind, then the conversion.
    fn calico<F>(&mut self, map: &Mapping, kind: &str, conv: F)
    where
        F: FnOnce(&mut Ctx<'_>, &Value) -> Option<Stored>,
    {
        let Some(kind) = calico_kind(kind) else {
            return;
        };
        let name = meta_name(map).unwrap_or_default();
        let mut ctx = Ctx::new(kind, &name, &mut self.errors);
        if name.is_empty() {
            ctx.err("metadata.name", "is required");
        }
        for key in map.keys() {
            let k = key.as_str().unwrap_or_default();
            if !["apiVersion", "kind", "metadata", "spec", "status"]
                .contains(&k)
            {
                ctx.err(k, "unknown field");
            }
        }
        let labels = meta_labels(&mut ctx, map);
        // A Calico Node carries Kubernetes' pod CIDRs in its status.
        let pod_cidrs = if kind == "Node" {
            convert::pod_cidrs(&mut ctx, map.get("status"), "status")
        } else {
            Vec::new()
        };
        let spec = map.get("spec").cloned().unwrap_or(Value::Null);
        let Some(stored) = conv(&mut ctx, &spec) else {
            return;
        };
        let fresh = match stored {
            Stored::Config(v) => {
                insert(&mut self.res.bgp_configurations, &name, *v)
            }
            Stored::Peer(v) => insert(&mut self.res.peers, &name, *v),
            Stored::Filter(v) => insert(&mut self.res.filters, &name, v),
            Stored::Pool(v) => insert(&mut self.res.pools, &name, v),
            Stored::Node(mut v) => {
                v.labels = labels;
                v.pod_cidrs = pod_cidrs;
                insert(&mut self.res.nodes, &name, v)
            }
            Stored::Affinity(v) => {
                insert(&mut self.res.block_affinities, &name, v)
            }
        };
        if !fresh {
            self.warn(kind, &name, "defined twice; the later one is used");
        }
    }

    fn secret(&mut self, map: &Mapping) {
        let name = meta_name(map).unwrap_or_default();
        let mut ctx = Ctx::new("Secret", &name, &mut self.errors);
        let namespace = map
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let data: BTreeMap<String, String> =
            decode_field(&mut ctx, map, "data").unwrap_or_default();
        let string_data: BTreeMap<String, String> =
            decode_field(&mut ctx, map, "stringData").unwrap_or_default();
        if let Some(secret) =
            convert::secret(&mut ctx, name, namespace, data, string_data)
        {
            self.res.secrets.push(secret);
        }
    }

    fn k8s_node(&mut self, map: &Mapping) {
        let name = meta_name(map).unwrap_or_default();
        let mut ctx = Ctx::new("Node", &name, &mut self.errors);
        let labels = meta_labels(&mut ctx, map);
        let annotations: BTreeMap<String, String> = map
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .cloned()
            .and_then(|v| serde_yaml::from_value(v).ok())
            .unwrap_or_default();
        let pod_cidrs = convert::pod_cidrs(&mut ctx, map.get("spec"), "spec");
        if let Some(mut node) = convert::k8s_node(&mut ctx, &annotations) {
            node.labels = labels;
            node.pod_cidrs = pod_cidrs;
            if !insert(&mut self.res.nodes, &name, node) {
                self.warn(
                    "Node",
                    &name,
                    "defined twice; the later one is used",
                );
            }
        }
    }

    fn k8s_service(&mut self, map: &Mapping) {
        let (namespace, name) = namespaced(map);
        let key = format!("{namespace}/{name}");
        let mut ctx = Ctx::new("Service", &key, &mut self.errors);
        if name.is_empty() {
            ctx.err("metadata.name", "is required");
        }
        let null = Value::Null;
        let spec = map.get("spec").unwrap_or(&null);
        let status = map.get("status").unwrap_or(&null);
        let Some(svc) =
            convert::service(&mut ctx, &namespace, &name, spec, status)
        else {
            return;
        };
        if !insert(&mut self.res.services, &key, svc) {
            self.warn("Service", &key, "defined twice; the later one is used");
        }
    }

    fn endpoint_slice(&mut self, map: &Mapping) {
        let (namespace, name) = namespaced(map);
        let key = format!("{namespace}/{name}");
        let mut ctx = Ctx::new("EndpointSlice", &key, &mut self.errors);
        if name.is_empty() {
            ctx.err("metadata.name", "is required");
        }
        let labels = meta_labels(&mut ctx, map);
        let service = labels.get(SERVICE_NAME_LABEL).cloned();
        let object = Value::Mapping(map.clone());
        let Some(slice) = convert::endpoint_slice(
            &mut ctx, &namespace, &name, service, &object,
        ) else {
            return;
        };
        if !insert(&mut self.res.endpoint_slices, &key, slice) {
            let m = "defined twice; the later one is used";
            self.warn("EndpointSlice", &key, m);
        }
    }

    /// Checks that span resources (run after every document is read).
    fn cross_check(&mut self) {
        let res = &self.res;
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let warn = |w: &mut Vec<Warning>, kind: &str, name: &str, m: String| {
            w.push(Warning {
                kind: kind.to_string(),
                name: name.to_string(),
                message: m,
            })
        };
        for (name, cfg) in &res.bgp_configurations {
            let field = |f: &str| FieldError {
                kind: "BGPConfiguration".to_string(),
                name: name.clone(),
                field: f.to_string(),
                message: "is only allowed when nodeToNodeMeshEnabled is true"
                    .to_string(),
            };
            if cfg.node_to_node_mesh_enabled == Some(false) {
                if cfg.node_mesh_password.is_some() {
                    errors.push(field("spec.nodeMeshPassword"));
                }
                if cfg.node_mesh_max_restart_time.is_some() {
                    errors.push(field("spec.nodeMeshMaxRestartTime"));
                }
            }
            if let Some(r) = &cfg.node_mesh_password
                && res.secret_value(r, None).is_none()
            {
                let m = secret_missing(r);
                warn(&mut warnings, "BGPConfiguration", name, m);
            }
            if name != "default" && !name.starts_with("node.") {
                let m = "ignored: only \"default\" and \"node.<name>\" are \
                         read"
                    .to_string();
                warn(&mut warnings, "BGPConfiguration", name, m);
            }
            if name.starts_with("node.") {
                for f in per_node_ignored(cfg) {
                    let m = format!(
                        "spec.{f} is ignored on a per-node configuration"
                    );
                    warn(&mut warnings, "BGPConfiguration", name, m);
                }
            }
        }
        for (name, peer) in &res.peers {
            if peer.peer_ip.is_some() && peer.as_number.is_none() {
                let m =
                    "asNumber is not set; the cluster AS is used".to_string();
                warn(&mut warnings, "BGPPeer", name, m);
            }
            if let Some(r) = &peer.password
                && res.secret_value(r, None).is_none()
            {
                let m = secret_missing(r);
                warn(&mut warnings, "BGPPeer", name, m);
            }
            for f in &peer.filters {
                if !res.filters.contains_key(f) {
                    let m = format!("BGPFilter {f:?} does not exist (skipped)");
                    warn(&mut warnings, "BGPPeer", name, m);
                }
            }
        }
        self.errors.extend(errors);
        self.warnings.extend(warnings);
    }
}

enum Stored {
    Config(Box<BgpConfiguration>),
    Peer(Box<BgpPeer>),
    Filter(BgpFilter),
    Pool(IpPool),
    Node(Node),
    Affinity(BlockAffinity),
}

fn secret_missing(r: &SecretKeyRef) -> String {
    format!(
        "password secret {:?} key {:?} not found; no password is \
         configured",
        r.name, r.key
    )
}

/// Fields that Calico reads only from `default`.
fn per_node_ignored(cfg: &BgpConfiguration) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |set: bool, f: &'static str| {
        if set {
            out.push(f);
        }
    };
    check(cfg.as_number.is_some(), "asNumber");
    check(
        cfg.node_to_node_mesh_enabled.is_some(),
        "nodeToNodeMeshEnabled",
    );
    check(cfg.node_mesh_password.is_some(), "nodeMeshPassword");
    check(
        cfg.node_mesh_max_restart_time.is_some(),
        "nodeMeshMaxRestartTime",
    );
    check(!cfg.service_cluster_ips.is_empty(), "serviceClusterIPs");
    check(!cfg.service_external_ips.is_empty(), "serviceExternalIPs");
    check(
        !cfg.service_load_balancer_ips.is_empty(),
        "serviceLoadBalancerIPs",
    );
    check(!cfg.communities.is_empty(), "communities");
    check(!cfg.ignored_interfaces.is_empty(), "ignoredInterfaces");
    check(cfg.bind_mode != Default::default(), "bindMode");
    out
}

/// Maps a kind to its static name (so errors can borrow it).
fn calico_kind(kind: &str) -> Option<&'static str> {
    [
        "BGPConfiguration",
        "BGPPeer",
        "BGPFilter",
        "IPPool",
        "Node",
        "BlockAffinity",
    ]
    .into_iter()
    .find(|k| *k == kind)
}

fn insert<T>(map: &mut BTreeMap<String, T>, name: &str, v: T) -> bool {
    map.insert(name.to_string(), v).is_none()
}

fn str_field<'a>(map: &'a Mapping, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// metadata.namespace (`default` when not written, as `kubectl apply`
/// takes it) and metadata.name.
fn namespaced(map: &Mapping) -> (String, String) {
    let namespace = map
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
        .to_string();
    (namespace, meta_name(map).unwrap_or_default())
}

fn meta_name(map: &Mapping) -> Option<String> {
    map.get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// metadata.labels; metadata may carry anything else.
fn meta_labels(ctx: &mut Ctx<'_>, map: &Mapping) -> Labels {
    let Some(labels) = map.get("metadata").and_then(|m| m.get("labels")) else {
        return Labels::new();
    };
    match serde_yaml::from_value::<Option<Labels>>(labels.clone()) {
        Ok(l) => l.unwrap_or_default(),
        Err(_) => {
            ctx.err("metadata.labels", "label values must be strings");
            Labels::new()
        }
    }
}

fn decode_field<T: DeserializeOwned>(
    ctx: &mut Ctx<'_>,
    map: &Mapping,
    key: &str,
) -> Option<T> {
    let v = map.get(key)?.clone();
    match serde_yaml::from_value(v) {
        Ok(t) => Some(t),
        Err(e) => {
            ctx.err(key, e.to_string());
            None
        }
    }
}
