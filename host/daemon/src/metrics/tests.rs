//! Rendering tests: exact text of the BGP and FIB families, escaping,
//! and histogram invariants.

#![allow(clippy::unwrap_used)]

use super::render::escape_label;
use super::*;

pub(crate) fn sample_view() -> MetricsView {
    let mut latency = Histogram::latency();
    for v in [0.000_02, 0.000_02, 0.000_3, 0.004, 3.0] {
        latency.observe(v);
    }
    MetricsView {
        version: "0.1.0".to_owned(),
        sessions: vec![
            SessionMetrics {
                name: "Mesh_10_0_0_12".to_owned(),
                address: "10.0.0.12".to_owned(),
                peer_as: 64512,
                state: SessionState::Established,
                families: vec![FamilyPrefixes {
                    family: "ipv4_unicast".to_owned(),
                    received: 3,
                    accepted: 2,
                    advertised: 1,
                }],
                updates_received: 7,
                updates_sent: 4,
            },
            SessionMetrics {
                name: "Global_192_0_2_1".to_owned(),
                address: "192.0.2.1".to_owned(),
                peer_as: 65001,
                state: SessionState::Active,
                families: vec![],
                updates_received: 0,
                updates_sent: 0,
            },
        ],
        plugins: vec![PluginMetrics {
            plugin: "calico \"default\"\\v1\nx".to_owned(),
            hooks: vec![HookMetrics {
                hook: "import".to_owned(),
                calls: 5,
                errors: HookErrors {
                    trap: 1,
                    timeout: 0,
                    oom: 0,
                    malformed: 2,
                },
                fallbacks: 3,
                latency,
            }],
            loads: LoadCounts { ok: 2, rejected: 1 },
        }],
        reloads: ReloadMetrics {
            applied: 3,
            rejected: vec![("pin".to_owned(), 1), ("init".to_owned(), 0)],
        },
        fib: FibMetrics {
            operations: FibOps {
                add: 10,
                replace: 2,
                delete: 1,
            },
            errors: FibOps {
                add: 1,
                replace: 0,
                delete: 0,
            },
            pending: 4,
        },
    }
}

