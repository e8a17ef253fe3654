//! Which Entra SKU a subscription provisions. Nothing in the subscription says so (reference
//! §3.1–§3.5), yet it is the key that joins a subscription to its tenant's licence counts. Two
//! documented routes give it:
//!
//! - new commerce: the catalog SKU of the `offerId`'s product and SKU,
//!   `dynamicAttributes.provisioningId`; one request per (product, SKU) for the life of the
//!   process;
//! - legacy (and new commerce without a provisioning id): the subscription's provisioning status,
//!   `skuId`; one request per subscription for the life of the process. It needs App+User and a
//!   GDAP role in the customer, like the subscribed SKUs.
//!
//! Found ids are kept for the life of the process (they change only on an upgrade, which makes a
//! new subscription); a "not found" answer (404, or no id in the answer) is kept for a day; any
//! other error is not kept, and the subscription stays unresolved until the next run. Concurrent
//! look-ups of one key share one request. A failed look-up never fails the customer: the
//! subscription is reported without a SKU id, so it has no unused-licence figure.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::client::{ClientError, PartnerCenterClient};
use crate::model::{Commerce, SubscriptionRow};

/// How long a "this has no SKU id" answer is believed.
const NEGATIVE_TTL: Duration = Duration::from_secs(24 * 3600);

struct Entry {
    created: Instant,
    value: OnceCell<Option<String>>,
}

impl Entry {
    fn is_stale(&self) -> bool {
        matches!(self.value.get(), Some(None)) && self.created.elapsed() > NEGATIVE_TTL
    }
}

/// Look-up results by key, with single-flight look-ups.
struct Cache<K>(Mutex<HashMap<K, Arc<Entry>>>);

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash> Cache<K> {
    async fn get(
        &self,
        key: K,
        lookup: impl Future<Output = Result<Option<String>, ClientError>>,
    ) -> Result<Option<String>, ClientError> {
        let entry = {
            // A poisoned lock only means a panic elsewhere mid-insert; the map is still usable.
            let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            match map.get(&key) {
                Some(e) if !e.is_stale() => e.clone(),
                _ => {
                    let e = Arc::new(Entry {
                        created: Instant::now(),
                        value: OnceCell::new(),
                    });
                    map.insert(key, e.clone());
                    e
                }
            }
        };
        let found = entry
            .value
            .get_or_try_init(|| async {
                match lookup.await {
                    Err(ClientError::Http { status: 404, .. }) => Ok(None),
                    other => other,
                }
            })
            .await?;
        Ok(found.clone())
    }
}

/// The SKU ids found so far, kept across runs.
#[derive(Default)]
pub struct SkuCache {
    catalog: Cache<(String, String, String)>,
    provisioning: Cache<String>,
}

/// What one run's look-ups came to.
#[derive(Default)]
pub struct Lookups {
    /// Set when provisioning status needs App+User and the exporter signs in app-only: no more
    /// such look-ups in this run.
    provisioning_off: AtomicBool,
    /// Look-ups that failed for a reason other than "not found".
    pub errors: AtomicUsize,
}

impl SkuCache {
    /// Fill `sku_id` of the customer's subscriptions where a route gives it.
    pub async fn resolve(
        &self,
        client: &PartnerCenterClient,
        customer_id: &str,
        rows: &mut [SubscriptionRow],
        default_country: &str,
        run: &Lookups,
    ) {
        let mut customer_refuses = false;
        for row in rows.iter_mut() {
            // Software (SQL Server, Windows licences) and Azure provision no Entra SKU.
            let kind = row.product_type.to_ascii_lowercase();
            if kind == "software" || kind == "azure" {
                continue;
            }
            if row.commerce == Commerce::Nce && !row.catalog_product_id.is_empty() {
                let country = row
                    .catalog_country
                    .clone()
                    .unwrap_or_else(|| default_country.to_owned());
                let key = (
                    row.catalog_product_id.clone(),
                    row.catalog_sku_id.clone(),
                    country,
                );
                let lookup = client.catalog_sku_guid(&key.0, &key.1, &key.2);
                match self.catalog.get(key.clone(), lookup).await {
                    Ok(Some(guid)) => {
                        row.sku_id = guid;
                        continue;
                    }
                    Ok(None) => {}
                    Err(error) => {
                        run.errors.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(product = %key.0, sku = %key.1, %error, "catalog SKU look-up failed");
                        continue;
                    }
                }
            }
            if customer_refuses || run.provisioning_off.load(Ordering::Relaxed) {
                continue;
            }
            let lookup = client.subscription_sku_guid(customer_id, &row.subscription_id);
            match self.provisioning.get(row.subscription_id.clone(), lookup).await {
                Ok(Some(guid)) => row.sku_id = guid,
                Ok(None) => {}
                Err(ClientError::AppUserRequired { .. }) => {
                    run.provisioning_off.store(true, Ordering::Relaxed)
                }
                Err(error) => {
                    // No GDAP role in this customer: the rest of its look-ups would be refused too.
                    customer_refuses = matches!(error.status(), Some(401 | 403));
                    if !customer_refuses {
                        run.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    tracing::debug!(customer_id, subscription_id = %row.subscription_id, %error, "provisioning status look-up failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn found_ids_are_kept_and_not_found_answers_cached_but_errors_are_not() {
        let cache: Cache<&str> = Cache::default();
        let calls = AtomicUsize::new(0);
        let counted = |answer: Result<Option<String>, ClientError>| {
            let calls = &calls;
            async move {
                calls.fetch_add(1, Ordering::Relaxed);
                answer
            }
        };
        assert_eq!(
            cache.get("a", counted(Ok(Some("g".into())))).await.unwrap(),
            Some("g".into())
        );
        assert_eq!(cache.get("a", counted(Ok(None))).await.unwrap(), Some("g".into()));
        let not_found = ClientError::Http {
            endpoint: "catalog_sku",
            path: "/".into(),
            status: 404,
            fault: Box::default(),
            attempts: 1,
        };
        assert_eq!(cache.get("b", counted(Err(not_found))).await.unwrap(), None);
        assert_eq!(
            cache.get("b", counted(Ok(Some("late".into())))).await.unwrap(),
            None
        );
        assert!(
            cache
                .get("c", counted(Err(ClientError::Setup("x".into()))))
                .await
                .is_err()
        );
        assert_eq!(
            cache.get("c", counted(Ok(Some("h".into())))).await.unwrap(),
            Some("h".into())
        );
        assert_eq!(
            calls.load(Ordering::Relaxed),
            4,
            "a, b, and c twice: the failure was not kept"
        );
    }
}
