//! What plugins and faults write to the log. One test in its own
//! binary: tracing's per-callsite interest cache makes thread-local
//! subscribers unreliable when tests run in parallel.

#![allow(clippy::unwrap_used)]

mod common;

use bgplet_plugin::{ChainSpec, NodeRecord, PolicyChains};
use bgplet_plugin_abi::{NoRawAttributes, Policy};
use common::{Logs, batch, fault_wasm, host, peer};

#[test]
fn plugin_log_lines_and_faults_carry_the_plugin_and_hook() {
    let (logs, _guard) = Logs::capture();
    let host = host();
    host.set_node(NodeRecord {
        name: "node-a".into(),
        ..NodeRecord::default()
    });
    let wasm = fault_wasm("switch");
    let good = host.load("switch", &wasm, "ok").unwrap();
    let chains = PolicyChains::new(ChainSpec::new(vec![good]));
    let mut policy = chains.worker();
    chains.swap(ChainSpec::new(vec![
        host.load("switch", &wasm, "trap").unwrap(),
    ]));
    let (attrs, routes) = batch(3);
    let r = policy
        .export(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![1; 3]);

    let text = logs.text();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in\n{text}"))
    };
    // The plugin's own `log` call from init, tagged by the host.
    let init = line("mode ok on node node-a");
    assert!(
        init.contains("INFO") && init.contains("plugin=\"switch\""),
        "{init}"
    );
    assert!(init.contains("hook=\"load\""), "{init}");
    // The fault: plugin, hook, kind and wasmtime's reason.
    let fault = line("plugin call failed");
    assert!(fault.contains("WARN"), "{fault}");
    assert!(fault.contains("plugin=\"switch\""), "{fault}");
    assert!(fault.contains("hook=\"export\""), "{fault}");
    assert!(fault.contains("kind=\"trap\""), "{fault}");
    assert!(fault.contains("unreachable"), "{fault}");
    line("plugin loaded");
    line("plugin chains swapped");
}
