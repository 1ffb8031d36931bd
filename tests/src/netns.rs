//! Network namespaces as RAII guards, veth links between them, and the
//! sweeper for namespaces left behind by killed test runs.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use crate::process::{self, Process};
use crate::tempdir;

/// Prefix of every namespace (and FRR pathspace) this crate creates.
const PREFIX: &str = "blt";

/// Where FRR keeps per-pathspace sockets and pid files.
pub(crate) const FRR_RUN: &str = "/var/run/frr";

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

/// `<pid in hex>_<counter>`: unique within the machine while the process
/// lives, and tells the sweeper whose it was.
pub(crate) fn unique_suffix() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}_{n}", std::process::id())
}

/// A network namespace named `blt<pid hex>_<n>` with `lo` up and IPv6
/// duplicate address detection off.
///
/// Cloning shares the namespace; when the last clone is dropped every
/// process inside is killed (SIGKILL) and the namespace is deleted. The
/// adapters keep a clone, so a namespace outlives the daemons in it.
#[derive(Clone, Debug)]
pub struct Netns {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
}

impl Netns {
    /// Creates a namespace. The first call in a process also sweeps
    /// namespaces of dead earlier runs ([`cleanup_stale`]).
    pub fn new() -> Result<Netns> {
        SWEEP.call_once(|| {
            if let Err(e) = cleanup_stale() {
                eprintln!("bgplet-tests: stale namespace sweep failed: {e:#}");
            }
        });
        let name = format!("{PREFIX}{}", unique_suffix());
        process::run("ip", &["netns", "add", &name])?;
        // The guard exists from here on, so a failure below still deletes.
        let ns = Netns {
            inner: Arc::new(Inner { name }),
        };
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"])?;
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0"])?;
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace name (at most 15 characters).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// A command running `args` inside the namespace
    /// (`ip netns exec NAME args...`), not yet started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", self.name()]).args(args);
        cmd
    }

    /// Runs `args` inside the namespace to completion and returns its
    /// stdout; fails with stdout/stderr if it exits unsuccessfully.
    pub fn exec(&self, args: &[&str]) -> Result<String> {
        let out = self.exec_output(args)?;
        process::checked(
            "ip",
            &[&["netns", "exec", self.name()], args].concat(),
            out,
        )
    }

    /// Runs `args` inside the namespace and returns the raw output,
    /// whatever the exit status.
    pub fn exec_output(&self, args: &[&str]) -> Result<Output> {
        self.command(args)
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("running {args:?} in {}", self.name()))
    }

    /// Runs `ip -n NAME args...` (cheaper than `exec` for ip commands).
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        process::run("ip", &[&["-n", self.name()], args].concat())
    }

    /// Starts `args` inside the namespace as a [`Process`] guard, output
    /// appended to `log`. The guard keeps the namespace alive.
    pub fn spawn(
        &self,
        label: &str,
        args: &[&str],
        log: Option<&Path>,
    ) -> Result<Process> {
        Ok(Process::spawn(label, self.command(args), log)?
            .hold_ns(self.clone()))
    }

    /// Established TCP connections in the namespace as
    /// `(local, peer)` (from `ss -Htn state established`), IPv4-mapped
    /// IPv6 addresses shown as IPv4. Tells which side of a BGP session
    /// connected: the one whose peer port is 179.
    pub fn tcp_established(&self) -> Result<Vec<(SocketAddr, SocketAddr)>> {
        let out = self.exec(&["ss", "-Htn", "state", "established"])?;
        Ok(parse_ss(&out))
    }

    /// Pids of all processes in the namespace.
    pub fn pids(&self) -> Vec<u32> {
        ns_pids(self.name())
    }

    /// Runs `f` on a helper thread that has joined this namespace, so
    /// sockets created in `f` live in the namespace. The sockets can be
    /// used from any thread afterwards.
    pub fn in_ns<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> Result<T> + Send,
        T: Send,
    {
        let path = format!("/run/netns/{}", self.name());
        std::thread::scope(|s| {
            s.spawn(move || {
                let file = std::fs::File::open(&path)
                    .with_context(|| format!("opening {path}"))?;
                nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .with_context(|| format!("setns into {path}"))?;
                f()
            })
            .join()
            .map_err(|_| anyhow!("namespace helper thread panicked"))?
        })
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        destroy(&self.name);
    }
}

/// Kills everything in namespace `name`, deletes it and its FRR
/// pathspace directory. Errors are ignored: this runs in drop.
fn destroy(name: &str) {
    kill_all(name);
    let _ = process::output("ip", &["netns", "del", name]);
    let _ = std::fs::remove_dir_all(Path::new(FRR_RUN).join(name));
}

