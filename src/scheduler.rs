//! When collection runs, and how its result is published.
//!
//! A run executes every enabled collector concurrently, renders each successful result once, and
//! publishes a complete new [`Snapshot`] in one atomic swap. Runs never overlap. In interval mode a
//! background loop starts them; in scrape mode a scrape that finds the data too old starts one,
//! concurrent scrapes share it, and a scrape that cannot wait gets the current snapshot while the
//! run finishes in the background.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use chrono::Utc;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio_util::sync::CancellationToken;

use crate::collector::{CollectionConfig, Collectors, RunContext, RunOutcome};
use crate::derived::Derived;
use crate::metrics::ExporterMetrics;
use crate::render::{RenderedData, render};
use crate::snapshot::{CollectorState, RunSummary, Snapshot};

type SharedRun = Shared<BoxFuture<'static, ()>>;

/// Owns the collectors and the published snapshot.
pub struct Scheduler {
    collectors: Collectors,
    /// Unused licences, prices and renewals, computed from the commercial collectors' data.
    derived: Arc<Derived>,
    store: ArcSwap<Snapshot>,
    metrics: Arc<ExporterMetrics>,
    /// Held for the whole of a run, so runs never overlap.
    run_lock: tokio::sync::Mutex<()>,
    /// The run a scrape started, shared by the scrapes that arrive while it runs.
    inflight: Mutex<Option<SharedRun>>,
}

impl Scheduler {
    pub fn new(collectors: Collectors, derived: Derived, metrics: Arc<ExporterMetrics>) -> Self {
        let empty = Snapshot::empty(&collectors.config().enabled);
        metrics.record_prices(derived.prices_loaded());
        Self {
            collectors,
            derived: Arc::new(derived),
            store: ArcSwap::from_pointee(empty),
            metrics,
            run_lock: tokio::sync::Mutex::new(()),
            inflight: Mutex::new(None),
        }
    }

    /// The current snapshot; lock-free.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.store.load_full()
    }

    /// The exporter's self-metrics.
    pub fn metrics(&self) -> &ExporterMetrics {
        &self.metrics
    }

    /// The collection settings.
    pub fn config(&self) -> &CollectionConfig {
        self.collectors.config()
    }

    /// Run every enabled collector once and publish the result. Waits for a run in progress first.
    pub async fn run_once(&self) -> Arc<Snapshot> {
        let _guard = self.run_lock.lock().await;
        let ctx = RunContext::default();
        tracing::info!(correlation_id = %ctx.correlation_id(), "collection run started");
        let runs = self
            .collectors
            .config()
            .enabled
            .iter()
            .map(|&kind| self.collectors.run(kind, &ctx));
        let outcomes = futures::future::join_all(runs).await;
        let snapshot = self.publish(outcomes).await;
        tracing::info!(
            collectors = snapshot.collectors.len(),
            healthy = snapshot.collectors.iter().filter(|c| c.healthy()).count(),
            "collection run finished"
        );
        snapshot
    }

    /// Build the new snapshot off to the side, then swap it in.
    async fn publish(&self, outcomes: Vec<RunOutcome>) -> Arc<Snapshot> {
        let previous = self.store.load_full();
        let finished = Utc::now();
        let mut collectors = Vec::with_capacity(outcomes.len());
        let mut derived_changed = false;
        for outcome in outcomes {
            let kind = outcome.kind;
            let old = previous.collector(kind);
            let (data, last_success, error) = match outcome.result {
                Ok(dataset) => {
                    // Rendering a large dataset is CPU work: keep it off the threads serving scrapes.
                    let dataset = Arc::new(dataset);
                    let to_render = dataset.clone();
                    let rendered = tokio::task::spawn_blocking(move || render(&to_render)).await;
                    match rendered {
                        Ok(rendered) => {
                            derived_changed |= self.derived.update(dataset, finished);
                            (Some(Arc::new(rendered)), Some(finished), None)
                        }
                        Err(join_error) => (
                            old.and_then(|o| o.data.clone()),
                            old.and_then(|o| o.last_success),
                            Some(format!("rendering failed: {join_error}")),
                        ),
                    }
                }
                Err(error) => {
                    tracing::error!(collector = kind.name(), %error, "collector failed; keeping its last good data");
                    (
                        old.and_then(|o| o.data.clone()),
                        old.and_then(|o| o.last_success),
                        Some(error.to_string()),
                    )
                }
            };
            let success = error.is_none();
            self.metrics
                .record_run(kind, success, outcome.duration, outcome.customer_errors, finished);
            if success {
                if let Some(data) = &data {
                    self.metrics.record_data(kind, data.rows, data.processed_at);
                }
                tracing::info!(
                    collector = kind.name(),
                    rows = data.as_deref().map_or(0, |d: &RenderedData| d.rows),
                    customer_errors = outcome.customer_errors,
                    duration = ?outcome.duration,
                    "collector succeeded"
                );
            }
            collectors.push(CollectorState {
                kind,
                last_run: Some(RunSummary {
                    finished,
                    duration: outcome.duration,
                    error,
                    customer_errors: outcome.customer_errors,
                }),
                last_success,
                data,
            });
        }
        let derived = if derived_changed {
            let derived = self.derived.clone();
            match tokio::task::spawn_blocking(move || derived.compute(Utc::now())).await {
                Ok(state) => state.map(Arc::new),
                Err(join_error) => {
                    tracing::error!(%join_error, "computing the unused licences failed; keeping the last ones");
                    previous.derived.clone()
                }
            }
        } else {
            previous.derived.clone()
        };
        if let Some(d) = &derived {
            self.metrics.record_prices(d.prices);
        }
        let snapshot = Arc::new(Snapshot {
            collectors,
            updated_at: Some(finished),
            derived,
        });
        self.store.store(snapshot.clone());
        snapshot
    }

    /// Interval mode: run now, then every `--collector.interval`, until `cancel`.
    pub async fn run_interval(self: Arc<Self>, cancel: CancellationToken) {
        let interval = self.collectors.config().interval;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.run_once() => {}
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(interval) => {}
            }
        }
        tracing::info!("collection loop stopped");
    }

    /// Scrape mode: if the snapshot is older than `--collector.min-interval`, start a run (or join
    /// the one in progress) and wait for it at most `budget`. The run goes on in the background if
    /// the budget runs out; the caller then serves the current snapshot.
    pub async fn refresh_for_scrape(self: &Arc<Self>, budget: Duration) {
        let run = {
            // A poisoned lock only means a scrape panicked while holding it; the Option is still valid.
            let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            match inflight.as_ref() {
                Some(run) => run.clone(),
                None => {
                    if !self.is_stale() {
                        return;
                    }
                    let scheduler = Arc::clone(self);
                    let handle = tokio::spawn(async move {
                        scheduler.run_once().await;
                        let mut inflight = scheduler.inflight.lock().unwrap_or_else(|p| p.into_inner());
                        *inflight = None;
                    });
                    let run: SharedRun = async move {
                        let _ = handle.await;
                    }
                    .boxed()
                    .shared();
                    *inflight = Some(run.clone());
                    run
                }
            }
        };
        if tokio::time::timeout(budget, run).await.is_err() {
            tracing::debug!("scrape budget ran out; serving the current snapshot while the run goes on");
        }
    }

    fn is_stale(&self) -> bool {
        let min_interval = self.collectors.config().min_interval;
        match self.store.load().updated_at {
            None => true,
            Some(at) => Utc::now().signed_duration_since(at).to_std().unwrap_or_default() >= min_interval,
        }
    }
}
