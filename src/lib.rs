//! partnercenter-exporter: a Prometheus exporter for Microsoft Partner Center license analytics.
//!
//! Data flows one way, and so do the imports (`scripts/import-cycles.py` checks it):
//! [`client`] (auth, HTTP, paging, retries) → [`collector`] (API → plain rows) → [`render`]
//! (rows → exposition text, encoded once per run) → [`derived`] (what several collectors' data
//! give together: unused licences, prices, renewals) → [`snapshot`] (what is known, per
//! collector) → [`scheduler`] (runs the collectors, publishes snapshots atomically) → [`server`]
//! (HTTP). [`pricing`] reads the price file.
//! [`model`] holds the plain rows everything shares; [`metrics`] the exporter's own metrics,
//! fed by the client and the scheduler; [`files`] the atomic writes of secrets and state;
//! [`memory`] gives the allocator's free memory back after each run.
//! [`config`] is the only module that knows about flags: it turns them into each module's
//! settings. [`app`] wires everything, and is the only place that starts [`simulator`], a
//! simulated Partner Center for `--demo`, `simulate`, the tests and the benchmarks, which
//! depends on nothing of the exporter but [`model`].

pub mod app;
pub mod client;
pub mod collector;
pub mod config;
pub mod derived;
pub mod files;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod pricing;
pub mod render;
pub mod scheduler;
pub mod server;
pub mod shutdown;
pub mod simulator;
pub mod snapshot;
pub mod storage;
pub mod telemetry;
