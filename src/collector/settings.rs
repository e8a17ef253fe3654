//! What the collectors and the scheduler are configured with: [`CollectionConfig`] and
//! [`CollectorMode`].

use std::time::Duration;

use clap::ValueEnum;

use super::filter::RowFilter;
use super::kind::CollectorKind;
use crate::client::AnalyticsQuery;

/// When collection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CollectorMode {
    /// A background loop refreshes every `--collector.interval`; scrapes serve the last snapshot.
    Interval,
    /// A scrape starts a run when the snapshot is older than `--collector.min-interval`.
    Scrape,
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
    /// The customers and products exposed (`--collector.customers.*`, `--collector.products.*`).
    pub filter: RowFilter,
}
