//! Commands and their replies, as text. Pure: the server feeds it a view
//! and writes what comes back.
//!
//! BIRD's framing (nest/cli.c): every line starts with a four-digit
//! code followed by `-` when more lines follow or a space on the last
//! line; a line continuing the previous line's code starts with a single
//! space instead. Codes >= 8000 are errors.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::clock;
use super::{
    BgpState, BirdView, DaemonPhase, Family, ProtoKind, ProtoState,
    ProtocolView, RouteRow, RouteTarget,
};

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `show status`.
    Status,
    /// `show protocols [all] [NAME]`.
    Protocols {
        /// The `all` form, with the per-protocol details.
        all: bool,
        /// Only this protocol.
        name: Option<String>,
    },
    /// `show route [for ADDR | PREFIX]`.
    Route(RouteFilter),
}

/// Which routes `show route` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteFilter {
    /// Every route.
    All,
    /// `for ADDR`: the longest prefix containing the address.
    For(IpAddr),
    /// `PREFIX`: exactly this prefix.
    Exact(IpAddr, u8),
}

/// The greeting BIRD sends when a client connects.
pub fn greeting(version: &str) -> String {
    format!("0001 BIRD {version} ready.\n")
}

/// Parses one command line. Keywords may be abbreviated to any prefix,
/// as BIRD's own parser allows. `Ok(None)` is an empty line, which gets
/// no reply; `Err` is the complete error reply.
pub fn parse_command(line: &str) -> Result<Option<Command>, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let kw = |i: usize, word: &str| {
        words.get(i).is_some_and(|w| word.starts_with(*w))
    };
    let syntax = |i: usize| match words.get(i) {
        Some(w) => format!("9001 syntax error, unexpected {w}\n"),
        None => "9001 syntax error, unexpected end of command\n".to_owned(),
    };
    if words.is_empty() {
        return Ok(None);
    }
    if !kw(0, "show") {
        return Err(syntax(0));
    }
    let command = if kw(1, "status") && words.len() == 2 {
        Command::Status
    } else if kw(1, "protocols") {
        let all = kw(2, "all");
        let rest = &words[if all { 3 } else { 2 }..];
        match rest {
            [] => Command::Protocols { all, name: None },
            [name] => Command::Protocols {
                all,
                name: Some((*name).to_owned()),
            },
            _ => return Err(syntax(words.len() - 1)),
        }
    } else if kw(1, "route") {
        match &words[2..] {
            [] => Command::Route(RouteFilter::All),
            [f, addr] if "for".starts_with(*f) => match parse_net(addr) {
                Some((a, _)) => Command::Route(RouteFilter::For(a)),
                None => return Err(syntax(3)),
            },
            [net] => match parse_net(net) {
                Some((a, len)) => Command::Route(RouteFilter::Exact(a, len)),
                None => return Err(syntax(2)),
            },
            _ => return Err(syntax(words.len() - 1)),
        }
    } else {
        return Err(syntax(1));
    };
    Ok(Some(command))
}

