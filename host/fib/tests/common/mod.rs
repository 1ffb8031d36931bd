//! Throwaway network namespaces for kernel tests (root only).
//!
//! Each test gets its own namespace, deleted on drop (also when the test
//! panics). The FIB runs on a thread that entered the namespace before
//! building its tokio runtime, so its sockets live there.

#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};
use serde_json::Value;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A named network namespace, removed on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates `bltfib<pid>_<n>` with `lo` up.
    pub fn new() -> Netns {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("bltfib{}_{n}", std::process::id());
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip("link set lo up");
        ns
    }

    /// Runs `ip -n <ns> <args>` and returns stdout; panics on failure.
    pub fn ip(&self, args: &str) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend(args.split_whitespace());
        run("ip", &all)
    }

    /// Runs `ip -n <ns> <args>` and reports whether it succeeded.
    pub fn try_ip(&self, args: &str) -> bool {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend(args.split_whitespace());
        Command::new("ip")
            .args(&all)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// A veth pair `v0`/`v1`, both up, `v0` with `addr` (CIDR form).
    pub fn veth(&self, addr: &str) {
        self.ip("link add v0 type veth peer name v1");
        self.ip("link set v0 up");
        self.ip("link set v1 up");
        if addr.contains(':') {
            self.ip(&format!("-6 addr add {addr} dev v0 nodad"));
        } else {
            self.ip(&format!("addr add {addr} brd + dev v0"));
        }
    }

    /// The main table as `ip -j route show` prints it.
    pub fn routes(&self, v6: bool) -> Vec<Value> {
        let family = if v6 { "-6" } else { "-4" };
        let out = self.ip(&format!("{family} -j route show table main"));
        match serde_json::from_str(&out).unwrap() {
            Value::Array(a) => a,
            other => panic!("unexpected ip output {other}"),
        }
    }

    /// All routes for `dst` (as `ip` prints it, e.g. `10.1.0.0/24`).
    pub fn routes_to(&self, dst: &str) -> Vec<Value> {
        self.routes(dst.contains(':'))
            .into_iter()
            .filter(|r| r["dst"] == dst)
            .collect()
    }

    /// The single route for `dst`; panics unless exactly one.
    pub fn route_to(&self, dst: &str) -> Value {
        let mut all = self.routes_to(dst);
        assert_eq!(all.len(), 1, "routes to {dst}: {all:?}");
        all.remove(0)
    }

    /// Runs `f` on a thread inside the namespace, on a current-thread
    /// tokio runtime created there.
    pub fn run<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = T>,
        T: Send,
    {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(move || {
                let file = File::open(&path).unwrap();
                setns(&file, CloneFlags::CLONE_NEWNET).unwrap();
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(f())
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs a command, panics on failure, returns stdout.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Polls `cond` until true or `limit` passes.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}
