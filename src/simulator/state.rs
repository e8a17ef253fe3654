//! Shared state of a running simulator: configuration, data, tokens, the knobs tests turn at
//! runtime, the clock (which tests can move forward), the rate limiter and request counters.
//! `settings` builds it from the flags.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::data::DataStore;
use super::lock::lock;
use super::tokens::TokenStore;

/// Shape of a non-null `@nextLink` (the real shape is UNCONFIRMED: the docs only show `null`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NextLinkStyle {
    /// A reference relative to the request URL, like the sister Microsoft Store analytics API:
    /// `license?top=…&skip=…` (or `?top=…` when the request path ends in `/`).
    Relative,
    /// An absolute URL built from the request's `Host` header.
    Absolute,
}

/// Settings fixed for the simulator's lifetime (the data's own are in [`DataStore`]).
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub tenant_id: String,
    pub tenant_domain: String,
    pub client_id: String,
    pub client_secret: String,
    pub token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_token_grace: Duration,
    pub page_size_cap: usize,
    pub next_link: NextLinkStyle,
    /// Keys the check value of `/v1/customers` continuation tokens (random per run).
    pub continuation_secret: u64,
}

/// The simulator's clock: wall-clock time plus an offset tests can advance.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicU64,
}

impl Clock {
    /// The simulated now.
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + Duration::from_millis(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Milliseconds since the epoch of the simulated now.
    pub fn now_ms(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms.fetch_add(by.as_millis() as u64, Ordering::Relaxed);
    }
}

/// Knobs for tests and benchmarks, adjustable while serving.
#[derive(Debug, Default)]
pub struct Knobs {
    fail_rate: AtomicU64,
    rate_limit: AtomicU32,
    latency_us: AtomicU64,
    latency_jitter: AtomicU64,
    bom: AtomicBool,
}

/// A snapshot of the simulator's knobs, also the body of `GET`/`PUT /admin/knobs` (absent fields are left
/// unchanged by a `PUT`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KnobValues {
    /// Share of API requests answered with a random 500 or 503, 0–1.
    pub fail_rate: Option<f64>,
    /// Requests per minute per partner tenant; 0 turns the limit off.
    pub rate_limit: Option<u32>,
    /// Added to every request, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Relative spread of the latency, 0–1 (0.25 means ±25 %).
    pub latency_jitter: Option<f64>,
    /// Whether API bodies start with a UTF-8 byte order mark.
    pub bom: Option<bool>,
}

impl Knobs {
    /// Apply every value that is set; out-of-range values are an error and change nothing.
    pub fn apply(&self, v: &KnobValues) -> Result<(), String> {
        let unit = |name: &str, x: Option<f64>| match x {
            Some(x) if !(0.0..=1.0).contains(&x) => Err(format!("{name} must be between 0 and 1, not {x}")),
            _ => Ok(()),
        };
        unit("failRate", v.fail_rate)?;
        unit("latencyJitter", v.latency_jitter)?;
        if let Some(ms) = v.latency_ms.filter(|ms| !ms.is_finite() || *ms < 0.0) {
            return Err(format!("latencyMs must be a non-negative number, not {ms}"));
        }
        if let Some(x) = v.fail_rate {
            self.fail_rate.store(x.to_bits(), Ordering::Relaxed);
        }
        if let Some(x) = v.rate_limit {
            self.rate_limit.store(x, Ordering::Relaxed);
        }
        if let Some(ms) = v.latency_ms {
            self.latency_us.store((ms * 1000.0) as u64, Ordering::Relaxed);
        }
        if let Some(x) = v.latency_jitter {
            self.latency_jitter.store(x.to_bits(), Ordering::Relaxed);
        }
        if let Some(x) = v.bom {
            self.bom.store(x, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Every knob's current value.
    pub fn values(&self) -> KnobValues {
        KnobValues {
            fail_rate: Some(self.fail_rate()),
            rate_limit: Some(self.rate_limit()),
            latency_ms: Some(self.latency().as_secs_f64() * 1000.0),
            latency_jitter: Some(self.latency_jitter()),
            bom: Some(self.bom()),
        }
    }

    /// Share of requests that fail.
    pub fn fail_rate(&self) -> f64 {
        f64::from_bits(self.fail_rate.load(Ordering::Relaxed))
    }
    /// Requests per minute per partner tenant, 0 for no limit.
    pub fn rate_limit(&self) -> u32 {
        self.rate_limit.load(Ordering::Relaxed)
    }
    /// Mean added latency.
    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Ordering::Relaxed))
    }
    /// Relative latency spread.
    pub fn latency_jitter(&self) -> f64 {
        f64::from_bits(self.latency_jitter.load(Ordering::Relaxed))
    }
    /// Whether to prepend a BOM.
    pub fn bom(&self) -> bool {
        self.bom.load(Ordering::Relaxed)
    }
}

