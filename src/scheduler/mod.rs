//! When collection runs, and how each result is published.
//!
//! Every collector runs on its own schedule (`--collector.NAME.interval`, else
//! `--collector.interval`; start to start). The collectors that fall due together start together
//! as one *tick* and share one [`RunContext`]: one `MS-CorrelationId` for all their requests and
//! one `/v1/customers` listing for the per-customer collectors among them. Each collector's result
//! is rendered and published as soon as it is ready (so collectors render concurrently, each on
//! its own blocking thread), by swapping in a new [`Snapshot`] in which only that collector's part
//! and the info series changed, so a slow collector never delays another's data and a scrape sees
//! either the old or the new part of a collector, never a mix. The info series (one per customer,
//! product, workload and service, whichever collectors name it) are rendered again from every
//! collector's current names at each swap. Runs of one collector never overlap.
//!
//! A failed run (any cause, a panic included) is retried after a capped exponential backoff with
//! jitter (`timing`), not after a whole interval; the data of its last good run stays served.
//! With `--storage.path` each good result is also written to disk, and loaded again at start
//! ([`Scheduler::restore`]).
//!
//! In interval mode [`Scheduler::run_interval`] starts the runs; in scrape mode a scrape starts
//! the due collectors ([`Scheduler::refresh_for_scrape`]), concurrent scrapes share the runs in
//! progress, and a scrape that cannot wait gets the current snapshot while they finish.

mod publish;
mod timing;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::collector::{Collect, CollectError, CollectionConfig, CollectorKind, RunContext, RunOutcome};
use crate::derived::Derived;
use crate::metrics::ExporterMetrics;
use crate::snapshot::Snapshot;
use crate::storage::Storage;
use timing::Timing;

type SharedRun = Shared<BoxFuture<'static, ()>>;

/// Collectors that fall due within this of each other start together and share a tick.
const TICK_SLACK: Duration = Duration::from_secs(1);

/// A run in progress.
#[derive(Clone)]
struct Running {
    /// Resolves when the run has been published (or abandoned at shutdown).
    done: SharedRun,
    /// Aborts the collector's work (at shutdown).
    abort: AbortHandle,
}

struct KindState {
    timing: Timing,
    running: Option<Running>,
}

/// Owns the collectors, their schedules and the published snapshot.
pub struct Scheduler {
    collect: Arc<dyn Collect>,
    /// Unused licences, prices and renewals, computed from the commercial collectors' data.
    derived: Arc<Derived>,
    store: ArcSwap<Snapshot>,
    metrics: Arc<ExporterMetrics>,
    storage: Option<Storage>,
    /// Held while a publication reads the snapshot and swaps in its successor (never across an
    /// await), so two collectors finishing together do not lose each other's result.
    publishing: Mutex<()>,
    kinds: Mutex<BTreeMap<CollectorKind, KindState>>,
    /// Woken when a run finishes, so the interval loop can schedule its successor.
    wake: Notify,
}

