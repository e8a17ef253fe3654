//! How a collector's result becomes part of the published snapshot: rendered off the async
//! threads, swapped in with the info series of every collector's current names, written to
//! `--storage.path`, and loaded back from it at start. The parent module decides *when* runs
//! happen; this one what a finished (or stored) run turns into.

use std::sync::{Arc, PoisonError};

use chrono::Utc;

use super::Scheduler;
use crate::collector::{CollectionConfig, Dataset, RunOutcome};
use crate::derived::{Derived, DerivedState};
use crate::model::Customer;
use crate::render::{RenderContext, RenderedData, render, render_info};
use crate::snapshot::{CollectorState, RunSummary, Snapshot};
use crate::storage::Stored;

/// The one place where a collector's rows become exposition text: fresh results and restored
/// ones alike. `directory` is the customer list a per-customer collector fanned out over (its
/// company names are the names of record); `collected_at` when the rows were collected.
fn render_dataset(
    dataset: &Dataset,
    config: &CollectionConfig,
    directory: Option<&[Customer]>,
    collected_at: chrono::DateTime<Utc>,
) -> RenderedData {
    let ctx = RenderContext {
        filter: &config.filter,
        directory,
        collected_at,
    };
    render(dataset, &ctx)
}

impl Scheduler {
    /// Serve the data kept in `--storage.path` until the first runs replace it: every enabled
    /// collector's file younger than `--collector.max-age`, with its true collection time.
    /// Returns how many collectors' data was restored.
    pub async fn restore(&self) -> usize {
        let Some(storage) = self.storage.clone() else {
            return 0;
        };
        let config = self.config().clone();
        let loaded = tokio::task::spawn_blocking(move || {
            storage
                .load_current(&config.enabled, Utc::now(), config.max_age)
                .into_iter()
                .map(|stored| {
                    let rendered = render_dataset(&stored.dataset, &config, None, stored.collected_at);
                    (stored.kind, stored.collected_at, rendered, stored.dataset)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "restoring the stored data failed; starting without it");
            Vec::new()
        });
        let count = loaded.len();
        let mut derived_inputs = false;
        for (kind, collected_at, rendered, dataset) in loaded {
            derived_inputs |= self.derived.update(Arc::new(dataset), collected_at);
            self.metrics.record_restored(kind, collected_at);
            self.metrics
                .record_data(kind, rendered.rows, rendered.dropped, rendered.processed_at);
            tracing::info!(collector = kind.name(), rows = rendered.rows, collected_at = %collected_at, "serving stored data until the first run replaces it");
            self.replace(CollectorState {
                kind,
                last_run: None,
                last_success: Some(collected_at),
                data: Some(Arc::new(rendered)),
                restored: true,
            });
        }
        if derived_inputs {
            self.publish_derived().await;
        }
        count
    }

    /// Compute the derived data from the latest inputs (off the async threads) and swap it in,
    /// unless a later computation already did.
    async fn publish_derived(&self) {
        let derived = self.derived.clone();
        match tokio::task::spawn_blocking(move || derived.compute(Utc::now())).await {
            Ok(Some(state)) => {
                self.metrics.record_prices(state.prices);
                self.replace_derived(Arc::new(state));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "computing the unused licenses failed; keeping the last ones")
            }
        }
    }

    /// Swap in a snapshot with `state` as its derived part, if it is newer than the one there.
    fn replace_derived(&self, state: Arc<DerivedState>) {
        let _guard = self.publishing.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = self.store.load_full();
        if previous
            .derived
            .as_ref()
            .is_some_and(|d| d.generation >= state.generation)
        {
            return;
        }
        let mut next = Snapshot::clone(&previous);
        next.derived = Some(state);
        self.store.store(Arc::new(next));
    }

