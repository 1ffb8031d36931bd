//! What a lab is made of: nodes, their addresses, IPAM blocks and pods,
//! and the Calico resources every agent reads.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// The cluster AS (Calico's default).
pub const AS_NUMBER: u32 = 64512;
/// The IP pool every block comes from (no encapsulation).
pub const POOL: &str = "10.244.0.0/16";
/// The IPv6 pool.
pub const POOL6: &str = "fd10:244::/48";
/// Cluster id of the route reflectors (calico-bgp.md 6.2).
pub const RR_CLUSTER_ID: &str = "224.0.0.1";
/// Largest lab: node i gets 10.0.0.(10+i) and block 10.244.i.0/26.
pub const MAX_NODES: usize = 200;

/// How the nodes peer.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    clap::ValueEnum
)]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    /// Calico's default node-to-node mesh.
    Mesh,
    /// Mesh off; the first nodes are route reflectors (`--reflectors`),
    /// every other node peers with them.
    Rr,
}

/// One node of the lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// Calico node name, e.g. `node1`.
    pub name: String,
    /// Its network namespace.
    pub netns: String,
    /// `eth0` address on the fabric.
    pub ip: Ipv4Addr,
    /// Its IPAM block.
    pub block: String,
    /// `eth0` IPv6 address on the fabric.
    pub ip6: Ipv6Addr,
    /// Its IPv6 IPAM block.
    pub block6: String,
    /// Pod addresses (inside the block), one pod namespace each.
    pub pods: Vec<PodSpec>,
    /// A route reflector (labelled `rr`).
    pub rr: bool,
    /// Runs BIRD 2 configured like calico-node instead of bgplet.
    pub bird: bool,
}

/// One pod: a namespace with `eth0` on a veth to its node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSpec {
    /// Its network namespace.
    pub netns: String,
    /// Its /32 address.
    pub ip: Ipv4Addr,
    /// Its /128 address.
    pub ip6: Ipv6Addr,
    /// The node's end of the veth (`cali<n>`, as Felix names them).
    pub host_if: String,
}

/// A whole lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabPlan {
    /// Prefix of every namespace name.
    pub prefix: String,
    /// The namespace holding the fabric bridge.
    pub fabric: String,
    /// Mesh or route reflectors.
    pub topology: Topology,
    /// The nodes, node1 first.
    pub nodes: Vec<NodeSpec>,
}

/// The graceful-restart time lab nodes advertise: how long peers keep a
/// stopped node's routes (Calico's default is 120 s).
pub const LAB_RESTART_TIME: &str = "10s";

