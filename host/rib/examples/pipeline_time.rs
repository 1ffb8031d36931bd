//! The pipeline benchmark's workload timed by wall clock and by the
//! thread's own CPU time (`/proc/thread-self/schedstat`), which stays
//! meaningful on a shared, overloaded machine where criterion's wall
//! times are not.
//!
//! `cargo run --release -p bgplet-rib --example pipeline_time`

#![allow(clippy::unwrap_used)]

#[path = "../benches/workload/mod.rs"]
mod workload;

use std::time::Instant;

use workload::{PREFIXES, rib, updates};

/// Nanoseconds this thread has run on a CPU.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let all = updates();
    for per_call in [1usize, 1000, 1, 1000] {
        let mut rib = rib();
        let ups = all.clone();
        let (wall, cpu) = (Instant::now(), cpu_ns());
        let mut it = ups.into_iter().peekable();
        while it.peek().is_some() {
            let batch = it.by_ref().take(per_call);
            std::hint::black_box(rib.update_many(batch.map(|u| ("src", u))));
        }
        let cpu = cpu_ns() - cpu;
        let wall = wall.elapsed().as_nanos() as u64;
        let n = u64::from(PREFIXES);
        println!(
            "{per_call:>4} UPDATEs per call: {} ns/prefix CPU, {} ns/prefix wall",
            cpu / n,
            wall / n
        );
    }
}