/// `ADDR` or `ADDR/LEN`; a bare address is a host prefix.
fn parse_net(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, l.parse::<u8>().ok()?),
        None => {
            let a = text.parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

/// The complete reply to `command` for a socket of `family`.
pub fn answer(view: &BirdView, family: Family, command: &Command) -> String {
    let view = view.for_family(family);
    match command {
        Command::Status => show_status(&view),
        Command::Protocols { all, name } => {
            show_protocols(&view, *all, name.as_deref())
        }
        Command::Route(filter) => show_route(&view, filter),
    }
}

/// Accumulates reply lines with BIRD's continuation rule.
struct Reply {
    text: String,
    last: Option<u16>,
}

impl Reply {
    fn new() -> Self {
        Reply {
            text: String::new(),
            last: None,
        }
    }

    /// A line with more to follow.
    fn more(&mut self, code: u16, line: &str) {
        if self.last == Some(code) {
            self.text.push(' ');
        } else {
            let _ = write!(self.text, "{code:04}-");
        }
        self.text.push_str(line);
        self.text.push('\n');
        self.last = Some(code);
    }

    /// The last line.
    fn end(mut self, code: u16, line: &str) -> String {
        let _ = writeln!(self.text, "{code:04} {line}");
        self.text
    }
}

fn show_status(view: &BirdView) -> String {
    let mut r = Reply::new();
    r.more(1000, &format!("BIRD {}", view.version));
    r.more(1011, &format!("Router ID is {}", view.router_id));
    let now = clock::long(view.server_time);
    r.more(1011, &format!("Current server time is {now}"));
    let boot = clock::long(view.started);
    r.more(1011, &format!("Last reboot on {boot}"));
    let conf = clock::long(view.last_reconfig);
    r.more(1011, &format!("Last reconfiguration on {conf}"));
    if let Some(gr) = view.graceful_restart {
        r.more(24, "Graceful restart recovery in progress");
        let waiting = gr.waiting;
        r.more(24, &format!("  Waiting for {waiting} protocols to recover"));
        let (left, total) = (gr.wait_remaining, gr.wait_total);
        r.more(24, &format!("  Wait timer is {left}/{total}"));
    }
    let last = match view.phase {
        DaemonPhase::Running => "Daemon is up and running",
        DaemonPhase::Reconfiguring => "Reconfiguration in progress",
        DaemonPhase::ShuttingDown => "Shutdown in progress",
    };
    r.end(13, last)
}

fn show_protocols(view: &BirdView, all: bool, name: Option<&str>) -> String {
    let selected: Vec<&ProtocolView> = view
        .protocols
        .iter()
        .filter(|p| name.is_none_or(|n| p.name == n))
        .collect();
    if let Some(n) = name
        && selected.is_empty()
    {
        return format!("9002 {n} is not a protocol\n");
    }
    let mut r = Reply::new();
    r.more(2002, "name     proto    table    state  since       info");
    for p in selected {
        r.more(1002, &protocol_row(p, view));
        if all {
            for line in protocol_details(p) {
                r.more(1006, &line);
            }
            r.more(1006, "");
        }
    }
    r.end(0, "")
}

/// One `show protocols` row without its code, as BIRD 1.6 prints it
/// (`%-8s %-8s %-8s %-5s  %-10s  %s`, trailing spaces included).
pub(super) fn protocol_row(p: &ProtocolView, view: &BirdView) -> String {
    format!(
        "{:<8} {:<8} {:<8} {:<5}  {:<10}  {}",
        p.name,
        p.proto.name(),
        "master",
        p.state.name(),
        clock::short(p.since, view.server_time),
        protocol_info(p)
    )
}

/// The info column. For BGP, BIRD prints the state padded to 14 columns
/// followed by the last error, or only the error when the protocol is
/// down (proto/bgp/bgp.c, bgp_get_status).
fn protocol_info(p: &ProtocolView) -> String {
    let Some(bgp) = &p.bgp else {
        return p.info.clone();
    };
    let error = bgp.last_error.as_deref().unwrap_or("");
    if p.state == ProtoState::Down {
        error.to_owned()
    } else {
        format!("{:<14}{error}", bgp_state(p).name())
    }
}

fn bgp_state(p: &ProtocolView) -> BgpState {
    match (&p.bgp, p.state) {
        (_, ProtoState::Down) | (None, _) => BgpState::Down,
        (Some(b), _) => b.bgp_state,
    }
}

/// The `show protocols all` lines after the row (code 1006).
fn protocol_details(p: &ProtocolView) -> Vec<String> {
    let mut out = Vec::new();
    if p.proto == ProtoKind::Bgp {
        // Calico's template gives every session this description.
        out.push("  Description:    Connection to BGP peer".to_owned());
    }
    let (input, output) = match p.proto {
        // Calico (v3.32+) writes inline filters, which BIRD names so.
        ProtoKind::Bgp => ("(unnamed)", "(unnamed)"),
        ProtoKind::Kernel => ("(unnamed)", "calico_kernel_programming"),
        ProtoKind::Device | ProtoKind::Direct | ProtoKind::Static => {
            ("ACCEPT", "REJECT")
        }
    };
    out.push(format!("  Preference:     {}", p.proto.preference()));
    out.push(format!("  Input filter:   {input}"));
    out.push(format!("  Output filter:  {output}"));
    if p.state != ProtoState::Down {
        let rc = p.routes;
        out.push(format!(
            "  Routes:         {} imported, {} exported, {} preferred",
            rc.imported, rc.exported, rc.preferred
        ));
        let c = p.changes;
        out.push(
            "  Route change stats:     received   rejected   filtered    \
             ignored   accepted"
                .to_owned(),
        );
        out.push(format!(
            "    Import updates:     {:>10} {:>10} {:>10} {:>10} {:>10}",
            c.import_updates, 0, 0, 0, c.import_updates
        ));
        out.push(format!(
            "    Import withdraws:   {:>10} {:>10} {:>10} {:>10} {:>10}",
            c.import_withdraws, 0, "---", 0, c.import_withdraws
        ));
        out.push(format!(
            "    Export updates:     {:>10} {:>10} {:>10} {:>10} {:>10}",
            c.export_updates, 0, 0, "---", c.export_updates
        ));
        out.push(format!(
            "    Export withdraws:   {:>10} {:>10} {:>10} {:>10} {:>10}",
            c.export_withdraws, "---", "---", "---", c.export_withdraws
        ));
    }
    if let Some(b) = &p.bgp {
        out.push(format!("  BGP state:          {}", bgp_state(p).name()));
        out.push(format!("    Neighbor address: {}", b.neighbor_address));
        out.push(format!("    Neighbor AS:      {}", b.neighbor_as));
        if p.state == ProtoState::Up {
            if let Some(id) = b.neighbor_id {
                out.push(format!("    Neighbor ID:      {id}"));
            }
            if !b.neighbor_caps.is_empty() {
                out.push(format!("    Neighbor caps:    {}", b.neighbor_caps));
            }
            let kind = if b.local_as == b.neighbor_as {
                "internal"
            } else {
                "external"
            };
            let as4 = if b.neighbor_caps.split(' ').any(|c| c == "AS4") {
                " AS4"
            } else {
                ""
            };
            // Calico's template sets `multihop` on every session.
            out.push(format!("    Session:          {kind} multihop{as4}"));
            if let Some(src) = b.source_address {
                out.push(format!("    Source address:   {src}"));
            }
            out.push(format!(
                "    Hold timer:       {}/{}",
                b.hold_remaining, b.hold_time
            ));
            out.push(format!(
                "    Keepalive timer:  {}/{}",
                b.keepalive_remaining, b.keepalive_time
            ));
        }
        if let Some(err) = &b.last_error {
            out.push(format!("    Last error:       {err}"));
        }
    }
    out
}

fn show_route(view: &BirdView, filter: &RouteFilter) -> String {
    let rows: Vec<&RouteRow> = match filter {
        RouteFilter::All => view.routes.iter().collect(),
        RouteFilter::Exact(addr, len) => view
            .routes
            .iter()
            .filter(|r| r.len == *len && same_net(r.dst, *addr, *len))
            .collect(),
        RouteFilter::For(addr) => {
            let best = view
                .routes
                .iter()
                .filter(|r| same_net(r.dst, *addr, r.len))
                .map(|r| r.len)
                .max();
            view.routes
                .iter()
                .filter(|r| {
                    Some(r.len) == best && same_net(r.dst, *addr, r.len)
                })
                .collect()
        }
    };
    if rows.is_empty() && *filter != RouteFilter::All {
        return "8001 Network not in table\n".to_owned();
    }
    let mut r = Reply::new();
    let mut previous: Option<(IpAddr, u8)> = None;
    for row in rows {
        let net = (row.dst, row.len);
        let shown = if previous == Some(net) {
            String::new()
        } else {
            format!("{}/{}", row.dst, row.len)
        };
        previous = Some(net);
        r.more(1007, &route_line(&shown, row, view));
    }
    r.end(0, "")
}

/// One route row without its code (nest/rt-table.c, rt_show_rte:
/// `%-18s %s [%s %s%s]%s%s`).
fn route_line(net: &str, row: &RouteRow, view: &BirdView) -> String {
    let via = match &row.target {
        RouteTarget::Via { gateway, iface } => {
            format!("via {gateway} on {iface}")
        }
        RouteTarget::Dev { iface } => format!("dev {iface}"),
        RouteTarget::Blackhole => "blackhole".to_owned(),
        RouteTarget::Unreachable => "unreachable".to_owned(),
    };
    let gateway = match &row.target {
        RouteTarget::Via { gateway, .. } => Some(*gateway),
        _ => None,
    };
    let from = match row.from {
        Some(f) if Some(f) != gateway => format!(" from {f}"),
        _ => String::new(),
    };
    let mark = if row.primary { " *" } else { "" };
    let mut info = match row.igp_metric {
        Some(m) => format!(" ({}/{m})", row.preference),
        None => format!(" ({})", row.preference),
    };
    if let Some(b) = row.bgp {
        let origin = match b.origin {
            super::Origin::Igp => 'i',
            super::Origin::Egp => 'e',
            super::Origin::Incomplete => '?',
        };
        match b.origin_as {
            Some(asn) => {
                let _ = write!(info, " [AS{asn}{origin}]");
            }
            None => {
                let _ = write!(info, " [{origin}]");
            }
        }
    }
    format!(
        "{net:<18} {via} [{} {}{from}]{mark}{info}",
        row.proto,
        clock::short(row.since, view.server_time)
    )
}

/// Whether `addr` lies in `net/len` (compared on the first `len` bits).
fn same_net(net: IpAddr, addr: IpAddr, len: u8) -> bool {
    let mask = |bits: u32, width: u32| -> u128 {
        if bits == 0 {
            0
        } else {
            (!0u128 << (width - bits)) & (!0u128 >> (128 - width))
        }
    };
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let m = mask(u32::from(len).min(32), 32);
            u128::from(u32::from(n)) & m == u128::from(u32::from(a)) & m
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let m = mask(u32::from(len).min(128), 128);
            u128::from(n) & m == u128::from(a) & m
        }
        _ => false,
    }
}
