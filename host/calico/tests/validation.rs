//! Validation: errors name the resource and field; some problems are
//! only warnings, as in Calico.

#![allow(clippy::unwrap_used)]

use bgplet_calico::{ConfigError, FieldError, Resources};

fn errors(yaml: &str) -> Vec<FieldError> {
    match Resources::from_yaml_str(yaml) {
        Err(ConfigError::Invalid { errors, .. }) => errors,
        other => panic!("expected validation errors, got {other:?}"),
    }
}

fn peer(spec: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  \
         name: tor\nspec:\n{spec}"
    )
}

fn has(errs: &[FieldError], field: &str, text: &str) -> bool {
    errs.iter()
        .any(|e| e.field == field && e.message.contains(text))
}

#[test]
fn bad_peer_ip_names_resource_and_field() {
    let errs = errors(&peer("  peerIP: 10.0.0.300\n  asNumber: 65000\n"));
    assert_eq!(
        errs[0].to_string(),
        "BGPPeer \"tor\" field spec.peerIP: \"10.0.0.300\" is not an IP \
         address"
    );
}

#[test]
fn bad_cidrs_are_rejected_in_every_kind() {
    let yaml = "\
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: p}
spec: {cidr: 10.244.0.0/33}
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  serviceClusterIPs:
    - cidr: 10.96.0.0
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec:
  bgp: {ipv4Address: 10.0.0.256/24, ipv6Address: 10.0.0.1/24}
---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata: {name: b}
spec: {node: n1, cidr: nonsense, state: confirmed}
";
    let errs = errors(yaml);
    assert!(has(&errs, "spec.cidr", "10.244.0.0/33"));
    assert!(has(
        &errs,
        "spec.serviceClusterIPs[0].cidr",
        "not a valid CIDR"
    ));
    assert!(has(&errs, "spec.bgp.ipv4Address", "10.0.0.256/24"));
    assert!(has(&errs, "spec.bgp.ipv6Address", "not an IPv6 address"));
    assert!(
        errs.iter()
            .any(|e| e.kind == "BlockAffinity" && e.name == "b")
    );
    assert_eq!(errs.len(), 5, "{errs:#?}");
}

#[test]
fn bad_as_numbers_are_rejected() {
    for (asn, why) in [
        ("0", "reserved"),
        ("4294967296", "outside"),
        ("\"1.70000\"", "asdot"),
        ("\"x.1\"", "asdot"),
        ("-5", "outside"),
        ("1.5", "quoted"),
    ] {
        let errs =
            errors(&peer(&format!("  peerIP: 10.0.0.1\n  asNumber: {asn}\n")));
        assert!(has(&errs, "spec.asNumber", why), "{asn}: {errs:?}");
    }
    let ok = peer("  peerIP: 10.0.0.1\n  asNumber: \"4294967295\"\n");
    let res = Resources::from_yaml_str(&ok).unwrap();
    assert_eq!(res.peers["tor"].as_number.unwrap().value(), u32::MAX);
}

#[test]
fn mutually_exclusive_peer_fields_are_rejected() {
    let errs = errors(&peer(
        "  node: n1\n  nodeSelector: all()\n  peerIP: 10.0.0.1\n  \
         peerSelector: has(rr)\n  asNumber: 65000\n",
    ));
    assert!(has(&errs, "spec.nodeSelector", "mutually exclusive"));
    assert!(has(&errs, "spec.peerSelector", "mutually exclusive"));
    assert!(has(&errs, "spec.asNumber", "peerSelector"));
    let errs = errors(&peer(
        "  peerIP: 10.0.0.1\n  asNumber: 65000\n  keepOriginalNextHop: true\n  \
         nextHopMode: Keep\n",
    ));
    assert!(has(&errs, "spec.nextHopMode", "mutually exclusive"));
}

#[test]
fn unknown_selector_syntax_is_rejected_with_its_position() {
    let errs = errors(&peer(
        "  nodeSelector: rack = 'r1'\n  peerSelector: has(rr)\n",
    ));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec.nodeSelector");
    assert!(errs[0].message.contains("at character 5"), "{}", errs[0]);
}

