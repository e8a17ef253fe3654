//! When collection runs, and how its result is published.
//!
//! A run executes every enabled collector concurrently, renders each successful result once, as
//! soon as that collector finishes (so rendering overlaps the other collectors' fetching, and the
//! collectors render on separate threads), then renders the info series of every name the current
//! data mentions and publishes a complete new [`Snapshot`] in one atomic swap. Runs never overlap. In interval mode a
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

use crate::collector::{CollectionConfig, CollectorKind, Collectors, RunContext, RunOutcome};
use crate::metrics::ExporterMetrics;
use crate::render::{RenderContext, RenderedData, render, render_info};
use crate::snapshot::{CollectorState, RunSummary, Snapshot};

type SharedRun = Shared<BoxFuture<'static, ()>>;

/// One collector's run, with its rows already rendered if it succeeded.
struct Collected {
    kind: CollectorKind,
    duration: Duration,
    customer_errors: usize,
    data: Result<RenderedData, String>,
}

/// Owns the collectors and the published snapshot.
pub struct Scheduler {
    collectors: Collectors,
    store: ArcSwap<Snapshot>,
    metrics: Arc<ExporterMetrics>,
    /// Held for the whole of a run, so runs never overlap.
    run_lock: tokio::sync::Mutex<()>,
    /// The run a scrape started, shared by the scrapes that arrive while it runs.
    inflight: Mutex<Option<SharedRun>>,
}

impl Scheduler {
    pub fn new(collectors: Collectors, metrics: Arc<ExporterMetrics>) -> Self {
        let empty = Snapshot::empty(&collectors.config().enabled);
        Self {
            collectors,
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
        let runs = self.collectors.config().enabled.iter().map(|&kind| {
            let ctx = &ctx;
            async move { self.render(self.collectors.run(kind, ctx).await).await }
        });
        let collected = futures::future::join_all(runs).await;
        let snapshot = self.publish(collected).await;
        tracing::info!(
            collectors = snapshot.collectors.len(),
            healthy = snapshot.collectors.iter().filter(|c| c.healthy()).count(),
            "collection run finished"
        );
        snapshot
    }

    /// Render a successful run's rows, off the threads serving scrapes (it is CPU work).
    async fn render(&self, outcome: RunOutcome) -> Collected {
        let RunOutcome {
            kind,
            result,
            customer_errors,
            duration,
            customers,
        } = outcome;
        let data = match result {
            Ok(dataset) => {
                let filter = self.collectors.config().filter.clone();
                let collected_at = Utc::now();
                tokio::task::spawn_blocking(move || {
                    let ctx = RenderContext {
                        filter: &filter,
                        directory: customers.as_deref().map(Vec::as_slice),
                        collected_at,
                    };
                    render(&dataset, &ctx)
                })
                .await
                .map_err(|join_error| format!("rendering failed: {join_error}"))
            }
            Err(error) => {
                tracing::error!(collector = kind.name(), %error, "collector failed; keeping its last good data");
                Err(error.to_string())
            }
        };
        Collected {
            kind,
            duration,
            customer_errors,
            data,
        }
    }

    /// Build the new snapshot off to the side, then swap it in.
    async fn publish(&self, collected: Vec<Collected>) -> Arc<Snapshot> {
        let previous = self.store.load_full();
        let finished = Utc::now();
        let mut collectors = Vec::with_capacity(collected.len());
        for run in collected {
            let kind = run.kind;
            let old = previous.collector(kind);
            let (data, last_success, error) = match run.data {
                Ok(rendered) => (Some(Arc::new(rendered)), Some(finished), None),
                Err(error) => (
                    old.and_then(|o| o.data.clone()),
                    old.and_then(|o| o.last_success),
                    Some(error),
                ),
            };
            let success = error.is_none();
            self.metrics
                .record_run(kind, success, run.duration, run.customer_errors, finished);
            if success && let Some(data) = &data {
                self.metrics
                    .record_data(kind, data.rows, data.dropped, data.processed_at);
                tracing::info!(
                    collector = kind.name(),
                    rows = data.rows,
                    dropped = data.dropped,
                    series = data.series,
                    customer_errors = run.customer_errors,
                    duration = ?run.duration,
                    "collector succeeded"
                );
            }
            collectors.push(CollectorState {
                kind,
                last_run: Some(RunSummary {
                    finished,
                    duration: run.duration,
                    error,
                    customer_errors: run.customer_errors,
                }),
                last_success,
                data,
            });
        }
        let names = self.render_names(&collectors, &previous).await;
        let snapshot = Arc::new(Snapshot {
            collectors,
            names,
            updated_at: Some(finished),
        });
        self.store.store(snapshot.clone());
        // The run's rows are freed by now: give the memory back rather than keep the peak.
        let _ = tokio::task::spawn_blocking(crate::memory::release_free_memory).await;
        snapshot
    }

    /// The info series of the names in every collector's current data, each object once.
    async fn render_names(&self, collectors: &[CollectorState], previous: &Snapshot) -> Arc<RenderedData> {
        let now = Utc::now();
        let max_age = self.collectors.config().max_age;
        let current: Vec<Arc<RenderedData>> = collectors
            .iter()
            .filter(|c| c.current_data(now, max_age).is_some())
            .filter_map(|c| c.data.clone())
            .collect();
        match tokio::task::spawn_blocking(move || render_info(current.iter().map(|d| &d.names))).await {
            Ok(names) => Arc::new(names),
            Err(join_error) => {
                // Only a panic gets here; the previous names are better than none.
                tracing::error!(%join_error, "rendering the info series failed; keeping the previous ones");
                previous.names.clone()
            }
        }
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
