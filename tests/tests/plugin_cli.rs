//! `bgplet plugin test`: the embedded example plugins' decisions over
//! the shipped routes file, as a user runs it.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::Path;
use std::process::Command;

use bgplet_tests::bgplet_binary;

fn plugin_test(plugin: &str, config: &str) -> String {
    let routes = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/plugin-test-routes.json");
    let out = Command::new(bgplet_binary().unwrap())
        .args(["plugin", "test", plugin, "--routes"])
        .arg(&routes)
        .args(["--config", config])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn line<'a>(out: &'a str, section: &str, prefix: &str) -> &'a str {
    let rest = &out[out.find(section).unwrap()..];
    rest.lines()
        .find(|l| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} under {section}:\n{out}"))
}

#[test]
fn graceful_shutdown_lowers_local_pref_only_on_routes_with_the_community() {
    let out = plugin_test("graceful-shutdown", "{}");
    let import = "import (from Global_10_0_0_1)";
    assert!(
        line(&out, import, "192.0.2.0/24")
            .ends_with("accept with SetLocalPref(0)"),
        "{out}"
    );
    assert!(
        line(&out, import, "198.51.100.0/24").ends_with(" accept"),
        "{out}"
    );
}

#[test]
fn prepend_edits_exports_toward_the_configured_peer_only() {
    let to_it = plugin_test(
        "prepend",
        r#"{"plugin":{"peers":["Global_10_0_0_2"],"count":2}}"#,
    );
    let export = "export (to Global_10_0_0_2)";
    for prefix in ["192.0.2.0/24", "198.51.100.0/24"] {
        assert!(
            line(&to_it, export, prefix)
                .ends_with("accept with Prepend { asn: 64512, count: 2 }"),
            "{to_it}"
        );
    }
    let elsewhere = plugin_test(
        "prepend",
        r#"{"plugin":{"peers":["Global_10_9_9_9"],"count":2}}"#,
    );
    assert!(
        line(&elsewhere, export, "192.0.2.0/24").ends_with(" accept"),
        "{elsewhere}"
    );
}
