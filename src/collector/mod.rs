//! The collectors: each asks Partner Center for one kind of data and turns it into plain rows for
//! the snapshot. The scheduler runs them (background interval or on scrape) and publishes the result.

/// The collectors, switched on and off with `--collector.NAME` / `--no-collector.NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CollectorKind {
    /// Commercial usage endpoint: customer × product × workload.
    Usage,
    /// Commercial deployment endpoint: customer × product.
    Deployment,
    /// Legacy partner-level deployment per service.
    PartnerDeployment,
    /// Legacy partner-level usage per service and workload.
    PartnerUsage,
    /// Legacy per-customer usage, fanned out over `/v1/customers`.
    CustomerUsage,
    /// Legacy per-customer deployment, fanned out over `/v1/customers`.
    CustomerDeployment,
}

impl CollectorKind {
    /// Every collector, in display order.
    pub const ALL: [CollectorKind; 6] = [
        CollectorKind::Usage,
        CollectorKind::Deployment,
        CollectorKind::PartnerDeployment,
        CollectorKind::PartnerUsage,
        CollectorKind::CustomerUsage,
        CollectorKind::CustomerDeployment,
    ];

    /// The name used in flags and in the `collector` label.
    pub fn name(self) -> &'static str {
        match self {
            CollectorKind::Usage => "usage",
            CollectorKind::Deployment => "deployment",
            CollectorKind::PartnerDeployment => "partner-deployment",
            CollectorKind::PartnerUsage => "partner-usage",
            CollectorKind::CustomerUsage => "customer-usage",
            CollectorKind::CustomerDeployment => "customer-deployment",
        }
    }
}

mod fanout;
mod scheduler;

pub use scheduler::Scheduler;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::client::{ClientError, PartnerCenterClient};
use crate::config::CollectionConfig;
use crate::model::Customer;
use crate::render::Dataset;

/// Why a collector run failed.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("listing customers failed: {0}")]
    Customers(Arc<ClientError>),
    #[error("all {count} customers failed; the first error: {first}")]
    AllCustomersFailed { count: usize, first: ClientError },
    #[error("the run did not finish within --collector.timeout ({})", humantime::format_duration(*.0))]
    Timeout(Duration),
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
}

impl Collectors {
    pub fn new(client: PartnerCenterClient, config: CollectionConfig) -> Self {
        Self {
            client,
            config,
            fanout: fanout::FanoutMemory::default(),
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
                    let (rows, errors) = fanout::collect(
                        &customers,
                        self.config.fanout_concurrency,
                        &self.fanout.usage,
                        |c| client.customer_usage(&c.id),
                        fanout::label_usage,
                    )
                    .await?;
                    Ok((Dataset::Usage(rows), errors))
                }
                CollectorKind::CustomerDeployment => {
                    let customers = self.customers(client, ctx).await?;
                    let (rows, errors) = fanout::collect(
                        &customers,
                        self.config.fanout_concurrency,
                        &self.fanout.deployment,
                        |c| client.customer_deployment(&c.id),
                        fanout::label_deployment,
                    )
                    .await?;
                    Ok((Dataset::Deployment(rows), errors))
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
