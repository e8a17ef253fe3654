//! One integration-test binary for the whole crate (one link step instead of one per file).

mod client;
mod exporter;
mod simulator;
mod support;
