//! Hook chains: combination rules, swaps, and the artifact cache.

#![allow(clippy::unwrap_used)]

mod common;

use bgplet_plugin::{
    ArtifactSource, ChainSpec, Hook, HostConfig, PluginHost, PolicyChains,
};
use bgplet_plugin_abi::{
    Edit, NoRawAttributes, Policy, PolicyError, validate_filter_result,
    validate_kernel, validate_selection,
};
use common::{batch, candidates, fault_wasm, host, peer};

#[test]
fn a_reject_anywhere_in_an_import_chain_rejects() {
    let host = host();
    let wasm = fault_wasm("switch");
    let a = host.load("a", &wasm, "ok:5").unwrap();
    let b = host.load("b", &wasm, "reject").unwrap();
    let mut policy = PolicyChains::new(ChainSpec::new(vec![a, b])).worker();
    let (attrs, routes) = batch(4);
    let r = policy
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![0; 4]);
    assert!(r.edits.is_empty());
}

#[test]
fn edits_of_later_plugins_apply_after_earlier_ones() {
    let host = host();
    let wasm = fault_wasm("switch");
    let a = host.load("a", &wasm, "ok:5").unwrap();
    let plain = host.load("plain", &wasm, "ok").unwrap();
    let b = host.load("b", &wasm, "ok:7").unwrap();
    let mut policy =
        PolicyChains::new(ChainSpec::new(vec![a, plain, b])).worker();
    let (attrs, routes) = batch(3);
    let r = policy
        .export(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    let verdicts = validate_filter_result(3, &r).unwrap();
    for v in verdicts {
        assert_eq!(v.edits(), [Edit::SetLocalPref(5), Edit::SetLocalPref(7)]);
    }
}

#[test]
fn selection_and_kernel_are_decided_by_the_last_plugin() {
    let host = host();
    let wasm = fault_wasm("switch");
    let a = host.load("a", &wasm, "ok:0").unwrap();
    let b = host.load("b", &wasm, "ok:2").unwrap();
    let mut policy = PolicyChains::new(ChainSpec::new(vec![a, b])).worker();
    let (cands, counts) = candidates(8);
    let s = policy.select(&cands, &counts).unwrap();
    for (sel, &c) in
        validate_selection(&counts, &s).unwrap().iter().zip(&counts)
    {
        assert_eq!(sel.best, 2.min(c - 1));
    }
    let (attrs, routes) = batch(3);
    let k = policy.kernel(&attrs, &routes, &NoRawAttributes).unwrap();
    assert!(
        validate_kernel(3, &k)
            .unwrap()
            .iter()
            .all(|a| a.metric == 2)
    );
}

#[test]
fn an_empty_chain_accepts_and_leaves_selection_and_kernel_to_the_rib() {
    let mut policy = PolicyChains::new(ChainSpec::default()).worker();
    let (attrs, routes) = batch(2);
    let r = policy
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![1; 2]);
    let (cands, counts) = candidates(2);
    assert!(matches!(
        policy.select(&cands, &counts),
        Err(PolicyError::NotImplemented("selection"))
    ));
    assert!(matches!(
        policy.kernel(&attrs, &routes, &NoRawAttributes),
        Err(PolicyError::NotImplemented("kernel"))
    ));
}

#[test]
fn a_batch_that_breaks_the_layout_is_bad_input() {
    let mut policy = PolicyChains::new(ChainSpec::default()).worker();
    let r = policy.import(&peer(), &[], &[0; 8], &NoRawAttributes);
    assert!(matches!(r, Err(PolicyError::BadInput(_))));
    let r = policy.select(&[0; 13], &[1]);
    assert!(matches!(r, Err(PolicyError::BadInput(_))));
}

