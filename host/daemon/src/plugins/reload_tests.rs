//! Reloads that must be refused keep the active plugins and say why.

use std::collections::BTreeMap;

use bgplet_plugin::{Hook, HostConfig, LoadError, PluginHost};

use super::{Policies, PolicyError};
use crate::plugins::load::{Bundle, ReloadError, sha256_hex};

impl Policies {
    /// `reload` without the runtime.
    fn reload_now(
        &mut self,
        bundle: Option<Bundle>,
    ) -> Result<u64, PolicyError> {
        let t = std::time::Instant::now();
        let built = crate::plugins::load::build(
            &self.host,
            bundle.as_ref(),
            &self.context,
        );
        self.activate(bundle, built, t.elapsed())
    }
}

fn policies() -> Policies {
    let host = PluginHost::new(HostConfig::default()).unwrap();
    Policies::with_context(host, serde_json::json!({}), None).unwrap()
}

/// A bundle whose export chain is calico then `prepend.wasm` (pinned to
/// `pin`, or to the file itself) with `config`, plus extra files.
fn bundle(
    wasm: &[u8],
    pin: Option<&str>,
    config: &str,
    extra: &[(&str, &[u8])],
) -> Bundle {
    let pin = pin.map_or_else(|| sha256_hex(wasm), str::to_owned);
    let manifest = format!(
        "apiVersion: bgplet.dev/v1\n\
         hooks:\n  \
           export:\n    \
             - {{name: calico, builtin: calico}}\n    \
             - {{name: prepend, wasm: prepend.wasm, sha256: \"{pin}\", \
                 config: {config}}}\n"
    );
    let mut files = BTreeMap::new();
    files.insert("prepend.wasm".to_owned(), wasm.to_vec());
    for (k, v) in extra {
        files.insert((*k).to_owned(), v.to_vec());
    }
    Bundle::from_parts(&manifest, files, "test".into()).unwrap()
}

const PREPEND: &[u8] = bgplet_plugins_bundle::PREPEND;
const GOOD: &str = "{peers: [peer1], count: 2}";

/// Vectors for prepend's export toward `peer1` expecting `count`.
fn vectors(count: u8) -> Vec<u8> {
    serde_json::json!({
        "context": { "plugin": { "peers": ["peer1"], "count": 2 } },
        "cases": [{
            "name": "prepends toward peer1", "hook": "export",
            "peer": { "name": "peer1", "peer_as": 65001,
                      "local_as": 64512, "ibgp": false },
            "routes": [{ "prefix": "10.0.0.0/24", "source": ["local"],
                         "attrs": { "origin": "Igp" } }],
            "expect": [{ "AcceptWith":
                [{ "Prepend": { "asn": 64512, "count": count } }] }]
        }]
    })
    .to_string()
    .into_bytes()
}

/// Asserts that `bundle` is refused, the chains are untouched and the
/// status says why; returns the error.
fn refused(bundle: Bundle) -> ReloadError {
    let mut p = policies();
    let before = p.chains.generation();
    let chains_before = p.chains.active();
    let err = match p.reload_now(Some(bundle)) {
        Err(PolicyError::Reload(e)) => e,
        other => panic!("expected a refused reload, got {other:?}"),
    };
    assert_eq!(p.chains.generation(), before);
    assert_eq!(p.chains.active(), chains_before);
    let status = p.status().lock().unwrap().clone();
    assert_eq!(status.reloads_failed, 1);
    assert_eq!(status.source, "embedded defaults");
    let last = status.last_reload.unwrap();
    assert!(!last.ok);
    assert_eq!(last.error.unwrap(), err.to_string());
    err
}

#[test]
fn a_valid_manifest_swaps_in_a_new_generation_with_both_plugins() {
    let mut p = policies();
    let before = p.chains.generation();
    let g = p
        .reload_now(Some(bundle(PREPEND, None, GOOD, &[])))
        .unwrap();
    assert!(g > before);
    let active = p.chains.active();
    let export = &active.iter().find(|(h, _)| *h == Hook::Export).unwrap().1;
    assert_eq!(export, &["calico", "prepend"]);
    let import = &active.iter().find(|(h, _)| *h == Hook::Import).unwrap().1;
    assert_eq!(import, &["calico"]);
    let status = p.status().lock().unwrap().clone();
    assert_eq!(status.generation, g);
    assert_eq!(status.source, "test");
    assert!(status.last_reload.unwrap().ok);
}

