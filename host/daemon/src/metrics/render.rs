//! The Prometheus text exposition format, version 0.0.4: for each
//! family a `# HELP` and a `# TYPE` line, then its samples; label
//! values escaped; histograms as cumulative `_bucket{le}` series ending
//! with `+Inf`, plus `_sum` and `_count`.

use std::fmt::Write as _;

use super::{FamilyPrefixes, Histogram, MetricsView, SessionState};

/// Picks one count out of a session's family entry.
type PrefixCount = fn(&FamilyPrefixes) -> u64;

/// The Content-Type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders every metric of `view`. Families are always present, with no
/// samples when there is nothing to count (no plugins, say), so
/// dashboards see stable names.
pub fn render(view: &MetricsView) -> String {
    let mut w = Writer::default();
    w.family(
        "bgplet_build_info",
        "gauge",
        "Always 1; labelled with the agent version.",
    );
    w.sample("bgplet_build_info", &[("version", &view.version)], 1);

    w.family(
        "bgplet_bgp_sessions",
        "gauge",
        "Configured BGP sessions by state.",
    );
    for state in SessionState::ALL {
        let n = view.sessions.iter().filter(|s| s.state == state).count();
        w.sample("bgplet_bgp_sessions", &[("state", state.label())], n);
    }

    w.family(
        "bgplet_bgp_session_state",
        "gauge",
        "Session state: 1 Idle, 2 Connect, 3 Active, 4 OpenSent, \
         5 OpenConfirm, 6 Established.",
    );
    for s in &view.sessions {
        let asn = s.peer_as.to_string();
        let labels = [
            ("peer", s.name.as_str()),
            ("address", s.address.as_str()),
            ("peer_as", asn.as_str()),
        ];
        w.sample("bgplet_bgp_session_state", &labels, s.state.number());
    }

    let prefix_families: [(&str, &str, PrefixCount); 3] = [
        (
            "bgplet_bgp_prefixes_received",
            "Prefixes the peer announced and the agent holds.",
            |f| f.received,
        ),
        (
            "bgplet_bgp_prefixes_accepted",
            "Received prefixes that import policy accepted.",
            |f| f.accepted,
        ),
        (
            "bgplet_bgp_prefixes_advertised",
            "Prefixes announced to the peer.",
            |f| f.advertised,
        ),
    ];
    for (name, help, value) in prefix_families {
        w.family(name, "gauge", help);
        for s in &view.sessions {
            for f in &s.families {
                let labels =
                    [("peer", s.name.as_str()), ("family", f.family.as_str())];
                w.sample(name, &labels, value(f));
            }
        }
    }

    w.family(
        "bgplet_bgp_updates_received_total",
        "counter",
        "UPDATE messages received.",
    );
    for s in &view.sessions {
        let labels = [("peer", s.name.as_str())];
        w.sample(
            "bgplet_bgp_updates_received_total",
            &labels,
            s.updates_received,
        );
    }
    w.family(
        "bgplet_bgp_updates_sent_total",
        "counter",
        "UPDATE messages sent.",
    );
    for s in &view.sessions {
        let labels = [("peer", s.name.as_str())];
        w.sample("bgplet_bgp_updates_sent_total", &labels, s.updates_sent);
    }

    render_plugins(&mut w, view);
    render_fib(&mut w, view);
    w.out
}

