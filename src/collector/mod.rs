//! The collectors: each asks Partner Center for one kind of data and turns it into plain rows
//! (a [`Dataset`]). The scheduler ([`crate::scheduler`]) decides when they run and publishes
//! what they return.
//!
//! Layout: `kind` names the collectors, `settings` holds what they are configured with, `run`
//! runs one, `fanout` does the per-customer requests, `commerce` the two commercial collectors
//! (subscriptions, subscribed SKUs) with `skus` finding each subscription's Entra SKU, `error`
//! says why a run failed, `filter` which customers and products are exposed.

mod commerce;
mod error;
mod fanout;
mod filter;
mod kind;
mod run;
mod settings;
mod skus;

pub use error::CollectError;
pub use filter::{NameFilter, RowFilter};
pub use kind::CollectorKind;
pub use run::{Collect, Collectors, Dataset, RunContext, RunOutcome};
pub use settings::{CollectionConfig, CollectorMode};
