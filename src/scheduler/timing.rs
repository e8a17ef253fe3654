//! When each collector runs next, as plain arithmetic: a good run is followed by the next one a
//! period after it started (start to start, so collectors with equal intervals stay aligned and
//! share a customer list); a failed run is retried after a capped exponential backoff with jitter
//! (`--collector.retry-backoff`, doubling up to the period), not a whole period later.

use std::time::Duration;

use tokio::time::Instant;

use crate::client::backoff;

/// One collector's schedule.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// When the next run is due.
    pub(super) next_due: Instant,
    /// Runs that failed in a row since the last good one.
    pub(super) failures: u32,
}

impl Timing {
    /// Due at once: the first run starts at start-up.
    pub(super) fn new(now: Instant) -> Self {
        Self {
            next_due: now,
            failures: 0,
        }
    }

    /// A run that started at `started` succeeded: the next is due a period after that start.
    pub(super) fn succeeded(&mut self, started: Instant, period: Duration) {
        self.failures = 0;
        self.next_due = started + period;
    }

    /// A run failed at `finished`: the next is due after the backoff of this many failures in a
    /// row (`base` doubling, at most `period`, equal jitter from `jitter` in `[0, 1)`). Returns
    /// the wait.
    pub(super) fn failed(
        &mut self,
        finished: Instant,
        base: Duration,
        period: Duration,
        jitter: f64,
    ) -> Duration {
        let wait = backoff(self.failures, base, period.max(base), jitter).min(period);
        self.failures = self.failures.saturating_add(1);
        self.next_due = finished + wait;
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_failed_run_is_retried_with_a_doubling_backoff_capped_at_the_interval() {
        let now = Instant::now();
        let mut t = Timing::new(now);
        let hour = 3600 * S;
        // jitter 1.0: the full step.
        let waits: Vec<Duration> = (0..9).map(|_| t.failed(now, 30 * S, hour, 1.0)).collect();
        assert_eq!(
            waits,
            [
                30 * S,
                60 * S,
                120 * S,
                240 * S,
                480 * S,
                960 * S,
                1920 * S,
                hour,
                hour
            ]
        );
        assert_eq!(t.next_due, now + hour);
    }

    #[test]
    fn jitter_keeps_the_retry_within_the_upper_half_of_the_step() {
        let now = Instant::now();
        for jitter in [0.0, 0.3, 0.99] {
            let mut t = Timing::new(now);
            let wait = t.failed(now, 30 * S, 3600 * S, jitter);
            assert!(wait >= 15 * S && wait <= 30 * S, "{wait:?}");
        }
    }

    #[test]
    fn a_backoff_longer_than_the_interval_is_cut_to_the_interval() {
        let now = Instant::now();
        let mut t = Timing::new(now);
        assert_eq!(t.failed(now, 30 * S, 10 * S, 1.0), 10 * S);
    }

    #[test]
    fn a_good_run_resets_the_backoff_and_schedules_start_to_start() {
        let now = Instant::now();
        let mut t = Timing::new(now);
        t.failed(now, 30 * S, 3600 * S, 1.0);
        t.failed(now, 30 * S, 3600 * S, 1.0);
        t.succeeded(now + 5 * S, 3600 * S);
        assert_eq!(t.failures, 0);
        assert_eq!(t.next_due, now + 3605 * S);
        assert_eq!(t.failed(now, 30 * S, 3600 * S, 1.0), 30 * S);
    }
}
