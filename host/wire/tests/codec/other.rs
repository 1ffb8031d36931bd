use bgplet_wire::notification::{cease, code};
use bgplet_wire::{
    AfiSafi, DecodeError, Message, Notification, RouteRefresh,
    RouteRefreshSubtype, SessionContext,
};

use crate::both_ways;

#[test]
fn keepalive_is_the_bare_header() {
    both_ways(
        "ffffffffffffffffffffffffffffffff001304",
        &Message::Keepalive,
        &SessionContext::default(),
    );
}

#[test]
fn cease_shutdown_with_rfc9003_message_round_trips_and_displays() {
    // Cease / Administrative Shutdown, 11-octet message "maintenance".
    let n = Notification::cease_with_message(
        cease::ADMINISTRATIVE_SHUTDOWN,
        "maintenance",
    );
    both_ways(
        "ffffffffffffffffffffffffffffffff00210306020b6d61696e74656e616e6365",
        &Message::Notification(n.clone()),
        &SessionContext::default(),
    );
    assert_eq!(n.shutdown_message(), Some("maintenance"));
    assert_eq!(
        n.to_string(),
        "Cease / Administrative Shutdown: \"maintenance\""
    );
}

#[test]
fn hold_timer_expired_round_trips() {
    both_ways(
        "ffffffffffffffffffffffffffffffff0015030400",
        &Message::Notification(Notification::new(
            code::HOLD_TIMER_EXPIRED,
            0,
            vec![],
        )),
        &SessionContext::default(),
    );
}

#[test]
fn notification_names_cover_every_rfc_code() {
    let cases = [
        ((1, 1), "Message Header Error / Connection Not Synchronized"),
        ((2, 6), "OPEN Message Error / Unacceptable Hold Time"),
        ((3, 11), "UPDATE Message Error / Malformed AS_PATH"),
        ((4, 0), "Hold Timer Expired / Unspecific"),
        (
            (5, 2),
            "Finite State Machine Error / Receive Unexpected Message in \
             OpenConfirm State",
        ),
        ((6, 8), "Cease / Out of Resources"),
        ((6, 10), "Cease / BFD Down"),
        (
            (7, 1),
            "ROUTE-REFRESH Message Error / Invalid Message Length",
        ),
        ((6, 99), "Cease / subcode 99"),
    ];
    for ((c, s), want) in cases {
        assert_eq!(Notification::new(c, s, vec![]).to_string(), want);
    }
}

#[test]
fn hard_reset_wraps_and_displays_the_inner_notification() {
    let inner = Notification::new(code::HOLD_TIMER_EXPIRED, 0, vec![]);
    let n = Notification::hard_reset(&inner);
    assert_eq!((n.code, n.subcode, &n.data[..]), (6, 9, &[4u8, 0][..]));
    assert_eq!(n.hard_reset_inner(), Some(inner));
    assert_eq!(
        n.to_string(),
        "Cease / Hard Reset (Hold Timer Expired / Unspecific)"
    );
}

#[test]
fn shutdown_message_is_cut_at_a_character_boundary() {
    let long = "é".repeat(200);
    let n = Notification::cease_with_message(4, &long);
    assert_eq!(n.data[0], 254);
    assert_eq!(n.shutdown_message().map(str::len), Some(254));
}

#[test]
fn route_refresh_normal_and_borr_round_trip() {
    both_ways(
        "ffffffffffffffffffffffffffffffff00170500010001",
        &Message::RouteRefresh(RouteRefresh::request(AfiSafi::IPV4_UNICAST)),
        &SessionContext::default(),
    );
    both_ways(
        "ffffffffffffffffffffffffffffffff00170500020101",
        &Message::RouteRefresh(RouteRefresh {
            family: AfiSafi::IPV6_UNICAST,
            subtype: RouteRefreshSubtype::BeginningOfRefresh,
        }),
        &SessionContext::default(),
    );
}

#[test]
fn route_refresh_of_the_wrong_length_is_7_1_with_the_message() {
    let frame = hex::decode("ffffffffffffffffffffffffffffffff0018050001000100")
        .unwrap();
    let err = Message::decode(&frame, &SessionContext::default()).unwrap_err();
    assert!(matches!(err, DecodeError::RouteRefreshLength(_)));
    let n = err.notification();
    assert_eq!((n.code, n.subcode), (7, 1));
    assert_eq!(&n.data[..], &frame[..]);
}
