//! The flags of the `simulate` subcommand: the simulated Partner Center's sign-in, data, paging
//! and fault knobs, sorted into the simulator's [`Settings`] by group.

use std::time::Duration;

use chrono::NaiveDate;

use crate::simulator::{
    DataConfig, KnobValues, NextLinkStyle, Paging, PercentScale, Settings, SignIn, Style, UsageSpelling,
};

/// Parse a date flag (`--processed-date`).
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("'{s}' is not a date like 2026-11-21 ({e})"))
}

/// Parse a flag from 0 to 1 (`--fail-rate`, `--latency-jitter`).
pub fn parse_unit(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("'{s}' is not a number from 0 to 1")),
    }
}

/// Flags of `partnercenter-exporter simulate` (also the simulator's configuration).
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Address to listen on.
    #[arg(
        long = "listen-address",
        env = "PARTNERCENTER_SIMULATOR_LISTEN_ADDRESS",
        default_value = "127.0.0.1:9848"
    )]
    pub listen_address: String,
    /// Seed of the synthetic partner.
    #[arg(long, env = "PARTNERCENTER_SIMULATOR_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Number of customers.
    #[arg(long, env = "PARTNERCENTER_SIMULATOR_CUSTOMERS", default_value_t = 25)]
    pub customers: usize,
    /// Lifetime of issued access tokens.
    #[arg(long = "token-ttl", env = "PARTNERCENTER_SIMULATOR_TOKEN_TTL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,
    /// How long a redeemed refresh token keeps working (the real platform does not revoke it; the
    /// simulator does, to catch clients that do not store the rotated token).
    #[arg(long = "refresh-token-grace", env = "PARTNERCENTER_SIMULATOR_REFRESH_TOKEN_GRACE", default_value = "10m", value_parser = humantime::parse_duration)]
    pub refresh_token_grace: Duration,
    /// Lifetime of an unused refresh token (90 days on the real platform).
    #[arg(long = "refresh-token-ttl", env = "PARTNERCENTER_SIMULATOR_REFRESH_TOKEN_TTL", default_value = "90days", value_parser = humantime::parse_duration)]
    pub refresh_token_ttl: Duration,
    /// Partner tenant id [default: derived from --seed].
    #[arg(long = "tenant-id", env = "PARTNERCENTER_SIMULATOR_TENANT_ID")]
    pub tenant_id: Option<String>,
    /// Application (client) id the sign-in endpoints accept [default: derived from --seed].
    #[arg(long = "client-id", env = "PARTNERCENTER_SIMULATOR_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Client secret the sign-in endpoints accept [default: derived from --seed]. A fake secret.
    #[arg(long = "client-secret", env = "PARTNERCENTER_SIMULATOR_CLIENT_SECRET")]
    pub client_secret: Option<String>,
    /// An additional refresh token to accept, e.g. one written into a compose file.
    #[arg(long = "refresh-token", env = "PARTNERCENTER_SIMULATOR_REFRESH_TOKEN")]
    pub refresh_token: Option<String>,
    /// Added to every request, spread by --latency-jitter (e.g. 50ms).
    #[arg(long, env = "PARTNERCENTER_SIMULATOR_LATENCY", default_value = "0s", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// Relative spread of --latency, 0–1 (0.25 means ±25 %).
    #[arg(long = "latency-jitter", env = "PARTNERCENTER_SIMULATOR_LATENCY_JITTER", default_value_t = 0.25, value_parser = parse_unit)]
    pub latency_jitter: f64,
    /// Partner Center requests per minute per partner tenant; the excess gets 429 with Retry-After (0: no limit).
    #[arg(
        long = "rate-limit",
        env = "PARTNERCENTER_SIMULATOR_RATE_LIMIT",
        default_value_t = 0
    )]
    pub rate_limit: u32,
    /// Share of Partner Center requests answered with a random 500 or 503, 0–1.
    #[arg(long = "fail-rate", env = "PARTNERCENTER_SIMULATOR_FAIL_RATE", default_value_t = 0.0, value_parser = parse_unit)]
    pub fail_rate: f64,
    /// Start every Partner Center body with a UTF-8 byte order mark, as the real service sometimes does.
    #[arg(long, env = "PARTNERCENTER_SIMULATOR_BOM")]
    pub bom: bool,
    /// Let the figures wander: a new deterministic step every DRIFT (alone: 1m). Off when absent.
    #[arg(long, env = "PARTNERCENTER_SIMULATOR_DRIFT", num_args = 0..=1, default_missing_value = "1m", value_parser = humantime::parse_duration)]
    pub drift: Option<Duration>,
    /// Largest page served (`top` of the commercial endpoints, `size` of /v1/customers), to force paging.
    #[arg(
        long = "page-size-cap",
        env = "PARTNERCENTER_SIMULATOR_PAGE_SIZE_CAP",
        default_value_t = 10_000
    )]
    pub page_size_cap: usize,
    /// Fixed processedDateTime date (YYYY-MM-DD) [default: yesterday, UTC].
    #[arg(long = "processed-date", env = "PARTNERCENTER_SIMULATOR_PROCESSED_DATE", value_parser = parse_date)]
    pub processed_date: Option<NaiveDate>,
    /// Name of the active-licenses field of commercial usage rows.
    #[arg(
        long = "usage-field-spelling",
        env = "PARTNERCENTER_SIMULATOR_USAGE_FIELD_SPELLING",
        value_enum,
        default_value = "licenseActive"
    )]
    pub usage_field_spelling: UsageSpelling,
    /// Scale of the legacy percent fields.
    #[arg(
        long = "percent-scale",
        env = "PARTNERCENTER_SIMULATOR_PERCENT_SCALE",
        value_enum,
        default_value = "percent"
    )]
    pub percent_scale: PercentScale,
    /// Shape of a non-null @nextLink of the commercial endpoints.
    #[arg(
        long = "next-link",
        env = "PARTNERCENTER_SIMULATOR_NEXT_LINK",
        value_enum,
        default_value = "relative"
    )]
    pub next_link: NextLinkStyle,
    /// Write a price sheet matching the simulated offers (Partner Center's new-commerce CSV layout, for --pricing.file) to FILE and exit.
    #[arg(
        long = "write-price-sheet",
        env = "PARTNERCENTER_SIMULATOR_WRITE_PRICE_SHEET",
        value_name = "FILE"
    )]
    pub write_price_sheet: Option<std::path::PathBuf>,
}

