//! One integration-test binary for the whole crate (one link step instead of one per file).

mod abuse;
mod certs;
mod cli;
mod client;
mod end_to_end;
mod exporter;
mod faults;
mod listen;
mod simulator;
mod support;
mod tls;
mod web_config;
