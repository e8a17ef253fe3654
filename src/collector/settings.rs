//! What the collectors and the scheduler are configured with: [`CollectionConfig`] and
//! [`CollectorMode`].

use std::collections::BTreeMap;
use std::time::Duration;

use clap::ValueEnum;

use super::filter::RowFilter;
use super::kind::CollectorKind;
use crate::client::AnalyticsQuery;

/// When collection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CollectorMode {
    /// A background loop refreshes each collector every interval; scrapes serve the last snapshot.
    Interval,
    /// A scrape starts a run of the collectors whose data is older than their minimum interval.
    Scrape,
}

/// Everything the collectors need to know.
#[derive(Debug, Clone)]
pub struct CollectionConfig {
    pub enabled: Vec<CollectorKind>,
    pub mode: CollectorMode,
    /// `--collector.interval`: the default time between the starts of two runs of a collector.
    pub interval: Duration,
    /// `--collector.NAME.interval` of the collectors that have one of their own.
    pub intervals: BTreeMap<CollectorKind, Duration>,
    pub min_interval: Duration,
    pub max_age: Duration,
    pub timeout: Duration,
    /// `--collector.retry-backoff`: the wait before the first retry of a failed run; it doubles
    /// with each further failure, up to the collector's interval.
    pub retry_backoff: Duration,
    pub usage_query: AnalyticsQuery,
    pub deployment_query: AnalyticsQuery,
    /// Customers fetched at once in the per-customer fan-out.
    pub fanout_concurrency: usize,
    /// `country` of catalog look-ups when a subscription's links name none.
    pub catalog_country: String,
    /// The customers and products exposed (`--collector.customers.*`, `--collector.products.*`).
    pub filter: RowFilter,
}

impl CollectionConfig {
    /// The time between the starts of two runs of `kind` in interval mode: its own
    /// `--collector.NAME.interval`, else `--collector.interval`.
    pub fn interval_of(&self, kind: CollectorKind) -> Duration {
        self.intervals.get(&kind).copied().unwrap_or(self.interval)
    }

    /// In scrape mode, the youngest data of `kind` that a scrape refreshes: its own
    /// `--collector.NAME.interval`, else `--collector.min-interval`.
    pub fn scrape_min_interval_of(&self, kind: CollectorKind) -> Duration {
        self.intervals.get(&kind).copied().unwrap_or(self.min_interval)
    }

    /// The deadline of one run of `kind`: `--collector.timeout`, and for the per-customer
    /// collectors at least their interval. A fan-out over 10,000 customers takes longer than the
    /// default 30 minutes at the default rate limit, and since runs of one collector never
    /// overlap, letting it run until its next start costs nothing.
    pub fn timeout_of(&self, kind: CollectorKind) -> Duration {
        if kind.is_per_customer() {
            self.timeout.max(self.interval_of(kind))
        } else {
            self.timeout
        }
    }

    /// The longest wait between two runs of `kind` in the configured mode; retries of a failing
    /// collector back off up to this.
    pub fn period_of(&self, kind: CollectorKind) -> Duration {
        match self.mode {
            CollectorMode::Interval => self.interval_of(kind),
            CollectorMode::Scrape => self.scrape_min_interval_of(kind),
        }
    }
}
