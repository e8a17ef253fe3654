//! The per-customer fan-out: one request per customer, a bounded number at a time. A failing
//! customer is counted and keeps its rows from the last run in which it succeeded, so one bad
//! tenant neither fails the run nor loses its data. Failures are logged once per run, as a
//! summary (a line per customer would be thousands of lines at 10,000 customers); each
//! customer's error goes to the debug log.
//!
//! Collectors for which a refusal (401/403 after the token renewal) is an expected answer, not a
//! failure, say so with [`Refusals::Expected`]: a customer that refuses (no GDAP role, no
//! reseller relationship) is counted but forgets its rows, since showing old figures would hide
//! that the access is gone, and the run never fails for it. A credentials problem that no
//! customer can escape (App+User required, MFA, sign-in) stops the fan-out at once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use super::error::CollectError;
use crate::client::ClientError;
use crate::model::{Customer, DeploymentRow, SubscribedSkuRow, SubscriptionRow, UsageRow};

/// Each customer's rows from its last successful request, by customer id.
pub struct Memory<R>(Mutex<HashMap<String, Vec<R>>>);

impl<R> Default for Memory<R> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

/// The memories of the per-customer collectors.
#[derive(Default)]
pub struct FanoutMemory {
    pub usage: Memory<UsageRow>,
    pub deployment: Memory<DeploymentRow>,
    pub subscriptions: Memory<SubscriptionRow>,
    pub subscribed_skus: Memory<SubscribedSkuRow>,
}

/// The customer's tenant id as the label value: from the customer list, lower-cased.
pub fn tenant_id(customer: &Customer) -> String {
    let id = if customer.tenant_id.is_empty() {
        &customer.id
    } else {
        &customer.tenant_id
    };
    id.to_ascii_lowercase()
}

/// Fill the labels a legacy usage row lacks from the customer list.
pub fn label_usage(mut row: UsageRow, customer: &Customer) -> UsageRow {
    row.customer_tenant_id = tenant_id(customer).into();
    if row.customer_name.is_empty() {
        row.customer_name = customer.company_name.as_str().into();
    }
    row
}

/// Fill the labels a legacy deployment row lacks from the customer list.
pub fn label_deployment(mut row: DeploymentRow, customer: &Customer) -> DeploymentRow {
    row.customer_tenant_id = tenant_id(customer).into();
    if row.customer_name.is_empty() {
        row.customer_name = customer.company_name.as_str().into();
    }
    row
}

/// How a collector takes a customer's 401/403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusals {
    /// A failure like any other (the license analytics: every customer should answer).
    Failures,
    /// An answer: the customer does not let the exporter see this. `hint` says what to grant;
    /// it ends the one log line of the run that counts them.
    Expected { hint: &'static str },
}

/// What a fan-out came to.
#[derive(Debug)]
pub struct Fanout<'a, R> {
    /// Rows of the customers that answered, plus the remembered rows of those that failed.
    pub rows: Vec<R>,
    /// Customers that failed (after retries); they kept their last good rows.
    pub failed: Vec<&'a Customer>,
    /// Customers that refused (only with [`Refusals::Expected`]).
    pub refused: Vec<&'a Customer>,
}

impl<R> Fanout<'_, R> {
    /// `partnercenter_collector_customer_errors`: customers that failed or refused.
    pub fn customer_errors(&self) -> usize {
        self.failed.len() + self.refused.len()
    }
}

/// One customer's request, paired with the customer it is for.
type Request<'a, R> = BoxFuture<'a, (&'a Customer, Result<Vec<R>, ClientError>)>;

/// A problem with the exporter's own credentials: every customer would fail the same way.
fn is_fatal(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Auth(_) | ClientError::AppUserRequired { .. } | ClientError::MfaRequired { .. }
    )
}