    /// Swap in a snapshot in which `state` replaces its collector's part, with the info series of
    /// the names in every collector's current data.
    fn replace(&self, state: CollectorState) {
        // Never held across an await; a poisoned guard protects nothing that could be half-done.
        let _guard = self.publishing.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = self.store.load_full();
        let mut next = Snapshot::clone(&previous);
        match next.collectors.iter_mut().find(|c| c.kind == state.kind) {
            Some(slot) => *slot = state,
            None => next.collectors.push(state),
        }
        let now = Utc::now();
        // Rendered under the lock, so that two collectors publishing at once both see each
        // other's names; a few milliseconds at 20,000 customers, once per publication.
        let max_age = self.config().max_age;
        next.names = Arc::new(render_info(
            next.collectors
                .iter()
                .filter_map(|c| c.current_data(now, max_age))
                .map(|d| &d.names),
        ));
        next.updated_at = Some(now);
        self.store.store(Arc::new(next));
    }

    /// Render a run's result off the async threads, publish it, record its metrics and, with
    /// storage, write it to disk.
    pub(super) async fn publish(&self, outcome: RunOutcome) {
        let RunOutcome {
            kind,
            result,
            customer_errors,
            duration,
            customers,
        } = outcome;
        let finished = Utc::now();
        let result = match result {
            Ok(dataset) => tokio::task::spawn_blocking({
                let config = self.config().clone();
                move || {
                    let directory = customers.as_deref().map(Vec::as_slice);
                    let rendered = render_dataset(&dataset, &config, directory, finished);
                    (rendered, dataset)
                }
            })
            .await
            .map_err(|e| format!("rendering failed: {e}")),
            Err(error) => Err(error.to_string()),
        };
        let previous = self.store.load_full();
        let old = previous.collector(kind);
        let summary = |error: Option<String>| RunSummary {
            finished,
            duration,
            error,
            customer_errors,
        };
        let (state, dataset) = match result {
            Ok((rendered, dataset)) => {
                let rendered = Arc::new(rendered);
                self.metrics
                    .record_data(kind, rendered.rows, rendered.dropped, rendered.processed_at);
                let stored = Stored {
                    kind,
                    collected_at: finished,
                    processed_at: rendered.processed_at,
                    dataset,
                };
                (
                    CollectorState {
                        kind,
                        last_run: Some(summary(None)),
                        last_success: Some(finished),
                        data: Some(rendered),
                        restored: false,
                    },
                    Some(stored),
                )
            }
            Err(error) => (
                CollectorState {
                    kind,
                    last_run: Some(summary(Some(error))),
                    last_success: old.and_then(|o| o.last_success),
                    data: old.and_then(|o| o.data.clone()),
                    restored: old.is_some_and(|o| o.restored),
                },
                None,
            ),
        };
        self.metrics
            .record_run(kind, dataset.is_some(), duration, customer_errors, finished);
        self.replace(state);
        // Unused licences need both commercial collectors' latest data: computed again whenever
        // either publishes (a clone of its rows, a few megabytes at 10,000 customers).
        if let Some(stored) = dataset.as_ref().filter(|_| Derived::is_input(kind))
            && self.derived.update(Arc::new(stored.dataset.clone()), finished)
        {
            self.publish_derived().await;
        }
        if let (Some(storage), Some(stored)) = (self.storage.clone(), dataset) {
            let saved = tokio::task::spawn_blocking(move || storage.save(&stored))
                .await
                .unwrap_or_else(|e| {
                    Err(crate::storage::SaveError {
                        path: "--storage.path".into(),
                        source: std::io::Error::other(e.to_string()),
                    })
                });
            if let Err(error) = saved {
                self.metrics.storage_write_failed(kind);
                tracing::warn!(collector = kind.name(), %error, "cannot store the collected data; it is still served from memory, but a restart would start without it");
            }
        }
        // The run's rows are freed by now: give the memory back rather than keep the peak.
        let _ = tokio::task::spawn_blocking(crate::memory::release_free_memory).await;
    }
}
