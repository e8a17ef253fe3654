//! The exporter's own metrics (health of the collectors, API traffic, tokens, build and process),
//! kept in a `prometheus` registry and encoded on every scrape. They are few, so encoding them per
//! scrape is cheap; the large data part is encoded once per snapshot in [`crate::render`].
//! `process` has the standard `process_*` metrics.

mod process;

use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus::{Encoder, GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::client::{ApiObserver, endpoint};
use crate::collector::CollectorKind;

pub use process::mark_start;

/// The exporter's version, git revision and build date, as `--version` and
/// `partnercenter_build_info` show them (from `build.rs`).
pub mod build {
    /// The crate version.
    pub const VERSION: &str = env!("CARGO_PKG_VERSION");
    /// The git revision built, or "unknown".
    pub const REVISION: &str = env!("PARTNERCENTER_REVISION");
    /// The date of the commit built (or `PARTNERCENTER_BUILD_DATE`), or "unknown".
    pub const DATE: &str = env!("PARTNERCENTER_BUILD_DATE");
    /// The version of the Rust compiler.
    pub const RUST_VERSION: &str = env!("PARTNERCENTER_RUST_VERSION");
    /// What `--version` prints after the program name.
    pub const LONG_VERSION: &str = concat!(
        env!("CARGO_PKG_VERSION"),
        " (revision ",
        env!("PARTNERCENTER_REVISION"),
        ", built ",
        env!("PARTNERCENTER_BUILD_DATE"),
        ", rustc ",
        env!("PARTNERCENTER_RUST_VERSION"),
        ")"
    );
}

/// Every `endpoint` label value of the API metrics.
const ENDPOINTS: [&str; 8] = [
    endpoint::COMMERCIAL_USAGE,
    endpoint::COMMERCIAL_DEPLOYMENT,
    endpoint::PARTNER_DEPLOYMENT,
    endpoint::PARTNER_USAGE,
    endpoint::CUSTOMERS,
    endpoint::CUSTOMER_USAGE,
    endpoint::CUSTOMER_DEPLOYMENT,
    endpoint::TOKEN,
];
/// Every `reason` label value of `partnercenter_api_retries_total`.
const RETRY_REASONS: [&str; 5] = ["429", "5xx", "timeout", "connection", "401"];
/// Every `result` label value of the token-renewal metrics.
const REFRESH_RESULTS: [&str; 4] = ["success", "invalid_grant", "mfa_required", "error"];

/// Why building the registry failed (only on a programming error in a metric definition).
#[derive(Debug, thiserror::Error)]
#[error("cannot register the exporter's own metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// Self-metrics of the exporter.
pub struct ExporterMetrics {
    registry: Registry,
    collector_success: IntGaugeVec,
    collector_duration: GaugeVec,
    collector_last_success: GaugeVec,
    collector_rows: IntGaugeVec,
    collector_rows_dropped: IntGaugeVec,
    collector_customer_errors: IntGaugeVec,
    data_processed: GaugeVec,
    api_requests: IntCounterVec,
    api_retries: IntCounterVec,
    token_refreshes: IntCounterVec,
    token_refresh_status: IntGaugeVec,
    refresh_token_rotated: prometheus::Gauge,
    pricing_prices: prometheus::IntGauge,
    refresh_token_write_errors: prometheus::IntCounter,
    storage_write_errors: IntCounterVec,
    log_lines_lost: prometheus::IntCounter,
    /// Serialises the catch-up of `log_lines_lost` by concurrent scrapes.
    log_lines_sync: std::sync::Mutex<()>,
    process: process::ProcessMetrics,
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<GaugeVec, MetricsError> {
    let vec = GaugeVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(vec.clone()))?;
    Ok(vec)
}

fn int_gauge_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntGaugeVec, MetricsError> {
    let vec = IntGaugeVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(vec.clone()))?;
    Ok(vec)
}

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, MetricsError> {
    let vec = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(vec.clone()))?;
    Ok(vec)
}

