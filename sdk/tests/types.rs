//! The plain types plugin authors use.

#![allow(clippy::unwrap_used)]

use bgplet_sdk::testing::OwnedRoute;
use bgplet_sdk::{
    AttrSet, Community, Edit, Prefix, Segment, SegmentKind, SourceFlags,
};

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

#[test]
fn prefixes_parse_print_and_contain() {
    assert_eq!(p("10.244.0.0/26").to_string(), "10.244.0.0/26");
    assert_eq!(p("10.0.0.1").len, 32);
    assert_eq!(p("2001:db8::/32").len, 32);
    assert!(p("10.244.0.0/16").contains(&p("10.244.0.64/26")));
    assert!(p("10.244.0.0/16").contains(&p("10.244.0.0/16")));
    assert!(!p("10.244.0.0/26").contains(&p("10.244.0.0/16")));
    assert!(!p("10.244.0.0/16").contains(&p("10.245.0.0/26")));
    assert!(p("0.0.0.0/0").contains(&p("192.168.1.0/24")));
    assert!(!p("0.0.0.0/0").contains(&p("::/0")), "families differ");
    assert!(p("fd00::/8").contains(&p("fd00:10:244::/122")));
    assert!(p("10.0.0.0/24").contains_addr("10.0.0.12".parse().unwrap()));
    assert_eq!(p("10.244.0.5/24").network(), p("10.244.0.0/24"));
    assert_eq!(p("::/0").network(), p("::/0"));
}

#[test]
fn malformed_prefixes_are_errors() {
    for bad in ["10.0.0.0/33", "10.0.0/8", "fd00::/129", "x/1", "10.0.0.0/a"] {
        assert!(bad.parse::<Prefix>().is_err(), "{bad}");
    }
}

#[test]
fn communities_parse_standard_and_large_values() {
    assert_eq!(
        "65535:0".parse::<Community>().unwrap(),
        Community::GRACEFUL_SHUTDOWN
    );
    assert_eq!(
        "65000:1:2".parse::<Community>().unwrap(),
        Community::Large([65000, 1, 2])
    );
    assert_eq!(Community::standard(65000, 100).to_string(), "65000:100");
    assert_eq!(Community::Large([1, 2, 3]).to_string(), "1:2:3");
    for bad in ["65536:0", "1", "1:2:3:4", "a:b", ""] {
        assert!(bad.parse::<Community>().is_err(), "{bad}");
    }
    assert_eq!(
        Community::standard(1, 2).add(),
        Edit::AddCommunity(0x0001_0002)
    );
    assert_eq!(
        Community::Large([1, 2, 3]).remove(),
        Edit::RemoveLargeCommunity([1, 2, 3])
    );
}

#[test]
fn route_refs_expose_prefix_path_and_communities() {
    let attrs = AttrSet {
        local_pref: Some(7),
        communities: vec![0xffff_0000],
        large_communities: vec![[1, 2, 3]],
        as_path: vec![
            Segment {
                kind: SegmentKind::Sequence,
                asns: vec![65000, 65100],
            },
            Segment {
                kind: SegmentKind::Set,
                asns: vec![1, 2],
            },
        ],
        ..AttrSet::default()
    };
    let r = OwnedRoute::new("10.1.0.0/16", SourceFlags::EBGP, &attrs);
    r.with(|r| {
        assert_eq!(r.prefix(), p("10.1.0.0/16"));
        assert!(r.from_bgp() && !r.is_local());
        assert_eq!(r.local_pref(), Some(7));
        assert!(r.has_community(Community::GRACEFUL_SHUTDOWN));
        assert!(r.has_community(Community::Large([1, 2, 3])));
        assert!(!r.has_community(Community::NO_EXPORT));
        let path = r.as_path();
        assert_eq!(path.len(), 3);
        assert_eq!(path.first_as(), Some(65000));
        assert!(path.starts_with(&[65000, 65100]));
        assert!(!path.starts_with(&[65100]));
        assert!(path.contains(2));
        assert_eq!(path.asns().count(), 4);
        assert_eq!(r.raw_attribute(7), None);
    });
}
