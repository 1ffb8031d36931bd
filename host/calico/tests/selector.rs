//! Calico selector language: every operator, precedence and errors.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use bgplet_calico::Selector;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn matches(sel: &str, pairs: &[(&str, &str)]) -> bool {
    Selector::parse(sel).unwrap().matches(&labels(pairs))
}

#[test]
fn all_global_and_empty_match_everything() {
    assert!(matches("all()", &[]));
    assert!(matches("global()", &[("a", "b")]));
    assert!(matches("", &[]));
    assert!(matches("   ", &[("x", "y")]));
    assert!(matches(" all ( ) ", &[]));
}

#[test]
fn has_and_not_has_test_presence() {
    assert!(matches("has(rr)", &[("rr", "")]));
    assert!(!matches("has(rr)", &[("other", "x")]));
    assert!(matches("!has(rr)", &[("other", "x")]));
    assert!(matches(
        "has(topology.kubernetes.io/zone)",
        &[("topology.kubernetes.io/zone", "a")]
    ));
}

#[test]
fn equality_operators_accept_both_quote_styles() {
    assert!(matches("rack == 'r1'", &[("rack", "r1")]));
    assert!(matches("rack == \"r1\"", &[("rack", "r1")]));
    assert!(!matches("rack == 'r1'", &[("rack", "r2")]));
    assert!(!matches("rack == 'r1'", &[]));
    assert!(matches("rack != 'r1'", &[("rack", "r2")]));
    // A missing label is "not equal".
    assert!(matches("rack != 'r1'", &[]));
    assert!(!matches("rack != 'r1'", &[("rack", "r1")]));
}

#[test]
fn set_operators_match_membership() {
    let sel = "zone in {'a', \"b\"}";
    assert!(matches(sel, &[("zone", "a")]));
    assert!(matches(sel, &[("zone", "b")]));
    assert!(!matches(sel, &[("zone", "c")]));
    assert!(!matches(sel, &[]));
    let not = "zone not in {'a','b'}";
    assert!(matches(not, &[("zone", "c")]));
    assert!(matches(not, &[]));
    assert!(!matches(not, &[("zone", "a")]));
    assert!(!matches("zone in {}", &[("zone", "a")]));
}

#[test]
fn string_operators_match_substrings() {
    let l = [("name", "rack-12-tor")];
    assert!(matches("name contains '12'", &l));
    assert!(matches("name starts with 'rack'", &l));
    assert!(matches("name ends with 'tor'", &l));
    assert!(!matches("name ends with 'rack'", &l));
    assert!(!matches("missing contains ''", &l));
}

#[test]
fn and_binds_tighter_than_or_and_not_tightest() {
    // a || (b && c)
    let sel = "a == 'x' || b == 'x' && c == 'x'";
    assert!(matches(sel, &[("a", "x")]));
    assert!(!matches(sel, &[("b", "x")]));
    assert!(matches(sel, &[("b", "x"), ("c", "x")]));
    // (!has(a)) && has(b)
    assert!(matches("!has(a) && has(b)", &[("b", "")]));
    assert!(!matches("!has(a) && has(b)", &[("a", ""), ("b", "")]));
    // Parentheses override.
    let grouped = "(a == 'x' || b == 'x') && c == 'x'";
    assert!(!matches(grouped, &[("a", "x")]));
    assert!(matches(grouped, &[("a", "x"), ("c", "x")]));
    assert!(matches("!(a == 'x' || b == 'x')", &[("a", "y")]));
    assert!(matches("!!has(a)", &[("a", "")]));
}

#[test]
fn selector_displays_its_source() {
    let s = Selector::parse("has(rr) && rack == 'r1'").unwrap();
    assert_eq!(s.to_string(), "has(rr) && rack == 'r1'");
    assert_eq!(s.as_str(), "has(rr) && rack == 'r1'");
}

#[test]
fn parse_errors_say_where() {
    let cases = [
        ("rack = 'r1'", 5),
        ("rack == r1", 8),
        ("has(rr", 6),
        ("rack == 'r1", 8),
        ("a == 'x' &&", 11),
        ("a == 'x' b == 'y'", 9),
        ("zone in {'a' 'b'}", 13),
        ("zone not {'a'}", 9),
        ("(has(a)", 7),
        ("rack ~ 'x'", 5),
        ("all(", 4),
    ];
    for (text, at) in cases {
        let err = Selector::parse(text).unwrap_err();
        assert_eq!(err.position, at, "{text}: {err}");
        assert!(err.to_string().starts_with(&format!("at character {at}")));
    }
}