#[test]
fn unknown_spec_fields_are_rejected_but_metadata_is_free() {
    let yaml = "\
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: tor
  resourceVersion: \"99\"
  uid: abc
  annotations: {note: hi}
  labels: {team: net}
  creationTimestamp: \"2026-01-01T00:00:00Z\"
spec:
  peerIP: 10.0.0.1
  asNumber: 65000
  peerAS: 65001
";
    let errs = errors(yaml);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec.peerAS");
    assert!(errs[0].message.contains("unknown field"));
    let top = "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: \
               {name: p}\nspec: {cidr: 10.0.0.0/16}\nextra: 1\n";
    assert!(has(&errors(top), "extra", "unknown field"));
}

#[test]
fn mesh_password_needs_the_mesh() {
    let yaml = "\
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  nodeToNodeMeshEnabled: false
  nodeMeshPassword:
    secretKeyRef: {name: s, key: k}
  nodeMeshMaxRestartTime: 90s
";
    let errs = errors(yaml);
    assert!(has(&errs, "spec.nodeMeshPassword", "nodeToNodeMeshEnabled"));
    assert!(has(
        &errs,
        "spec.nodeMeshMaxRestartTime",
        "nodeToNodeMeshEnabled"
    ));
}

#[test]
fn missing_password_secret_is_a_warning_not_an_error() {
    let yaml = peer(
        "  peerIP: 10.0.0.1\n  asNumber: 65000\n  password:\n    \
         secretKeyRef:\n      name: bgp-secrets\n      key: tor\n",
    );
    let res = Resources::from_yaml_str(&yaml).unwrap();
    assert_eq!(res.warnings.len(), 1);
    assert_eq!(res.warnings[0].kind, "BGPPeer");
    assert!(res.warnings[0].message.contains("bgp-secrets"));
}

#[test]
fn enum_and_range_fields_are_checked() {
    let errs = errors(&peer(
        "  peerIP: 10.0.0.1\n  asNumber: 65000\n  sourceAddress: Auto\n  \
         reversePeering: Sometimes\n  ttlSecurity: 300\n  maxRestartTime: \
         '120'\n  reachableBy: fd00::1\n",
    ));
    assert!(has(&errs, "spec.sourceAddress", "UseNodeIP, None"));
    assert!(has(&errs, "spec.reversePeering", "Auto, Manual"));
    assert!(has(&errs, "spec.ttlSecurity", "0..=255"));
    assert!(has(&errs, "spec.maxRestartTime", "duration"));
    assert!(has(&errs, "spec.reachableBy", "family"));
    // A value of the wrong YAML type stops that spec's parse, naming it.
    let errs = errors(&peer("  peerIP: 10.0.0.1\n  keepaliveTime: [1]\n"));
    assert!(has(&errs, "spec.keepaliveTime", "invalid type"), "{errs:?}");
    let pool = "\
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: p}
spec:
  cidr: 10.244.0.0/16
  blockSize: 12
  ipipMode: Always
  vxlanMode: Always
";
    let errs = errors(pool);
    assert!(has(&errs, "spec.blockSize", "20..=32"));
    assert!(has(&errs, "spec.vxlanMode", "both"));
}

