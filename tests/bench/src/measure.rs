//! Resource use of the device under test, read from /proc.

use std::sync::OnceLock;

use anyhow::{Context, Result};

/// Clock ticks per second for /proc/PID/stat (`getconf CLK_TCK`).
fn clk_tck() -> f64 {
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// User plus system CPU seconds of `pid`, all threads.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // Fields after the command name, which may contain spaces: field 3
    // (state) is index 0, utime (14) index 11, stime (15) index 12.
    let rest = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| -> Result<f64> {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .with_context(|| format!("/proc/{pid}/stat field {i}"))
    };
    Ok((num(11)? + num(12)?) / clk_tck())
}

/// Peak resident set size (VmHWM) of `pid` in bytes.
pub fn peak_rss(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| {
            v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
        })
        .with_context(|| format!("no VmHWM for {pid}"))?;
    Ok(kb * 1024)
}

/// Sum of [`cpu_seconds`] over `pids`.
pub fn cpu_total(pids: &[u32]) -> Result<f64> {
    pids.iter().map(|&p| cpu_seconds(p)).sum()
}

/// Sum of [`peak_rss`] over `pids`.
pub fn rss_total(pids: &[u32]) -> Result<u64> {
    pids.iter().map(|&p| peak_rss(p)).sum()
}

/// The 1-minute load average.
pub fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}
