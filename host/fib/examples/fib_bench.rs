//! Installs N IPv4 routes into fresh network namespaces three ways and
//! prints routes per second for each: bgplet-fib (several batch shapes),
//! `ip -batch`, and BIRD 2's kernel protocol exporting a static protocol.
//!
//! Root only. Usage:
//! `cargo run --release -p bgplet-fib --example fib_bench -- [N] [--no-bird]`

#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bgplet_fib::{Fib, FibAction, FibChange, FibConfig, FibNextHop, FibRoute};
use common::Netns;

/// The i-th destination: /32s from 100.64.0.0 on.
fn dst(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 64, 0, 0)) + i)
}

/// Counts `proto bird` IPv4 routes in the namespace's main table.
fn count(ns: &Netns) -> usize {
    ns.ip("-4 route show table main proto bird").lines().count()
}

fn rate(n: u32, d: Duration) -> f64 {
    f64::from(n) / d.as_secs_f64()
}

fn bench_fib(
    n: u32,
    batch_size: usize,
    in_flight: usize,
    watch: bool,
) -> (Duration, Duration) {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    let (add, del) = ns.run(|| async {
        let config = FibConfig {
            batch_size,
            in_flight,
            watch,
            ..FibConfig::default()
        };
        let routes: Vec<FibChange> = (0..n)
            .map(|i| {
                FibChange::Upsert(FibRoute {
                    prefix: (IpAddr::V4(dst(i)), 32),
                    action: FibAction::Unicast(vec![FibNextHop::via(
                        "10.0.0.2".parse().unwrap(),
                    )]),
                    metric: 0,
                })
            })
            .collect();
        let removals: Vec<FibChange> = (0..n)
            .map(|i| FibChange::Remove((IpAddr::V4(dst(i)), 32)))
            .collect();
        let start = Instant::now();
        let mut fib = Fib::new(config).await.unwrap();
        let report = fib.apply(routes).await;
        let add = start.elapsed();
        assert!(report.failures.is_empty(), "{:?}", &report.failures[..1]);
        assert_eq!(report.installed, n as usize);
        assert_eq!(count(&ns), n as usize);
        let start = Instant::now();
        let report = fib.apply(removals).await;
        let del = start.elapsed();
        assert_eq!(report.removed, n as usize);
        (add, del)
    });
    assert_eq!(count(&ns), 0);
    (add, del)
}

fn bench_ip_batch(n: u32) -> Duration {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    let mut script = String::new();
    for i in 0..n {
        writeln!(script, "route add {}/32 via 10.0.0.2 proto bird", dst(i))
            .unwrap();
    }
    let path = format!("/tmp/{}.batch", ns.name);
    std::fs::write(&path, script).unwrap();
    let start = Instant::now();
    ns.ip(&format!("-batch {path}"));
    let took = start.elapsed();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(count(&ns), n as usize);
    took
}

fn bench_bird(n: u32) -> Option<Duration> {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    let mut conf = String::from(
        "router id 10.0.0.1;\n\
         protocol device { scan time 10; }\n\
         protocol kernel { ipv4 { export all; }; merge paths on; }\n\
         protocol static { ipv4;\n",
    );
    for i in 0..n {
        writeln!(conf, "  route {}/32 via 10.0.0.2;", dst(i)).unwrap();
    }
    conf.push_str("}\n");
    let base = format!("/tmp/{}", ns.name);
    std::fs::write(format!("{base}.conf"), conf).unwrap();
    let start = Instant::now();
    let mut bird = Command::new("ip")
        .args(["netns", "exec", &ns.name, "bird", "-f"])
        .args(["-c", &format!("{base}.conf"), "-s", &format!("{base}.ctl")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Polling costs a full dump each time; poll sparingly.
    let mut took = None;
    while start.elapsed() < Duration::from_secs(600) {
        std::thread::sleep(Duration::from_millis(250));
        if count(&ns) >= n as usize {
            took = Some(start.elapsed());
            break;
        }
    }
    let _ = bird.kill();
    let _ = bird.wait();
    let _ = std::fs::remove_file(format!("{base}.conf"));
    let _ = std::fs::remove_file(format!("{base}.ctl"));
    took
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u32 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let bird = !args.iter().any(|a| a == "--no-bird");
    println!("installing {n} IPv4 /32 routes via a connected next hop");
    let shapes = [
        (1, 1, true),
        (32, 4, true),
        (128, 4, true),
        (512, 2, true),
        (128, 4, false),
    ];
    for (batch, flight, watch) in shapes {
        let (add, del) = bench_fib(n, batch, flight, watch);
        let w = if watch { "watch" } else { "quiet" };
        println!(
            "bgplet-fib batch {batch:>3} x {flight} {w}: add {:>8.0} routes/s ({:.2} s), delete {:>8.0} routes/s",
            rate(n, add),
            add.as_secs_f64(),
            rate(n, del),
        );
    }
    let took = bench_ip_batch(n);
    println!(
        "ip -batch:                           add {:>8.0} routes/s ({:.2} s)",
        rate(n, took),
        took.as_secs_f64()
    );
    if bird {
        match bench_bird(n) {
            Some(took) => println!(
                "bird 2 kernel protocol (from start): add {:>8.0} routes/s ({:.2} s)",
                rate(n, took),
                took.as_secs_f64()
            ),
            None => println!("bird 2: did not reach {n} routes"),
        }
    }
}
