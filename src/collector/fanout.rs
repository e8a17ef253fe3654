//! The per-customer fan-out of the legacy collectors: one request per customer, a bounded number
//! at a time. A failing customer is counted and logged, and keeps its rows from the last run in
//! which it succeeded, so one bad tenant neither fails the run nor loses its data.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use super::error::CollectError;
use crate::client::ClientError;
use crate::model::{Customer, DeploymentRow, UsageRow};

/// Each customer's rows from its last successful request, by customer id.
pub struct Memory<R>(Mutex<HashMap<String, Vec<R>>>);

impl<R> Default for Memory<R> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

/// The memories of both per-customer collectors.
#[derive(Default)]
pub struct FanoutMemory {
    pub usage: Memory<UsageRow>,
    pub deployment: Memory<DeploymentRow>,
}

/// The customer's tenant id as the label value: from the customer list, lower-cased.
fn tenant_id(customer: &Customer) -> String {
    let id = if customer.tenant_id.is_empty() {
        &customer.id
    } else {
        &customer.tenant_id
    };
    id.to_ascii_lowercase()
}

/// Fill the labels a legacy usage row lacks from the customer list.
pub fn label_usage(mut row: UsageRow, customer: &Customer) -> UsageRow {
    row.customer_tenant_id = tenant_id(customer);
    if row.customer_name.is_empty() {
        row.customer_name = customer.company_name.clone();
    }
    row
}

/// Fill the labels a legacy deployment row lacks from the customer list.
pub fn label_deployment(mut row: DeploymentRow, customer: &Customer) -> DeploymentRow {
    row.customer_tenant_id = tenant_id(customer);
    if row.customer_name.is_empty() {
        row.customer_name = customer.company_name.clone();
    }
    row
}

/// One customer's request, paired with the customer it is for.
type Request<'a, R> = BoxFuture<'a, (&'a Customer, Result<Vec<R>, ClientError>)>;

/// Fetch every customer's rows with at most `concurrency` requests in flight. Returns the rows
/// and the number of customers that failed; fails only when every customer failed.
pub async fn collect<'a, R, F, Fut>(
    customers: &'a [Customer],
    concurrency: usize,
    memory: &Memory<R>,
    fetch: F,
    label: impl Fn(R, &Customer) -> R,
) -> Result<(Vec<R>, usize), CollectError>
where
    R: Clone + Send + 'a,
    F: Fn(&'a Customer) -> Fut,
    Fut: Future<Output = Result<Vec<R>, ClientError>> + Send + 'a,
{
    // Boxed and collected first: a stream holding the closures themselves trips the compiler's
    // higher-ranked lifetime check when the run is spawned on the runtime.
    let requests: Vec<Request<'a, R>> = customers
        .iter()
        .map(|customer| {
            let fut = fetch(customer);
            async move { (customer, fut.await) }.boxed()
        })
        .collect();
    let mut results = futures::stream::iter(requests).buffer_unordered(concurrency.max(1));

    let mut rows = Vec::new();
    let mut fresh: HashMap<String, Vec<R>> = HashMap::with_capacity(customers.len());
    let mut failures: Vec<(&Customer, ClientError)> = Vec::new();
    while let Some((customer, result)) = results.next().await {
        match result {
            Ok(customer_rows) => {
                let labelled: Vec<R> = customer_rows.into_iter().map(|r| label(r, customer)).collect();
                rows.extend(labelled.iter().cloned());
                fresh.insert(customer.id.clone(), labelled);
            }
            Err(error) => {
                tracing::warn!(customer_id = %customer.id, customer = %customer.company_name, %error, "customer request failed; keeping its rows from the last good run");
                failures.push((customer, error));
            }
        }
    }
    drop(results);

    let failed = failures.len();
    if failed > 0 && failed == customers.len() {
        // `failed > 0`, so index 0 exists.
        let (_, first) = failures.swap_remove(0);
        return Err(CollectError::AllCustomersFailed { count: failed, first });
    }

    // A poisoned lock only means another run panicked mid-update; the map is still usable.
    let mut remembered = memory.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for (customer, _) in &failures {
        if let Some(previous) = remembered.get(&customer.id) {
            rows.extend(previous.iter().cloned());
            fresh.insert(customer.id.clone(), previous.clone());
        }
    }
    // Customers no longer listed are forgotten, so they vanish from /metrics.
    *remembered = fresh;
    Ok((rows, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(id: &str) -> Customer {
        Customer {
            id: id.into(),
            tenant_id: id.to_uppercase(),
            company_name: format!("Company {id}"),
            domain: String::new(),
        }
    }

    fn row(n: f64) -> UsageRow {
        UsageRow {
            licenses_active: n,
            ..Default::default()
        }
    }

    fn http_error() -> ClientError {
        ClientError::Setup("simulated failure".into())
    }

    #[tokio::test]
    async fn a_failing_customer_is_counted_and_keeps_its_last_good_rows() {
        let memory = Memory::default();
        let customers = vec![customer("a"), customer("b")];
        let (rows, errors) = collect(
            &customers,
            2,
            &memory,
            |_| async { Ok(vec![row(1.0)]) },
            label_usage,
        )
        .await
        .unwrap();
        assert_eq!((rows.len(), errors), (2, 0));

        let (rows, errors) = collect(
            &customers,
            2,
            &memory,
            |c: &Customer| {
                let id = c.id.clone();
                async move {
                    if id == "b" {
                        Err(http_error())
                    } else {
                        Ok(vec![row(5.0)])
                    }
                }
            },
            label_usage,
        )
        .await
        .unwrap();
        assert_eq!(errors, 1);
        let mut values: Vec<(String, f64)> = rows
            .iter()
            .map(|r| (r.customer_tenant_id.clone(), r.licenses_active))
            .collect();
        values.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(values, vec![("a".into(), 5.0), ("b".into(), 1.0)]);
        assert!(rows[0].customer_name.starts_with("Company"));
    }

    #[tokio::test]
    async fn every_customer_failing_fails_the_run() {
        let memory: Memory<UsageRow> = Memory::default();
        let customers = vec![customer("a"), customer("b")];
        let err = collect(
            &customers,
            2,
            &memory,
            |_| async { Err(http_error()) },
            label_usage,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CollectError::AllCustomersFailed { count: 2, .. }));
    }

    #[tokio::test]
    async fn customers_that_leave_the_list_are_forgotten() {
        let memory = Memory::default();
        collect(
            &[customer("a"), customer("b")],
            1,
            &memory,
            |_| async { Ok(vec![row(1.0)]) },
            label_usage,
        )
        .await
        .unwrap();
        let (rows, _) = collect(
            &[customer("a")],
            1,
            &memory,
            |_| async { Ok(vec![row(1.0)]) },
            label_usage,
        )
        .await
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert!(!memory.0.lock().unwrap().contains_key("b"));
    }
}
