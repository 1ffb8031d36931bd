//! `NativePolicy` and `export_plugin!`: pass-through hooks, hook
//! detection, host recorder, malformed input.

#![allow(clippy::unwrap_used)]

use bgplet_sdk::abi::{
    AttrTableWriter, NoRawAttributes, RawAttributes, Route, encode_routes,
    validate_filter_result, validate_kernel, validate_selection,
};
use bgplet_sdk::host::{self, Level};
use bgplet_sdk::native::NativePolicy;
use bgplet_sdk::testing::take_recorder;
use bgplet_sdk::{
    AttrSet, Edit, Hook, KernelAction, KernelPolicy, PeerInfo, Plugin,
    PluginInfo, Policy, PolicyError, RouteAction, RouteRef, Selection,
    SelectionKey, SelectionPolicy, SourceFlags, Verdict,
};

/// Implements selection and kernel only.
struct Picky {
    metric: u32,
}

impl Plugin for Picky {
    fn describe() -> PluginInfo {
        PluginInfo::new("picky", "1.0.0", "test")
    }

    fn init(config: &str) -> Result<Self, String> {
        let metric = config.trim().parse().map_err(|_| "not a number")?;
        Ok(Self { metric })
    }
}

impl SelectionPolicy for Picky {
    fn select(&mut self, candidates: &[SelectionKey]) -> Selection {
        // The last candidate, to tell it from the pass-through answer.
        Selection::single(candidates.len() as u32 - 1)
    }
}

impl KernelPolicy for Picky {
    fn kernel(&mut self, route: &RouteRef<'_>) -> KernelAction {
        host::log(Level::Info, &format!("kernel {}", route.prefix()));
        host::count("kernel", 1);
        let action = if route.raw_attribute(99).is_some() {
            RouteAction::Blackhole
        } else {
            RouteAction::Install
        };
        KernelAction {
            action,
            metric: self.metric,
        }
    }
}

bgplet_sdk::export_plugin!(Picky);

struct Raw;

impl RawAttributes for Raw {
    fn attribute(&self, set: u32, type_code: u8) -> Option<Vec<u8>> {
        (set == 1 && type_code == 99).then(|| vec![1])
    }
}

fn batch() -> (Vec<u32>, Vec<u32>) {
    let mut t = AttrTableWriter::new();
    let a = t.push(&AttrSet::default());
    let b = t.push(&AttrSet {
        med: Some(3),
        ..AttrSet::default()
    });
    let routes = encode_routes(&[
        Route {
            attr: a,
            prefix: [10, 0, 0, 0].into(),
            len: 8,
            source: SourceFlags::EBGP,
            path_id: 0,
        },
        Route {
            attr: b,
            prefix: [10, 1, 0, 0].into(),
            len: 16,
            source: SourceFlags::IBGP,
            path_id: 0,
        },
    ]);
    (t.finish(), routes)
}

#[test]
fn describe_lists_only_the_implemented_hooks() {
    let p = NativePolicy::<Picky>::new("5").unwrap();
    let (info, hooks) = p.describe();
    assert_eq!(info.name, "picky");
    assert_eq!(hooks, vec![Hook::Selection, Hook::Kernel]);
}

#[test]
fn init_errors_are_returned() {
    assert!(NativePolicy::<Picky>::new("five").is_err());
}

#[test]
fn unimplemented_filters_accept_everything_unchanged() {
    let mut p = NativePolicy::<Picky>::new("5").unwrap();
    let (attrs, routes) = batch();
    let r = p
        .import(&PeerInfo::default(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(
        validate_filter_result(2, &r).unwrap(),
        vec![Verdict::Accept, Verdict::Accept]
    );
    let r = p
        .export(&PeerInfo::default(), &attrs, &routes, &NoRawAttributes)
        .unwrap();
    assert_eq!(r.verdicts, vec![1, 1]);
}

#[test]
fn implemented_hooks_run_with_the_host_recorder_and_raw_attributes() {
    let mut p = NativePolicy::<Picky>::new("5").unwrap();
    let (attrs, routes) = batch();
    let _ = take_recorder();
    let words = p.kernel(&attrs, &routes, &Raw).unwrap();
    let actions = validate_kernel(2, &words).unwrap();
    assert_eq!(actions[0].action, RouteAction::Install);
    assert_eq!(actions[1].action, RouteAction::Blackhole);
    assert!(actions.iter().all(|a| a.metric == 5));
    let rec = take_recorder();
    assert_eq!(rec.counters["kernel"], 2);
    assert_eq!(rec.logs[0], (Level::Info, "kernel 10.0.0.0/8".into()));

    let keys = vec![SelectionKey::default(); 3];
    let (cands, counts) = bgplet_sdk::abi::encode_candidates(&[keys]);
    let answer = p.select(&cands, &counts).unwrap();
    assert_eq!(
        validate_selection(&counts, &answer).unwrap(),
        vec![Selection::single(2)]
    );
}

#[test]
fn a_malformed_batch_is_a_bad_input_error() {
    let mut p = NativePolicy::<Picky>::new("5").unwrap();
    let (attrs, mut routes) = batch();
    routes[0] = 9;
    assert!(matches!(
        p.kernel(&attrs, &routes, &NoRawAttributes),
        Err(PolicyError::BadInput(_))
    ));
    assert!(matches!(
        p.select(&[1, 2, 3], &[1]),
        Err(PolicyError::BadInput(_))
    ));
}

#[test]
fn verdict_codes_follow_the_abi() {
    assert_eq!(Verdict::Reject.code(), 0);
    assert_eq!(Verdict::Accept.code(), 1);
    assert_eq!(Verdict::AcceptWith(vec![]).code(), 1);
    assert_eq!(Verdict::AcceptWith(vec![Edit::RemoveMed]).code(), 2);
}