fn ns_pids(name: &str) -> Vec<u32> {
    match process::output("ip", &["netns", "pids", name]) {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn kill_all(name: &str) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let start = Instant::now();
    loop {
        let pids = ns_pids(name);
        if pids.is_empty() || start.elapsed() > Duration::from_secs(5) {
            return;
        }
        for pid in pids {
            if let Ok(pid) = i32::try_from(pid) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Parses `ss -Htn state established` lines:
/// `RECV-Q SEND-Q LOCAL:PORT PEER:PORT [PROCESS]`.
fn parse_ss(text: &str) -> Vec<(SocketAddr, SocketAddr)> {
    let addr = |s: &str| -> Option<SocketAddr> {
        let a: SocketAddr = s.parse().ok()?;
        Some(SocketAddr::new(a.ip().to_canonical(), a.port()))
    };
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((addr(f.get(2)?)?, addr(f.get(3)?)?))
        })
        .collect()
}

/// The pid encoded in a name `<prefix><pid hex>_<n>...`, if any.
fn owner_pid(rest: &str) -> Option<u32> {
    let (hex, _) = rest.split_once('_')?;
    u32::from_str_radix(hex, 16).ok()
}

/// Whether `pid` runs; a zombie (a killed test run not yet reaped by
/// its parent) counts as dead.
fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Removes namespaces (with their processes), FRR pathspaces and scratch
/// directories left by earlier runs whose creating process is dead.
/// Returns the namespaces removed.
pub fn cleanup_stale() -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let list = process::run("ip", &["netns", "list"])?;
    for line in list.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        if owner_pid(rest).is_some_and(|pid| !pid_alive(pid)) {
            destroy(name);
            removed.push(name.to_string());
        }
    }
    let stale_dirs = |dir: &str, prefix: &str| {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let file = e.file_name();
            let Some(rest) = file.to_str().and_then(|n| n.strip_prefix(prefix))
            else {
                continue;
            };
            if owner_pid(rest).is_some_and(|pid| !pid_alive(pid)) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    };
    stale_dirs(FRR_RUN, PREFIX);
    stale_dirs(tempdir::BASE, "");
    Ok(removed)
}

/// A veth pair between two namespaces with IPv4 and IPv6 addresses:
/// side A is `10.0.S.1/24` and `fd00:0:0:S::1/64`, side B `.2`/`::2`,
/// for subnet number S.
#[derive(Clone, Debug)]
pub struct Link {
    /// Interface name inside namespace A.
    pub a_if: String,
    /// Interface name inside namespace B.
    pub b_if: String,
    /// IPv4 address of side A.
    pub a_v4: Ipv4Addr,
    /// IPv4 address of side B.
    pub b_v4: Ipv4Addr,
    /// IPv6 address of side A.
    pub a_v6: Ipv6Addr,
    /// IPv6 address of side B.
    pub b_v6: Ipv6Addr,
}

impl Link {
    /// Side A's IPv4 address with prefix length, e.g. `10.0.0.1/24`.
    pub fn a_v4_cidr(&self) -> String {
        format!("{}/24", self.a_v4)
    }

    /// Side B's IPv4 address with prefix length, e.g. `10.0.0.2/24`.
    pub fn b_v4_cidr(&self) -> String {
        format!("{}/24", self.b_v4)
    }

    /// Side A's IPv6 address with prefix length.
    pub fn a_v6_cidr(&self) -> String {
        format!("{}/64", self.a_v6)
    }

    /// Side B's IPv6 address with prefix length.
    pub fn b_v6_cidr(&self) -> String {
        format!("{}/64", self.b_v6)
    }
}

/// Joins `a` and `b` with a veth pair on subnet number `subnet` (see
/// [`Link`]). Use a different subnet for each link touching the same
/// namespace. The pair disappears with either namespace.
pub fn link(a: &Netns, b: &Netns, subnet: u8) -> Result<Link> {
    let suffix = unique_suffix();
    let l = Link {
        a_if: format!("bv{suffix}a"),
        b_if: format!("bv{suffix}b"),
        a_v4: Ipv4Addr::new(10, 0, subnet, 1),
        b_v4: Ipv4Addr::new(10, 0, subnet, 2),
        a_v6: Ipv6Addr::new(0xfd00, 0, 0, subnet.into(), 0, 0, 0, 1),
        b_v6: Ipv6Addr::new(0xfd00, 0, 0, subnet.into(), 0, 0, 0, 2),
    };
    // Both ends are created directly inside their namespaces, so nothing
    // ever appears in the root namespace.
    process::run(
        "ip",
        &[
            "link",
            "add",
            &l.a_if,
            "netns",
            a.name(),
            "type",
            "veth",
            "peer",
            "name",
            &l.b_if,
            "netns",
            b.name(),
        ],
    )?;
    for (ns, ifname, v4, v6) in [
        (a, &l.a_if, l.a_v4_cidr(), l.a_v6_cidr()),
        (b, &l.b_if, l.b_v4_cidr(), l.b_v6_cidr()),
    ] {
        ns.ip(&["addr", "add", &v4, "dev", ifname])?;
        ns.ip(&["addr", "add", &v6, "dev", ifname, "nodad"])?;
        ns.ip(&["link", "set", ifname, "up"])?;
    }
    Ok(l)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn ss_lines_become_address_pairs_with_mapped_v4_unwrapped() {
        let text = "0 0 10.0.0.1:179 10.0.0.2:40123\n\
                    0 0 [fd00:0:0:1::1]:51234 [fd00:0:0:1::2]:179\n\
                    0 0 [::ffff:10.0.2.1]:179 [::ffff:10.0.2.2]:33333 users:((\"x\"))\n";
        let got = parse_ss(text);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, "10.0.0.1:179".parse().unwrap());
        assert_eq!(got[1].1, "[fd00:0:0:1::2]:179".parse().unwrap());
        assert_eq!(got[2].0, "10.0.2.1:179".parse().unwrap());
    }
}