#[test]
fn a_swap_is_picked_up_at_the_next_batch_and_unchanged_plugins_keep_their_instance()
 {
    let host = host();
    let wasm = fault_wasm("switch");
    let a = host.load("a", &wasm, "ok").unwrap();
    let chains = PolicyChains::new(ChainSpec::new(vec![a.clone()]));
    let mut policy = chains.worker();
    let (attrs, routes) = batch(3);
    policy
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(policy.generation(), 1);

    let b = host.load("b", &wasm, "reject").unwrap();
    let g =
        chains.swap(ChainSpec::new(vec![a, b]).with_hook(Hook::Export, vec![]));
    assert_eq!(chains.generation(), g);
    let r = policy
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![0; 3], "b joined the import chain");
    let r = policy
        .export(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![1; 3], "the export chain is empty");
    assert_eq!(policy.generation(), g);
    // a: the load's scratch instance and one worker instance, kept
    // across the swap.
    assert_eq!(host.metrics_of("a").unwrap().instantiations, 2);
    let active = chains.active();
    assert_eq!(active[0], (Hook::Import, vec!["a".into(), "b".into()]));
    assert_eq!(active[2], (Hook::Export, vec![]));
}

#[test]
fn the_artifact_cache_serves_memory_then_disk_and_refuses_a_tampered_file() {
    let dir = std::env::temp_dir()
        .join(format!("bgplet-plugin-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = HostConfig {
        cache_dir: Some(dir.clone()),
        ..HostConfig::default()
    };
    let wasm = fault_wasm("switch");
    let one = PluginHost::new(config.clone()).unwrap();
    let p = one.load("s", &wasm, "ok").unwrap();
    assert_eq!(p.artifact_source(), ArtifactSource::Compiled);
    let p = one.load("s", &wasm, "ok").unwrap();
    assert_eq!(p.artifact_source(), ArtifactSource::Memory);
    let two = PluginHost::new(config.clone()).unwrap();
    let p = two.load("s", &wasm, "ok").unwrap();
    assert_eq!(p.artifact_source(), ArtifactSource::Disk);

    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let three = PluginHost::new(config).unwrap();
    let p = three.load("s", &wasm, "ok").unwrap();
    assert_eq!(p.artifact_source(), ArtifactSource::Compiled);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn workers_switch_generations_only_between_batches() {
    let host = host();
    let wasm = fault_wasm("switch");
    let ok = host.load("p", &wasm, "ok").unwrap();
    let reject = host.load("p", &wasm, "reject").unwrap();
    let chains = PolicyChains::new(ChainSpec::new(vec![ok.clone()]));
    let (attrs, routes) = batch(30);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let mut policy = chains.worker();
                let (attrs, routes) = (&attrs, &routes);
                s.spawn(move || {
                    for _ in 0..200 {
                        let r = policy
                            .import(&peer(), attrs, routes, &NoRawAttributes)
                            .unwrap();
                        // One generation decides a whole batch.
                        let first = r.verdicts[0];
                        assert!(r.verdicts.iter().all(|&v| v == first));
                    }
                })
            })
            .collect();
        for i in 0..20 {
            let next = if i % 2 == 0 { &reject } else { &ok };
            chains.swap(ChainSpec::new(vec![next.clone()]));
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        for w in workers {
            w.join().unwrap();
        }
    });
    assert!(host.metrics_of("p").unwrap().faults.is_empty());
}

#[test]
fn an_exhausted_instance_pool_is_a_fault_not_a_crash() {
    // 1 worker x 1 plugin x 2 + 4 spare = 6 instances in the pool.
    let host = PluginHost::new(HostConfig {
        workers: 1,
        max_plugins: 1,
        ..HostConfig::default()
    })
    .unwrap();
    let p = host.load("p", &fault_wasm("switch"), "ok").unwrap();
    let chains = PolicyChains::new(ChainSpec::new(vec![p]));
    let (attrs, routes) = batch(1);
    let mut workers: Vec<_> = (0..8).map(|_| chains.worker()).collect();
    let answers: Vec<u8> = workers
        .iter_mut()
        .map(|w| {
            w.import(&peer(), &attrs, &routes, &NoRawAttributes)
                .unwrap()
                .verdicts[0]
        })
        .collect();
    assert_eq!(&answers[..6], [1; 6]);
    assert_eq!(&answers[6..], [0; 2], "no instance: rejected");
    let m = host.metrics_of("p").unwrap();
    assert_eq!(m.faults_of(bgplet_plugin::FaultKind::Instantiate), 2);
    // Dropping workers returns their slots.
    workers.truncate(1);
    let mut again = chains.worker();
    let r = again
        .import(&peer(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![1]);
}