/// Fixed one-minute windows per partner tenant, opened by the first request after the last one
/// closed — so `Retry-After` can be long (57 s in the documented example), as on the real service.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

/// Length of a rate-limit window.
const WINDOW_MS: u64 = 60_000;

impl RateLimiter {
    /// Count a request of `tenant`; `Err(seconds)` when it exceeds `limit` per minute.
    pub fn admit(&self, tenant: &str, limit: u32, now_ms: u64) -> Result<(), u64> {
        if limit == 0 {
            return Ok(());
        }
        let mut windows = lock(&self.windows);
        let window = windows.entry(tenant.to_owned()).or_insert((now_ms, 0));
        if now_ms >= window.0 + WINDOW_MS {
            *window = (now_ms, 0);
        }
        // Rejected requests count too: "all requests accrue against your usage limits".
        window.1 = window.1.saturating_add(1);
        if window.1 <= limit {
            Ok(())
        } else {
            Err((window.0 + WINDOW_MS - now_ms).div_ceil(1000).max(1))
        }
    }
}

/// What a request was for; the names match the exporter's `endpoint` label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    Customers,
    CustomerUsage,
    CustomerDeployment,
    PartnerUsage,
    PartnerDeployment,
    CommercialUsage,
    CommercialDeployment,
    Subscriptions,
    SubscribedSkus,
    CatalogSku,
    ProvisioningStatus,
    Admin,
    Other,
}

impl Endpoint {
    /// Every endpoint, in counter order.
    pub const ALL: [Endpoint; 14] = [
        Endpoint::Token,
        Endpoint::Customers,
        Endpoint::CustomerUsage,
        Endpoint::CustomerDeployment,
        Endpoint::PartnerUsage,
        Endpoint::PartnerDeployment,
        Endpoint::CommercialUsage,
        Endpoint::CommercialDeployment,
        Endpoint::Subscriptions,
        Endpoint::SubscribedSkus,
        Endpoint::CatalogSku,
        Endpoint::ProvisioningStatus,
        Endpoint::Admin,
        Endpoint::Other,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Token => "token",
            Endpoint::Customers => "customers",
            Endpoint::CustomerUsage => "customer_usage",
            Endpoint::CustomerDeployment => "customer_deployment",
            Endpoint::PartnerUsage => "partner_usage",
            Endpoint::PartnerDeployment => "partner_deployment",
            Endpoint::CommercialUsage => "commercial_usage",
            Endpoint::CommercialDeployment => "commercial_deployment",
            Endpoint::Subscriptions => "subscriptions",
            Endpoint::SubscribedSkus => "subscribed_skus",
            Endpoint::CatalogSku => "catalog_sku",
            Endpoint::ProvisioningStatus => "subscription_provisioning_status",
            Endpoint::Admin => "admin",
            Endpoint::Other => "other",
        }
    }

    /// The endpoint a request path belongs to.
    pub fn of_path(path: &str) -> Endpoint {
        let path = path.trim_end_matches('/');
        if path.ends_with("/oauth2/token") || path.ends_with("/oauth2/v2.0/token") {
            Endpoint::Token
        } else if path.starts_with("/admin") {
            Endpoint::Admin
        } else if path == "/v1/customers" {
            Endpoint::Customers
        } else if path.starts_with("/v1/customers/") && path.ends_with("/provisioningstatus") {
            Endpoint::ProvisioningStatus
        } else if path.starts_with("/v1/customers/") && path.ends_with("/subscriptions") {
            Endpoint::Subscriptions
        } else if path.starts_with("/v1/customers/") && path.ends_with("/subscribedskus") {
            Endpoint::SubscribedSkus
        } else if path.starts_with("/v1/products/") && path.contains("/skus/") {
            Endpoint::CatalogSku
        } else if path.starts_with("/v1/customers/") && path.ends_with("/analytics/licenses/usage") {
            Endpoint::CustomerUsage
        } else if path.starts_with("/v1/customers/") && path.ends_with("/analytics/licenses/deployment") {
            Endpoint::CustomerDeployment
        } else if path == "/v1/analytics/licenses/usage" {
            Endpoint::PartnerUsage
        } else if path == "/v1/analytics/licenses/deployment" {
            Endpoint::PartnerDeployment
        } else if path.ends_with("/v1/analytics/commercial/usage/license") {
            Endpoint::CommercialUsage
        } else if path.ends_with("/v1/analytics/commercial/deployment/license") {
            Endpoint::CommercialDeployment
        } else {
            Endpoint::Other
        }
    }

    fn index(self) -> usize {
        Endpoint::ALL
            .iter()
            .position(|&e| e == self)
            .unwrap_or(Endpoint::ALL.len() - 1)
    }
}

