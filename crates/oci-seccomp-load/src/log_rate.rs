//! A bound on how often one kind of log line is written ([`LogRate`]), for an agent whose
//! peers can trigger a line at will.

/// A bound on how often one kind of log line is written: at most `burst` lines per
/// `interval`, and for the rest a count, so that a peer that can trigger a line at will
/// (an unprivileged user connecting to an agent's abstract socket in a loop, each
/// connection refused) cannot make the agent write without bound.
///
/// The clock is the caller's (`now`), so the limiter is exact to test and never sleeps.
///
/// ```
/// use std::time::{Duration, Instant};
/// use oci_seccomp_load::log_rate::{LogGate, LogRate};
/// let start = Instant::now();
/// let mut rate = LogRate::new(2, Duration::from_secs(10), start);
/// assert_eq!(rate.admit(start), LogGate::Log);
/// assert_eq!(rate.admit(start), LogGate::Log);
/// assert_eq!(rate.admit(start), LogGate::Suppressed);
/// assert_eq!(rate.tick(start + Duration::from_secs(5)), None);
/// // The window ended: one line says how many were not logged.
/// assert_eq!(rate.tick(start + Duration::from_secs(10)), Some(1));
/// assert_eq!(rate.admit(start + Duration::from_secs(11)), LogGate::Log);
/// ```
#[derive(Clone, Debug)]
pub struct LogRate {
    burst: u32,
    interval: std::time::Duration,
    window_start: std::time::Instant,
    logged: u32,
    suppressed: u64,
    total_suppressed: u64,
}

/// What [`LogRate::admit`] decides for one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogGate {
    /// Write it.
    Log,
    /// Do not: it is counted, and [`LogRate::tick`] or [`LogRate::finish`] gives the count.
    Suppressed,
}

impl LogRate {
    /// At most `burst` lines per `interval`, the first window starting at `now`.
    pub fn new(burst: u32, interval: std::time::Duration, now: std::time::Instant) -> Self {
        Self {
            burst,
            interval,
            window_start: now,
            logged: 0,
            suppressed: 0,
            total_suppressed: 0,
        }
    }

    /// The interval of one window.
    pub fn interval(&self) -> std::time::Duration {
        self.interval
    }

    /// Lines not logged in all, so far.
    pub fn total_suppressed(&self) -> u64 {
        self.total_suppressed
    }

    /// Whether one more line may be written at `now`. Call [`LogRate::tick`] first when
    /// a window may have ended, so that its count is written before this line.
    pub fn admit(&mut self, now: std::time::Instant) -> LogGate {
        if now.saturating_duration_since(self.window_start) >= self.interval && self.suppressed == 0
        {
            self.window_start = now;
            self.logged = 0;
        }
        if self.logged < self.burst {
            self.logged += 1;
            LogGate::Log
        } else {
            self.suppressed += 1;
            self.total_suppressed += 1;
            LogGate::Suppressed
        }
    }

    /// At `now`: when the window ended with lines suppressed, their number (to be written
    /// as one line), and a new window begins. `None` otherwise.
    pub fn tick(&mut self, now: std::time::Instant) -> Option<u64> {
        if now.saturating_duration_since(self.window_start) < self.interval {
            return None;
        }
        self.window_start = now;
        self.logged = 0;
        let n = std::mem::take(&mut self.suppressed);
        (n > 0).then_some(n)
    }

    /// At the end: the lines suppressed since the last count given, if any.
    pub fn finish(&mut self) -> Option<u64> {
        let n = std::mem::take(&mut self.suppressed);
        (n > 0).then_some(n)
    }
}
