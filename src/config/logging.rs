//! The Logging flags: level (or filter) and format.

use clap::Args;

use crate::telemetry::{LogFormat, parse_level};

/// Flags of the Logging group.
#[derive(Debug, Args)]
pub struct LoggingArgs {
    /// Log level (error, warn, info, debug, trace, off) or a filter of levels such as info,partnercenter_exporter::client=debug.
    #[arg(
        long = "log.level",
        env = "PARTNERCENTER_LOG_LEVEL",
        default_value = "info",
        value_parser = parse_level,
        help_heading = "Logging"
    )]
    pub log_level: String,
    /// Log format: logfmt (promslog's keys time, level, source, msg) or json; logs go to standard error.
    #[arg(
        long = "log.format",
        env = "PARTNERCENTER_LOG_FORMAT",
        value_enum,
        default_value = "logfmt",
        help_heading = "Logging"
    )]
    pub log_format: LogFormat,
}