impl Default for SimulateArgs {
    fn default() -> Self {
        Self {
            listen_address: "127.0.0.1:0".into(),
            seed: 1,
            customers: 25,
            token_ttl: Duration::from_secs(3600),
            refresh_token_grace: Duration::from_secs(600),
            refresh_token_ttl: Duration::from_secs(90 * 86_400),
            tenant_id: None,
            client_id: None,
            client_secret: None,
            refresh_token: None,
            latency: Duration::ZERO,
            latency_jitter: 0.25,
            rate_limit: 0,
            fail_rate: 0.0,
            bom: false,
            drift: None,
            page_size_cap: 10_000,
            processed_date: None,
            usage_field_spelling: UsageSpelling::LicenseActive,
            percent_scale: PercentScale::Percent,
            next_link: NextLinkStyle::Relative,
            write_price_sheet: None,
        }
    }
}

impl From<SimulateArgs> for Settings {
    /// The flags sorted into groups; the simulator checks their ranges when it starts.
    fn from(args: SimulateArgs) -> Settings {
        let a = args;
        Settings {
            sign_in: SignIn {
                tenant_id: a.tenant_id,
                client_id: a.client_id,
                client_secret: a.client_secret,
                refresh_token: a.refresh_token,
                token_ttl: a.token_ttl,
                refresh_token_ttl: a.refresh_token_ttl,
                refresh_token_grace: a.refresh_token_grace,
            },
            paging: Paging {
                page_size_cap: a.page_size_cap,
                next_link: a.next_link,
            },
            data: DataConfig {
                seed: a.seed,
                customers: a.customers,
                drift: a.drift,
                processed_date: a.processed_date,
                style: Style {
                    spelling: a.usage_field_spelling,
                    percent: a.percent_scale,
                },
            },
            knobs: KnobValues {
                fail_rate: Some(a.fail_rate),
                rate_limit: Some(a.rate_limit),
                latency_ms: Some(a.latency.as_secs_f64() * 1000.0),
                latency_jitter: Some(a.latency_jitter),
                bom: Some(a.bom),
            },
        }
    }
}
