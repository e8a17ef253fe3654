//! The Partner Center flags: which cloud and API host, the endpoints' paths, and the limits the
//! client keeps to (rate, concurrency, timeouts, retries, sizes, pages).

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::parse::{ConfigError, duration, parse_url};
use crate::client::ClientConfig;

/// Sovereign cloud presets for the Partner Center API and sign-in hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Cloud {
    /// api.partnercenter.microsoft.com / login.microsoftonline.com
    Public,
    /// api.partnercenter.microsoft.com / login.microsoftonline.us
    Usgov,
    /// partner.partnercenterapi.microsoftonline.cn / login.chinacloudapi.cn (21Vianet)
    China,
}

impl Cloud {
    /// Partner Center API base URL of this cloud.
    pub fn api_url(self) -> &'static str {
        match self {
            Cloud::Public | Cloud::Usgov => "https://api.partnercenter.microsoft.com",
            Cloud::China => "https://partner.partnercenterapi.microsoftonline.cn",
        }
    }
    /// Sign-in authority of this cloud.
    pub fn login_url(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::Usgov => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }
}

/// Flags of the Partner Center group.
#[derive(Debug, Args)]
pub struct PartnerCenterArgs {
    /// Cloud preset for the API and sign-in hosts.
    #[arg(
        long = "cloud",
        env = "PARTNERCENTER_CLOUD",
        value_enum,
        default_value = "public",
        help_heading = "Partner Center"
    )]
    pub cloud: Cloud,
    /// Partner Center API base URL [default: the --cloud preset's API host, for public: api.partnercenter.microsoft.com].
    #[arg(
        long = "partnercenter.url",
        env = "PARTNERCENTER_PARTNERCENTER_URL",
        help_heading = "Partner Center"
    )]
    pub partnercenter_url: Option<String>,
    /// Path of the commercial license usage endpoint.
    #[arg(
        long = "partnercenter.usage-path",
        env = "PARTNERCENTER_PARTNERCENTER_USAGE_PATH",
        default_value = "/partner/v1/analytics/commercial/usage/license",
        help_heading = "Partner Center"
    )]
    pub partnercenter_usage_path: String,
    /// Path of the commercial license deployment endpoint.
    #[arg(
        long = "partnercenter.deployment-path",
        env = "PARTNERCENTER_PARTNERCENTER_DEPLOYMENT_PATH",
        default_value = "/partner/v1/analytics/commercial/deployment/license",
        help_heading = "Partner Center"
    )]
    pub partnercenter_deployment_path: String,
    /// Client-side limit of requests per minute to Partner Center (documented limit: 500).
    #[arg(
        long = "partnercenter.requests-per-minute",
        env = "PARTNERCENTER_PARTNERCENTER_REQUESTS_PER_MINUTE",
        default_value_t = 450,
        help_heading = "Partner Center"
    )]
    pub partnercenter_requests_per_minute: u32,
    /// Requests to Partner Center in flight at once (also bounds the per-customer fan-out).
    #[arg(
        long = "partnercenter.concurrency",
        env = "PARTNERCENTER_PARTNERCENTER_CONCURRENCY",
        default_value_t = 8,
        help_heading = "Partner Center"
    )]
    pub partnercenter_concurrency: usize,
    /// Timeout of one request to Partner Center or the sign-in service.
    #[arg(long = "partnercenter.timeout", env = "PARTNERCENTER_PARTNERCENTER_TIMEOUT", default_value = "30s", value_parser = duration, help_heading = "Partner Center")]
    pub partnercenter_timeout: Duration,
    /// Retries of a request after 429, 5xx, timeouts and connection errors.
    #[arg(
        long = "partnercenter.max-retries",
        env = "PARTNERCENTER_PARTNERCENTER_MAX_RETRIES",
        default_value_t = 5,
        help_heading = "Partner Center"
    )]
    pub partnercenter_max_retries: u32,
    /// Longest wait between two attempts, including an honoured Retry-After.
    #[arg(long = "partnercenter.max-backoff", env = "PARTNERCENTER_PARTNERCENTER_MAX_BACKOFF", default_value = "2m", value_parser = duration, help_heading = "Partner Center")]
    pub partnercenter_max_backoff: Duration,
    /// Largest response body accepted, in bytes.
    #[arg(long = "partnercenter.max-response-bytes", env = "PARTNERCENTER_PARTNERCENTER_MAX_RESPONSE_BYTES", default_value_t = 256 * 1024 * 1024, help_heading = "Partner Center")]
    pub partnercenter_max_response_bytes: usize,
    /// Most pages followed for one listing (guards against paging loops).
    #[arg(
        long = "partnercenter.max-pages",
        env = "PARTNERCENTER_PARTNERCENTER_MAX_PAGES",
        default_value_t = 10_000,
        help_heading = "Partner Center"
    )]
    pub partnercenter_max_pages: usize,
    /// Rows per page (`top`) of the commercial endpoints; 10000 is Partner Center's maximum.
    #[arg(
        long = "partnercenter.page-size",
        env = "PARTNERCENTER_PARTNERCENTER_PAGE_SIZE",
        default_value_t = 10_000,
        help_heading = "Partner Center"
    )]
    pub partnercenter_page_size: u32,
    /// Customers per page (`size`) of /v1/customers.
    #[arg(
        long = "partnercenter.customers-page-size",
        env = "PARTNERCENTER_PARTNERCENTER_CUSTOMERS_PAGE_SIZE",
        default_value_t = 500,
        help_heading = "Partner Center"
    )]
    pub partnercenter_customers_page_size: u32,
    /// X-Locale header sent to Partner Center.
    #[arg(
        long = "partnercenter.locale",
        env = "PARTNERCENTER_PARTNERCENTER_LOCALE",
        default_value = "en-US",
        help_heading = "Partner Center"
    )]
    pub partnercenter_locale: String,
}

