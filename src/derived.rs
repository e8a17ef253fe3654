//! What the exporter computes from several collectors' latest data, rather than reads from
//! Partner Center: the unused licences of each subscription (from the subscriptions and the
//! tenants' licence counts, `attribution`), the list prices of `--pricing.file`, and the landing
//! page's renewals table (`renewals`). The customers' names are the collectors' own: they go
//! into the shared info series (`crate::render`).
//!
//! The scheduler hands every successful dataset of `subscriptions` and `subscribed-skus` to
//! [`Derived::update`], and publishes what [`Derived::compute`] returns beside the collectors'
//! own data. It is computed again whenever either input changes, from the latest good data of
//! both, so a collector that runs on its own schedule still gets its unused figures at once.

mod attribution;
mod renewals;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::collector::{CollectorKind, Dataset, RowFilter};
use crate::model::{SubscribedSkus, SubscriptionRow};
use crate::pricing::LoadedPrices;
use crate::render::{self, RenderedData};

pub use attribution::attribute_unused;
pub use renewals::{Renewal, RenewalTable, monthly_price, renewals_within};

/// How far ahead the landing page's renewals table looks.
pub const RENEWAL_TABLE_DAYS: i64 = 14;

/// What the derived data is computed from.
#[derive(Default)]
struct Inputs {
    /// Counts the updates, so that of two computations the later one wins.
    generation: u64,
    subscriptions: Option<(Arc<Dataset>, DateTime<Utc>)>,
    skus: Option<(Arc<Dataset>, DateTime<Utc>)>,
    prices: Option<LoadedPrices>,
}

/// The derived part of a snapshot.
#[derive(Debug, Clone)]
pub struct DerivedState {
    pub data: Arc<RenderedData>,
    /// The older of the inputs' collection times: the derived figures are as old as that.
    pub collected_at: DateTime<Utc>,
    pub renewals: Arc<RenewalTable>,
    /// Prices loaded from `--pricing.file`.
    pub prices: usize,
    /// Which update of the inputs this was computed from: a later one replaces it, an earlier
    /// one (from a computation that finished late) does not.
    pub generation: u64,
}

/// Log what the price file gave (once, when the exporter starts serving).
pub fn log_prices(prices: &LoadedPrices) {
    let s = &prices.summary;
    tracing::info!(
        file = %prices.config.path.display(), rows = s.rows, prices = s.prices, currency = %s.currency,
        skipped_term = s.skipped_term, skipped_price = s.skipped_price, filtered = s.filtered,
        "loaded the price file"
    );
    if s.market_conflicts > 0 {
        tracing::warn!(
            file = %prices.config.path.display(), keys = s.market_conflicts,
            "the price file has different prices for one SKU in several markets; the first market in alphabetical order is used (set --pricing.market to choose)"
        );
    }
}

/// Keeps the latest inputs and computes the derived data from them.
pub struct Derived {
    inputs: Mutex<Inputs>,
    /// `--collector.customers.*` and `--collector.products.*`.
    filter: RowFilter,
}

impl Derived {
    /// With the prices read at start-up, if a price file is configured, and the customer and
    /// product filters of the collectors.
    pub fn new(prices: Option<LoadedPrices>, filter: RowFilter) -> Self {
        Self {
            inputs: Mutex::new(Inputs {
                prices,
                ..Inputs::default()
            }),
            filter,
        }
    }

    /// Whether the filters keep a subscription of this customer and product (Entra SKU).
    fn keeps(&self, customer: (&str, &str), product: (&str, &str)) -> bool {
        self.filter.is_empty()
            || (self.filter.customers.keeps(customer.0, customer.1)
                && self.filter.products.keeps(product.0, product.1))
    }

    /// Whether a collector's data feeds the derived data.
    pub fn is_input(kind: CollectorKind) -> bool {
        matches!(kind, CollectorKind::Subscriptions | CollectorKind::SubscribedSkus)
    }

    /// Keep a collector's new good data; false when it is not an input.
    pub fn update(&self, dataset: Arc<Dataset>, collected: DateTime<Utc>) -> bool {
        // A poisoned lock only means a panic mid-update of another field; the rest is usable.
        let mut inputs = self.inputs.lock().unwrap_or_else(|p| p.into_inner());
        match &*dataset {
            Dataset::Subscriptions(_) => inputs.subscriptions = Some((dataset, collected)),
            Dataset::SubscribedSkus(_) => inputs.skus = Some((dataset, collected)),
            _ => return false,
        }
        inputs.generation += 1;
        true
    }

    /// The number of prices loaded (0 without a price file).
    pub fn prices_loaded(&self) -> usize {
        let inputs = self.inputs.lock().unwrap_or_else(|p| p.into_inner());
        inputs.prices.as_ref().map_or(0, |p| p.rows.len())
    }

    /// The derived data at `now`, or `None` before either input has data. CPU work: call it off
    /// the async threads. A price file changed on disk is read again first.
    pub fn compute(&self, now: DateTime<Utc>) -> Option<DerivedState> {
        let (subs, skus, prices, generation) = {
            let mut inputs = self.inputs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(prices) = inputs.prices.as_mut() {
                match prices.reload_if_changed(now) {
                    Ok(true) => tracing::info!(
                        file = %prices.config.path.display(), prices = prices.rows.len(),
                        "the price file changed; read it again"
                    ),
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the changed price file; keeping the prices read before")
                    }
                }
            }
            let prices = inputs.prices.as_ref().map(|p| p.rows.clone()).unwrap_or_default();
            (
                inputs.subscriptions.clone(),
                inputs.skus.clone(),
                prices,
                inputs.generation,
            )
        };
        let collected_at = [subs.as_ref().map(|s| s.1), skus.as_ref().map(|s| s.1)]
            .into_iter()
            .flatten()
            .min()?;
        let subscriptions: &[SubscriptionRow] = match subs.as_ref().map(|s| &*s.0) {
            Some(Dataset::Subscriptions(rows)) => rows,
            _ => &[],
        };
        let empty = SubscribedSkus::default();
        let tenant = match skus.as_ref().map(|s| &*s.0) {
            Some(Dataset::SubscribedSkus(data)) => data,
            _ => &empty,
        };
        // The customer and product filters apply here as to the collectors' own series.
        let subscriptions: Vec<SubscriptionRow> = subscriptions
            .iter()
            .filter(|s| {
                self.keeps(
                    (&s.customer_tenant_id, &s.customer_name),
                    (&s.sku_id, &s.offer_name),
                )
            })
            .cloned()
            .collect();
        let subscriptions = &subscriptions[..];
        let unused = attribute_unused(subscriptions, &tenant.rows, now);
        let data = render::render_derived(&render::Derived {
            unused: &unused,
            prices: &prices,
        });
        let renewals = renewals_within(
            subscriptions,
            &unused,
            &prices,
            &tenant.access,
            now,
            RENEWAL_TABLE_DAYS,
        );
        Some(DerivedState {
            data: Arc::new(data),
            collected_at,
            renewals: Arc::new(renewals),
            prices: prices.len(),
            generation,
        })
    }
}
