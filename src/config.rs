//! Command line and environment: every flag, its default and its `PARTNERCENTER_…` variable, and
//! the validation that turns them into a [`Config`] or one clear line naming the bad flag.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;
use url::Url;

use crate::client::{AnalyticsQuery, AuthConfig, AuthMode, ClientConfig, TokenVersion};
use crate::collector::CollectorKind;

/// Environment variable holding the client secret, as an alternative to `--auth.client-secret-file`.
pub const ENV_CLIENT_SECRET: &str = "PARTNERCENTER_AUTH_CLIENT_SECRET";
/// Environment variable holding the refresh token, as an alternative to `--auth.refresh-token-file`.
pub const ENV_REFRESH_TOKEN: &str = "PARTNERCENTER_AUTH_REFRESH_TOKEN";
/// Environment variable holding a bearer token, as an alternative to `--auth.access-token-file`.
pub const ENV_ACCESS_TOKEN: &str = "PARTNERCENTER_AUTH_ACCESS_TOKEN";

/// Prometheus exporter for Microsoft Partner Center license analytics.
#[derive(Debug, Parser)]
#[command(name = "partnercenter-exporter", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub exporter: ExporterArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a simulated Partner Center (sign-in, customers, license analytics) for demos and tests.
    Simulate(crate::simulator::SimulateArgs),
}

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

/// When collection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CollectorMode {
    /// A background loop refreshes every `--collector.interval`; scrapes serve the last snapshot.
    Interval,
    /// A scrape starts a run when the snapshot is older than `--collector.min-interval`.
    Scrape,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("'{s}' is not a duration like 90s or 1h30m ({e})"))
}