fn render_plugins(w: &mut Writer, view: &MetricsView) {
    let hooks = || {
        view.plugins
            .iter()
            .flat_map(|p| p.hooks.iter().map(move |h| (p.plugin.as_str(), h)))
    };
    w.family("bgplet_plugin_calls_total", "counter", "Plugin hook calls.");
    for (plugin, h) in hooks() {
        let labels = [("plugin", plugin), ("hook", h.hook.as_str())];
        w.sample("bgplet_plugin_calls_total", &labels, h.calls);
    }
    w.family(
        "bgplet_plugin_errors_total",
        "counter",
        "Failed plugin hook calls by kind (trap, timeout, oom, malformed).",
    );
    for (plugin, h) in hooks() {
        let e = h.errors;
        for (kind, n) in [
            ("trap", e.trap),
            ("timeout", e.timeout),
            ("oom", e.oom),
            ("malformed", e.malformed),
        ] {
            let labels = [
                ("plugin", plugin),
                ("hook", h.hook.as_str()),
                ("kind", kind),
            ];
            w.sample("bgplet_plugin_errors_total", &labels, n);
        }
    }
    w.family(
        "bgplet_plugin_fallbacks_total",
        "counter",
        "Hook calls answered by the built-in decision instead.",
    );
    for (plugin, h) in hooks() {
        let labels = [("plugin", plugin), ("hook", h.hook.as_str())];
        w.sample("bgplet_plugin_fallbacks_total", &labels, h.fallbacks);
    }
    w.family(
        "bgplet_plugin_call_duration_seconds",
        "histogram",
        "Plugin hook call latency.",
    );
    for (plugin, h) in hooks() {
        let labels = [("plugin", plugin), ("hook", h.hook.as_str())];
        w.histogram("bgplet_plugin_call_duration_seconds", &labels, &h.latency);
    }
    w.family(
        "bgplet_plugin_loads_total",
        "counter",
        "Plugin loads by name and outcome (ok, rejected).",
    );
    for p in &view.plugins {
        let l = p.loads;
        for (outcome, n) in [("ok", l.ok), ("rejected", l.rejected)] {
            let labels = [("plugin", p.plugin.as_str()), ("outcome", outcome)];
            w.sample("bgplet_plugin_loads_total", &labels, n);
        }
    }
    w.family(
        "bgplet_plugin_reloads_total",
        "counter",
        "Plugin set reloads by outcome (applied, rejected) and, when \
         rejected, the failed stage.",
    );
    let r = &view.reloads;
    w.sample(
        "bgplet_plugin_reloads_total",
        &[("outcome", "applied")],
        r.applied,
    );
    for (reason, n) in &r.rejected {
        let labels = [("outcome", "rejected"), ("reason", reason.as_str())];
        w.sample("bgplet_plugin_reloads_total", &labels, n);
    }
}

fn render_fib(w: &mut Writer, view: &MetricsView) {
    let f = view.fib;
    let ops = |o: super::FibOps| {
        [("add", o.add), ("replace", o.replace), ("delete", o.delete)]
    };
    w.family(
        "bgplet_fib_operations_total",
        "counter",
        "Kernel route operations by kind.",
    );
    for (op, n) in ops(f.operations) {
        w.sample("bgplet_fib_operations_total", &[("op", op)], n);
    }
    w.family(
        "bgplet_fib_errors_total",
        "counter",
        "Kernel route operations that failed, by kind.",
    );
    for (op, n) in ops(f.errors) {
        w.sample("bgplet_fib_errors_total", &[("op", op)], n);
    }
    w.family(
        "bgplet_fib_pending",
        "gauge",
        "Route changes waiting to be written to the kernel.",
    );
    w.sample("bgplet_fib_pending", &[], f.pending);
}

#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl std::fmt::Display,
    ) {
        self.out.push_str(name);
        push_labels(&mut self.out, labels);
        let _ = writeln!(self.out, " {value}");
    }

    fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        h: &Histogram,
    ) {
        for (bound, count) in h.cumulative() {
            let le = float(bound);
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&format!("{name}_bucket"), &with_le, count);
        }
        self.sample(&format!("{name}_sum"), labels, float(h.sum()));
        self.sample(&format!("{name}_count"), labels, h.count());
    }
}

/// A float as Prometheus spells it (`+Inf`, `-Inf`, `NaN`, else plain
/// decimal, which Rust never writes with an exponent).
fn float(v: f64) -> String {
    if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else if v.is_nan() {
        "NaN".to_owned()
    } else {
        v.to_string()
    }
}

fn push_labels(out: &mut String, labels: &[(&str, &str)]) {
    if labels.is_empty() {
        return;
    }
    out.push('{');
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        out.push_str(&escape_label(value));
        out.push('"');
    }
    out.push('}');
}

/// Label values escape backslash, double quote and line feed.
pub(super) fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}
