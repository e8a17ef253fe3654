//! The Partner Center client: authentication, HTTP, paging, retries and tolerant decoding.
//!
//! It returns plain [`crate::model`] rows and reports what it does through [`ApiObserver`], so no
//! Prometheus type enters this module.
//!
//! INTERFACE STUB: the bodies are being written; the signatures are the contract.

pub mod auth;
#[allow(dead_code)] // wired up by the next commit
mod paging;
#[allow(dead_code)]
mod retry;
#[allow(dead_code)]
mod wire;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{Customer, DeploymentRow, PartnerDeploymentRow, PartnerUsageRow, UsageRow};

pub use auth::{AuthConfig, AuthError, AuthMode, TokenSource, TokenVersion};

/// Endpoint names, used as the `endpoint` label of the API metrics and in error messages.
pub mod endpoint {
    pub const COMMERCIAL_USAGE: &str = "commercial_usage";
    pub const COMMERCIAL_DEPLOYMENT: &str = "commercial_deployment";
    pub const PARTNER_DEPLOYMENT: &str = "partner_deployment";
    pub const PARTNER_USAGE: &str = "partner_usage";
    pub const CUSTOMERS: &str = "customers";
    pub const CUSTOMER_USAGE: &str = "customer_usage";
    pub const CUSTOMER_DEPLOYMENT: &str = "customer_deployment";
    pub const TOKEN: &str = "token";
}

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
}

/// An observer that ignores everything.
pub struct NoopObserver;
impl ApiObserver for NoopObserver {}

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

/// Optional parameters of the commercial endpoints, passed through as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalyticsQuery {
    pub filter: Option<String>,
    pub groupby: Option<String>,
    pub processed_date_time: Option<String>,
}

/// Everything that can go wrong talking to Partner Center.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("stub")]
    Stub,
}

/// The Partner Center client. Cheap to clone; clones share the token, rate and concurrency limits.
#[derive(Clone)]
pub struct PartnerCenterClient {
    _config: Arc<ClientConfig>,
}

impl PartnerCenterClient {
    pub fn new(
        _config: ClientConfig,
        _tokens: Arc<TokenSource>,
        _observer: Arc<dyn ApiObserver>,
    ) -> Result<Self, ClientError> {
        unimplemented!("stub")
    }

    /// All rows of `GET {usage_path}`, following `@nextLink`/`skip` to the end.
    pub async fn commercial_usage(&self, _query: &AnalyticsQuery) -> Result<Vec<UsageRow>, ClientError> {
        unimplemented!("stub")
    }

    /// All rows of `GET {deployment_path}`, following `@nextLink`/`skip` to the end.
    pub async fn commercial_deployment(
        &self,
        _query: &AnalyticsQuery,
    ) -> Result<Vec<DeploymentRow>, ClientError> {
        unimplemented!("stub")
    }

    /// `GET /v1/analytics/licenses/deployment`.
    pub async fn partner_deployment(&self) -> Result<Vec<PartnerDeploymentRow>, ClientError> {
        unimplemented!("stub")
    }

    /// `GET /v1/analytics/licenses/usage`.
    pub async fn partner_usage(&self) -> Result<Vec<PartnerUsageRow>, ClientError> {
        unimplemented!("stub")
    }

    /// Every customer of `GET /v1/customers`, following `links.next` + `MS-ContinuationToken`.
    pub async fn customers(&self) -> Result<Vec<Customer>, ClientError> {
        unimplemented!("stub")
    }

    /// `GET /v1/customers/{id}/analytics/licenses/usage`; rows carry `customer_tenant_id = id`.
    pub async fn customer_usage(&self, _customer_id: &str) -> Result<Vec<UsageRow>, ClientError> {
        unimplemented!("stub")
    }

    /// `GET /v1/customers/{id}/analytics/licenses/deployment`; rows carry `customer_tenant_id = id`.
    pub async fn customer_deployment(&self, _customer_id: &str) -> Result<Vec<DeploymentRow>, ClientError> {
        unimplemented!("stub")
    }
}
