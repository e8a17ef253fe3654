//! Retry policy, as pure functions: which failures are retried, how long to wait, and how to
//! read `Retry-After`. Plus the client-side rate limiter.
//!
//! Policy (reference §6.3, §7): 429, 408, 5xx, timeouts and connection errors are retried; other
//! 4xx are not, since repeating them cannot help. The wait grows exponentially from
//! `backoff_base` and is capped at `backoff_max`, with "equal jitter" (a random point in the
//! upper half of the step) so clones that failed together do not retry together, yet never
//! retry immediately ("Avoid immediate retries", api-throttling-guidance.md). A `Retry-After`
//! is honoured but also capped at `backoff_max`, so a misbehaving server cannot stall a
//! collection for hours.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use tokio::time::Instant;

/// Why a response is worth another attempt, as reported to `ApiObserver::retry`; `None` = not
/// retryable.
pub(crate) fn retry_reason(status: StatusCode) -> Option<&'static str> {
    match status.as_u16() {
        429 => Some("429"),
        408 => Some("timeout"),
        500..=599 => Some("5xx"),
        _ => None,
    }
}

/// Parses a `Retry-After` value: delta seconds (what Partner Center sends) or an HTTP date. A
/// date in the past means "now".
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: a huge value saturates instead of failing; it is capped later anyway.
        return Some(Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX)));
    }
    // IMF-fixdate (`Tue, 21 Jul 2020 04:10:58 GMT`), the only form HTTP/1.1 senders may
    // generate, is valid RFC 2822.
    let at: SystemTime = chrono::DateTime::parse_from_rfc2822(value).ok()?.into();
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The exponential step for retry number `retry` (0 = first retry), capped at `max`, with
/// equal jitter: `jitter` in `[0, 1)` picks a point between half the step and the full step.
/// The scheduler retries failed collector runs with the same policy.
pub fn backoff(retry: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let factor = 2u32.saturating_pow(retry.min(31));
    let step = base.saturating_mul(factor).min(max);
    let half = step / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// How long to wait before retry number `retry`: the backoff, or the server's `Retry-After` when
/// that is longer, never more than `max`.
pub(crate) fn retry_delay(
    retry: u32,
    retry_after: Option<Duration>,
    base: Duration,
    max: Duration,
    jitter: f64,
) -> Duration {
    let step = backoff(retry, base, max, jitter);
    match retry_after {
        Some(asked) => asked.max(step).min(max),
        None => step,
    }
}

/// Spaces requests evenly at `requests_per_minute` across every clone of the client: each
/// request takes the next free slot, one interval after the previous one. Smooth spacing rather
/// than a bursty bucket, because Partner Center throttles on short windows and data is
/// collected in the background where latency does not matter.
pub(crate) struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// `0` requests per minute disables the limit.
    pub(crate) fn new(requests_per_minute: u32) -> Self {
        let interval = if requests_per_minute == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(60) / requests_per_minute
        };
        Self {
            interval,
            next_slot: Mutex::new(None),
        }
    }

    /// Waits for this request's slot.
    pub(crate) async fn acquire(&self) {
        if self.interval.is_zero() {
            return;
        }
        let slot = {
            // The lock is never held across an await, and a panic while holding it cannot leave
            // the Option inconsistent, so a poisoned lock is still usable.
            let mut next = self.next_slot.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let slot = next.filter(|n| *n > now).unwrap_or(now);
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn retry_after_in_seconds_is_read() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("57", now), Some(Duration::from_secs(57)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn retry_after_as_an_http_date_is_the_time_until_then() {
        let now: SystemTime = chrono::DateTime::parse_from_rfc2822("Tue, 21 Jul 2020 04:10:01 GMT")
            .unwrap()
            .into();
        assert_eq!(
            parse_retry_after("Tue, 21 Jul 2020 04:10:58 GMT", now),
            Some(Duration::from_secs(57))
        );
        assert_eq!(
            parse_retry_after("Tue, 21 Jul 2020 04:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
    }

    #[test]
    fn garbage_retry_after_is_ignored() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = 100 * MS;
        let max = 1000 * MS;
        // jitter 1.0 gives the full step.
        let full: Vec<_> = (0..6).map(|r| backoff(r, base, max, 1.0)).collect();
        assert_eq!(
            full,
            [100 * MS, 200 * MS, 400 * MS, 800 * MS, 1000 * MS, 1000 * MS]
        );
        assert_eq!(backoff(u32::MAX, base, max, 1.0), max, "no overflow");
    }

    #[test]
    fn jitter_stays_within_the_upper_half_of_the_step() {
        let step = 400 * MS;
        assert_eq!(backoff(2, 100 * MS, Duration::MAX, 0.0), step / 2);
        for j in [0.0, 0.25, 0.5, 0.999] {
            let d = backoff(2, 100 * MS, Duration::MAX, j);
            assert!(d >= step / 2 && d <= step, "{d:?}");
        }
    }

    #[test]
    fn retry_after_wins_when_longer_but_is_capped_at_backoff_max() {
        let (base, max) = (10 * MS, 100 * MS);
        assert_eq!(retry_delay(0, Some(Duration::from_secs(57)), base, max, 1.0), max);
        assert_eq!(retry_delay(0, Some(50 * MS), base, max, 1.0), 50 * MS);
        // Retry-After: 0 still waits the backoff: never retry immediately.
        assert_eq!(retry_delay(0, Some(Duration::ZERO), base, max, 1.0), 10 * MS);
    }

    #[test]
    fn only_throttling_timeouts_and_server_errors_are_retryable() {
        for (code, reason) in [
            (429, Some("429")),
            (408, Some("timeout")),
            (500, Some("5xx")),
            (503, Some("5xx")),
        ] {
            assert_eq!(
                retry_reason(StatusCode::from_u16(code).unwrap()),
                reason,
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 409] {
            assert_eq!(retry_reason(StatusCode::from_u16(code).unwrap()), None, "{code}");
        }
    }

    // Real time with millisecond spacing: the crate's tokio has no `test-util` for paused time.
    #[tokio::test]
    async fn the_rate_limiter_spaces_requests_evenly() {
        let limiter = RateLimiter::new(3000); // one per 20 ms
        let start = Instant::now();
        for _ in 0..4 {
            limiter.acquire().await;
        }
        assert!(start.elapsed() >= 60 * MS, "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn an_idle_rate_limiter_does_not_make_the_next_request_wait() {
        let limiter = RateLimiter::new(60); // one per second
        limiter.acquire().await;
        *limiter.next_slot.lock().unwrap() = Some(Instant::now()); // as if a second had passed
        let start = Instant::now();
        limiter.acquire().await;
        assert!(start.elapsed() < 500 * MS, "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn a_zero_rate_means_no_limit() {
        let limiter = RateLimiter::new(0);
        let start = Instant::now();
        for _ in 0..100 {
            limiter.acquire().await;
        }
        assert!(start.elapsed() < 100 * MS);
    }
}
