//! partnercenter-exporter: a Prometheus exporter for Microsoft Partner Center license analytics.
//!
//! Data flows one way:
//! [`client`] (auth, HTTP, paging, retries) → [`collector`] (API → plain rows) → [`render`]
//! (rows → exposition text, encoded once per run) → [`snapshot`] (published atomically) →
//! [`server`] (HTTP). [`metrics`] holds the exporter's own metrics; [`app`] wires everything;
//! [`simulator`] is a simulated Partner Center for the demo, the tests and benchmarks.

pub mod app;
pub mod client;
pub mod collector;
pub mod config;
pub mod files;
pub mod metrics;
pub mod model;
pub mod render;
pub mod scheduler;
pub mod server;
pub mod shutdown;
pub mod simulator;
pub mod snapshot;
pub mod telemetry;
