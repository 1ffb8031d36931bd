//! Service advertisement (calico-bgp.md 4.9, confd's `routes.go`) and
//! host-local IPAM (2.7): golden plans, one rule per test.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use bgplet_calico::{
    AddressType, Cidr, ConfigError, Resources, ServiceType, TrafficPolicy,
};
use common::{load, plan};

fn cidrs(list: &[Cidr]) -> Vec<String> {
    list.iter().map(Cidr::to_string).collect()
}

fn addresses(res: &Resources, node: &str) -> Vec<String> {
    cidrs(&plan(res, node).service_addresses)
}

fn inline(yaml: &str) -> Resources {
    match Resources::from_yaml_str(yaml) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// Two nodes and a `default` BGPConfiguration with `extra` spec lines.
fn cluster(extra: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {{name: default}}
spec:
  serviceClusterIPs: [{{cidr: 10.96.0.0/12}}]
  serviceLoadBalancerIPs: [{{cidr: 192.0.2.0/24}}]
{extra}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {{name: node-1}}
spec: {{bgp: {{ipv4Address: 10.0.0.11/24, ipv6Address: 'fd00::11/64'}}}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {{name: node-2}}
spec: {{bgp: {{ipv4Address: 10.0.0.12/24}}}}
"
    )
}

/// A Service document.
fn service(name: &str, policy: &str, spec: &str) -> String {
    format!(
        "---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: apps}}
spec:
  type: LoadBalancer
  externalTrafficPolicy: {policy}
{spec}
status:
  loadBalancer:
    ingress: [{{ip: 192.0.2.{n}}}]
",
        n = name.len()
    )
}

/// An EndpointSlice of Service `svc` with `endpoints` as (node, ready).
fn slice(svc: &str, family: &str, endpoints: &[(&str, bool)]) -> String {
    let eps: String = endpoints
        .iter()
        .enumerate()
        .map(|(i, (node, ready))| {
            format!(
                "- addresses: ['10.244.{i}.5']\n  nodeName: {node}\n  \
                 conditions: {{ready: {ready}}}\n"
            )
        })
        .collect();
    format!(
        "---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {svc}-{family}
  namespace: apps
  labels: {{kubernetes.io/service-name: {svc}}}
addressType: {family}
endpoints:
{eps}"
    )
}

const WEB_SPEC: &str = "  clusterIP: 10.96.0.10\n  clusterIPs: [10.96.0.10]\n  \
                        ipFamilies: [IPv4]";

#[test]
fn the_golden_cluster_advertises_what_confd_would_from_each_node() {
    let res = load("services.yaml");
    assert_eq!(res.services.len(), 5);
    assert_eq!(res.endpoint_slices.len(), 3);
    let web = &res.services["shop/web"];
    assert_eq!(web.service_type, ServiceType::LoadBalancer);
    assert_eq!(web.external_traffic_policy, Some(TrafficPolicy::Local));
    assert_eq!(
        web.load_balancer_ingress,
        ["192.0.2.10".parse::<std::net::IpAddr>().unwrap()]
    );
    let slice = &res.endpoint_slices["shop/web-7x2kq"];
    assert_eq!(slice.address_type, AddressType::Ipv4);
    assert_eq!(slice.service_key().as_deref(), Some("shop/web"));
    assert!(res.services["shop/db"].headless);

    assert_eq!(
        addresses(&res, "node-1"),
        [
            "10.96.10.10/32",  // web: Local, ready endpoint here
            "10.96.30.30/32",  // vip: single /32 LB IP, every node
            "10.96.40.40/32",  // legacy: single /32 external IP
            "192.0.2.10/32",   // web's LB IP, inside 192.0.2.0/25
            "192.0.2.200/32",  // vip
            "198.51.100.7/32", // legacy
        ]
    );
    // node-2's web endpoint is terminating (not ready); api is Cluster
    // inside the ranges; db is headless.
    assert_eq!(
        addresses(&res, "node-2"),
        [
            "10.96.30.30/32",
            "10.96.40.40/32",
            "192.0.2.200/32",
            "198.51.100.7/32"
        ]
    );
    let p = plan(&res, "node-1");
    assert_eq!(
        cidrs(&p.services.advertised()),
        ["10.96.0.0/12", "203.0.113.0/24", "192.0.2.0/25"],
        "single-address entries are not ranges"
    );
    assert_eq!(p.services.rejected().len(), 5);
}

#[test]
fn a_local_service_follows_the_readiness_of_its_endpoint_on_this_node() {
    let ready = inline(&format!(
        "{}{}{}",
        cluster(""),
        service("web", "Local", WEB_SPEC),
        slice("web", "IPv4", &[("node-1", true), ("node-2", false)])
    ));
    assert_eq!(
        addresses(&ready, "node-1"),
        ["10.96.0.10/32", "192.0.2.3/32"]
    );
    assert!(addresses(&ready, "node-2").is_empty());

    let not_ready = inline(&format!(
        "{}{}{}",
        cluster(""),
        service("web", "Local", WEB_SPEC),
        slice("web", "IPv4", &[("node-1", false)])
    ));
    assert!(addresses(&not_ready, "node-1").is_empty());

    // `ready` unset means ready (EndpointConditions API).
    let unknown = cluster("")
        + &service("web", "Local", WEB_SPEC)
        + "---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: apps, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.0.5], nodeName: node-1}]
";
    assert_eq!(addresses(&inline(&unknown), "node-1").len(), 2);
}

#[test]
fn a_local_endpoint_of_another_family_does_not_count() {
    let res = inline(&format!(
        "{}{}{}",
        cluster(""),
        service("web", "Local", WEB_SPEC),
        slice("web", "IPv6", &[("node-1", true)])
    ));
    assert!(addresses(&res, "node-1").is_empty());
}

#[test]
fn a_dual_stack_local_service_advertises_every_cluster_ip() {
    let spec = "  clusterIP: 10.96.0.10\n  clusterIPs: [10.96.0.10, 'fd00:96::10']\n  \
                ipFamilies: [IPv4, IPv6]";
    let res = inline(&format!(
        "{}{}{}",
        cluster("  serviceClusterIPs: [{cidr: 10.96.0.0/12}, {cidr: 'fd00:96::/108'}]")
            .replace("  serviceClusterIPs: [{cidr: 10.96.0.0/12}]\n", ""),
        service("web", "Local", spec),
        slice("web", "IPv6", &[("node-1", true)])
    ));
    assert_eq!(
        addresses(&res, "node-1"),
        ["10.96.0.10/32", "192.0.2.3/32", "fd00:96::10/128"]
    );
}

#[test]
fn cluster_policy_inside_an_aggregated_range_adds_no_host_route() {
    let res = inline(&format!(
        "{}{}{}",
        cluster(""),
        service("web", "Cluster", WEB_SPEC),
        slice("web", "IPv4", &[("node-1", true)])
    ));
    assert!(addresses(&res, "node-1").is_empty());
    let p = plan(&res, "node-1");
    assert_eq!(
        cidrs(&p.services.advertised()),
        ["10.96.0.0/12", "192.0.2.0/24"]
    );
}

#[test]
fn cluster_policy_with_a_single_allow_listed_lb_ip_is_advertised_everywhere() {
    let res = inline(&format!(
        "{}{}",
        cluster("  serviceExternalIPs: [{cidr: 198.51.100.9/32}]")
            .replace("192.0.2.0/24", "192.0.2.3/32"),
        service("web", "Cluster", WEB_SPEC),
    ));
    // No EndpointSlice at all: still from both nodes, with the cluster
    // IP too (confd advertises every route of an advertised Service).
    for node in ["node-1", "node-2"] {
        assert_eq!(
            addresses(&res, node),
            ["10.96.0.10/32", "192.0.2.3/32"],
            "{node}"
        );
    }
    // The single entry is not a range.
    let p = plan(&res, "node-1");
    assert_eq!(cidrs(&p.services.advertised()), ["10.96.0.0/12"]);

    let ext = inline(&format!(
        "{}{}",
        cluster("  serviceExternalIPs: [{cidr: 198.51.100.9/32}]"),
        service(
            "web",
            "Cluster",
            &format!("{WEB_SPEC}\n  externalIPs: [198.51.100.9, 203.0.113.1]")
        ),
    ));
    assert_eq!(
        addresses(&ext, "node-2"),
        ["10.96.0.10/32", "192.0.2.3/32", "198.51.100.9/32"],
        "203.0.113.1 is not allow-listed"
    );
}

#[test]
fn aggregation_disabled_advertises_cluster_services_while_any_endpoint_is_ready()
 {
    let cfg = cluster("  serviceLoadBalancerAggregation: Disabled");
    let ready = inline(&format!(
        "{cfg}{}{}",
        service("web", "Cluster", WEB_SPEC),
        slice("web", "IPv4", &[("node-2", true)])
    ));
    for node in ["node-1", "node-2"] {
        assert_eq!(
            addresses(&ready, node),
            ["10.96.0.10/32", "192.0.2.3/32"],
            "{node}"
        );
    }
    assert_eq!(
        cidrs(&plan(&ready, "node-1").services.advertised()),
        ["10.96.0.0/12"],
        "the LB range is not advertised without aggregation"
    );
    let gone = inline(&format!(
        "{cfg}{}{}",
        service("web", "Cluster", WEB_SPEC),
        slice("web", "IPv4", &[("node-2", false)])
    ));
    assert!(addresses(&gone, "node-1").is_empty());
}

#[test]
fn headless_external_name_and_unconfigured_services_are_never_advertised() {
    let headless = "  clusterIP: None\n  ipFamilies: [IPv4]";
    let res = inline(&format!(
        "{}{}{}",
        cluster(""),
        service("web", "Local", headless),
        slice("web", "IPv4", &[("node-1", true)])
    ));
    assert!(addresses(&res, "node-1").is_empty());

    let external_name = cluster("")
        + "---
apiVersion: v1
kind: Service
metadata: {name: mail, namespace: apps}
spec: {type: ExternalName, externalName: mail.example.com}
";
    assert!(addresses(&inline(&external_name), "node-1").is_empty());

    // Without any service range Calico does not even watch Services.
    let off = format!(
        "{}{}{}",
        cluster("").replace("  serviceClusterIPs: [{cidr: 10.96.0.0/12}]\n  serviceLoadBalancerIPs: [{cidr: 192.0.2.0/24}]\n", ""),
        service("web", "Local", WEB_SPEC),
        slice("web", "IPv4", &[("node-1", true)])
    );
    let off = inline(&off);
    assert!(!off.service_advertisement_configured());
    assert!(addresses(&off, "node-1").is_empty());
}

#[test]
fn cluster_ips_need_service_cluster_ips_and_lb_ips_their_allow_list() {
    // Only serviceLoadBalancerIPs: the LB IP, not the cluster IP.
    let res = inline(&format!(
        "{}{}{}",
        cluster("")
            .replace("  serviceClusterIPs: [{cidr: 10.96.0.0/12}]\n", ""),
        service("web", "Local", WEB_SPEC),
        slice("web", "IPv4", &[("node-1", true)])
    ));
    assert_eq!(addresses(&res, "node-1"), ["192.0.2.3/32"]);
    // An ingress IP outside the allow-list is not advertised.
    let outside = inline(&format!(
        "{}{}{}",
        cluster("").replace("192.0.2.0/24", "192.0.2.128/25"),
        service("web", "Local", WEB_SPEC),
        slice("web", "IPv4", &[("node-1", true)])
    ));
    assert_eq!(addresses(&outside, "node-1"), ["10.96.0.10/32"]);
}

#[test]
fn an_address_shared_by_two_services_stays_while_either_wants_it() {
    let spec = |ip: &str| {
        format!(
            "  clusterIP: {ip}\n  ipFamilies: [IPv4]\n  \
             externalIPs: [203.0.113.7]"
        )
    };
    let cfg = cluster("  serviceExternalIPs: [{cidr: 203.0.113.0/24}]");
    let both = |a: bool, b: bool| {
        inline(&format!(
            "{cfg}{}{}{}{}",
            service("one", "Local", &spec("10.96.0.1")),
            slice("one", "IPv4", &[("node-1", a)]),
            service("two", "Local", &spec("10.96.0.2")),
            slice("two", "IPv4", &[("node-1", b)]),
        ))
    };
    let shared = "203.0.113.7/32".to_string();
    let r = addresses(&both(true, true), "node-1");
    assert_eq!(r.iter().filter(|a| **a == shared).count(), 1, "{r:?}");
    assert!(addresses(&both(true, false), "node-1").contains(&shared));
    assert!(addresses(&both(false, true), "node-1").contains(&shared));
    assert!(addresses(&both(false, false), "node-1").is_empty());
}

#[test]
fn an_opted_out_node_advertises_no_service_route_but_keeps_the_rejects() {
    let yaml = format!(
        "{}{}{}",
        cluster(""),
        service("web", "Local", WEB_SPEC),
        slice("web", "IPv4", &[("node-1", true)])
    )
    .replace(
        "metadata: {name: node-1}",
        "metadata: {name: node-1, labels: \
         {node.kubernetes.io/exclude-from-external-load-balancers: 'true'}}",
    );
    let p = plan(&inline(&yaml), "node-1");
    assert!(p.services.node_excluded);
    assert!(p.service_addresses.is_empty());
    assert!(p.services.advertised().is_empty());
    assert_eq!(
        cidrs(&p.services.rejected()),
        ["10.96.0.0/12", "192.0.2.0/24"]
    );
    assert!(!plan(&inline(&yaml), "node-2").services.node_excluded);
}

#[test]
fn host_local_ipam_makes_pod_cidrs_the_confirmed_blocks() {
    let mut res = load("services.yaml");
    let before: Vec<String> = plan(&res, "node-1")
        .local_blocks
        .iter()
        .map(|b| b.cidr.to_string())
        .collect();
    assert_eq!(before, ["10.244.99.0/26"], "BlockAffinities by default");
    assert_eq!(
        cidrs(&res.nodes["node-1"].pod_cidrs),
        ["10.244.1.0/24", "fd10:244:0:1::/64"]
    );
    res.use_pod_cidrs();
    let p = plan(&res, "node-1");
    let blocks: Vec<String> =
        p.local_blocks.iter().map(|b| b.cidr.to_string()).collect();
    assert_eq!(blocks, ["10.244.1.0/24", "fd10:244:0:1::/64"]);
    assert!(p.local_blocks.iter().all(|b| !b.pending_deletion));
    let p2 = plan(&res, "node-2");
    assert_eq!(p2.local_blocks.len(), 1);
    assert_eq!(p2.local_blocks[0].cidr.to_string(), "10.244.2.0/24");
}

#[test]
fn a_calico_node_reads_pod_cidrs_from_its_status() {
    let res = inline(
        "apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.11/24}}
status: {podCIDRs: [10.244.7.0/24]}
",
    );
    assert_eq!(cidrs(&res.nodes["n1"].pod_cidrs), ["10.244.7.0/24"]);
}

fn field_errors(yaml: &str) -> Vec<String> {
    match Resources::from_yaml_str(yaml) {
        Err(ConfigError::Invalid { errors, .. }) => errors
            .iter()
            .map(|e| format!("{} {} {}", e.kind, e.name, e.field))
            .collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[test]
fn malformed_kubernetes_objects_name_resource_and_field() {
    let bad = "apiVersion: v1
kind: Service
metadata: {name: web, namespace: apps}
spec:
  type: Balancer
  clusterIPs: [10.96.0.300]
  externalIPs: [nope]
  externalTrafficPolicy: Nearby
  ipFamilies: [IPv5]
status: {loadBalancer: {ingress: [{ip: 192.0.2}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
endpoints: [{nodeName: n1}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-2}
addressType: IPv7
endpoints: oops
---
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDRs: [10.244.1.0/33]}
";
    assert_eq!(
        field_errors(bad),
        [
            "Service apps/web spec.type",
            "Service apps/web spec.clusterIPs[0]",
            "Service apps/web spec.externalIPs[0]",
            "Service apps/web status.loadBalancer.ingress[0].ip",
            "Service apps/web spec.externalTrafficPolicy",
            "Service apps/web spec.ipFamilies[0]",
            "EndpointSlice default/web-1 addressType",
            "EndpointSlice default/web-2 endpoints",
            "EndpointSlice default/web-2 addressType",
            "Node n1 spec.podCIDRs[0]",
        ]
    );
}
