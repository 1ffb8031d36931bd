//! Translation between [`FibRoute`] and rtnetlink route messages.

use std::net::IpAddr;

use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage,
    RouteNextHop, RouteNextHopFlags, RouteProtocol, RouteScope, RouteType,
};

use crate::reach::Links;
use crate::{FibAction, FibError, FibNextHop, FibRoute, Prefix};

/// `RT_TABLE_COMPAT`: what the one-byte table field says when the real id
/// (in `RTA_TABLE`) does not fit.
const TABLE_COMPAT: u8 = 252;

/// The parts of a kernel route the FIB looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelRoute {
    pub prefix: Prefix,
    pub table: u32,
    pub protocol: u8,
    pub kind: RouteType,
    pub metric: u32,
    /// Single-path next hop (gateway, oif, onlink); gateway may be absent
    /// for connected routes.
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
    pub onlink: bool,
    /// (gateway, oif, onlink, weight) per `RTA_MULTIPATH` entry.
    pub multipath: Vec<(Option<IpAddr>, u32, bool, u8)>,
}

impl KernelRoute {
    /// A route with an output device and no gateway: it makes addresses
    /// inside its prefix directly reachable.
    pub fn is_connected(&self) -> bool {
        self.kind == RouteType::Unicast
            && self.gateway.is_none()
            && self.multipath.is_empty()
            && self.oif.is_some()
    }

    /// Converts to our model, naming devices through `links`. `None` for
    /// route types the FIB does not program (unreachable, local, ...).
    pub fn to_fib(&self, links: &Links) -> Option<FibRoute> {
        let action = match self.kind {
            RouteType::BlackHole => FibAction::Blackhole,
            RouteType::Unicast => {
                let mut hops = Vec::new();
                if let Some(gw) = self.gateway {
                    hops.push(FibNextHop {
                        gateway: gw,
                        device: self.oif.and_then(|i| links.name(i)),
                        onlink: self.onlink,
                        weight: 1,
                    });
                }
                for (gw, oif, onlink, weight) in &self.multipath {
                    let gateway = (*gw)?;
                    hops.push(FibNextHop {
                        gateway,
                        device: links.name(*oif),
                        onlink: *onlink,
                        weight: *weight,
                    });
                }
                if hops.is_empty() {
                    return None;
                }
                FibAction::Unicast(hops)
            }
            _ => return None,
        };
        Some(FibRoute {
            prefix: self.prefix,
            action,
            metric: self.metric,
        })
    }
}

fn family(addr: &IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

fn header(prefix: &Prefix, table: u32, protocol: u8) -> RouteHeader {
    RouteHeader {
        address_family: family(&prefix.0),
        destination_prefix_length: prefix.1,
        table: u8::try_from(table).unwrap_or(TABLE_COMPAT),
        protocol: RouteProtocol::from(protocol),
        ..RouteHeader::default()
    }
}

/// Builds the `RTM_NEWROUTE` body for `route`.
pub(crate) fn encode_new(
    route: &FibRoute,
    table: u32,
    protocol: u8,
    links: &Links,
) -> Result<RouteMessage, FibError> {
    let mut msg = RouteMessage::default();
    msg.header = header(&route.prefix, table, protocol);
    msg.header.scope = RouteScope::Universe;
    msg.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(
            route.prefix.0,
        )));
    msg.attributes.push(RouteAttribute::Table(table));
    if route.metric != 0 {
        msg.attributes.push(RouteAttribute::Priority(route.metric));
    }
    match &route.action {
        FibAction::Blackhole => msg.header.kind = RouteType::BlackHole,
        FibAction::Unicast(hops) => {
            msg.header.kind = RouteType::Unicast;
            for hop in hops {
                if family(&hop.gateway) != family(&route.prefix.0) {
                    return Err(FibError::InvalidNextHop(format!(
                        "gateway {} for {}/{}",
                        hop.gateway, route.prefix.0, route.prefix.1
                    )));
                }
                if hop.onlink && hop.device.is_none() {
                    return Err(FibError::InvalidNextHop(format!(
                        "onlink gateway {} without a device",
                        hop.gateway
                    )));
                }
            }
            match hops.as_slice() {
                [] => {
                    return Err(FibError::InvalidNextHop(
                        "unicast route without next hops".into(),
                    ));
                }
                [hop] => {
                    msg.attributes.push(RouteAttribute::Gateway(
                        RouteAddress::from(hop.gateway),
                    ));
                    if let Some(dev) = &hop.device {
                        let index = links
                            .index(dev)
                            .ok_or_else(|| FibError::NoDevice(dev.clone()))?;
                        msg.attributes.push(RouteAttribute::Oif(index));
                    }
                    if hop.onlink {
                        msg.header.flags |= RouteFlags::Onlink;
                    }
                }
                many => {
                    let mut entries = Vec::with_capacity(many.len());
                    for hop in many {
                        let mut nh = RouteNextHop::default();
                        if hop.onlink {
                            nh.flags |= RouteNextHopFlags::Onlink;
                        }
                        // rtnh_hops is the weight minus one.
                        nh.hops = hop.effective_weight() - 1;
                        if let Some(dev) = &hop.device {
                            nh.interface_index =
                                links.index(dev).ok_or_else(|| {
                                    FibError::NoDevice(dev.clone())
                                })?;
                        }
                        nh.attributes.push(RouteAttribute::Gateway(
                            RouteAddress::from(hop.gateway),
                        ));
                        entries.push(nh);
                    }
                    msg.attributes.push(RouteAttribute::MultiPath(entries));
                }
            }
        }
    }
    Ok(msg)
}