#[test]
fn bgp_families_render_exactly() {
    let text = render(&sample_view());
    let expected = "\
# HELP bgplet_bgp_sessions Configured BGP sessions by state.
# TYPE bgplet_bgp_sessions gauge
bgplet_bgp_sessions{state=\"idle\"} 0
bgplet_bgp_sessions{state=\"connect\"} 0
bgplet_bgp_sessions{state=\"active\"} 1
bgplet_bgp_sessions{state=\"opensent\"} 0
bgplet_bgp_sessions{state=\"openconfirm\"} 0
bgplet_bgp_sessions{state=\"established\"} 1
# HELP bgplet_bgp_session_state Session state: 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm, 6 Established.
# TYPE bgplet_bgp_session_state gauge
bgplet_bgp_session_state{peer=\"Mesh_10_0_0_12\",address=\"10.0.0.12\",peer_as=\"64512\"} 6
bgplet_bgp_session_state{peer=\"Global_192_0_2_1\",address=\"192.0.2.1\",peer_as=\"65001\"} 3
# HELP bgplet_bgp_prefixes_received Prefixes the peer announced and the agent holds.
# TYPE bgplet_bgp_prefixes_received gauge
bgplet_bgp_prefixes_received{peer=\"Mesh_10_0_0_12\",family=\"ipv4_unicast\"} 3
";
    assert!(text.contains(expected), "{text}");
    assert!(text.contains(
        "bgplet_bgp_updates_received_total{peer=\"Mesh_10_0_0_12\"} 7\n"
    ));
}

#[test]
fn fib_families_render_exactly() {
    let text = render(&sample_view());
    let expected = "\
# HELP bgplet_fib_operations_total Kernel route operations by kind.
# TYPE bgplet_fib_operations_total counter
bgplet_fib_operations_total{op=\"add\"} 10
bgplet_fib_operations_total{op=\"replace\"} 2
bgplet_fib_operations_total{op=\"delete\"} 1
# HELP bgplet_fib_errors_total Kernel route operations that failed, by kind.
# TYPE bgplet_fib_errors_total counter
bgplet_fib_errors_total{op=\"add\"} 1
bgplet_fib_errors_total{op=\"replace\"} 0
bgplet_fib_errors_total{op=\"delete\"} 0
# HELP bgplet_fib_pending Route changes waiting to be written to the kernel.
# TYPE bgplet_fib_pending gauge
bgplet_fib_pending 4
";
    assert!(text.ends_with(expected), "{text}");
}

#[test]
fn label_values_escape_backslash_quote_and_newline() {
    assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    let text = render(&sample_view());
    assert!(text.contains(
        "bgplet_plugin_calls_total{plugin=\"calico \\\"default\\\"\\\\v1\\nx\",\
         hook=\"import\"} 5\n"
    ));
}

#[test]
fn histogram_buckets_are_cumulative_and_end_with_inf_equal_to_count() {
    let text = render(&sample_view());
    let buckets: Vec<(String, u64)> = text
        .lines()
        .filter(|l| l.starts_with("bgplet_plugin_call_duration_seconds_bucket"))
        .map(|l| {
            let le = l.split("le=\"").nth(1).unwrap().split('"').next();
            let count = l.rsplit(' ').next().unwrap().parse().unwrap();
            (le.unwrap().to_owned(), count)
        })
        .collect();
    assert_eq!(buckets.len(), LATENCY_BUCKETS.len() + 1);
    assert_eq!(buckets[0], ("0.00001".to_owned(), 0));
    assert_eq!(buckets[1], ("0.000025".to_owned(), 2));
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!(buckets.last().unwrap(), &("+Inf".to_owned(), 5));
    assert_eq!(buckets[buckets.len() - 2], ("1".to_owned(), 4));
    assert!(text.contains(
        "bgplet_plugin_call_duration_seconds_count{plugin=\"calico \\\"default\
         \\\"\\\\v1\\nx\",hook=\"import\"} 5\n"
    ));
}

#[test]
fn every_family_has_help_and_type_before_its_samples() {
    let text = render(&MetricsView::default());
    let mut declared = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared.push(rest.split(' ').next().unwrap().to_owned());
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(declared.iter().any(|d| d == name), "{name} undeclared");
        }
    }
    assert_eq!(declared.len(), 17);
    assert!(text.contains("bgplet_build_info{version=\"\"} 1\n"));
}

#[test]
fn histogram_counts_overflow_into_the_inf_bucket() {
    let mut h = Histogram::new(&[1.0, 2.0]);
    h.observe(0.5);
    h.observe(2.0);
    h.observe(9.0);
    assert_eq!(h.cumulative(), vec![(1.0, 1), (2.0, 2), (f64::INFINITY, 3)]);
    assert_eq!(h.count(), 3);
    assert!((h.sum() - 11.5).abs() < 1e-9);
}

#[test]
fn reloads_render_by_outcome_and_reason() {
    let text = render(&sample_view());
    let expected = "\
bgplet_plugin_reloads_total{outcome=\"applied\"} 3
bgplet_plugin_reloads_total{outcome=\"rejected\",reason=\"pin\"} 1
bgplet_plugin_reloads_total{outcome=\"rejected\",reason=\"init\"} 0
";
    assert!(text.contains(expected), "{text}");
    assert!(text.contains(
        "bgplet_plugin_loads_total{plugin=\"calico \\\"default\\\"\\\\v1\\nx\",\
         outcome=\"rejected\"} 1\n"
    ));
}

#[test]
fn a_histogram_from_counts_keeps_them_and_folds_extra_buckets_into_inf() {
    let h = Histogram::from_counts(&[1.0, 2.0], &[1, 0, 2, 5], 7.5);
    assert_eq!(h.cumulative(), vec![(1.0, 1), (2.0, 1), (f64::INFINITY, 8)]);
    assert!((h.sum() - 7.5).abs() < 1e-9);
}
