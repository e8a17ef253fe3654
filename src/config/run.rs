//! The Run flags: `--once`, and `--demo` with its simulated customers.

use clap::Args;

/// Flags of the Run group.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Collect once, print the exposition to stdout and exit (non-zero if a collector failed).
    #[arg(long = "once", env = "PARTNERCENTER_ONCE", help_heading = "Run")]
    pub once: bool,
    /// Run against a built-in simulated Partner Center; no credentials needed.
    #[arg(long = "demo", env = "PARTNERCENTER_DEMO", help_heading = "Run")]
    pub demo: bool,
    /// Customers of the simulated partner in --demo mode.
    #[arg(
        long = "demo.customers",
        env = "PARTNERCENTER_DEMO_CUSTOMERS",
        default_value_t = 25,
        help_heading = "Run"
    )]
    pub demo_customers: usize,
}