impl Scheduler {
    /// A scheduler for the enabled collectors of `collect.config()`; `storage` keeps their data
    /// across restarts.
    pub fn new(
        collect: Arc<dyn Collect>,
        derived: Derived,
        metrics: Arc<ExporterMetrics>,
        storage: Option<Storage>,
    ) -> Self {
        let enabled = collect.config().enabled.clone();
        metrics.record_prices(derived.prices_loaded());
        let now = Instant::now();
        let kinds = enabled
            .iter()
            .map(|&kind| {
                (
                    kind,
                    KindState {
                        timing: Timing::new(now),
                        running: None,
                    },
                )
            })
            .collect();
        Self {
            store: ArcSwap::from_pointee(Snapshot::empty(&enabled)),
            collect,
            derived: Arc::new(derived),
            metrics,
            storage,
            publishing: Mutex::new(()),
            kinds: Mutex::new(kinds),
            wake: Notify::new(),
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
        self.collect.config()
    }

    fn lock_kinds(&self) -> MutexGuard<'_, BTreeMap<CollectorKind, KindState>> {
        // Never held across an await or while anything can panic half-way: a poisoned map is
        // still consistent.
        self.kinds.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Start a tick of `due` (which must not be running): one shared context, one task each.
    fn start(self: &Arc<Self>, kinds: &mut BTreeMap<CollectorKind, KindState>, due: Vec<CollectorKind>) {
        if due.is_empty() {
            return;
        }
        let ctx = Arc::new(RunContext::default());
        let names: Vec<&str> = due.iter().map(|k| k.name()).collect();
        tracing::info!(correlation_id = %ctx.correlation_id(), collectors = %names.join(","), "collection started");
        for kind in due {
            let started = Instant::now();
            let work = tokio::spawn({
                let collect = self.collect.clone();
                let ctx = ctx.clone();
                async move { collect.run(kind, &ctx).await }
            });
            let abort = work.abort_handle();
            let scheduler = Arc::clone(self);
            let finished = tokio::spawn(async move {
                let outcome = match work.await {
                    Ok(outcome) => outcome,
                    Err(e) if e.is_cancelled() => {
                        scheduler.abandon(kind);
                        return;
                    }
                    Err(e) => RunOutcome {
                        kind,
                        result: Err(CollectError::Panicked(panic_message(e.into_panic()))),
                        customer_errors: 0,
                        duration: started.elapsed(),
                        customers: None,
                    },
                };
                scheduler.finish(kind, started, outcome).await;
            });
            let done: SharedRun = async move {
                let _ = finished.await;
            }
            .boxed()
            .shared();
            if let Some(state) = kinds.get_mut(&kind) {
                state.running = Some(Running { done, abort });
            }
        }
    }

    /// A run aborted at shutdown: nothing to publish.
    fn abandon(&self, kind: CollectorKind) {
        if let Some(state) = self.lock_kinds().get_mut(&kind) {
            state.running = None;
        }
        self.wake.notify_one();
    }

    /// Publish a finished run and schedule the next one.
    async fn finish(&self, kind: CollectorKind, started: Instant, outcome: RunOutcome) {
        let error = outcome.result.as_ref().err().map(ToString::to_string);
        let customer_errors = outcome.customer_errors;
        let duration = outcome.duration;
        self.publish(outcome).await;
        let period = self.config().period_of(kind);
        let backoff = self.config().retry_backoff;
        let retry_in = {
            let mut kinds = self.lock_kinds();
            kinds.get_mut(&kind).map(|state| {
                state.running = None;
                match &error {
                    None => {
                        state.timing.succeeded(started, period);
                        None
                    }
                    Some(_) => Some((
                        state
                            .timing
                            .failed(Instant::now(), backoff, period, rand::random::<f64>()),
                        state.timing.failures,
                    )),
                }
            })
        };
        match (error, retry_in.flatten()) {
            (Some(error), Some((wait, failures))) => tracing::error!(
                collector = kind.name(),
                %error,
                failures_in_a_row = failures,
                retry_in = %humantime::format_duration(Duration::from_secs(wait.as_secs().max(1))),
                "collector failed; keeping its last good data and retrying"
            ),
            (Some(error), None) => tracing::error!(collector = kind.name(), %error, "collector failed"),
            (None, _) => tracing::info!(
                collector = kind.name(),
                customer_errors,
                duration = ?duration,
                "collector succeeded"
            ),
        }
        self.wake.notify_one();
    }

    /// Run every enabled collector once and publish the results. Runs already in progress are
    /// waited for first, so the runs counted here start after the call. Returns the snapshot
    /// once every one of them has been published.
    pub async fn run_once(self: &Arc<Self>) -> Arc<Snapshot> {
        let in_progress: Vec<SharedRun> = self
            .lock_kinds()
            .values()
            .filter_map(|s| s.running.as_ref().map(|r| r.done.clone()))
            .collect();
        futures::future::join_all(in_progress).await;
        let runs: Vec<SharedRun> = {
            let mut kinds = self.lock_kinds();
            let idle: Vec<CollectorKind> = kinds
                .iter()
                .filter(|(_, s)| s.running.is_none())
                .map(|(&k, _)| k)
                .collect();
            self.start(&mut kinds, idle);
            kinds
                .values()
                .filter_map(|s| s.running.as_ref().map(|r| r.done.clone()))
                .collect()
        };
        futures::future::join_all(runs).await;
        self.snapshot()
    }

    /// Start the collectors that are due (within [`TICK_SLACK`] of `now`) and not running, as one
    /// tick. Returns when the next idle collector is due, if any.
    fn start_due(self: &Arc<Self>, now: Instant) -> Option<Instant> {
        let mut kinds = self.lock_kinds();
        let due: Vec<CollectorKind> = kinds
            .iter()
            .filter(|(_, s)| s.running.is_none() && s.timing.next_due <= now + TICK_SLACK)
            .map(|(&k, _)| k)
            .collect();
        self.start(&mut kinds, due);
        kinds
            .values()
            .filter(|s| s.running.is_none())
            .map(|s| s.timing.next_due)
            .min()
    }

    /// Interval mode: run each collector when it is due, until `cancel`; then abort the runs in
    /// progress, so that a shutdown does not wait for Partner Center.
    pub async fn run_interval(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let next = self.start_due(Instant::now());
            let sleep = match next {
                Some(at) => tokio::time::sleep_until(at).boxed(),
                None => std::future::pending().boxed(),
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = sleep => {}
            }
        }
        self.abort_all();
        tracing::info!("collection loop stopped");
    }

    /// Abort every run in progress.
    pub fn abort_all(&self) {
        for state in self.lock_kinds().values() {
            if let Some(running) = &state.running {
                running.abort.abort();
            }
        }
    }

    /// Scrape mode: start the collectors that are due (their data older than their minimum
    /// interval, or their retry backoff over) and wait for every run in progress at most
    /// `budget`. Runs go on in the background if the budget runs out; the caller then serves the
    /// current snapshot, in which the collectors that finished in time are already published.
    pub async fn refresh_for_scrape(self: &Arc<Self>, budget: Duration) {
        let runs: Vec<SharedRun> = {
            let now = Instant::now();
            let mut kinds = self.lock_kinds();
            let due: Vec<CollectorKind> = kinds
                .iter()
                .filter(|(_, s)| s.running.is_none() && s.timing.next_due <= now)
                .map(|(&k, _)| k)
                .collect();
            self.start(&mut kinds, due);
            kinds
                .values()
                .filter_map(|s| s.running.as_ref().map(|r| r.done.clone()))
                .collect()
        };
        if runs.is_empty() {
            return;
        }
        if tokio::time::timeout(budget, futures::future::join_all(runs))
            .await
            .is_err()
        {
            tracing::debug!("scrape budget ran out; serving the current snapshot while the runs go on");
        }
    }
}

/// The text of a panic payload.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests;
