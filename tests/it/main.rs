//! The crate's single integration-test binary: one `mod` per area.

mod client;
