//! One integration-test binary for the whole crate (one link step instead of one per file).

mod abuse;
mod certs;
mod cli;
mod client;
mod end_to_end;
mod exporter;
mod faults;
mod listen;
mod renewals;
mod simulator;
mod subscriptions;
mod support;
mod tls;
mod web_config;