/// Requests received per endpoint (every request, whatever its answer).
#[derive(Debug, Default)]
pub struct Counters {
    counts: [AtomicU64; Endpoint::ALL.len()],
}

impl Counters {
    /// Count one request.
    pub fn hit(&self, endpoint: Endpoint) {
        self.counts[endpoint.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Requests received by `endpoint` so far.
    pub fn get(&self, endpoint: Endpoint) -> u64 {
        self.counts[endpoint.index()].load(Ordering::Relaxed)
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Sim {
    pub config: SimConfig,
    pub data: DataStore,
    pub tokens: TokenStore,
    pub knobs: Knobs,
    pub clock: Clock,
    pub limiter: RateLimiter,
    pub counters: Counters,
}

impl Sim {
    /// A fresh refresh token with the configured lifetime and grace, as a one-time interactive
    /// consent would give.
    pub fn issue_refresh_token(&self) -> String {
        let c = &self.config;
        self.tokens
            .issue_refresh(self.clock.now(), c.refresh_token_ttl, c.refresh_token_grace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_rejects_the_excess_until_the_window_closes() {
        let limiter = RateLimiter::default();
        assert!(limiter.admit("t", 2, 1_000).is_ok());
        assert!(limiter.admit("t", 2, 2_000).is_ok());
        assert_eq!(limiter.admit("t", 2, 4_500), Err(57));
        assert!(limiter.admit("other", 2, 4_500).is_ok());
        assert!(limiter.admit("t", 2, 61_000).is_ok());
        assert!(limiter.admit("t", 0, 61_000).is_ok());
    }

    #[test]
    fn paths_map_to_endpoints_with_or_without_prefix_and_slash() {
        assert_eq!(
            Endpoint::of_path("/partner/v1/analytics/commercial/usage/license"),
            Endpoint::CommercialUsage
        );
        assert_eq!(
            Endpoint::of_path("/v1/analytics/commercial/deployment/license/"),
            Endpoint::CommercialDeployment
        );
        assert_eq!(
            Endpoint::of_path("/v1/customers/abc/analytics/licenses/usage"),
            Endpoint::CustomerUsage
        );
        assert_eq!(Endpoint::of_path("/t/oauth2/v2.0/token"), Endpoint::Token);
        assert_eq!(
            Endpoint::of_path("/v1/customers/c/subscriptions"),
            Endpoint::Subscriptions
        );
        assert_eq!(
            Endpoint::of_path("/v1/customers/c/subscriptions/s/provisioningstatus"),
            Endpoint::ProvisioningStatus
        );
        assert_eq!(
            Endpoint::of_path("/v1/customers/c/subscribedskus"),
            Endpoint::SubscribedSkus
        );
        assert_eq!(
            Endpoint::of_path("/v1/products/P/skus/0001"),
            Endpoint::CatalogSku
        );
        assert_eq!(Endpoint::of_path("/nope"), Endpoint::Other);
    }

    #[test]
    fn out_of_range_knobs_are_rejected_and_change_nothing() {
        let knobs = Knobs::default();
        let bad = KnobValues {
            fail_rate: Some(1.5),
            rate_limit: Some(9),
            ..Default::default()
        };
        assert!(knobs.apply(&bad).is_err());
        assert_eq!(knobs.rate_limit(), 0);
        let good = KnobValues {
            fail_rate: Some(0.5),
            latency_ms: Some(20.0),
            ..Default::default()
        };
        knobs.apply(&good).unwrap();
        assert_eq!(knobs.fail_rate(), 0.5);
        assert_eq!(knobs.latency(), Duration::from_millis(20));
    }
}
