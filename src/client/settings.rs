//! How the client talks to Partner Center ([`ClientConfig`]) and the optional parameters of the
//! commercial endpoints ([`AnalyticsQuery`]).

use std::time::Duration;

/// How the client talks to Partner Center.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL, e.g. `https://api.partnercenter.microsoft.com` (no trailing slash needed).
    pub base_url: url::Url,
    /// Path of the commercial usage endpoint (the docs disagree about the `/partner` prefix).
    pub usage_path: String,
    /// Path of the commercial deployment endpoint.
    pub deployment_path: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Client-side rate limit over all requests to Partner Center.
    pub requests_per_minute: u32,
    /// Client-side limit of requests to the Subscription resource (subscriptions and their
    /// provisioning status), on top of `requests_per_minute`; 0 = none of its own.
    pub subscription_requests_per_minute: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Retries after the first attempt for retryable failures.
    pub max_retries: u32,
    /// First backoff delay; doubled each retry, with jitter.
    pub backoff_base: Duration,
    /// Upper bound of a backoff delay and of an honoured `Retry-After`.
    pub backoff_max: Duration,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: usize,
    /// Most pages followed for one listing.
    pub max_pages: usize,
    /// `top` for the commercial endpoints (Partner Center's maximum is 10000).
    pub page_size: u32,
    /// `size` for `/v1/customers`.
    pub customers_page_size: u32,
    /// `X-Locale` header.
    pub locale: String,
    /// `MS-PartnerCenter-Application` header.
    pub application: String,
}

/// Optional parameters of the commercial endpoints, passed through as given (URL-encoded).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalyticsQuery {
    /// `filter`, e.g. `customerTenantId eq '…'`.
    pub filter: Option<String>,
    /// `groupby`, e.g. `customerTenantId,productId`.
    pub groupby: Option<String>,
    /// `processedDateTime`; Partner Center defaults to the latest processed day.
    pub processed_date_time: Option<String>,
}
