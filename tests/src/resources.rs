//! A builder for the multi-document YAML of Calico `projectcalico.org/v3`
//! resources that `bgplet run --resources FILE` reads.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use crate::yaml::to_yaml;

const CALICO: &str = "projectcalico.org/v3";

/// A Calico `Node` resource.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CalicoNode {
    /// `metadata.name`, the name passed as `--node`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Vec<(String, String)>,
    /// `spec.bgp.ipv4Address`, e.g. `10.0.0.1/24`.
    pub ipv4_address: Option<String>,
    /// `spec.bgp.ipv6Address`, e.g. `fd00::1/64`.
    pub ipv6_address: Option<String>,
    /// `spec.bgp.asNumber` (overrides the global AS).
    pub as_number: Option<u32>,
}

impl CalicoNode {
    /// A node named `name` with an IPv4 BGP address such as `10.0.0.1/24`.
    pub fn new(name: &str, ipv4_address: &str) -> CalicoNode {
        CalicoNode {
            name: name.to_string(),
            ipv4_address: Some(ipv4_address.to_string()),
            ..CalicoNode::default()
        }
    }

    /// Adds a label.
    pub fn label(mut self, k: &str, v: &str) -> CalicoNode {
        self.labels.push((k.to_string(), v.to_string()));
        self
    }

    /// Sets the IPv6 BGP address.
    pub fn ipv6_address(mut self, a: &str) -> CalicoNode {
        self.ipv6_address = Some(a.to_string());
        self
    }

    /// Sets the node AS.
    pub fn as_number(mut self, asn: u32) -> CalicoNode {
        self.as_number = Some(asn);
        self
    }
}

/// A Calico `BGPPeer` resource.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CalicoPeer {
    /// `metadata.name`.
    pub name: String,
    /// `spec.peerIP`.
    pub peer_ip: String,
    /// `spec.asNumber`.
    pub as_number: u32,
    /// `spec.node`: only this node peers.
    pub node: Option<String>,
    /// `spec.nodeSelector`.
    pub node_selector: Option<String>,
    /// TCP-MD5 password; stored in a Secret `<name>-bgp-password`
    /// (key `password`, namespace `calico-system`) that
    /// `spec.password.secretKeyRef` points to.
    pub password: Option<String>,
}

impl CalicoPeer {
    /// A global peer (all nodes) at `peer_ip` in AS `as_number`.
    pub fn new(name: &str, peer_ip: &str, as_number: u32) -> CalicoPeer {
        CalicoPeer {
            name: name.to_string(),
            peer_ip: peer_ip.to_string(),
            as_number,
            ..CalicoPeer::default()
        }
    }

    /// Restricts the peer to one node.
    pub fn node(mut self, n: &str) -> CalicoPeer {
        self.node = Some(n.to_string());
        self
    }

    /// Sets a node selector.
    pub fn node_selector(mut self, s: &str) -> CalicoPeer {
        self.node_selector = Some(s.to_string());
        self
    }

    /// Sets a TCP-MD5 password (via a Secret).
    pub fn password(mut self, p: &str) -> CalicoPeer {
        self.password = Some(p.to_string());
        self
    }
}

/// An ordered list of resources rendered as multi-document YAML.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    docs: Vec<Value>,
}

fn meta(name: &str) -> Value {
    json!({ "name": name })
}

impl Resources {
    /// No resources.
    pub fn new() -> Resources {
        Resources::default()
    }

    /// The `default` BGPConfiguration. `mesh` sets
    /// `nodeToNodeMeshEnabled`.
    pub fn bgp_configuration(
        self,
        as_number: u32,
        listen_port: Option<u16>,
        mesh: bool,
    ) -> Resources {
        let mut spec = json!({
            "asNumber": as_number,
            "nodeToNodeMeshEnabled": mesh,
            "logSeverityScreen": "Info",
        });
        if let Some(p) = listen_port {
            spec["listenPort"] = json!(p);
        }
        self.raw(json!({
            "apiVersion": CALICO, "kind": "BGPConfiguration",
            "metadata": meta("default"), "spec": spec,
        }))
    }

    /// Adds a named community (`spec.communities`) to the `default`
    /// BGPConfiguration, which must already be present. `value` is
    /// `"aa:nn"` or a large `"aa:nn:mm"`.
    pub fn community(self, name: &str, value: &str) -> Resources {
        self.extend_bgp_configuration(
            "communities",
            json!({ "name": name, "value": value }),
        )
    }

    /// Adds a `spec.prefixAdvertisements` entry to the `default`
    /// BGPConfiguration: routes inside `cidr` carry `communities`, each
    /// a name from [`Resources::community`] or a literal value.
    pub fn prefix_advertisement(
        self,
        cidr: &str,
        communities: &[&str],
    ) -> Resources {
        self.extend_bgp_configuration(
            "prefixAdvertisements",
            json!({ "cidr": cidr, "communities": communities }),
        )
    }

    /// Adds a `spec.serviceClusterIPs` range to the `default`
    /// BGPConfiguration: every node advertises it, and per-service /32s
    /// of `externalTrafficPolicy: Local` Services come from the nodes
    /// with a ready endpoint (calico-bgp.md 4.9).
    pub fn service_cluster_ips(self, cidr: &str) -> Resources {
        self.extend_bgp_configuration(
            "serviceClusterIPs",
            json!({ "cidr": cidr }),
        )
    }

