//! partnercenter-exporter: a Prometheus exporter for Microsoft Partner Center license analytics.
//!
//! Data flows one way:
//! [`client`] (auth, HTTP, paging, retries) → [`collector`] (API → plain rows in a [`snapshot`]) →
//! [`render`] (snapshot → exposition text, encoded once per snapshot) → [`server`] (HTTP).
//! [`app`] wires them together; [`simulator`] is a fake Partner Center for the demo and the tests.

pub mod client;
pub mod collector;
pub mod config;
pub mod model;
pub mod simulator;