/// Builds the `RTM_DELROUTE` body removing our route `route`: the protocol
/// is always set so the kernel never matches a route of another protocol.
pub(crate) fn encode_del(
    route: &FibRoute,
    table: u32,
    protocol: u8,
) -> RouteMessage {
    let mut msg = RouteMessage::default();
    msg.header = header(&route.prefix, table, protocol);
    // RT_SCOPE_NOWHERE: match whatever scope the route has.
    msg.header.scope = RouteScope::NoWhere;
    msg.header.kind = match route.action {
        FibAction::Blackhole => RouteType::BlackHole,
        FibAction::Unicast(_) => RouteType::Unicast,
    };
    msg.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(
            route.prefix.0,
        )));
    msg.attributes.push(RouteAttribute::Table(table));
    if route.metric != 0 {
        msg.attributes.push(RouteAttribute::Priority(route.metric));
    }
    msg
}

fn addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// Reads a kernel route; `None` for families other than IPv4/IPv6.
pub(crate) fn decode(msg: &RouteMessage) -> Option<KernelRoute> {
    let unspecified = match msg.header.address_family {
        AddressFamily::Inet => IpAddr::from([0u8; 4]),
        AddressFamily::Inet6 => IpAddr::from([0u8; 16]),
        _ => return None,
    };
    let mut route = KernelRoute {
        prefix: (unspecified, msg.header.destination_prefix_length),
        table: u32::from(msg.header.table),
        protocol: u8::from(msg.header.protocol),
        kind: msg.header.kind,
        metric: 0,
        gateway: None,
        oif: None,
        onlink: msg.header.flags.contains(RouteFlags::Onlink),
        multipath: Vec::new(),
    };
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(a) => {
                route.prefix.0 = addr(a)?;
            }
            RouteAttribute::Table(t) => route.table = *t,
            RouteAttribute::Priority(p) => route.metric = *p,
            RouteAttribute::Gateway(a) => route.gateway = addr(a),
            RouteAttribute::Oif(i) => route.oif = Some(*i),
            RouteAttribute::MultiPath(hops) => {
                for nh in hops {
                    let gw = nh.attributes.iter().find_map(|a| match a {
                        RouteAttribute::Gateway(g) => addr(g),
                        _ => None,
                    });
                    route.multipath.push((
                        gw,
                        nh.interface_index,
                        nh.flags.contains(RouteNextHopFlags::Onlink),
                        nh.hops.saturating_add(1),
                    ));
                }
            }
            _ => {}
        }
    }
    Some(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        let mut l = Links::default();
        l.upsert(2, "eth0".into(), true);
        l.upsert(3, "tunl0".into(), true);
        l
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ecmp_routes_round_trip_through_the_message_form() {
        let route = FibRoute {
            prefix: (ip("10.244.0.64"), 26),
            action: FibAction::Unicast(vec![
                FibNextHop::onlink(ip("10.0.0.12"), "tunl0"),
                FibNextHop {
                    weight: 3,
                    device: Some("eth0".into()),
                    ..FibNextHop::via(ip("10.0.0.13"))
                },
            ]),
            metric: 1024,
        };
        let l = links();
        let msg = encode_new(&route, 254, 12, &l).unwrap();
        let back = decode(&msg).unwrap();
        assert_eq!(back.protocol, 12);
        assert_eq!(back.table, 254);
        assert_eq!(back.to_fib(&l).unwrap(), route);
    }

    #[test]
    fn single_onlink_next_hop_uses_the_header_flag() {
        let route = FibRoute {
            prefix: (ip("10.244.0.64"), 26),
            action: FibAction::Unicast(vec![FibNextHop::onlink(
                ip("10.0.0.12"),
                "tunl0",
            )]),
            metric: 0,
        };
        let msg = encode_new(&route, 254, 12, &links()).unwrap();
        assert!(msg.header.flags.contains(RouteFlags::Onlink));
        assert!(msg.attributes.contains(&RouteAttribute::Oif(3)));
        assert_eq!(decode(&msg).unwrap().to_fib(&links()).unwrap(), route);
    }

    #[test]
    fn a_gateway_of_the_other_family_is_refused() {
        let route = FibRoute {
            prefix: (ip("10.0.0.0"), 8),
            action: FibAction::Unicast(vec![FibNextHop::via(ip("fd00::1"))]),
            metric: 0,
        };
        assert!(matches!(
            encode_new(&route, 254, 12, &links()),
            Err(FibError::InvalidNextHop(_))
        ));
    }

    #[test]
    fn deletes_always_name_our_protocol() {
        let route = FibRoute {
            prefix: (ip("fd00:1::"), 64),
            action: FibAction::Blackhole,
            metric: 0,
        };
        let msg = encode_del(&route, 254, 12);
        assert_eq!(u8::from(msg.header.protocol), 12);
        assert_eq!(msg.header.kind, RouteType::BlackHole);
    }
}
