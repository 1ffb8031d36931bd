//! Faulty plugins never take the host down: each fault is counted,
//! logged with plugin and hook, and the batch is answered by the
//! previous generation or the host's default.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use bgplet_plugin::{
    ChainSpec, FaultKind, Hook, LoadError, LoadedPlugin, NodeRecord,
    PluginHost, PolicyChains,
};
use bgplet_plugin_abi::{
    NoRawAttributes, Policy, PolicyError, validate_filter_result,
    validate_kernel, validate_selection,
};
use common::{Aggregators, batch, candidates, fault_wasm, host, peer};

fn switch(host: &PluginHost, config: &str) -> LoadedPlugin {
    host.load("switch", &fault_wasm("switch"), config).unwrap()
}

fn only(p: &LoadedPlugin) -> PolicyChains {
    PolicyChains::new(ChainSpec::new(vec![p.clone()]))
}

#[test]
fn a_well_behaved_plugin_answers_every_hook_and_uses_the_host_interface() {
    let host = host();
    host.set_node(NodeRecord {
        name: "node-a".into(),
        ..NodeRecord::default()
    });
    let p = switch(&host, "ok");
    assert_eq!(p.info().hooks, Hook::ALL.to_vec());
    let mut policy = only(&p).worker();
    let (attrs, routes) = batch(10);

    let r = policy
        .import(&peer(), &attrs, &routes, &Aggregators)
        .unwrap();
    assert_eq!(r.verdicts, vec![1; 10]);
    let r = policy
        .export(&peer(), &attrs, &routes, &Aggregators)
        .unwrap();
    assert_eq!(r.verdicts, vec![1; 10]);
    let (cands, counts) = candidates(8);
    let s = policy.select(&cands, &counts).unwrap();
    assert!(
        validate_selection(&counts, &s)
            .unwrap()
            .iter()
            .all(|s| s.best == 0)
    );
    let k = policy.kernel(&attrs, &routes, &Aggregators).unwrap();
    assert_eq!(k, [1, 0].repeat(10));

    let m = host.metrics_of("switch").unwrap();
    assert_eq!(m.counter("routes"), 20, "import and export");
    assert_eq!(m.counter("raw_bytes"), 12);
    assert!(
        m.counter("inits") >= 2,
        "load's scratch instance and the worker's"
    );
    assert_eq!(m.calls_of(Hook::Import), 1);
    assert!(m.faults.is_empty());
}

#[test]
fn a_trapping_plugin_is_answered_by_its_previous_generation() {
    let host = host();
    let chains = only(&switch(&host, "ok"));
    let mut policy = chains.worker();
    let (attrs, routes) = batch(6);
    assert_eq!(
        policy
            .import(&peer(), &attrs, &routes, &NoRawAttributes)
            .unwrap()
            .verdicts,
        vec![1; 6]
    );

    chains.swap(ChainSpec::new(vec![switch(&host, "trap")]));
    let r = policy
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![1; 6], "the ok generation decided");
    let (cands, counts) = candidates(5);
    assert!(policy.select(&cands, &counts).is_ok());
    assert_eq!(
        policy.kernel(&attrs, &routes, &NoRawAttributes).unwrap(),
        [1, 0].repeat(6)
    );

    let m = host.metrics_of("switch").unwrap();
    assert_eq!(m.faults_in(Hook::Import, FaultKind::Trap), 1);
    assert_eq!(m.faults_of(FaultKind::Trap), 3);
    assert_eq!(m.fallbacks_of(Hook::Import), 1);
    assert_eq!(m.defaults_of(Hook::Import), 0);
    // The host stays usable: swapping back to a good version works.
    chains.swap(ChainSpec::new(vec![switch(&host, "reject")]));
    let r = policy
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![0; 6]);
}

#[test]
fn a_brand_new_trapping_plugin_rejects_skips_and_keeps_the_previous_best() {
    let host = host();
    let mut policy = only(&switch(&host, "trap")).worker();
    let (attrs, routes) = batch(4);
    let r = policy
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![0; 4]);
    let r = policy
        .export(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![0; 4]);
    assert_eq!(
        policy.kernel(&attrs, &routes, &NoRawAttributes).unwrap(),
        vec![0; 8]
    );
    let (cands, counts) = candidates(3);
    assert!(matches!(
        policy.select(&cands, &counts),
        Err(PolicyError::Trap(_))
    ));

    let m = host.metrics_of("switch").unwrap();
    assert_eq!(m.faults_of(FaultKind::Trap), 4);
    for hook in Hook::ALL {
        assert_eq!(m.defaults_of(hook), 1, "{hook}");
    }
    // Every call after a trap starts from a fresh instance.
    assert_eq!(m.instantiations, 1 + 4);
}

#[test]
fn a_plugin_that_loops_forever_is_stopped_by_the_deadline() {
    let host = host();
    let mut policy = only(&switch(&host, "spin")).worker();
    let (attrs, routes) = batch(3);
    let start = Instant::now();
    let r = policy
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![0; 3]);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let m = host.metrics_of("switch").unwrap();
    assert_eq!(m.faults_in(Hook::Import, FaultKind::Timeout), 1);
}

#[test]
fn a_plugin_that_allocates_without_bound_hits_the_memory_cap() {
    let host = host();
    let mut policy = only(&switch(&host, "hog")).worker();
    let (attrs, routes) = batch(3);
    let k = policy.kernel(&attrs, &routes, &NoRawAttributes).unwrap();
    assert_eq!(k, vec![0; 6]);
    let m = host.metrics_of("switch").unwrap();
    assert_eq!(m.faults_in(Hook::Kernel, FaultKind::OutOfMemory), 1);
}

