//! One integration-test binary for the whole crate (one link step instead of one per file).

mod client;
mod end_to_end;
mod exporter;
mod renewals;
mod simulator;
mod subscriptions;
mod support;
