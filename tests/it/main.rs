//! One integration-test binary for the whole crate (one link step instead of one per file).

mod simulator;
