//! Waiting for conditions instead of sleeping a fixed time.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

/// Polls `cond` every `poll` until it returns `Ok(true)`, or fails once
/// `timeout` has passed. Errors returned by `cond` count as "not yet";
/// the last one is included in the timeout error.
pub fn wait_until<F>(timeout: Duration, poll: Duration, cond: F) -> Result<()>
where
    F: FnMut() -> Result<bool>,
{
    wait_for("condition", timeout, poll, cond)
}

/// Like [`wait_until`], with a description of what is awaited for the
/// error message.
pub fn wait_for<F>(
    what: &str,
    timeout: Duration,
    poll: Duration,
    mut cond: F,
) -> Result<()>
where
    F: FnMut() -> Result<bool>,
{
    let start = Instant::now();
    let mut polls = 0u32;
    loop {
        polls += 1;
        let last_err = match cond() {
            Ok(true) => return Ok(()),
            Ok(false) => None,
            Err(e) => Some(e),
        };
        if start.elapsed() >= timeout {
            let last = match last_err {
                Some(e) => format!("; last error: {e:#}"),
                None => String::new(),
            };
            return Err(anyhow!(
                "timed out after {:.1?} ({polls} polls) waiting for {what}{last}",
                start.elapsed()
            ));
        }
        std::thread::sleep(poll);
    }
}
