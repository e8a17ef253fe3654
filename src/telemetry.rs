//! Logging: tracing to standard error, as text or JSON, filtered by `--log.level`.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `--log.level` is neither a level nor a filter directive.
#[derive(Debug, thiserror::Error)]
#[error("'{level}' is not a level (error, warn, info, debug, trace) or filter ({reason})")]
pub struct FilterError {
    level: String,
    reason: String,
}

/// Install the global subscriber. `level` is a level name or a tracing filter directive.
pub fn init(level: &str, format: LogFormat) -> Result<(), FilterError> {
    let filter = EnvFilter::try_new(level).map_err(|e| FilterError {
        level: level.to_owned(),
        reason: e.to_string(),
    })?;
    use std::io::IsTerminal;
    // Colours only for a person at a terminal, not in journald, container logs or files.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second initialisation (tests) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    Ok(())
}
