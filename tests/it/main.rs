//! One integration-test binary for the whole crate (one link step instead of one per file).

mod abuse;
mod certs;
mod client;
mod end_to_end;
mod exporter;
mod listen;
mod simulator;
mod support;
mod tls;
mod web_config;
