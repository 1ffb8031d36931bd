//! Checks that a test can run at all: root and the daemons it needs.

use std::path::Path;

use anyhow::{Result, bail};

/// Fails with a clear message unless the process runs as root, which
/// network namespaces, veths and TCP-MD5 need.
pub fn require_root() -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .unwrap_or("");
    if uid != "0" {
        bail!(
            "e2e tests need root (network namespaces, veths, TCP-MD5); \
             effective uid is {uid:?}: run them as root"
        );
    }
    Ok(())
}

/// Fails with a clear message (and the Debian package to install) unless
/// root and every named tool is available. A name with a `/` is checked
/// as a path, anything else is looked up in `PATH`.
pub fn require_tools(tools: &[&str]) -> Result<()> {
    require_root()?;
    let missing: Vec<&str> =
        tools.iter().copied().filter(|t| !tool_exists(t)).collect();
    if !missing.is_empty() {
        let hints: Vec<String> = missing
            .iter()
            .map(|t| format!("{t} (package {})", package_of(t)))
            .collect();
        bail!(
            "e2e test prerequisites missing: {}; install them with apt-get",
            hints.join(", ")
        );
    }
    Ok(())
}

fn tool_exists(tool: &str) -> bool {
    if tool.contains('/') {
        return Path::new(tool).is_file();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(tool).is_file())
}

fn package_of(tool: &str) -> &'static str {
    let base = tool.rsplit('/').next().unwrap_or(tool);
    match base {
        "bird" | "birdc" => "bird2",
        "gobgpd" | "gobgp" => "gobgpd",
        "zebra" | "bgpd" | "vtysh" => "frr",
        "exabgp" => "exabgp",
        "ip" | "ss" => "iproute2",
        _ => "unknown",
    }
}
