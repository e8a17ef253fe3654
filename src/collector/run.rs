//! Running one collector: ask Partner Center for its kind of data and return it as a
//! [`Dataset`] of plain rows, within `--collector.timeout`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::sync::OnceCell;

use super::commerce;
use super::error::CollectError;
use super::fanout::{self, Refusals};
use super::kind::CollectorKind;
use super::settings::CollectionConfig;
use super::skus::SkuCache;
use crate::client::{ClientError, PartnerCenterClient};
use crate::model::{
    Customer, DeploymentRow, PartnerDeploymentRow, PartnerUsageRow, SubscribedSkus, SubscriptionRow, UsageRow,
};

/// What a collector produced in one successful run. Serde, so that `--storage.path` can keep it
/// across restarts (its format version is in [`crate::storage`]: bump it when a row changes).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Dataset {
    Usage(Vec<UsageRow>),
    Deployment(Vec<DeploymentRow>),
    PartnerDeployment(Vec<PartnerDeploymentRow>),
    PartnerUsage(Vec<PartnerUsageRow>),
    Subscriptions(Vec<SubscriptionRow>),
    SubscribedSkus(SubscribedSkus),
}

/// The result of one collector's run.
#[derive(Debug)]
pub struct RunOutcome {
    pub kind: CollectorKind,
    pub result: Result<Dataset, CollectError>,
    pub customer_errors: usize,
    pub duration: Duration,
    /// The customer list the run fanned out over (per-customer collectors only): its company
    /// names are the customers' names of record.
    pub customers: Option<Arc<Vec<Customer>>>,
}

/// State shared by the collectors started together (one scheduler tick): one `MS-CorrelationId`
/// for all their requests (so Microsoft support can find them together in their logs), and the
/// customer list, fetched at most once however many per-customer collectors need it.
pub struct RunContext {
    correlation_id: uuid::Uuid,
    customers: OnceCell<Result<Arc<Vec<Customer>>, Arc<ClientError>>>,
}

impl Default for RunContext {
    fn default() -> Self {
        Self {
            correlation_id: uuid::Uuid::new_v4(),
            customers: OnceCell::new(),
        }
    }
}

impl RunContext {
    /// The `MS-CorrelationId` of this run.
    pub fn correlation_id(&self) -> uuid::Uuid {
        self.correlation_id
    }
}

/// What the scheduler drives: one collector run to completion. [`Collectors`] is the real one;
/// the scheduler's tests use fakes. Adding a collector needs nothing here.
pub trait Collect: Send + Sync {
    /// The collection settings.
    fn config(&self) -> &CollectionConfig;
    /// Run `kind` once, sharing `ctx` with the collectors started at the same time.
    fn run<'a>(&'a self, kind: CollectorKind, ctx: &'a RunContext) -> BoxFuture<'a, RunOutcome>;
}

impl Collect for Collectors {
    fn config(&self) -> &CollectionConfig {
        &self.config
    }
    fn run<'a>(&'a self, kind: CollectorKind, ctx: &'a RunContext) -> BoxFuture<'a, RunOutcome> {
        Box::pin(self.collect(kind, ctx))
    }
}

/// Runs the collectors against Partner Center.
pub struct Collectors {
    client: PartnerCenterClient,
    config: CollectionConfig,
    fanout: fanout::FanoutMemory,
    skus: SkuCache,
}

impl Collectors {
    pub fn new(client: PartnerCenterClient, config: CollectionConfig) -> Self {
        Self {
            client,
            config,
            fanout: fanout::FanoutMemory::default(),
            skus: SkuCache::default(),
        }
    }

    /// The collection settings.
    pub fn config(&self) -> &CollectionConfig {
        &self.config
    }

    async fn customers(
        &self,
        client: &PartnerCenterClient,
        ctx: &RunContext,
    ) -> Result<Arc<Vec<Customer>>, CollectError> {
        ctx.customers
            .get_or_init(|| async { client.customers().await.map(Arc::new).map_err(Arc::new) })
            .await
            .clone()
            .map_err(CollectError::Customers)
    }

    /// Run one collector to completion (or until its timeout, see
    /// [`CollectionConfig::timeout_of`]).
    pub async fn collect(&self, kind: CollectorKind, ctx: &RunContext) -> RunOutcome {
        let started = Instant::now();
        let client = self.client.with_correlation_id(ctx.correlation_id);
        let client = &client;
        let work = async {
            match kind {
                CollectorKind::Usage => Ok((
                    Dataset::Usage(client.commercial_usage(&self.config.usage_query).await?),
                    0,
                    None,
                )),
                CollectorKind::Deployment => Ok((
                    Dataset::Deployment(
                        client
                            .commercial_deployment(&self.config.deployment_query)
                            .await?,
                    ),
                    0,
                    None,
                )),
                CollectorKind::PartnerDeployment => Ok((
                    Dataset::PartnerDeployment(client.partner_deployment().await?),
                    0,
                    None,
                )),
                CollectorKind::PartnerUsage => {
                    Ok((Dataset::PartnerUsage(client.partner_usage().await?), 0, None))
                }
                CollectorKind::CustomerUsage => {
                    let customers = self.customers(client, ctx).await?;
                    let fanout = fanout::collect(
                        kind.name(),
                        &customers,
                        self.config.fanout_concurrency,
                        Refusals::Failures,
                        &self.fanout.usage,
                        |c| client.customer_usage(&c.id),
                        fanout::label_usage,
                    )
                    .await?;
                    let errors = fanout.customer_errors();
                    Ok((Dataset::Usage(fanout.rows), errors, Some(customers)))
                }
                CollectorKind::CustomerDeployment => {
                    let customers = self.customers(client, ctx).await?;
                    let fanout = fanout::collect(
                        kind.name(),
                        &customers,
                        self.config.fanout_concurrency,
                        Refusals::Failures,
                        &self.fanout.deployment,
                        |c| client.customer_deployment(&c.id),
                        fanout::label_deployment,
                    )
                    .await?;
                    let errors = fanout.customer_errors();
                    Ok((Dataset::Deployment(fanout.rows), errors, Some(customers)))
                }
                CollectorKind::Subscriptions => {
                    let customers = self.customers(client, ctx).await?;
                    let (rows, errors) = commerce::subscriptions(
                        client,
                        &customers,
                        self.config.fanout_concurrency,
                        &self.config.catalog_country,
                        &self.fanout.subscriptions,
                        &self.skus,
                    )
                    .await?;
                    Ok((Dataset::Subscriptions(rows), errors, Some(customers)))
                }
                CollectorKind::SubscribedSkus => {
                    let customers = self.customers(client, ctx).await?;
                    let (data, errors) = commerce::subscribed_skus(
                        client,
                        &customers,
                        self.config.fanout_concurrency,
                        &self.fanout.subscribed_skus,
                    )
                    .await?;
                    Ok((Dataset::SubscribedSkus(data), errors, Some(customers)))
                }
            }
        };
        let timeout = self.config.timeout_of(kind);
        let (result, customer_errors, customers) = match tokio::time::timeout(timeout, work).await {
            Ok(Ok((dataset, errors, customers))) => (Ok(dataset), errors, customers),
            Ok(Err(e)) => {
                let errors = match &e {
                    CollectError::AllCustomersFailed { count, .. } => *count,
                    _ => 0,
                };
                (Err(e), errors, None)
            }
            Err(_) => (Err(CollectError::Timeout(timeout)), 0, None),
        };
        RunOutcome {
            kind,
            result,
            customer_errors,
            duration: started.elapsed(),
            customers,
        }
    }
}
