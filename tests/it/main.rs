//! One integration-test binary for the whole crate (one link step instead of one per file).

mod cli;
mod client;
mod end_to_end;
mod exporter;
mod faults;
mod simulator;
mod support;
