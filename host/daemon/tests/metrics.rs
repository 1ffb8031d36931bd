//! The metrics text through a real Prometheus parser (the Python
//! client's), and the HTTP endpoints through a raw TCP client.
//!
//! Needs `python3 -m pip install prometheus-client==0.26.0`.

#![allow(clippy::unwrap_used)]

#[allow(dead_code, unreachable_pub, unused_imports)]
#[path = "../src"]
mod src {
    pub mod metrics;
}

use std::io::Write;
use std::process::{Command, Stdio};

use src::metrics::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

fn view() -> MetricsView {
    let mut latency = Histogram::latency();
    latency.observe(0.000_2);
    latency.observe(0.07);
    MetricsView {
        version: "0.1.0".to_owned(),
        sessions: vec![SessionMetrics {
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
        }],
        plugins: vec![PluginMetrics {
            plugin: "odd \"name\"\\\nhere".to_owned(),
            hooks: vec![HookMetrics {
                hook: "import".to_owned(),
                calls: 2,
                errors: HookErrors::default(),
                fallbacks: 0,
                latency,
            }],
            loads: LoadCounts::default(),
        }],
        reloads: ReloadMetrics {
            applied: 1,
            rejected: vec![("self_test".to_owned(), 2)],
        },
        fib: FibMetrics::default(),
    }
}

/// Parses with prometheus_client and prints one line per sample:
/// `name|labels as sorted JSON|value`.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        print(family.type, s.name, json.dumps(s.labels, sort_keys=True), float(s.value), sep="|")
"#;

#[test]
fn prometheus_clients_parser_reads_every_sample_back() {
    let text = render(&view());
    let mut child = Command::new("python3")
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "parser failed (setup: python3 -m pip install \
         prometheus-client==0.26.0): {stderr}\n{text}"
    );
    let parsed = String::from_utf8(out.stdout).unwrap();
    let samples = text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(parsed.lines().count(), samples, "{parsed}");
    for expected in [
        "gauge|bgplet_bgp_session_state|{\"address\": \"10.0.0.12\", \
         \"peer\": \"Mesh_10_0_0_12\", \"peer_as\": \"64512\"}|6.0",
        "counter|bgplet_bgp_updates_sent_total|{\"peer\": \
         \"Mesh_10_0_0_12\"}|4.0",
        "histogram|bgplet_plugin_call_duration_seconds_bucket|{\"hook\": \
         \"import\", \"le\": \"+Inf\", \"plugin\": \"odd \\\"name\\\"\\\\\\n\
         here\"}|2.0",
        "histogram|bgplet_plugin_call_duration_seconds_count|{\"hook\": \
         \"import\", \"plugin\": \"odd \\\"name\\\"\\\\\\nhere\"}|2.0",
        "gauge|bgplet_fib_pending|{}|0.0",
        "counter|bgplet_plugin_reloads_total|{\"outcome\": \"applied\"}|1.0",
        "counter|bgplet_plugin_reloads_total|{\"outcome\": \"rejected\", \
         \"reason\": \"self_test\"}|2.0",
    ] {
        assert!(
            parsed.lines().any(|l| l == expected),
            "{expected}\n{parsed}"
        );
    }
}

async fn get(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoints_answer_over_http() {
    let server = MetricsServer::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, mut rx) = mpsc::channel::<Probe>(8);
    tokio::spawn(server.serve(tx));
    let mut ready: Result<(), String> =
        Err("BGP not established with 10.0.0.13".to_owned());
    let (flip_tx, mut flip_rx) = mpsc::channel::<()>(1);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(probe) = rx.recv() => match probe {
                    Probe::Metrics(reply) => {
                        let _ = reply.send(view());
                    }
                    Probe::Health(reply) => {
                        let _ = reply.send(Health {
                            alive: true,
                            ready: ready.clone(),
                        });
                    }
                },
                Some(()) = flip_rx.recv() => ready = Ok(()),
                else => break,
            }
        }
    });

    let metrics = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (head, body) = metrics.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains(
        "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
    ));
    assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
    assert_eq!(body, render(&view()));

    let health = get(addr, "GET /healthz HTTP/1.1\r\n\r\n").await;
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");

    let not_ready = get(addr, "GET /readyz HTTP/1.1\r\n\r\n").await;
    assert!(not_ready.starts_with("HTTP/1.1 503 "), "{not_ready}");
    assert!(
        not_ready.ends_with("\r\n\r\nBGP not established with 10.0.0.13\n")
    );
    flip_tx.send(()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let now_ready = get(addr, "GET /readyz?verbose HTTP/1.1\r\n\r\n").await;
    assert!(now_ready.starts_with("HTTP/1.1 200 OK\r\n"), "{now_ready}");

    let head_only = get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n").await;
    assert!(head_only.ends_with("\r\n\r\n"), "{head_only}");
    let missing = get(addr, "GET /nope HTTP/1.1\r\n\r\n").await;
    assert!(missing.starts_with("HTTP/1.1 404 "));
    let post = get(addr, "POST /metrics HTTP/1.1\r\n\r\n").await;
    assert!(post.starts_with("HTTP/1.1 405 "));
    assert!(post.contains("\r\nAllow: GET, HEAD\r\n"));
    let junk = get(addr, "hello\r\n\r\n").await;
    assert!(junk.starts_with("HTTP/1.1 400 "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_agent_fails_the_health_probe() {
    let server = MetricsServer::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = mpsc::channel::<Probe>(8);
    drop(rx);
    tokio::spawn(server.serve(tx));
    let health = get(addr, "GET /healthz HTTP/1.1\r\n\r\n").await;
    assert!(health.starts_with("HTTP/1.1 503 "), "{health}");
    assert!(health.ends_with("agent is not answering\n"));
}