impl ExporterMetrics {
    /// Register every self-metric. `enabled` collectors, each with its interval, get their health
    /// series from the start (success 0 until the first run), so alerts see them before the first
    /// run finishes; every known label set of the counters starts at 0, so rates and panels show 0
    /// rather than nothing.
    pub fn new(enabled: &[(CollectorKind, Duration)]) -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let metrics = Self {
            collector_success: int_gauge_vec(
                &registry,
                "partnercenter_collector_success",
                "1 if the collector's last run succeeded, 0 if it failed or has not run yet.",
                &["collector"],
            )?,
            collector_duration: gauge_vec(
                &registry,
                "partnercenter_collector_duration_seconds",
                "Duration of the collector's last run.",
                &["collector"],
            )?,
            collector_last_success: gauge_vec(
                &registry,
                "partnercenter_collector_last_success_timestamp_seconds",
                "Unix time of the collector's last successful run.",
                &["collector"],
            )?,
            collector_rows: int_gauge_vec(
                &registry,
                "partnercenter_collector_rows",
                "Rows Partner Center returned in the collector's last successful run.",
                &["collector"],
            )?,
            collector_rows_dropped: int_gauge_vec(
                &registry,
                "partnercenter_collector_rows_dropped",
                "Rows of the collector's last successful run dropped by --collector.customers.include/exclude and --collector.products.include/exclude.",
                &["collector"],
            )?,
            collector_customer_errors: int_gauge_vec(
                &registry,
                "partnercenter_collector_customer_errors",
                "Customers whose requests failed in the collector's last run (per-customer collectors only, which fan out over /v1/customers).",
                &["collector"],
            )?,
            data_processed: gauge_vec(
                &registry,
                "partnercenter_data_processed_timestamp_seconds",
                "Newest processedDateTime Partner Center reported in the collector's data (when Partner Center last processed it).",
                &["collector"],
            )?,
            api_requests: counter_vec(
                &registry,
                "partnercenter_api_requests_total",
                "HTTP requests to Partner Center and the sign-in service, by endpoint and status code (or timeout/error).",
                &["endpoint", "code"],
            )?,
            api_retries: counter_vec(
                &registry,
                "partnercenter_api_retries_total",
                "Requests to Partner Center retried, by endpoint and reason (429 means throttled).",
                &["endpoint", "reason"],
            )?,
            token_refreshes: counter_vec(
                &registry,
                "partnercenter_token_refreshes_total",
                "Access-token renewals by result (success, invalid_grant, mfa_required, error).",
                &["result"],
            )?,
            token_refresh_status: int_gauge_vec(
                &registry,
                "partnercenter_token_refresh_status",
                "1 for the result of the last access-token renewal (success, invalid_grant, mfa_required, error), 0 for the others; absent until the first renewal.",
                &["result"],
            )?,
            refresh_token_write_errors: {
                let c = prometheus::IntCounter::new(
                    "partnercenter_refresh_token_write_errors_total",
                    "Rotated refresh tokens that could not be written to --auth.refresh-token-file (the new token is kept and used in memory).",
                )?;
                registry.register(Box::new(c.clone()))?;
                c
            },
            storage_write_errors: counter_vec(
                &registry,
                "partnercenter_storage_write_errors_total",
                "Collected data that could not be written to --storage.path, by collector (the data stays served from memory).",
                &["collector"],
            )?,
            log_lines_lost: {
                let c = prometheus::IntCounter::new(
                    "partnercenter_log_lines_lost_total",
                    "Log lines dropped because standard error was blocked or could not be written (a broken pipe); logging never stops the exporter.",
                )?;
                registry.register(Box::new(c.clone()))?;
                c
            },
            log_lines_sync: std::sync::Mutex::new(()),
            process: process::ProcessMetrics::register(&registry)?,
            refresh_token_rotated: {
                let g = prometheus::Gauge::new(
                    "partnercenter_refresh_token_rotated_timestamp_seconds",
                    "Unix time the sign-in service last issued a new refresh token that the exporter stored (refresh tokens expire after 90 days unused).",
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            pricing_prices: {
                let g = prometheus::IntGauge::new(
                    "partnercenter_pricing_prices",
                    "Prices loaded from --pricing.file (0 without one): dashboards say \"no prices loaded\" when it is 0.",
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            registry,
        };
        let interval_gauge = gauge_vec(
            &metrics.registry,
            "partnercenter_collector_interval_seconds",
            "Configured time between the starts of two runs of the collector (--collector.NAME.interval, else --collector.interval; in scrape mode the minimum interval).",
            &["collector"],
        )?;
        let build_info = GaugeVec::new(
            Opts::new(
                "partnercenter_build_info",
                "Version, git revision and Rust version the exporter was built from; always 1.",
            ),
            &["version", "revision", "rustversion"],
        )?;
        build_info
            .with_label_values(&[build::VERSION, build::REVISION, build::RUST_VERSION])
            .set(1.0);
        metrics.registry.register(Box::new(build_info))?;
        for &(kind, interval) in enabled {
            let label = [kind.name()];
            interval_gauge
                .with_label_values(&label)
                .set(interval.as_secs_f64());
            metrics.collector_success.with_label_values(&label).set(0);
            if kind.is_per_customer() {
                metrics.collector_customer_errors.with_label_values(&label).set(0);
            }
            metrics.storage_write_errors.with_label_values(&label);
        }
        for result in REFRESH_RESULTS {
            metrics.token_refreshes.with_label_values(&[result]);
        }
        for endpoint in ENDPOINTS {
            for reason in RETRY_REASONS {
                metrics.api_retries.with_label_values(&[endpoint, reason]);
            }
        }
        Ok(metrics)
    }

    /// Record the outcome of one collector run.
    pub fn record_run(
        &self,
        kind: CollectorKind,
        success: bool,
        duration: Duration,
        customer_errors: usize,
        finished: DateTime<Utc>,
    ) {
        let label = [kind.name()];
        self.collector_success
            .with_label_values(&label)
            .set(i64::from(success));
        self.collector_duration
            .with_label_values(&label)
            .set(duration.as_secs_f64());
        if kind.is_per_customer() {
            self.collector_customer_errors
                .with_label_values(&label)
                .set(customer_errors as i64);
        }
        if success {
            self.collector_last_success
                .with_label_values(&label)
                .set(unix_seconds(finished));
        }
    }

    /// Record data restored from `--storage.path`: it counts as the collector's last success, at
    /// the time it was really collected, so the age alerts stay honest.
    pub fn record_restored(&self, kind: CollectorKind, collected_at: DateTime<Utc>) {
        self.collector_last_success
            .with_label_values(&[kind.name()])
            .set(unix_seconds(collected_at));
    }

    /// Count a failed write of collected data to `--storage.path`.
    pub fn storage_write_failed(&self, kind: CollectorKind) {
        self.storage_write_errors.with_label_values(&[kind.name()]).inc();
    }

    /// Record what the last good data of a collector holds: the rows Partner Center returned, the
    /// rows of those the filters dropped, and the newest `processedDateTime`.
    pub fn record_data(
        &self,
        kind: CollectorKind,
        rows: usize,
        dropped: usize,
        processed_at: Option<DateTime<Utc>>,
    ) {
        let label = [kind.name()];
        self.collector_rows.with_label_values(&label).set(rows as i64);
        self.collector_rows_dropped
            .with_label_values(&label)
            .set(dropped as i64);
        match processed_at {
            Some(at) => self
                .data_processed
                .with_label_values(&label)
                .set(unix_seconds(at)),
            None => {
                let _ = self.data_processed.remove_label_values(&label);
            }
        }
    }

    /// Record how many prices the price file gave.
    pub fn record_prices(&self, prices: usize) {
        self.pricing_prices.set(prices as i64);
    }

    /// A gauge that is 1 while the web config file (`--web.config.file`) and the certificates it
    /// names could be read and used at the last check, registered on first use (only when there
    /// is such a file).
    pub fn web_config_gauge(&self) -> Result<prometheus::IntGauge, MetricsError> {
        let gauge = prometheus::IntGauge::new(
            "partnercenter_web_config_last_reload_successful",
            "1 if the web config file and its certificates were valid when last read, 0 if a change is broken (the previous configuration stays in use).",
        )?;
        self.registry.register(Box::new(gauge.clone()))?;
        Ok(gauge)
    }

    /// Encode the self-metrics as exposition text.
    pub fn encode(&self) -> Vec<u8> {
        self.process.refresh();
        {
            // A counter only moves by increments: catch up with the total, one scrape at a time.
            let _sync = self
                .log_lines_sync
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let lost = crate::telemetry::lost_lines();
            let seen = self.log_lines_lost.get();
            if lost > seen {
                self.log_lines_lost.inc_by(lost - seen);
            }
        }
        let mut out = Vec::with_capacity(8 * 1024);
        // Encoding only fails on families without metrics or invalid names, which the registry rejects.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

fn unix_seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}

impl ApiObserver for ExporterMetrics {
    fn request(&self, endpoint: &'static str, code: &str) {
        self.api_requests.with_label_values(&[endpoint, code]).inc();
    }
    fn retry(&self, endpoint: &'static str, reason: &'static str) {
        self.api_retries.with_label_values(&[endpoint, reason]).inc();
    }
    fn token_refresh(&self, result: &'static str) {
        self.token_refreshes.with_label_values(&[result]).inc();
        for known in REFRESH_RESULTS {
            self.token_refresh_status
                .with_label_values(&[known])
                .set(i64::from(known == result));
        }
    }
    fn refresh_token_write_failed(&self) {
        self.refresh_token_write_errors.inc();
    }
    fn refresh_token_rotated(&self, at: DateTime<Utc>) {
        self.refresh_token_rotated.set(unix_seconds(at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabled_collectors_report_failure_before_their_first_run() {
        let metrics = ExporterMetrics::new(&[(CollectorKind::Usage, Duration::from_secs(3600))]).unwrap();
        let text = String::from_utf8(metrics.encode()).unwrap();
        assert!(
            text.contains("partnercenter_collector_success{collector=\"usage\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("partnercenter_collector_interval_seconds{collector=\"usage\"} 3600"),
            "{text}"
        );
    }

    #[test]
    fn build_info_carries_version_revision_and_rust_version() {
        let metrics = ExporterMetrics::new(&[]).unwrap();
        let text = String::from_utf8(metrics.encode()).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("partnercenter_build_info{"))
            .unwrap();
        for label in ["version=", "revision=", "rustversion="] {
            assert!(line.contains(label), "{line}");
        }
        assert!(!line.contains("rustversion=\"unknown\""), "{line}");
    }

    #[test]
    fn customer_errors_exist_only_for_the_per_customer_collectors() {
        let hour = Duration::from_secs(3600);
        let metrics = ExporterMetrics::new(&[
            (CollectorKind::Usage, hour),
            (CollectorKind::CustomerDeployment, hour),
        ])
        .unwrap();
        metrics.record_run(CollectorKind::Usage, true, hour, 0, Utc::now());
        let text = String::from_utf8(metrics.encode()).unwrap();
        assert!(
            !text.contains("partnercenter_collector_customer_errors{collector=\"usage\"}"),
            "{text}"
        );
        assert!(
            text.contains("partnercenter_collector_customer_errors{collector=\"customer-deployment\"} 0"),
            "{text}"
        );
    }

    #[test]
    fn every_retry_reason_starts_at_zero() {
        let metrics = ExporterMetrics::new(&[]).unwrap();
        let text = String::from_utf8(metrics.encode()).unwrap();
        for reason in RETRY_REASONS {
            assert!(
                text.contains(&format!(
                    "partnercenter_api_retries_total{{endpoint=\"commercial_usage\",reason=\"{reason}\"}} 0"
                )),
                "{reason}: {text}"
            );
        }
        assert!(
            text.contains("partnercenter_refresh_token_write_errors_total 0"),
            "{text}"
        );
    }

    #[test]
    fn the_token_refresh_status_shows_the_last_result_only() {
        let metrics = ExporterMetrics::new(&[]).unwrap();
        let before = String::from_utf8(metrics.encode()).unwrap();
        assert!(
            !before.contains("partnercenter_token_refresh_status{"),
            "absent before the first renewal"
        );
        metrics.token_refresh("invalid_grant");
        let text = String::from_utf8(metrics.encode()).unwrap();
        assert!(
            text.contains("partnercenter_token_refresh_status{result=\"invalid_grant\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("partnercenter_token_refresh_status{result=\"success\"} 0"),
            "{text}"
        );
        metrics.token_refresh("success");
        let text = String::from_utf8(metrics.encode()).unwrap();
        assert!(
            text.contains("partnercenter_token_refresh_status{result=\"invalid_grant\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("partnercenter_token_refresh_status{result=\"success\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn api_observations_become_counters() {
        let metrics = ExporterMetrics::new(&[]).unwrap();
        metrics.request("customers", "429");
        metrics.request("customers", "429");
        metrics.retry("customers", "429");
        let text = String::from_utf8(metrics.encode()).unwrap();
        assert!(
            text.contains("partnercenter_api_requests_total{code=\"429\",endpoint=\"customers\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("partnercenter_api_retries_total{endpoint=\"customers\",reason=\"429\"} 1"),
            "{text}"
        );
    }
}