#[test]
fn wrong_answer_lengths_are_malformed_on_every_hook() {
    let host = host();
    let mut policy = only(&switch(&host, "miscount")).worker();
    let (attrs, routes) = batch(5);
    let r = policy
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![0; 5]);
    let r = policy
        .export(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![0; 5]);
    assert_eq!(
        policy.kernel(&attrs, &routes, &NoRawAttributes).unwrap(),
        vec![0; 10]
    );
    let (cands, counts) = candidates(3);
    assert!(policy.select(&cands, &counts).is_err());
    let m = host.metrics_of("switch").unwrap();
    assert_eq!(m.faults_of(FaultKind::Malformed), 4);
}

#[test]
fn out_of_range_edits_indexes_and_actions_are_malformed() {
    let host = host();
    let chains = only(&switch(&host, "ok:3"));
    let mut policy = chains.worker();
    chains.swap(ChainSpec::new(vec![switch(&host, "badedit")]));
    let (attrs, routes) = batch(5);
    // The previous generation (ok:3) answers: every route accepted with
    // LOCAL_PREF 3.
    let r = policy
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    let v = validate_filter_result(5, &r).unwrap();
    assert!(v.iter().all(|v| v.edits().len() == 1));
    let (cands, counts) = candidates(4);
    let s = policy.select(&cands, &counts).unwrap();
    validate_selection(&counts, &s).unwrap();
    let k = policy.kernel(&attrs, &routes, &NoRawAttributes).unwrap();
    assert!(
        validate_kernel(5, &k)
            .unwrap()
            .iter()
            .all(|a| a.metric == 3)
    );
    let m = host.metrics_of("switch").unwrap();
    assert_eq!(m.faults_of(FaultKind::Malformed), 3);
    assert_eq!(m.fallbacks_of(Hook::Selection), 1);
}

#[test]
fn an_unknown_non_wasi_import_is_rejected_at_load_naming_it() {
    let host = host();
    let err = host
        .load("stranger", &fault_wasm("stranger"), "ok")
        .unwrap_err();
    match &err {
        LoadError::Import { plugin, import } => {
            assert_eq!(plugin, "stranger");
            assert!(import.starts_with("fault:stranger/net"), "{import}");
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("fault:stranger/net"));
    assert_eq!(host.metrics_of("stranger").unwrap().load_failures, 1);
}

#[test]
fn a_component_for_a_narrower_world_is_rejected_naming_the_missing_export() {
    let host = host();
    let err = host
        .load("half", &fault_wasm("half-world"), "")
        .unwrap_err();
    let LoadError::World { message, .. } = &err else {
        panic!("{err}");
    };
    assert!(
        message.contains("bgplet:plugin/selection@0.1.0"),
        "{message}"
    );
}

#[test]
fn a_core_module_is_rejected_as_the_wrong_world() {
    let host = host();
    let core = wat::parse_str("(module (func (export \"filter\")))").unwrap();
    let err = host.load("core", &core, "").unwrap_err();
    assert!(matches!(err, LoadError::World { .. }), "{err}");
    assert!(err.to_string().contains("core wasm module"));
}

#[test]
fn garbage_is_a_compile_error() {
    let host = host();
    let err = host
        .load("junk", b"\0asm\x0d\0\x01\0garbage", "")
        .unwrap_err();
    assert!(matches!(err, LoadError::Compile { .. }), "{err}");
}

#[test]
fn an_init_error_rejects_the_load_with_its_text() {
    let host = host();
    let err = host
        .load("switch", &fault_wasm("switch"), "bogus")
        .unwrap_err();
    let LoadError::Config { message, .. } = &err else {
        panic!("{err}");
    };
    assert!(message.contains("unknown mode"), "{message}");
    let err = host
        .load("switch", &fault_wasm("switch"), "init-trap")
        .unwrap_err();
    assert!(matches!(err, LoadError::InitTrap { .. }), "{err}");
}

#[test]
fn a_failed_call_leaves_other_plugins_and_workers_untouched() {
    let host = host();
    let good = host.load("good", &fault_wasm("switch"), "ok").unwrap();
    let bad = switch(&host, "trap");
    let good_only = only(&good);
    let mut a = good_only.worker();
    let mut b = only(&bad).worker();
    let (attrs, routes) = batch(3);
    for _ in 0..3 {
        assert_eq!(
            b.import(&peer(), &attrs, &routes, &NoRawAttributes)
                .unwrap()
                .verdicts,
            vec![0; 3]
        );
        assert_eq!(
            a.import(&peer(), &attrs, &routes, &NoRawAttributes)
                .unwrap()
                .verdicts,
            vec![1; 3]
        );
    }
    assert!(host.metrics_of("good").unwrap().faults.is_empty());
    assert_eq!(
        host.metrics_of("switch")
            .unwrap()
            .faults_of(FaultKind::Trap),
        3
    );
}

#[test]
fn a_wasi_call_hits_the_trap_stub() {
    let host = host();
    let mut policy = only(&switch(&host, "print")).worker();
    let (attrs, routes) = batch(2);
    let r = policy
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![0; 2]);
    let m = host.metrics_of("switch").unwrap();
    assert_eq!(m.faults_in(Hook::Import, FaultKind::Trap), 1);
}
