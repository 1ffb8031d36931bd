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

/// User plus system CPU of a task (`/proc/<path>/stat`), in seconds; the
/// kernel's route insertion runs in the sender's syscalls, so it counts.
fn cpu(path: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{path}/stat"))
        .unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are
    // the 12th and 13th of them, in clock ticks (100 Hz).
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn rate(n: u32, d: Duration) -> f64 {
    f64::from(n) / d.as_secs_f64()
}

fn bench_fib(
    n: u32,
    batch_size: usize,
    in_flight: usize,
    watch: bool,
) -> (Duration, Duration, f64) {
    let ns = Netns::new();
    ns.veth("10.0.0.1/24");
    let (add, del, add_cpu) = ns.run(|| async {
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
        let cpu0 = cpu("thread-self");
        let mut fib = Fib::new(config).await.unwrap();
        let report = fib.apply(routes).await;
        let add = start.elapsed();
        let add_cpu = cpu("thread-self") - cpu0;
        assert!(report.failures.is_empty(), "{:?}", &report.failures[..1]);
        assert_eq!(report.installed, n as usize);
        assert_eq!(count(&ns), n as usize);
        let start = Instant::now();
        let report = fib.apply(removals).await;
        let del = start.elapsed();
        assert_eq!(report.removed, n as usize);
        (add, del, add_cpu)
    });
    assert_eq!(count(&ns), 0);
    (add, del, add_cpu)
}

fn bench_ip_batch(n: u32) -> (Duration, f64) {
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
    // bash's `times` reports the child's CPU: "user sys" on line 2.
    let script = format!("ip -n {} -batch {path} && times", ns.name);
    let out = common::run("bash", &["-c", &script]);
    let took = start.elapsed();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(count(&ns), n as usize);
    let secs = |t: &str| -> f64 {
        let (m, s) = t.trim_end_matches('s').split_once('m').unwrap();
        m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
    };
    let line = out.lines().nth(1).unwrap_or("0m0s 0m0s");
    let used: f64 = line.split_whitespace().map(secs).sum();
    (took, used)
}

fn bench_bird(n: u32) -> Option<(Duration, f64)> {
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
            // `ip netns exec` execs bird in place: same pid.
            took = Some((start.elapsed(), cpu(&bird.id().to_string())));
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
        let (add, del, used) = bench_fib(n, batch, flight, watch);
        let w = if watch { "watch" } else { "quiet" };
        println!(
            "bgplet-fib batch {batch:>3} x {flight} {w}: add {:>7.0} routes/s ({:.2} s wall, {:.2} s cpu), delete {:>7.0} routes/s",
            rate(n, add),
            add.as_secs_f64(),
            used,
            rate(n, del),
        );
    }
    let (took, used) = bench_ip_batch(n);
    println!(
        "ip -batch:                        add {:>7.0} routes/s ({:.2} s wall, {:.2} s cpu)",
        rate(n, took),
        took.as_secs_f64(),
        used
    );
    if bird {
        match bench_bird(n) {
            Some((took, used)) => println!(
                "bird 2 kernel protocol, from start: add {:>7.0} routes/s ({:.2} s wall, {:.2} s cpu incl. config parse)",
                rate(n, took),
                took.as_secs_f64(),
                used
            ),
            None => println!("bird 2: did not reach {n} routes"),
        }
    }
}