impl LabPlan {
    /// Plans `count` nodes; `bird_node` (1-based) runs BIRD; with
    /// route reflectors, the first `reflectors` nodes are the reflectors
    /// (default: one, two from five nodes up).
    pub fn new(
        prefix: &str,
        count: usize,
        topology: Topology,
        reflectors: Option<usize>,
        bird_node: Option<usize>,
    ) -> anyhow::Result<LabPlan> {
        if !(2..=MAX_NODES).contains(&count) {
            anyhow::bail!("--nodes must be between 2 and {MAX_NODES}");
        }
        if let Some(b) = bird_node
            && !(1..=count).contains(&b)
        {
            anyhow::bail!("--bird-node {b}: there are only {count} nodes");
        }
        let reflectors = reflectors.unwrap_or(if count >= 5 { 2 } else { 1 });
        if !(1..count).contains(&reflectors) {
            anyhow::bail!(
                "--reflectors must leave at least one client: 1 to {}",
                count - 1
            );
        }
        let nodes = (1..=count)
            .map(|i| {
                let name = format!("node{i}");
                let netns = format!("{prefix}-{name}");
                let third = u8::try_from(i).unwrap_or(u8::MAX);
                let pods = (1..=2u8)
                    .map(|p| PodSpec {
                        netns: format!("{netns}-pod{p}"),
                        ip: Ipv4Addr::new(10, 244, third, 1 + p),
                        ip6: Ipv6Addr::new(
                            0xfd10,
                            0x244,
                            0,
                            hex_digits(i),
                            0,
                            0,
                            0,
                            u16::from(1 + p),
                        ),
                        host_if: format!("cali{p}"),
                    })
                    .collect();
                NodeSpec {
                    ip: Ipv4Addr::new(10, 0, 0, 10 + third),
                    block: format!("10.244.{third}.0/26"),
                    // fd00::11 for 10.0.0.11: the same digits.
                    ip6: Ipv6Addr::new(
                        0xfd00,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        hex_digits(10 + i),
                    ),
                    block6: format!("fd10:244:0:{i}::/122"),
                    pods,
                    rr: topology == Topology::Rr && i <= reflectors,
                    bird: bird_node == Some(i),
                    name,
                    netns,
                }
            })
            .collect::<Vec<_>>();
        if let Some(n) = nodes.iter().find(|n| n.bird && n.rr) {
            anyhow::bail!(
                "--bird-node: {} is a route reflector; the BIRD node can \
                 be a mesh member or an RR client, pick another node",
                n.name
            );
        }
        Ok(LabPlan {
            prefix: prefix.to_string(),
            fabric: format!("{prefix}-fabric"),
            topology,
            nodes,
        })
    }

    /// Every namespace of the lab, fabric first.
    pub fn namespaces(&self) -> Vec<String> {
        let mut v = vec![self.fabric.clone()];
        for n in &self.nodes {
            v.push(n.netns.clone());
            v.extend(n.pods.iter().map(|p| p.netns.clone()));
        }
        v
    }

    /// The Calico resources of the cluster, as `calicoctl apply -f`
    /// takes them.
    pub fn resources_yaml(&self) -> String {
        let mesh = self.topology == Topology::Mesh;
        let mut y = format!(
            "# Generated by `bgplet lab` ({} nodes, {}).\n\
             apiVersion: projectcalico.org/v3\n\
             kind: BGPConfiguration\n\
             metadata:\n  name: default\n\
             spec:\n  asNumber: {AS_NUMBER}\n  nodeToNodeMeshEnabled: {mesh}\n{restart}",
            self.nodes.len(),
            if mesh {
                "full mesh"
            } else {
                "route reflectors"
            },
            // Peers keep a dead node's routes for its graceful-restart
            // time (calico-bgp.md 5.6); Calico's 120 s makes a slow lab,
            // so the lab advertises LAB_RESTART_TIME.
            restart = if mesh {
                format!("  nodeMeshMaxRestartTime: {LAB_RESTART_TIME}\n")
            } else {
                String::new()
            },
        );
        // No encapsulation: routes go via eth0, and bgplet programs them
        // (programClusterRoutes defaults to EnabledNoEncapOnly).
        let _ = write!(
            y,
            "---\napiVersion: projectcalico.org/v3\nkind: IPPool\n\
             metadata:\n  name: default-ipv4-ippool\n\
             spec:\n  cidr: {POOL}\n  blockSize: 26\n  ipipMode: Never\n  \
             vxlanMode: Never\n  natOutgoing: false\n\
             ---\napiVersion: projectcalico.org/v3\nkind: IPPool\n\
             metadata:\n  name: default-ipv6-ippool\n\
             spec:\n  cidr: {POOL6}\n  blockSize: 122\n  \
             vxlanMode: Never\n  natOutgoing: false\n"
        );
        for n in &self.nodes {
            let _ = write!(
                y,
                "---\napiVersion: projectcalico.org/v3\nkind: Node\n\
                 metadata:\n  name: {}\n",
                n.name
            );
            if n.rr {
                y.push_str("  labels:\n    rr: \"true\"\n");
            }
            let _ = write!(
                y,
                "spec:\n  bgp:\n    ipv4Address: {}/24\n    \
                 ipv6Address: {}/64\n",
                n.ip, n.ip6
            );
            if n.rr {
                let _ =
                    writeln!(y, "    routeReflectorClusterID: {RR_CLUSTER_ID}");
            }
            for block in [&n.block, &n.block6] {
                let _ = write!(
                    y,
                    "---\napiVersion: projectcalico.org/v3\n\
                     kind: BlockAffinity\n\
                     metadata:\n  name: {}-{}\n\
                     spec:\n  node: {}\n  cidr: {}\n  state: confirmed\n  \
                     deleted: \"false\"\n",
                    n.name,
                    block.replace(['.', '/', ':'], "-"),
                    n.name,
                    block
                );
            }
        }
        if !mesh {
            // Calico's recommended design: every client peers with every
            // reflector, and the reflectors with each other.
            for (name, nodes, peers) in [
                ("peer-with-route-reflectors", "!has(rr)", "has(rr)"),
                ("route-reflector-mesh", "has(rr)", "has(rr)"),
            ] {
                let _ = write!(
                    y,
                    "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\n\
                     metadata:\n  name: {name}\n\
                     spec:\n  nodeSelector: \"{nodes}\"\n  peerSelector: \"{peers}\"\n  \
                     maxRestartTime: {LAB_RESTART_TIME}\n"
                );
            }
        }
        y
    }
}

