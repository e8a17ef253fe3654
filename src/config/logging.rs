//! The Logging flags: level (or filter) and format.

use clap::Args;

use crate::telemetry::LogFormat;

/// Flags of the Logging group.
#[derive(Debug, Args)]
pub struct LoggingArgs {
    /// Log level (error, warn, info, debug, trace) or a tracing filter directive.
    #[arg(
        long = "log.level",
        env = "PARTNERCENTER_LOG_LEVEL",
        default_value = "info",
        help_heading = "Logging"
    )]
    pub log_level: String,
    /// Log format.
    #[arg(
        long = "log.format",
        env = "PARTNERCENTER_LOG_FORMAT",
        value_enum,
        default_value = "text",
        help_heading = "Logging"
    )]
    pub log_format: LogFormat,
}
