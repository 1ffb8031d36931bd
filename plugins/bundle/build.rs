//! Compiles the bundled plugins to `wasm32-wasip2` components with a
//! nested cargo and copies them into OUT_DIR for `include_bytes!`.
//!
//! - The nested cargo uses its own target directory under OUT_DIR, so it
//!   never waits on the outer build's directory lock, and `--locked`: the
//!   outer cargo has already written Cargo.lock for the whole workspace.
//! - It gets the plugin profile (opt-level 3, LTO, one codegen unit,
//!   panic abort, strip) through `--config`, so the workspace's release
//!   profile stays as it is. Opt-level 3 rather than "s": the hooks run
//!   about twice as fast in wasm for about 10% more size.
//! - Flags meant for the outer (native) build are not passed on.
//! - `BGPLET_PLUGIN_WASM_DIR=<dir>` skips the nested build and takes
//!   `<dir>/<name>.wasm` as built elsewhere.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, wasm file stem, bundled name).
const PLUGINS: [(&str, &str, &str); 4] = [
    ("bgplet-plugin-calico", "bgplet_plugin_calico", "calico"),
    (
        "bgplet-plugin-graceful-shutdown",
        "bgplet_plugin_graceful_shutdown",
        "graceful-shutdown",
    ),
    ("bgplet-plugin-prepend", "bgplet_plugin_prepend", "prepend"),
    (
        "bgplet-plugin-accept-all",
        "bgplet_plugin_accept_all",
        "accept-all",
    ),
];

const TARGET: &str = "wasm32-wasip2";

/// The `plugin` profile of wasm-plugins.md 2.3, applied to `release`.
const PROFILE: [&str; 5] = [
    "profile.release.opt-level=3",
    "profile.release.lto=true",
    "profile.release.codegen-units=1",
    "profile.release.panic=\"abort\"",
    "profile.release.strip=true",
];

fn main() {
    if let Err(e) = run() {
        // A build script reports failure by exiting non-zero; the
        // message tells the developer what to fix.
        eprintln!("bgplet-plugins-bundle: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    let root = manifest
        .parent()
        .and_then(Path::parent)
        .ok_or("no workspace root above plugins/bundle")?
        .to_path_buf();
    let out = PathBuf::from(var("OUT_DIR")?);
    for dir in [
        "sdk/src",
        "sdk/abi/src",
        "sdk/Cargo.toml",
        "sdk/abi/Cargo.toml",
        "wit/v0.1",
        "plugins/calico/src",
        "plugins/calico/Cargo.toml",
        "plugins/examples/graceful-shutdown/src",
        "plugins/examples/graceful-shutdown/Cargo.toml",
        "plugins/examples/prepend/src",
        "plugins/examples/prepend/Cargo.toml",
        "plugins/examples/accept-all/src",
        "plugins/examples/accept-all/Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!("cargo:rerun-if-env-changed=BGPLET_PLUGIN_WASM_DIR");

    let built = match env::var_os("BGPLET_PLUGIN_WASM_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => build(&root, &out)?,
    };
    for (_, stem, name) in PLUGINS {
        let from = built.join(format!("{stem}.wasm"));
        let from = if from.exists() {
            from
        } else {
            built.join(format!("{name}.wasm"))
        };
        let to = out.join(format!("{name}.wasm"));
        std::fs::copy(&from, &to).map_err(|e| {
            format!("copying {} to {}: {e}", from.display(), to.display())
        })?;
    }
    Ok(())
}

fn var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("{name} is not set"))
}

/// Runs the nested cargo; returns the directory holding the .wasm files.
fn build(root: &Path, out: &Path) -> Result<PathBuf, String> {
    let target_dir = out.join("wasm-target");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .arg("build")
        .arg("--release")
        .args(["--target", TARGET])
        .arg("--locked")
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _, _) in PLUGINS {
        cmd.args(["-p", package]);
    }
    for c in PROFILE {
        cmd.args(["--config", c]);
    }
    if let Ok(jobs) = env::var("NUM_JOBS") {
        cmd.args(["-j", &jobs]);
    }
    if env::var("CARGO_NET_OFFLINE").is_ok_and(|v| v == "true") {
        cmd.arg("--offline");
    }
    // The outer build's flags and target dir are for the host target.
    for v in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
    ] {
        cmd.env_remove(v);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("running cargo for {TARGET}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the plugins for {TARGET} failed ({status}); is the \
             target installed (`rustup target add {TARGET}`)?"
        ));
    }
    Ok(target_dir.join(TARGET).join("release"))
}
