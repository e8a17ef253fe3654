//! The exporter's own metrics (health of the collectors, API traffic, tokens, build and process),
//! kept in a `prometheus` registry and encoded on every scrape. They are few, so encoding them per
//! scrape is cheap; the large data part is encoded once per snapshot in [`crate::render`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus::{Encoder, GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::client::ApiObserver;
use crate::collector::CollectorKind;

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
    refresh_token_rotated: prometheus::Gauge,
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
    /// Register every self-metric. `enabled` collectors get their health series from the start
    /// (success 0 until the first run), so alerts see them before the first run finishes.
    pub fn new(enabled: &[CollectorKind], interval: Duration) -> Result<Self, MetricsError> {
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
                "Customers whose requests failed in the collector's last run (per-customer collectors only).",
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
            refresh_token_rotated: {
                let g = prometheus::Gauge::new(
                    "partnercenter_refresh_token_rotated_timestamp_seconds",
                    "Unix time the sign-in service last issued a new refresh token that the exporter stored (refresh tokens expire after 90 days unused).",
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            registry,
        };
        let interval_gauge = prometheus::Gauge::new(
            "partnercenter_collector_interval_seconds",
            "Configured time between collection runs (--collector.interval).",
        )?;
        interval_gauge.set(interval.as_secs_f64());
        metrics.registry.register(Box::new(interval_gauge))?;
        let build_info = GaugeVec::new(
            Opts::new("partnercenter_build_info", "Version of the exporter; always 1."),
            &["version"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1.0);
        metrics.registry.register(Box::new(build_info))?;
        #[cfg(target_os = "linux")]
        metrics.registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        for kind in enabled {
            let label = [kind.name()];
            metrics.collector_success.with_label_values(&label).set(0);
            metrics.collector_customer_errors.with_label_values(&label).set(0);
        }
        for code in ["success", "invalid_grant", "mfa_required", "error"] {
            metrics.token_refreshes.with_label_values(&[code]);
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
        self.collector_customer_errors
            .with_label_values(&label)
            .set(customer_errors as i64);
        if success {
            self.collector_last_success
                .with_label_values(&label)
                .set(unix_seconds(finished));
        }
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

    /// Encode the self-metrics as exposition text.
    pub fn encode(&self) -> Vec<u8> {
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
        let metrics = ExporterMetrics::new(&[CollectorKind::Usage], Duration::from_secs(3600)).unwrap();
        let text = String::from_utf8(metrics.encode()).unwrap();
        assert!(
            text.contains("partnercenter_collector_success{collector=\"usage\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("partnercenter_collector_interval_seconds 3600"),
            "{text}"
        );
        assert!(text.contains("partnercenter_build_info{version="), "{text}");
    }

    #[test]
    fn api_observations_become_counters() {
        let metrics = ExporterMetrics::new(&[], Duration::from_secs(60)).unwrap();
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
