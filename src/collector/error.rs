//! [`CollectError`]: why a collector run failed.

use std::sync::Arc;
use std::time::Duration;

use crate::client::ClientError;

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
    /// A bug: the run panicked. It is retried like any failed run.
    #[error("the collector panicked ({0}); this is a bug, please report it with the log")]
    Panicked(String),
}