/// All flags of the exporter itself. Every flag has an environment variable:
/// `PARTNERCENTER_` + the flag name upper-cased with `.` and `-` turned into `_`.
#[derive(Debug, Args)]
pub struct ExporterArgs {
    // ----- Web -----
    /// Address to serve /metrics, /-/healthy, /-/ready and the landing page on.
    #[arg(
        long = "web.listen-address",
        env = "PARTNERCENTER_WEB_LISTEN_ADDRESS",
        default_value = ":9847",
        help_heading = "Web"
    )]
    pub web_listen_address: String,
    /// Path under which metrics are served.
    #[arg(
        long = "web.telemetry-path",
        env = "PARTNERCENTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics",
        help_heading = "Web"
    )]
    pub web_telemetry_path: String,

    // ----- Partner Center -----
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

    // ----- Authentication -----
    /// app-user: refresh-token grant (required by the license endpoints); app-only: client credentials; token: a bearer token from a file.
    #[arg(
        long = "auth.mode",
        env = "PARTNERCENTER_AUTH_MODE",
        value_enum,
        default_value = "app-user",
        help_heading = "Authentication"
    )]
    pub auth_mode: AuthMode,
    /// The partner's Entra tenant id (or domain), substituted for {tenant} in --auth.token-url.
    #[arg(
        long = "auth.tenant-id",
        env = "PARTNERCENTER_AUTH_TENANT_ID",
        help_heading = "Authentication"
    )]
    pub auth_tenant_id: Option<String>,
    /// Application (client) id of the Entra app registration.
    #[arg(
        long = "auth.client-id",
        env = "PARTNERCENTER_AUTH_CLIENT_ID",
        help_heading = "Authentication"
    )]
    pub auth_client_id: Option<String>,
    /// File holding the client secret (or set PARTNERCENTER_AUTH_CLIENT_SECRET).
    #[arg(
        long = "auth.client-secret-file",
        env = "PARTNERCENTER_AUTH_CLIENT_SECRET_FILE",
        help_heading = "Authentication"
    )]
    pub auth_client_secret_file: Option<PathBuf>,
    /// File holding the refresh token; rotated tokens are written back to it (or set PARTNERCENTER_AUTH_REFRESH_TOKEN, not persisted).
    #[arg(
        long = "auth.refresh-token-file",
        env = "PARTNERCENTER_AUTH_REFRESH_TOKEN_FILE",
        help_heading = "Authentication"
    )]
    pub auth_refresh_token_file: Option<PathBuf>,
    /// For --auth.mode=token: file holding the bearer token, re-read when it changes (or set PARTNERCENTER_AUTH_ACCESS_TOKEN).
    #[arg(
        long = "auth.access-token-file",
        env = "PARTNERCENTER_AUTH_ACCESS_TOKEN_FILE",
        help_heading = "Authentication"
    )]
    pub auth_access_token_file: Option<PathBuf>,
    /// Token URL; {tenant} is replaced by --auth.tenant-id [default: the --cloud preset's login host + /{tenant}/oauth2/token, or /oauth2/v2.0/token for v2].
    #[arg(
        long = "auth.token-url",
        env = "PARTNERCENTER_AUTH_TOKEN_URL",
        help_heading = "Authentication"
    )]
    pub auth_token_url: Option<String>,
    /// v1: resource= (documented by Partner Center); v2: scope=.
    #[arg(
        long = "auth.token-version",
        env = "PARTNERCENTER_AUTH_TOKEN_VERSION",
        value_enum,
        default_value = "v1",
        help_heading = "Authentication"
    )]
    pub auth_token_version: TokenVersion,
    /// v1 resource [default: the Partner Center base URL of --cloud].
    #[arg(
        long = "auth.resource",
        env = "PARTNERCENTER_AUTH_RESOURCE",
        help_heading = "Authentication"
    )]
    pub auth_resource: Option<String>,
    /// v2 scope [default: RESOURCE/user_impersonation offline_access; RESOURCE/.default for app-only].
    #[arg(
        long = "auth.scope",
        env = "PARTNERCENTER_AUTH_SCOPE",
        help_heading = "Authentication"
    )]
    pub auth_scope: Option<String>,
    /// Renew the access token this long before it expires.
    #[arg(long = "auth.refresh-margin", env = "PARTNERCENTER_AUTH_REFRESH_MARGIN", default_value = "5m", value_parser = duration, help_heading = "Authentication")]
    pub auth_refresh_margin: Duration,

    // ----- Collectors -----
    /// Commercial license usage (customer × product × workload). Off: --no-collector.usage.
    #[arg(long = "collector.usage", env = "PARTNERCENTER_COLLECTOR_USAGE", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "true", value_name = "BOOL", overrides_with = "no_collector_usage", help_heading = "Collectors")]
    pub collector_usage: bool,
    #[arg(long = "no-collector.usage", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_usage: bool,
    /// Commercial license deployment (customer × product). Off: --no-collector.deployment.
    #[arg(long = "collector.deployment", env = "PARTNERCENTER_COLLECTOR_DEPLOYMENT", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "true", value_name = "BOOL", overrides_with = "no_collector_deployment", help_heading = "Collectors")]
    pub collector_deployment: bool,
    #[arg(long = "no-collector.deployment", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_deployment: bool,
    /// Partner-level deployment per service (legacy endpoint). Off: --no-collector.partner-deployment.
    #[arg(long = "collector.partner-deployment", env = "PARTNERCENTER_COLLECTOR_PARTNER_DEPLOYMENT", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "true", value_name = "BOOL", overrides_with = "no_collector_partner_deployment", help_heading = "Collectors")]
    pub collector_partner_deployment: bool,
    #[arg(long = "no-collector.partner-deployment", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_partner_deployment: bool,
    /// Partner-level usage per service and workload (legacy endpoint). Off: --no-collector.partner-usage.
    #[arg(long = "collector.partner-usage", env = "PARTNERCENTER_COLLECTOR_PARTNER_USAGE", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "false", value_name = "BOOL", overrides_with = "no_collector_partner_usage", help_heading = "Collectors")]
    pub collector_partner_usage: bool,
    #[arg(long = "no-collector.partner-usage", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_partner_usage: bool,
    /// Per-customer usage over /v1/customers (legacy alternative to --collector.usage). Off: --no-collector.customer-usage.
    #[arg(long = "collector.customer-usage", env = "PARTNERCENTER_COLLECTOR_CUSTOMER_USAGE", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "false", value_name = "BOOL", overrides_with = "no_collector_customer_usage", help_heading = "Collectors")]
    pub collector_customer_usage: bool,
    #[arg(long = "no-collector.customer-usage", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_customer_usage: bool,
    /// Per-customer deployment over /v1/customers (legacy alternative to --collector.deployment). Off: --no-collector.customer-deployment.
    #[arg(long = "collector.customer-deployment", env = "PARTNERCENTER_COLLECTOR_CUSTOMER_DEPLOYMENT", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "false", value_name = "BOOL", overrides_with = "no_collector_customer_deployment", help_heading = "Collectors")]
    pub collector_customer_deployment: bool,
    #[arg(long = "no-collector.customer-deployment", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_customer_deployment: bool,

    /// `filter` passed to the usage endpoint, e.g. "workloadCode eq 'EXO'".
    #[arg(
        long = "collector.usage.filter",
        env = "PARTNERCENTER_COLLECTOR_USAGE_FILTER",
        help_heading = "Collectors"
    )]
    pub collector_usage_filter: Option<String>,
    /// `groupby` passed to the usage endpoint.
    #[arg(
        long = "collector.usage.groupby",
        env = "PARTNERCENTER_COLLECTOR_USAGE_GROUPBY",
        help_heading = "Collectors"
    )]
    pub collector_usage_groupby: Option<String>,
    /// `processedDateTime` passed to the usage endpoint (default: the latest data).
    #[arg(
        long = "collector.usage.processed-date-time",
        env = "PARTNERCENTER_COLLECTOR_USAGE_PROCESSED_DATE_TIME",
        help_heading = "Collectors"
    )]
    pub collector_usage_processed_date_time: Option<String>,
    /// `filter` passed to the deployment endpoint, e.g. "serviceCode eq 'O365'".
    #[arg(
        long = "collector.deployment.filter",
        env = "PARTNERCENTER_COLLECTOR_DEPLOYMENT_FILTER",
        help_heading = "Collectors"
    )]
    pub collector_deployment_filter: Option<String>,
    /// `groupby` passed to the deployment endpoint.
    #[arg(
        long = "collector.deployment.groupby",
        env = "PARTNERCENTER_COLLECTOR_DEPLOYMENT_GROUPBY",
        help_heading = "Collectors"
    )]
    pub collector_deployment_groupby: Option<String>,
    /// `processedDateTime` passed to the deployment endpoint (default: the latest data).
    #[arg(
        long = "collector.deployment.processed-date-time",
        env = "PARTNERCENTER_COLLECTOR_DEPLOYMENT_PROCESSED_DATE_TIME",
        help_heading = "Collectors"
    )]
    pub collector_deployment_processed_date_time: Option<String>,

    // ----- Collection -----
    /// interval: refresh in the background; scrape: refresh when a scrape finds the data older than --collector.min-interval.
    #[arg(
        long = "collector.mode",
        env = "PARTNERCENTER_COLLECTOR_MODE",
        value_enum,
        default_value = "interval",
        help_heading = "Collection"
    )]
    pub collector_mode: CollectorMode,
    /// Time between two collection runs in interval mode.
    #[arg(long = "collector.interval", env = "PARTNERCENTER_COLLECTOR_INTERVAL", default_value = "1h", value_parser = duration, help_heading = "Collection")]
    pub collector_interval: Duration,
    /// In scrape mode, the youngest data that a scrape refreshes.
    #[arg(long = "collector.min-interval", env = "PARTNERCENTER_COLLECTOR_MIN_INTERVAL", default_value = "5m", value_parser = duration, help_heading = "Collection")]
    pub collector_min_interval: Duration,
    /// Data of a collector whose last success is older than this is dropped rather than shown as current.
    #[arg(long = "collector.max-age", env = "PARTNERCENTER_COLLECTOR_MAX_AGE", default_value = "25h", value_parser = duration, help_heading = "Collection")]
    pub collector_max_age: Duration,
    /// Deadline of one whole collection run.
    #[arg(long = "collector.timeout", env = "PARTNERCENTER_COLLECTOR_TIMEOUT", default_value = "30m", value_parser = duration, help_heading = "Collection")]
    pub collector_timeout: Duration,

    // ----- Run -----
    /// Collect once, print the exposition to stdout and exit (non-zero if a collector failed).
    #[arg(long = "once", env = "PARTNERCENTER_ONCE", help_heading = "Run")]
    pub once: bool,
    /// Run against a built-in simulated Partner Center; no credentials needed.
    #[arg(long = "demo", env = "PARTNERCENTER_DEMO", help_heading = "Run")]
    pub demo: bool,
    /// Customers of the simulated partner in --demo mode.
    #[arg(
        long = "demo.customers",
        env = "PARTNERCENTER_DEMO_CUSTOMERS",
        default_value_t = 25,
        help_heading = "Run"
    )]
    pub demo_customers: usize,

    // ----- Logging -----
    /// Log level (error, warn, info, debug, trace) or a tracing filter directive.
    #[arg(
        long = "log.level",
        env = "PARTNERCENTER_LOG_LEVEL",
        default_value = "info",
        help_heading = "Logging"
    )]
    pub log_level: String,
    /// Log format.
    #[arg(
        long = "log.format",
        env = "PARTNERCENTER_LOG_FORMAT",
        value_enum,
        default_value = "text",
        help_heading = "Logging"
    )]
    pub log_format: LogFormat,
}