#[test]
fn going_back_to_no_manifest_restores_the_defaults() {
    let mut p = policies();
    p.reload_now(Some(bundle(PREPEND, None, GOOD, &[])))
        .unwrap();
    p.reload_now(None).unwrap();
    let export = p.chains.active()[2].1.clone();
    assert_eq!(export, ["calico"]);
}

#[test]
fn corrupt_wasm_is_refused_at_compile() {
    let cut = &PREPEND[..PREPEND.len() / 2];
    let err = refused(bundle(cut, None, GOOD, &[]));
    assert!(
        matches!(err, ReloadError::Load(LoadError::Compile { .. })),
        "{err}"
    );
}

#[test]
fn a_component_of_the_wrong_world_is_refused() {
    // An empty component: valid, but exports nothing of our world.
    let empty = b"\0asm\x0d\x00\x01\x00";
    let err = refused(bundle(empty, None, GOOD, &[]));
    assert!(
        matches!(err, ReloadError::Load(LoadError::World { .. })),
        "{err}"
    );
}

#[test]
fn a_sha256_mismatch_is_refused_before_compiling() {
    let other = sha256_hex(b"something else");
    let err = refused(bundle(PREPEND, Some(&other), GOOD, &[]));
    assert!(matches!(err, ReloadError::Pin { .. }), "{err}");
}

#[test]
fn a_config_the_plugin_rejects_at_init_is_refused() {
    let err = refused(bundle(PREPEND, None, "{peers: [peer1], count: 0}", &[]));
    assert!(
        matches!(err, ReloadError::Load(LoadError::Config { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("count must be"), "{err}");
}

#[test]
fn a_failed_self_test_is_refused() {
    let v = vectors(3);
    let err =
        refused(bundle(PREPEND, None, GOOD, &[("prepend.vectors.json", &v)]));
    assert!(matches!(err, ReloadError::SelfTest { .. }), "{err}");
    assert!(err.to_string().contains("prepends toward peer1"), "{err}");
}

#[test]
fn a_passing_self_test_lets_the_plugin_in() {
    let v = vectors(2);
    let mut p = policies();
    p.reload_now(Some(bundle(
        PREPEND,
        None,
        GOOD,
        &[("prepend.vectors.json", &v)],
    )))
    .unwrap();
}

#[test]
fn a_plugin_listed_for_a_hook_it_does_not_implement_is_refused() {
    let pin = sha256_hex(PREPEND);
    let manifest = format!(
        "apiVersion: bgplet.dev/v1\n\
         hooks: {{import: [{{name: prepend, wasm: p.wasm, sha256: \"{pin}\", \
                  config: {GOOD}}}]}}\n"
    );
    let files = BTreeMap::from([("p.wasm".to_owned(), PREPEND.to_vec())]);
    let b = Bundle::from_parts(&manifest, files, "test".into()).unwrap();
    let err = refused(b);
    assert!(
        matches!(
            err,
            ReloadError::Hook {
                hook: Hook::Import,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_missing_wasm_file_is_refused() {
    let mut b = bundle(PREPEND, None, GOOD, &[]);
    b.files.clear();
    let err = refused(b);
    assert!(matches!(err, ReloadError::Missing { .. }), "{err}");
}

#[test]
fn a_directory_bundle_reads_the_manifest_and_its_files() {
    let dir =
        std::env::temp_dir().join(format!("bgplet-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pin = sha256_hex(PREPEND);
    std::fs::write(
        dir.join("manifest.yaml"),
        format!(
            "apiVersion: bgplet.dev/v1\n\
             hooks: {{export: [{{name: prepend, wasm: prepend.wasm, \
                      sha256: \"{pin}\", config: {GOOD}}}]}}\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("prepend.wasm"), PREPEND).unwrap();
    let b = Bundle::from_dir(&dir).unwrap();
    assert_eq!(b.files.len(), 1);
    let mut p = policies();
    p.reload_now(Some(b)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