/// `n` written in decimal, read as hex: 11 becomes 0x11, so the IPv6
/// address shows the same digits as the IPv4 one.
fn hex_digits(n: usize) -> u16 {
    u16::from_str_radix(&n.to_string(), 16).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn three_node_mesh_gets_addresses_blocks_and_pods() {
        let p = LabPlan::new("lab", 3, Topology::Mesh, None, None).unwrap();
        assert_eq!(p.nodes[2].ip, Ipv4Addr::new(10, 0, 0, 13));
        assert_eq!(p.nodes[2].block, "10.244.3.0/26");
        assert_eq!(p.nodes[0].pods[1].ip, Ipv4Addr::new(10, 244, 1, 3));
        assert_eq!(p.nodes[0].pods[1].netns, "lab-node1-pod2");
        assert_eq!(p.nodes[2].ip6.to_string(), "fd00::13");
        assert_eq!(p.nodes[2].block6, "fd10:244:0:3::/122");
        assert_eq!(p.nodes[2].pods[0].ip6.to_string(), "fd10:244:0:3::2");
        assert_eq!(p.namespaces().len(), 1 + 3 * 3);
        let y = p.resources_yaml();
        assert!(y.contains("nodeToNodeMeshEnabled: true"));
        assert!(!y.contains("BGPPeer"));
    }

    #[test]
    fn five_node_rr_lab_has_two_reflectors_and_the_peer_selectors() {
        let p = LabPlan::new("lab", 5, Topology::Rr, None, None).unwrap();
        let rrs: Vec<bool> = p.nodes.iter().map(|n| n.rr).collect();
        assert_eq!(rrs, [true, true, false, false, false]);
        let one = LabPlan::new("lab", 5, Topology::Rr, Some(1), None).unwrap();
        assert_eq!(one.nodes.iter().filter(|n| n.rr).count(), 1);
        let y = p.resources_yaml();
        assert!(y.contains("nodeToNodeMeshEnabled: false"));
        assert!(y.contains("nodeSelector: \"!has(rr)\""));
        assert!(y.contains("routeReflectorClusterID: 224.0.0.1"));
    }

    #[test]
    fn a_bird_reflector_is_refused() {
        assert!(LabPlan::new("lab", 3, Topology::Rr, None, Some(1)).is_err());
        assert!(LabPlan::new("lab", 3, Topology::Mesh, None, Some(4)).is_err());
        assert!(LabPlan::new("lab", 3, Topology::Rr, None, Some(2)).is_ok());
    }
}