/// A configuration error: the flag and what is wrong, printed as one line at start (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct ConfigError {
    pub flag: &'static str,
    pub message: String,
}

impl ConfigError {
    fn new(flag: &'static str, message: impl Into<String>) -> Self {
        Self {
            flag,
            message: message.into(),
        }
    }
}

/// Everything the collectors need to know.
#[derive(Debug, Clone)]
pub struct CollectionConfig {
    pub enabled: Vec<CollectorKind>,
    pub mode: CollectorMode,
    pub interval: Duration,
    pub min_interval: Duration,
    pub max_age: Duration,
    pub timeout: Duration,
    pub usage_query: AnalyticsQuery,
    pub deployment_query: AnalyticsQuery,
    /// Customers fetched at once in the per-customer fan-out.
    pub fanout_concurrency: usize,
}

/// The validated configuration of the exporter.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen_address: SocketAddr,
    pub telemetry_path: String,
    pub client: ClientConfig,
    pub auth: AuthConfig,
    pub collection: CollectionConfig,
    pub once: bool,
    /// Shown on the landing page and in logs when the upstream is the built-in simulator.
    pub simulated: bool,
}

/// Parse `:9847`, `0.0.0.0:9847`, `[::]:9847` or `localhost:9847`.
pub fn parse_listen_address(s: &str) -> Result<SocketAddr, String> {
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.replace("localhost:", "127.0.0.1:")
    };
    full.parse()
        .map_err(|_| format!("'{s}' is not an address like :9847 or 127.0.0.1:9847"))
}

