//! The snapshot: what the exporter currently knows, per collector — its last run, its last good
//! data (already encoded), and when that data was collected — and the info series naming the
//! objects of that data. A new snapshot is built off to the side whenever a collector finishes
//! (only that collector's part and the info series change) and published in one atomic swap, so
//! a scrape sees the old part or the new one, never a mix, and never waits.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::collector::CollectorKind;
use crate::derived::DerivedState;
use crate::render::{RenderedData, render_info};

/// The outcome of a collector's most recent run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub finished: DateTime<Utc>,
    pub duration: Duration,
    /// `None` when the run succeeded.
    pub error: Option<String>,
    /// Customers whose requests failed (per-customer collectors).
    pub customer_errors: usize,
}

/// One collector's part of the snapshot.
#[derive(Debug, Clone)]
pub struct CollectorState {
    pub kind: CollectorKind,
    pub last_run: Option<RunSummary>,
    /// When the data below was collected.
    pub last_success: Option<DateTime<Utc>>,
    /// The last good data; kept when later runs fail, until it is older than `--collector.max-age`.
    pub data: Option<Arc<RenderedData>>,
    /// The data was loaded from `--storage.path` and no run has produced newer data yet.
    pub restored: bool,
}

impl CollectorState {
    /// Whether the last run succeeded.
    pub fn healthy(&self) -> bool {
        self.last_run.as_ref().is_some_and(|run| run.error.is_none())
    }

    /// The data, unless it is older than `max_age` at `now`.
    pub fn current_data(&self, now: DateTime<Utc>, max_age: Duration) -> Option<&RenderedData> {
        let collected = self.last_success?;
        let age = now.signed_duration_since(collected).to_std().unwrap_or_default();
        if age > max_age {
            return None;
        }
        self.data.as_deref()
    }
}

/// Everything a scrape serves from.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub collectors: Vec<CollectorState>,
    /// The info series (`partnercenter_customer_info`, …) of every object that the collectors'
    /// current data names, each once; rendered whenever a collector's part changes.
    pub names: Arc<RenderedData>,
    /// When a collector's part last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// What the exporter derives from the commercial collectors (unused licences, prices,
    /// renewals); `None` until one of them has data.
    pub derived: Option<Arc<DerivedState>>,
}

impl Snapshot {
    /// The snapshot before the first run: every enabled collector, no data.
    pub fn empty(enabled: &[CollectorKind]) -> Self {
        Self {
            collectors: enabled
                .iter()
                .map(|&kind| CollectorState {
                    kind,
                    last_run: None,
                    last_success: None,
                    data: None,
                    restored: false,
                })
                .collect(),
            names: Arc::new(render_info([])),
            updated_at: None,
            derived: None,
        }
    }

    /// True once any collector has produced data: the exporter is ready.
    pub fn has_data(&self) -> bool {
        self.collectors.iter().any(|c| c.last_success.is_some())
    }

    /// The derived data, unless it is older than `max_age` at `now`.
    pub fn current_derived(&self, now: DateTime<Utc>, max_age: Duration) -> Option<&DerivedState> {
        let derived = self.derived.as_deref()?;
        let age = now
            .signed_duration_since(derived.collected_at)
            .to_std()
            .unwrap_or_default();
        (age <= max_age).then_some(derived)
    }

    /// A collector's state.
    pub fn collector(&self, kind: CollectorKind) -> Option<&CollectorState> {
        self.collectors.iter().find(|c| c.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::Dataset;
    use crate::render::{RenderContext, render};

    #[test]
    fn data_older_than_max_age_is_not_current() {
        let collected = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let state = CollectorState {
            kind: CollectorKind::Usage,
            last_run: None,
            last_success: Some(collected),
            data: Some(Arc::new(render(
                &Dataset::Usage(vec![]),
                &RenderContext::default(),
            ))),
            restored: false,
        };
        let max_age = Duration::from_secs(3600);
        assert!(
            state
                .current_data(collected + chrono::Duration::seconds(3599), max_age)
                .is_some()
        );
        assert!(
            state
                .current_data(collected + chrono::Duration::seconds(3601), max_age)
                .is_none()
        );
    }

    #[test]
    fn an_empty_snapshot_is_not_ready() {
        let snapshot = Snapshot::empty(&[CollectorKind::Usage]);
        assert!(!snapshot.has_data());
        assert!(!snapshot.collectors[0].healthy());
        assert_eq!(snapshot.names.series, 0);
    }
}
