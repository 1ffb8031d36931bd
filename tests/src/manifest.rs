//! Plugin manifests as the reload tests and the reload benchmark write
//! them (the format of docs/plugins.md).

use std::path::Path;

/// Replaces `dir/manifest.yaml` atomically (write, rename), as kubelet's
/// swap of a ConfigMap volume would.
pub fn write_manifest(dir: &Path, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(".manifest.yaml.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join("manifest.yaml"))
}

/// The Calico default export chain, then the prepend example
/// (`prepend.wasm` pinned to `pin`) prepending `count` times toward
/// `peers` (session names or addresses).
pub fn prepend_manifest(pin: &str, peers: &[&str], count: u32) -> String {
    let peers: Vec<String> = peers.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        "apiVersion: bgplet.dev/v1\n\
         hooks:\n  \
           export:\n    \
             - {{name: calico, builtin: calico}}\n    \
             - name: prepend\n      \
               wasm: prepend.wasm\n      \
               sha256: \"{pin}\"\n      \
               config: {{peers: [{}], count: {count}}}\n",
        peers.join(", ")
    )
}