fn parse_url(flag: &'static str, s: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(s).map_err(|e| ConfigError::new(flag, format!("'{s}' is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(
            flag,
            format!("'{s}' must be an http(s) URL with a host"),
        ));
    }
    Ok(url)
}

/// Read a secret file: trimmed, non-empty, or an error naming the flag and the path.
pub fn read_secret_file(flag: &'static str, path: &Path) -> Result<SecretString, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(flag, format!("cannot read {}: {e}", path.display())))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ConfigError::new(flag, format!("{} is empty", path.display())));
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

fn env_secret(name: &str) -> Option<SecretString> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
}

fn required(flag: &'static str, value: &Option<String>, why: &str) -> Result<String, ConfigError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(ConfigError::new(
            flag,
            format!("required {why} (or set {})", env_name(flag)),
        )),
    }
}

/// `--auth.client-id` → `PARTNERCENTER_AUTH_CLIENT_ID`.
pub fn env_name(flag: &str) -> String {
    let mut name = String::from("PARTNERCENTER_");
    name.extend(flag.trim_start_matches('-').chars().map(|c| match c {
        '.' | '-' => '_',
        c => c.to_ascii_uppercase(),
    }));
    name
}

impl ExporterArgs {
    /// The enabled collectors, after `--collector.X` / `--no-collector.X`.
    pub fn enabled_collectors(&self) -> Vec<CollectorKind> {
        let pairs = [
            (
                CollectorKind::Usage,
                self.collector_usage && !self.no_collector_usage,
            ),
            (
                CollectorKind::Deployment,
                self.collector_deployment && !self.no_collector_deployment,
            ),
            (
                CollectorKind::PartnerDeployment,
                self.collector_partner_deployment && !self.no_collector_partner_deployment,
            ),
            (
                CollectorKind::PartnerUsage,
                self.collector_partner_usage && !self.no_collector_partner_usage,
            ),
            (
                CollectorKind::CustomerUsage,
                self.collector_customer_usage && !self.no_collector_customer_usage,
            ),
            (
                CollectorKind::CustomerDeployment,
                self.collector_customer_deployment && !self.no_collector_customer_deployment,
            ),
        ];
        pairs
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(kind, _)| kind)
            .collect()
    }

    fn client_config(&self) -> Result<ClientConfig, ConfigError> {
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

    fn auth_config(&self, client: &ClientConfig) -> Result<AuthConfig, ConfigError> {
        let mode = self.auth_mode;
        let resource = self
            .auth_resource
            .clone()
            .unwrap_or_else(|| client.base_url.as_str().trim_end_matches('/').to_owned());
        let scope = self.auth_scope.clone().unwrap_or_else(|| match mode {
            AuthMode::AppOnly => format!("{resource}/.default"),
            _ => format!("{resource}/user_impersonation offline_access"),
        });
        let mut config = AuthConfig {
            mode,
            version: self.auth_token_version,
            token_url: parse_url("--auth.token-url", "http://unused.invalid")?,
            client_id: String::new(),
            client_secret: None,
            resource,
            scope,
            refresh_token: None,
            refresh_token_file: None,
            access_token_file: None,
            access_token: None,
            refresh_margin: self.auth_refresh_margin,
            timeout: self.partnercenter_timeout,
        };
        if mode == AuthMode::Token {
            config.access_token_file = self.auth_access_token_file.clone();
            match &self.auth_access_token_file {
                Some(path) => {
                    read_secret_file("--auth.access-token-file", path)?;
                }
                None => {
                    if env_secret(ENV_ACCESS_TOKEN).is_none() {
                        return Err(ConfigError::new(
                            "--auth.access-token-file",
                            format!("required for --auth.mode=token (or set {ENV_ACCESS_TOKEN})"),
                        ));
                    }
                    config.access_token = env_secret(ENV_ACCESS_TOKEN);
                }
            }
            return Ok(config);
        }
        let why = match mode {
            AuthMode::AppUser => "for --auth.mode=app-user",
            _ => "for --auth.mode=app-only",
        };
        let tenant = required("--auth.tenant-id", &self.auth_tenant_id, why)?;
        config.client_id = required("--auth.client-id", &self.auth_client_id, why)?;
        config.client_secret = Some(match &self.auth_client_secret_file {
            Some(path) => read_secret_file("--auth.client-secret-file", path)?,
            None => env_secret(ENV_CLIENT_SECRET).ok_or_else(|| {
                ConfigError::new(
                    "--auth.client-secret-file",
                    format!("required {why} (or set {ENV_CLIENT_SECRET})"),
                )
            })?,
        });
        if mode == AuthMode::AppUser {
            match &self.auth_refresh_token_file {
                Some(path) => {
                    config.refresh_token = Some(read_secret_file("--auth.refresh-token-file", path)?);
                    config.refresh_token_file = Some(path.clone());
                }
                None => {
                    config.refresh_token = Some(env_secret(ENV_REFRESH_TOKEN).ok_or_else(|| {
                        ConfigError::new(
                            "--auth.refresh-token-file",
                            format!("required for --auth.mode=app-user (or set {ENV_REFRESH_TOKEN}); see the README for how to obtain one"),
                        )
                    })?);
                }
            }
        }
        let template = self.auth_token_url.clone().unwrap_or_else(|| {
            let path = match self.auth_token_version {
                TokenVersion::V1 => "oauth2/token",
                TokenVersion::V2 => "oauth2/v2.0/token",
            };
            format!("{}/{{tenant}}/{path}", self.cloud.login_url())
        });
        let token_url = template.replace("{tenant}", &tenant);
        config.token_url = parse_url("--auth.token-url", &token_url)?;
        Ok(config)
    }

    /// Validate everything into a [`Config`].
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let listen_address = parse_listen_address(&self.web_listen_address)
            .map_err(|m| ConfigError::new("--web.listen-address", m))?;
        if !self.web_telemetry_path.starts_with('/') || self.web_telemetry_path == "/" {
            return Err(ConfigError::new(
                "--web.telemetry-path",
                "must start with / and not be / itself",
            ));
        }
        let enabled = self.enabled_collectors();
        if enabled.is_empty() {
            return Err(ConfigError::new(
                "--collector.*",
                "every collector is disabled; enable at least one",
            ));
        }
        for (a, b, flag) in [
            (
                CollectorKind::Usage,
                CollectorKind::CustomerUsage,
                "--collector.customer-usage",
            ),
            (
                CollectorKind::Deployment,
                CollectorKind::CustomerDeployment,
                "--collector.customer-deployment",
            ),
        ] {
            if enabled.contains(&a) && enabled.contains(&b) {
                return Err(ConfigError::new(
                    flag,
                    format!(
                        "feeds the same metrics as --collector.{}; enable one of the two (add --no-collector.{})",
                        a.name(),
                        a.name()
                    ),
                ));
            }
        }
        let durations = [
            ("--collector.interval", self.collector_interval),
            ("--collector.min-interval", self.collector_min_interval),
            ("--collector.max-age", self.collector_max_age),
            ("--collector.timeout", self.collector_timeout),
        ];
        for (flag, d) in durations {
            if d.is_zero() {
                return Err(ConfigError::new(flag, "must be greater than 0"));
            }
        }
        let client = self.client_config()?;
        let auth = self.auth_config(&client)?;
        let query =
            |filter: &Option<String>, groupby: &Option<String>, processed: &Option<String>| AnalyticsQuery {
                filter: filter.clone().filter(|s| !s.is_empty()),
                groupby: groupby.clone().filter(|s| !s.is_empty()),
                processed_date_time: processed.clone().filter(|s| !s.is_empty()),
            };
        let collection = CollectionConfig {
            enabled,
            mode: self.collector_mode,
            interval: self.collector_interval,
            min_interval: self.collector_min_interval,
            max_age: self.collector_max_age,
            timeout: self.collector_timeout,
            usage_query: query(
                &self.collector_usage_filter,
                &self.collector_usage_groupby,
                &self.collector_usage_processed_date_time,
            ),
            deployment_query: query(
                &self.collector_deployment_filter,
                &self.collector_deployment_groupby,
                &self.collector_deployment_processed_date_time,
            ),
            fanout_concurrency: client.concurrency,
        };
        Ok(Config {
            listen_address,
            telemetry_path: self.web_telemetry_path,
            client,
            auth,
            collection,
            once: self.once,
            simulated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut full = vec!["partnercenter-exporter"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full)
            .expect("flags parse")
            .exporter
            .into_config()
    }

    #[test]
    fn env_names_follow_the_flag_names() {
        assert_eq!(env_name("--auth.client-id"), "PARTNERCENTER_AUTH_CLIENT_ID");
        assert_eq!(
            env_name("--collector.usage.processed-date-time"),
            "PARTNERCENTER_COLLECTOR_USAGE_PROCESSED_DATE_TIME"
        );
    }

    #[test]
    fn every_flag_has_the_environment_variable_derived_from_its_name() {
        use clap::CommandFactory;
        let command = Cli::command();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if long.starts_with("no-collector.") || matches!(long, "help" | "version") {
                continue;
            }
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            assert_eq!(env, Some(env_name(long)), "flag --{long}");
        }
    }

    #[test]
    fn the_readme_documents_every_flag_with_its_environment_variable() {
        use clap::CommandFactory;
        let readme = include_str!("../README.md");
        let command = Cli::command();
        let simulate = command
            .find_subcommand("simulate")
            .expect("the simulate subcommand exists");
        for arg in command.get_arguments().chain(simulate.get_arguments()) {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            assert!(readme.contains(&format!("`--{long}`")), "README lacks --{long}");
            if let Some(env) = arg.get_env() {
                let env = env.to_string_lossy();
                assert!(readme.contains(&format!("`{env}`")), "README lacks {env}");
            }
        }
    }

    #[test]
    fn listen_address_accepts_the_port_only_form() {
        assert_eq!(parse_listen_address(":9847").unwrap().port(), 9847);
        assert!(parse_listen_address("localhost:1").unwrap().ip().is_loopback());
        assert!(parse_listen_address("nonsense").is_err());
    }

    #[test]
    fn missing_credentials_name_the_flag() {
        let err = parse(&[]).unwrap_err();
        assert_eq!(err.flag, "--auth.tenant-id");
    }

    #[test]
    fn unreadable_secret_file_names_the_flag_and_the_path() {
        let err = parse(&[
            "--auth.tenant-id=t",
            "--auth.client-id=c",
            "--auth.client-secret-file=/nonexistent/secret",
        ])
        .unwrap_err();
        assert_eq!(err.flag, "--auth.client-secret-file");
        assert!(err.message.contains("/nonexistent/secret"), "{err}");
    }

    #[test]
    fn enabling_both_usage_collectors_is_an_error() {
        let err = parse(&["--collector.customer-usage"]).unwrap_err();
        assert_eq!(err.flag, "--collector.customer-usage");
        assert!(err.message.contains("--no-collector.usage"), "{err}");
    }

    #[test]
    fn no_collector_flags_switch_collectors_off() {
        let cli = Cli::try_parse_from(["x", "--no-collector.usage", "--collector.customer-usage"]).unwrap();
        let enabled = cli.exporter.enabled_collectors();
        assert!(!enabled.contains(&CollectorKind::Usage));
        assert!(enabled.contains(&CollectorKind::CustomerUsage));
        assert!(enabled.contains(&CollectorKind::Deployment));
    }

    #[test]
    fn bad_durations_are_rejected_by_the_parser() {
        let err = Cli::try_parse_from(["x", "--collector.interval=soon"]).unwrap_err();
        assert!(err.to_string().contains("--collector.interval"), "{err}");
    }

    #[test]
    fn valid_app_user_configuration_substitutes_the_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        let refresh = dir.path().join("refresh");
        std::fs::write(&secret, "s3cret\n").unwrap();
        std::fs::write(&refresh, "r3fresh\n").unwrap();
        let config = parse(&[
            "--auth.tenant-id=contoso.onmicrosoft.com",
            "--auth.client-id=app",
            &format!("--auth.client-secret-file={}", secret.display()),
            &format!("--auth.refresh-token-file={}", refresh.display()),
        ])
        .unwrap();
        assert_eq!(
            config.auth.token_url.as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token"
        );
        assert_eq!(config.auth.resource, "https://api.partnercenter.microsoft.com");
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(!format!("{config:?}").contains("r3fresh"));
    }
}