impl PartnerCenterArgs {
    /// The client's settings, or the flag that is wrong.
    pub fn client_config(&self) -> Result<ClientConfig, ConfigError> {
        let base = self
            .partnercenter_url
            .clone()
            .unwrap_or_else(|| self.cloud.api_url().to_owned());
        let base_url = parse_url("--partnercenter.url", &base)?;
        for (flag, path) in [
            ("--partnercenter.usage-path", &self.partnercenter_usage_path),
            (
                "--partnercenter.deployment-path",
                &self.partnercenter_deployment_path,
            ),
        ] {
            if !path.starts_with('/') {
                return Err(ConfigError::new(flag, format!("'{path}' must start with /")));
            }
        }
        let positive = [
            (
                "--partnercenter.requests-per-minute",
                self.partnercenter_requests_per_minute as usize,
            ),
            ("--partnercenter.concurrency", self.partnercenter_concurrency),
            ("--partnercenter.max-pages", self.partnercenter_max_pages),
            ("--partnercenter.page-size", self.partnercenter_page_size as usize),
            (
                "--partnercenter.customers-page-size",
                self.partnercenter_customers_page_size as usize,
            ),
            (
                "--partnercenter.max-response-bytes",
                self.partnercenter_max_response_bytes,
            ),
        ];
        for (flag, value) in positive {
            if value == 0 {
                return Err(ConfigError::new(flag, "must be greater than 0"));
            }
        }
        if self.partnercenter_page_size > 10_000 {
            return Err(ConfigError::new(
                "--partnercenter.page-size",
                "Partner Center accepts at most 10000",
            ));
        }
        let locale = &self.partnercenter_locale;
        if locale.trim().is_empty() || !locale.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
            return Err(ConfigError::new(
                "--partnercenter.locale",
                format!(
                    "{locale:?} is not a locale like en-US (it is sent as the X-Locale header: printable ASCII only)"
                ),
            ));
        }
        if self.partnercenter_timeout.is_zero() {
            return Err(ConfigError::new(
                "--partnercenter.timeout",
                "must be greater than 0",
            ));
        }
        Ok(ClientConfig {
            base_url,
            usage_path: self.partnercenter_usage_path.clone(),
            deployment_path: self.partnercenter_deployment_path.clone(),
            timeout: self.partnercenter_timeout,
            requests_per_minute: self.partnercenter_requests_per_minute,
            concurrency: self.partnercenter_concurrency,
            max_retries: self.partnercenter_max_retries,
            backoff_base: Duration::from_millis(500),
            backoff_max: self.partnercenter_max_backoff,
            max_response_bytes: self.partnercenter_max_response_bytes,
            max_pages: self.partnercenter_max_pages,
            page_size: self.partnercenter_page_size,
            customers_page_size: self.partnercenter_customers_page_size,
            locale: self.partnercenter_locale.clone(),
            application: format!("partnercenter-exporter/{}", env!("CARGO_PKG_VERSION")),
        })
    }
}