    /// Appends `item` to the list `field` of the `default`
    /// BGPConfiguration's spec; a no-op without one.
    fn extend_bgp_configuration(
        mut self,
        field: &str,
        item: Value,
    ) -> Resources {
        let doc = self.docs.iter_mut().find(|d| {
            d["kind"] == "BGPConfiguration"
                && d["metadata"]["name"] == "default"
        });
        if let Some(spec) = doc.and_then(|d| d["spec"].as_object_mut()) {
            let list = spec.entry(field).or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut() {
                list.push(item);
            }
        }
        self
    }

    /// A Node.
    pub fn node(self, n: &CalicoNode) -> Resources {
        let labels: Map<String, Value> = n
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut bgp = Map::new();
        if let Some(a) = &n.ipv4_address {
            bgp.insert("ipv4Address".into(), json!(a));
        }
        if let Some(a) = &n.ipv6_address {
            bgp.insert("ipv6Address".into(), json!(a));
        }
        if let Some(asn) = n.as_number {
            bgp.insert("asNumber".into(), json!(asn));
        }
        self.raw(json!({
            "apiVersion": CALICO, "kind": "Node",
            "metadata": { "name": n.name, "labels": labels },
            "spec": { "bgp": bgp },
        }))
    }

    /// A BGPPeer, plus its password Secret if it has a password.
    pub fn bgp_peer(mut self, p: &CalicoPeer) -> Resources {
        let mut spec = json!({ "peerIP": p.peer_ip, "asNumber": p.as_number });
        if let Some(n) = &p.node {
            spec["node"] = json!(n);
        }
        if let Some(s) = &p.node_selector {
            spec["nodeSelector"] = json!(s);
        }
        if let Some(pw) = &p.password {
            let secret = format!("{}-bgp-password", p.name);
            spec["password"] = json!({ "secretKeyRef": { "name": secret, "key": "password" } });
            self = self.secret(&secret, &[("password", pw)]);
        }
        self.raw(json!({
            "apiVersion": CALICO, "kind": "BGPPeer",
            "metadata": meta(&p.name), "spec": spec,
        }))
    }

    /// A v1 Secret in namespace `calico-system` with `stringData`.
    pub fn secret(self, name: &str, data: &[(&str, &str)]) -> Resources {
        let data: Map<String, Value> = data
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        self.raw(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": { "name": name, "namespace": "calico-system" },
            "type": "Opaque",
            "stringData": data,
        }))
    }

    /// An IPPool with no encapsulation.
    pub fn ip_pool(self, name: &str, cidr: &str) -> Resources {
        self.raw(json!({
            "apiVersion": CALICO, "kind": "IPPool",
            "metadata": meta(name),
            "spec": {
                "cidr": cidr, "ipipMode": "Never", "vxlanMode": "Never",
                "natOutgoing": false, "disabled": false,
            },
        }))
    }

    /// A confirmed BlockAffinity of `cidr` to `node`.
    pub fn block_affinity(self, node: &str, cidr: &str) -> Resources {
        let clean: String = cidr
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        self.raw(json!({
            "apiVersion": CALICO, "kind": "BlockAffinity",
            "metadata": meta(&format!("{node}-{clean}")),
            "spec": {
                "node": node, "cidr": cidr, "state": "confirmed",
                "deleted": "false",
            },
        }))
    }

    /// Appends any resource as given.
    pub fn raw(mut self, doc: Value) -> Resources {
        self.docs.push(doc);
        self
    }

    /// The resources so far.
    pub fn docs(&self) -> &[Value] {
        &self.docs
    }

    /// Multi-document YAML, each document starting with `---`.
    pub fn to_yaml(&self) -> String {
        self.docs
            .iter()
            .map(|d| format!("---\n{}", to_yaml(d)))
            .collect()
    }

    /// Writes [`Resources::to_yaml`] to `path` atomically (write + rename).
    pub fn write_to(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.to_yaml())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn peer_with_password_brings_its_secret() {
        let y = Resources::new()
            .bgp_configuration(64512, Some(179), false)
            .node(&CalicoNode::new("node-a", "10.0.0.1/24").label("rack", "r1"))
            .bgp_peer(&CalicoPeer::new("tor", "10.0.0.2", 65000).password("pw"))
            .ip_pool("pool4", "10.1.0.0/16")
            .block_affinity("node-a", "10.1.0.0/24")
            .to_yaml();
        assert_eq!(y.matches("---\n").count(), 6);
        assert!(y.contains("kind: \"Secret\""));
        assert!(y.contains("namespace: \"calico-system\""));
        assert!(y.contains("secretKeyRef:\n"));
        assert!(y.contains("ipv4Address: \"10.0.0.1/24\""));
        assert!(y.contains("state: \"confirmed\""));
    }

    #[test]
    fn communities_and_prefix_advertisements_land_in_the_default_config() {
        let r = Resources::new()
            .bgp_configuration(4200000001, None, false)
            .community("pods", "65100:100")
            .community("rack", "4200000001:7:8")
            .prefix_advertisement("10.244.0.0/16", &["pods", "65100:200"]);
        let spec = &r.docs()[0]["spec"];
        assert_eq!(spec["communities"][1]["value"], "4200000001:7:8");
        assert_eq!(spec["prefixAdvertisements"][0]["cidr"], "10.244.0.0/16");
        assert_eq!(
            spec["prefixAdvertisements"][0]["communities"],
            json!(["pods", "65100:200"])
        );
    }
}
