//! [`ApiObserver`]: how the client reports what it does (requests, retries, token renewals),
//! so that the exporter can count it without a Prometheus type entering the client.

use chrono::{DateTime, Utc};

/// Receives what the client does, so that the exporter can count it. Every method has an empty
/// default so tests can observe only what they need.
pub trait ApiObserver: Send + Sync {
    /// One HTTP exchange finished: `code` is the status ("200", "429", …) or "timeout"/"error".
    fn request(&self, _endpoint: &'static str, _code: &str) {}
    /// A request is retried: `reason` is "429", "5xx", "timeout", "connection" or "401".
    fn retry(&self, _endpoint: &'static str, _reason: &'static str) {}
    /// An access-token renewal finished: `result` is "success", "invalid_grant", "mfa_required" or "error".
    fn token_refresh(&self, _result: &'static str) {}
    /// The sign-in service handed out a new refresh token and it was stored.
    fn refresh_token_rotated(&self, _at: DateTime<Utc>) {}
    /// A rotated refresh token could not be written to its file (it is kept in memory).
    fn refresh_token_write_failed(&self) {}
}

/// An observer that ignores everything.
pub struct NoopObserver;
impl ApiObserver for NoopObserver {}
