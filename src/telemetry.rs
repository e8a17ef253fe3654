//! Logging: tracing to standard error, as text or JSON, filtered by `--log.level`.

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat};

/// Install the global subscriber. `level` is a level name or a tracing filter directive.
pub fn init(level: &str, format: LogFormat) -> Result<(), ConfigError> {
    let filter = EnvFilter::try_new(level).map_err(|e| ConfigError {
        flag: "--log.level",
        message: format!("'{level}' is not a level (error, warn, info, debug, trace) or filter ({e})"),
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