#[test]
fn filter_rules_are_checked() {
    let yaml = "\
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata: {name: f}
spec:
  exportV4:
    - action: Reject
      cidr: fd00::/64
      matchOperator: Equal
      operations:
        - setPriority: {value: 5}
    - action: Accept
      cidr: 10.0.0.0/8
    - action: Maybe
  importV6:
    - action: Accept
      communities: {values: [\"1:2\", \"3:4\"]}
";
    let errs = errors(yaml);
    assert!(has(&errs, "spec.exportV4[0].cidr", "not an IPv4 CIDR"));
    assert!(has(&errs, "spec.exportV4[0].operations", "Accept"));
    assert!(has(&errs, "spec.exportV4[1].matchOperator", "together"));
    assert!(has(&errs, "spec.exportV4[2].action", "Accept, Reject"));
    assert!(has(
        &errs,
        "spec.importV6[0].communities.values",
        "exactly one"
    ));
}

#[test]
fn unknown_kinds_are_skipped_with_a_note() {
    let yaml = "\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-all}
spec:
  selector: all()
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
";
    let res = Resources::from_yaml_str(yaml).unwrap();
    let kinds: Vec<&str> =
        res.warnings.iter().map(|w| w.kind.as_str()).collect();
    assert_eq!(kinds, ["GlobalNetworkPolicy", "Deployment"]);
}

#[test]
fn yaml_syntax_errors_name_the_document() {
    let yaml = "kind: Node\n---\nkind: [unclosed\n";
    match Resources::from_yaml_str(yaml) {
        Err(ConfigError::Yaml { document, .. }) => assert_eq!(document, 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bgp_peer_lists_from_calicoctl_get_are_read() {
    let yaml = "\
apiVersion: projectcalico.org/v3
kind: BGPPeerList
metadata: {resourceVersion: \"5\"}
items:
  - apiVersion: projectcalico.org/v3
    kind: BGPPeer
    metadata: {name: a}
    spec: {peerIP: 10.0.0.1, asNumber: 65000}
  - apiVersion: projectcalico.org/v3
    kind: BGPPeer
    metadata: {name: b}
    spec: {peerSelector: has(rr)}
";
    let res = Resources::from_yaml_str(yaml).unwrap();
    assert_eq!(res.peers.len(), 2);
    assert!(res.warnings.is_empty());
}

#[test]
fn every_error_in_a_file_is_reported_at_once() {
    let yaml = format!(
        "{}---\n{}",
        peer("  peerIP: nope\n  asNumber: 0\n"),
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {}\n"
    );
    let errs = errors(&yaml);
    assert!(has(&errs, "spec.peerIP", "nope"));
    assert!(has(&errs, "spec.asNumber", "reserved"));
    assert!(has(&errs, "metadata.name", "required"));
}

#[test]
fn per_node_configuration_fields_calico_ignores_are_warned_about() {
    let yaml = "\
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: node.n1}
spec:
  listenPort: 1790
  asNumber: 65000
  nodeToNodeMeshEnabled: false
";
    let res = Resources::from_yaml_str(yaml).unwrap();
    let msgs: Vec<&str> =
        res.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "spec.asNumber is ignored on a per-node configuration",
            "spec.nodeToNodeMeshEnabled is ignored on a per-node configuration",
        ]
    );
    assert_eq!(res.listen_port("n1"), Some(1790));
    assert!(res.mesh_enabled(), "only `default` decides the mesh");
}

#[test]
fn a_resource_defined_twice_keeps_the_later_one_with_a_warning() {
    let one = peer("  peerIP: 10.0.0.1\n  asNumber: 65000\n");
    let two = peer("  peerIP: 10.0.0.2\n  asNumber: 65000\n");
    let res = Resources::from_yaml_str(&format!("{one}---\n{two}")).unwrap();
    assert_eq!(res.peers["tor"].peer_ip.unwrap().to_string(), "10.0.0.2");
    assert!(res.warnings[0].message.contains("defined twice"));
}

#[test]
fn communities_must_be_valid_literals_or_names() {
    let yaml = "\
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  communities:
    - {name: ok, value: '65000:100'}
    - {name: bad, value: '70000:1'}
  prefixAdvertisements:
    - cidr: 10.244.0.0/16
      communities: [ok, '1:2:3', '1:x', later-defined]
";
    let errs = errors(yaml);
    assert!(has(&errs, "spec.communities[1].value", "70000:1"));
    assert!(has(
        &errs,
        "spec.prefixAdvertisements[0].communities[2]",
        "1:x"
    ));
    assert_eq!(errs.len(), 2, "{errs:?}");
}

#[test]
fn kubernetes_nodes_carry_calico_fields_in_annotations() {
    let yaml = "\
apiVersion: v1
kind: Node
metadata:
  name: rr1
  labels: {rr: 'true'}
  annotations:
    projectcalico.org/IPv4Address: 10.0.0.21/24
    projectcalico.org/IPv6Address: fd00::21/64
    projectcalico.org/ASNumber: '1.10'
    projectcalico.org/RouteReflectorClusterID: 224.0.0.1
    projectcalico.org/IPv4IPIPTunnelAddr: 10.244.3.1
spec: {podCIDR: 10.244.3.0/24}
status: {nodeInfo: {kubeletVersion: v1.31.0}}
";
    let res = Resources::from_yaml_str(yaml).unwrap();
    let bgp = &res.nodes["rr1"].bgp;
    assert_eq!(bgp.as_number.unwrap().value(), 65546);
    assert_eq!(bgp.ipv6_address.unwrap().to_string(), "fd00::21/64");
    assert_eq!(
        bgp.route_reflector_cluster_id.unwrap().to_string(),
        "224.0.0.1"
    );
    assert_eq!(res.nodes["rr1"].labels["rr"], "true");
    let bad = yaml.replace("10.0.0.21/24", "10.0.0.21/40");
    let errs = errors(&bad);
    assert_eq!(
        errs[0].field,
        "metadata.annotations[projectcalico.org/IPv4Address]"
    );
}