/// `"403/2032: 37, 401: 2"`: the refusals by status and Partner Center code, most frequent first.
fn tally<'e>(errors: impl Iterator<Item = &'e ClientError>) -> String {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for e in errors {
        let key = match e {
            ClientError::Http { status, fault, .. } => match &fault.code {
                Some(code) => format!("{status}/{code}"),
                None => status.to_string(),
            },
            other => other.kind().to_owned(),
        };
        *counts.entry(key).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fetch every customer's rows with at most `concurrency` requests in flight. Fails only when
/// no customer answered and at least one failed, or at once on a credentials problem.
pub async fn collect<'a, R, F, Fut>(
    collector: &'static str,
    customers: &'a [Customer],
    concurrency: usize,
    refusals: Refusals,
    memory: &Memory<R>,
    fetch: F,
    label: impl Fn(R, &Customer) -> R,
) -> Result<Fanout<'a, R>, CollectError>
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
    let mut refused: Vec<(&Customer, ClientError)> = Vec::new();
    while let Some((customer, result)) = results.next().await {
        match result {
            Ok(customer_rows) => {
                let labelled: Vec<R> = customer_rows.into_iter().map(|r| label(r, customer)).collect();
                rows.extend(labelled.iter().cloned());
                fresh.insert(customer.id.clone(), labelled);
            }
            // Dropping the stream cancels the requests still in flight.
            Err(error) if is_fatal(&error) => return Err(CollectError::Client(error)),
            Err(error) => {
                tracing::debug!(collector, customer_id = %customer.id, customer = %customer.company_name, %error, "customer request failed");
                let is_refusal = matches!(refusals, Refusals::Expected { .. })
                    && matches!(error.status(), Some(401 | 403));
                if is_refusal {
                    refused.push((customer, error));
                } else {
                    failures.push((customer, error));
                }
            }
        }
    }
    drop(results);

    let of = customers.len();
    if let Refusals::Expected { hint } = refusals
        && !refused.is_empty()
    {
        let refusals = tally(refused.iter().map(|(_, e)| e));
        tracing::warn!(
            collector,
            customers = refused.len(),
            of,
            refusals,
            "Partner Center refused {} of {of} customers ({refusals}): {hint}",
            refused.len()
        );
    }
    if !failures.is_empty() {
        let errors = tally(failures.iter().map(|(_, e)| e));
        let first = &failures[0].1;
        tracing::warn!(
            collector, customers = failures.len(), of, errors, %first,
            "{} of {of} customers failed after retries; they keep their rows from the last good run",
            failures.len()
        );
    }
    if !failures.is_empty() && fresh.is_empty() {
        let count = failures.len() + refused.len();
        // Not empty, checked above.
        let (_, first) = failures.swap_remove(0);
        return Err(CollectError::AllCustomersFailed { count, first });
    }

    // A poisoned lock only means another run panicked mid-update; the map is still usable.
    let mut remembered = memory.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for (customer, _) in &failures {
        if let Some(previous) = remembered.get(&customer.id) {
            rows.extend(previous.iter().cloned());
            fresh.insert(customer.id.clone(), previous.clone());
        }
    }
    // Customers no longer listed, and those that refused, are forgotten: they vanish from /metrics.
    *remembered = fresh;
    Ok(Fanout {
        rows,
        failed: failures.into_iter().map(|(c, _)| c).collect(),
        refused: refused.into_iter().map(|(c, _)| c).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ApiFault;

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

    fn refusal(status: u16, code: &str) -> ClientError {
        ClientError::Http {
            endpoint: "subscribed_skus",
            path: "/v1/customers/x/subscribedskus".into(),
            status,
            fault: Box::new(ApiFault {
                code: Some(code.into()),
                ..ApiFault::default()
            }),
            attempts: 1,
        }
    }

    const EXPECTED: Refusals = Refusals::Expected { hint: "grant a role" };

    /// A fetch that answers per customer id: `"ok"` rows, or the error `fail(id)` gives.
    async fn run<'a>(
        customers: &'a [Customer],
        refusals: Refusals,
        memory: &Memory<UsageRow>,
        fail: fn(&str) -> Option<ClientError>,
        value: f64,
    ) -> Result<Fanout<'a, UsageRow>, CollectError> {
        collect(
            "test",
            customers,
            2,
            refusals,
            memory,
            move |c: &Customer| {
                let outcome = fail(&c.id);
                async move { outcome.map_or(Ok(vec![row(value)]), Err) }
            },
            label_usage,
        )
        .await
    }

    #[tokio::test]
    async fn a_failing_customer_is_counted_and_keeps_its_last_good_rows() {
        let memory = Memory::default();
        let customers = vec![customer("a"), customer("b")];
        let first = run(&customers, Refusals::Failures, &memory, |_| None, 1.0)
            .await
            .unwrap();
        assert_eq!((first.rows.len(), first.customer_errors()), (2, 0));

        let second = run(
            &customers,
            Refusals::Failures,
            &memory,
            |id| (id == "b").then(http_error),
            5.0,
        )
        .await
        .unwrap();
        assert_eq!(second.customer_errors(), 1);
        let mut values: Vec<(crate::model::Text, f64)> = second
            .rows
            .iter()
            .map(|r| (r.customer_tenant_id.clone(), r.licenses_active))
            .collect();
        values.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(values, vec![("a".into(), 5.0), ("b".into(), 1.0)]);
        assert!(second.rows[0].customer_name.starts_with("Company"));
    }

    #[tokio::test]
    async fn every_customer_failing_fails_the_run() {
        let memory: Memory<UsageRow> = Memory::default();
        let customers = vec![customer("a"), customer("b")];
        let err = run(
            &customers,
            Refusals::Failures,
            &memory,
            |_| Some(http_error()),
            1.0,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CollectError::AllCustomersFailed { count: 2, .. }));
    }

    #[tokio::test]
    async fn customers_that_leave_the_list_are_forgotten() {
        let memory = Memory::default();
        run(
            &[customer("a"), customer("b")],
            Refusals::Failures,
            &memory,
            |_| None,
            1.0,
        )
        .await
        .unwrap();
        let remaining = [customer("a")];
        let fanout = run(&remaining, Refusals::Failures, &memory, |_| None, 1.0)
            .await
            .unwrap();
        assert_eq!(fanout.rows.len(), 1);
        assert!(!memory.0.lock().unwrap().contains_key("b"));
    }

    #[tokio::test]
    async fn expected_refusals_are_counted_forget_their_rows_and_never_fail_the_run() {
        let memory = Memory::default();
        let customers = vec![customer("a"), customer("b"), customer("c")];
        run(&customers, EXPECTED, &memory, |_| None, 1.0).await.unwrap();
        let fanout = run(
            &customers,
            EXPECTED,
            &memory,
            |id| (id != "a").then(|| refusal(403, "2032")),
            1.0,
        )
        .await
        .unwrap();
        assert_eq!(fanout.refused.len(), 2);
        assert_eq!(fanout.customer_errors(), 2);
        assert_eq!(fanout.rows.len(), 1, "refusing customers lose their old rows");
        let all = run(&customers, EXPECTED, &memory, |_| Some(refusal(401, "0")), 1.0)
            .await
            .unwrap();
        assert_eq!((all.rows.len(), all.refused.len()), (0, 3));
    }

    #[tokio::test]
    async fn without_expected_refusals_a_403_is_a_failure() {
        let memory = Memory::default();
        let customers = vec![customer("a")];
        let err = run(
            &customers,
            Refusals::Failures,
            &memory,
            |_| Some(refusal(403, "2032")),
            1.0,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CollectError::AllCustomersFailed { count: 1, .. }));
    }

    #[tokio::test]
    async fn a_credentials_problem_stops_the_fan_out() {
        let memory = Memory::default();
        let customers = vec![customer("a"), customer("b")];
        let err = run(
            &customers,
            EXPECTED,
            &memory,
            |_| {
                Some(ClientError::AppUserRequired {
                    endpoint: "subscribed_skus",
                    path: "/".into(),
                    status: 403,
                    fault: Box::default(),
                })
            },
            1.0,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, CollectError::Client(ClientError::AppUserRequired { .. })),
            "{err}"
        );
    }

    #[test]
    fn refusals_are_tallied_by_status_and_code() {
        let errors = [refusal(403, "2032"), refusal(403, "900150"), refusal(403, "2032")];
        assert_eq!(tally(errors.iter()), "403/2032: 2, 403/900150: 1");
    }
}
