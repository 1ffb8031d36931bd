//! What every BGP speaker adapter offers, with shared waiting helpers.

use std::time::Duration;

use anyhow::{Result, anyhow};

use crate::route::{Family, Route};
use crate::wait::wait_for;

/// How often the `wait_*` helpers poll a daemon's CLI.
const POLL: Duration = Duration::from_millis(200);

/// A BGP speaker under test (BIRD, GoBGP, FRR or bgplet).
pub trait Speaker {
    /// A label for messages, e.g. `bird in blt1a2b_3`.
    fn label(&self) -> String;

    /// The session state toward `neighbor` (an address), with RFC 4271
    /// names such as `"Established"`, `"Active"`, `"Idle"`; `None` if the
    /// daemon has no such neighbor.
    fn session_state(&self, neighbor: &str) -> Result<Option<String>>;

    /// The best path of every prefix in the family's table, locally
    /// originated ones included.
    fn routes(&self, family: Family) -> Result<Vec<Route>>;

    /// The last lines of the daemon's log, shown when a wait fails.
    fn log_tail(&self, lines: usize) -> String;

    /// Whether the session toward `neighbor` is Established.
    fn is_established(&self, neighbor: &str) -> Result<bool> {
        Ok(self.session_state(neighbor)?.as_deref() == Some("Established"))
    }

    /// The best path for `prefix`, if present.
    fn route(&self, prefix: &str) -> Result<Option<Route>> {
        let routes = self.routes(Family::of(prefix))?;
        Ok(routes.into_iter().find(|r| r.prefix == prefix))
    }

    /// Waits until the session toward `neighbor` is Established.
    fn wait_established(
        &self,
        neighbor: &str,
        timeout: Duration,
    ) -> Result<()> {
        wait_for(
            &format!("{}: session to {neighbor} Established", self.label()),
            timeout,
            POLL,
            || self.is_established(neighbor),
        )
        .map_err(|e| anyhow!("{e:#}\n{}", self.failure_context(Some(neighbor))))
    }

    /// Checks that the session toward `neighbor` stays out of Established
    /// for the whole of `period` (e.g. with a wrong password).
    fn assert_not_established_for(
        &self,
        neighbor: &str,
        period: Duration,
    ) -> Result<()> {
        let start = std::time::Instant::now();
        while start.elapsed() < period {
            if self.is_established(neighbor)? {
                return Err(anyhow!(
                    "{}: session to {neighbor} became Established\n{}",
                    self.label(),
                    self.failure_context(Some(neighbor))
                ));
            }
            std::thread::sleep(POLL);
        }
        Ok(())
    }

    /// Waits until `prefix` is present and `pred` holds for its best path,
    /// and returns that path.
    fn wait_route_matching(
        &self,
        prefix: &str,
        timeout: Duration,
        pred: &dyn Fn(&Route) -> bool,
    ) -> Result<Route> {
        let mut found = None;
        wait_for(
            &format!("{}: route {prefix}", self.label()),
            timeout,
            POLL,
            || {
                found = self.route(prefix)?.filter(|r| pred(r));
                Ok(found.is_some())
            },
        )
        .map_err(|e| anyhow!("{e:#}\n{}", self.failure_context(None)))?;
        found.ok_or_else(|| anyhow!("route vanished"))
    }

    /// Waits until `prefix` is present and returns its best path.
    fn wait_route(&self, prefix: &str, timeout: Duration) -> Result<Route> {
        self.wait_route_matching(prefix, timeout, &|_| true)
    }

    /// Waits until `prefix` is gone from the table.
    fn wait_withdrawn(&self, prefix: &str, timeout: Duration) -> Result<()> {
        wait_for(
            &format!("{}: withdrawal of {prefix}", self.label()),
            timeout,
            POLL,
            || Ok(self.route(prefix)?.is_none()),
        )
        .map_err(|e| anyhow!("{e:#}\n{}", self.failure_context(None)))
    }

    /// A multi-line report of current state and log tail, attached to
    /// wait failures.
    fn failure_context(&self, neighbor: Option<&str>) -> String {
        let state = match neighbor {
            Some(n) => match self.session_state(n) {
                Ok(Some(st)) => format!("state toward {n}: {st}\n"),
                Ok(None) => format!("state toward {n}: no such neighbor\n"),
                Err(e) => format!("state toward {n}: query failed: {e:#}\n"),
            },
            None => String::new(),
        };
        let mut routes = String::new();
        for fam in [Family::Ipv4, Family::Ipv6] {
            match self.routes(fam) {
                Ok(rs) => {
                    for r in rs {
                        routes.push_str(&format!("  {r:?}\n"));
                    }
                }
                Err(e) => routes.push_str(&format!("  {fam}: {e:#}\n")),
            }
        }
        format!(
            "{}\n{state}routes:\n{routes}log tail:\n{}",
            self.label(),
            self.log_tail(40)
        )
    }
}
