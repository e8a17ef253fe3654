//! Running one collector: ask Partner Center for its kind of data and return it as a
//! [`Dataset`] of plain rows, within `--collector.timeout`.

use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// What a collector produced in one successful run.
#[derive(Debug, Clone, PartialEq)]
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
}

/// State shared by the collectors of one run: one `MS-CorrelationId` for all its requests (so
/// Microsoft support can find a whole run in their logs), and the customer list, fetched at most
/// once however many per-customer collectors need it.
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

    /// Run one collector to completion (or until `--collector.timeout`).
    pub async fn run(&self, kind: CollectorKind, ctx: &RunContext) -> RunOutcome {
        let started = Instant::now();
        let client = self.client.with_correlation_id(ctx.correlation_id);
        let client = &client;
        let work = async {
            match kind {
                CollectorKind::Usage => Ok((
                    Dataset::Usage(client.commercial_usage(&self.config.usage_query).await?),
                    0,
                )),
                CollectorKind::Deployment => Ok((
                    Dataset::Deployment(
                        client
                            .commercial_deployment(&self.config.deployment_query)
                            .await?,
                    ),
                    0,
                )),
                CollectorKind::PartnerDeployment => {
                    Ok((Dataset::PartnerDeployment(client.partner_deployment().await?), 0))
                }
                CollectorKind::PartnerUsage => Ok((Dataset::PartnerUsage(client.partner_usage().await?), 0)),
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
                    Ok((Dataset::Usage(fanout.rows), errors))
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
                    Ok((Dataset::Deployment(fanout.rows), errors))
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
                    Ok((Dataset::Subscriptions(rows), errors))
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
                    Ok((Dataset::SubscribedSkus(data), errors))
                }
            }
        };
        let (result, customer_errors) = match tokio::time::timeout(self.config.timeout, work).await {
            Ok(Ok((dataset, errors))) => (Ok(dataset), errors),
            Ok(Err(e)) => {
                let errors = match &e {
                    CollectError::AllCustomersFailed { count, .. } => *count,
                    _ => 0,
                };
                (Err(e), errors)
            }
            Err(_) => (Err(CollectError::Timeout(self.config.timeout)), 0),
        };
        RunOutcome {
            kind,
            result,
            customer_errors,
            duration: started.elapsed(),
        }
    }
}
