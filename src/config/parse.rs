//! What every flag group shares: the one-line [`ConfigError`], and the parsers of durations,
//! URLs, listen addresses and secret files.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// A configuration error: the flag and what is wrong, printed as one line at start (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct ConfigError {
    pub flag: &'static str,
    pub message: String,
}

impl ConfigError {
    pub(super) fn new(flag: &'static str, message: impl Into<String>) -> Self {
        Self {
            flag,
            message: message.into(),
        }
    }
}

/// A duration flag: `90s`, `1h30m`, `25h`.
pub(super) fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("'{s}' is not a duration like 90s or 1h30m ({e})"))
}

/// Parse `:9847`, `0.0.0.0:9847`, `[::]:9847` or `localhost:9847`.
pub fn parse_listen_address(s: &str) -> Result<SocketAddr, String> {
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.replace("localhost:", "127.0.0.1:")
    };
    full.parse()
        .map_err(|_| format!("'{s}' is not an address like :9847 or 127.0.0.1:9847"))
}

pub(super) fn parse_url(flag: &'static str, s: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(s).map_err(|e| ConfigError::new(flag, format!("'{s}' is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(
            flag,
            format!("'{s}' must be an http(s) URL with a host"),
        ));
    }
    Ok(url)
}

/// Read a secret file: trimmed, non-empty, or an error naming the flag and the path.
pub fn read_secret_file(flag: &'static str, path: &Path) -> Result<SecretString, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(flag, format!("cannot read {}: {e}", path.display())))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ConfigError::new(flag, format!("{} is empty", path.display())));
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

pub(super) fn env_secret(name: &str) -> Option<SecretString> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
}

pub(super) fn required(flag: &'static str, value: &Option<String>, why: &str) -> Result<String, ConfigError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(ConfigError::new(
            flag,
            format!("required {why} (or set {})", env_name(flag)),
        )),
    }
}

/// `--auth.client-id` → `PARTNERCENTER_AUTH_CLIENT_ID`.
pub fn env_name(flag: &str) -> String {
    let mut name = String::from("PARTNERCENTER_");
    name.extend(flag.trim_start_matches('-').chars().map(|c| match c {
        '.' | '-' => '_',
        c => c.to_ascii_uppercase(),
    }));
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_follow_the_flag_names() {
        assert_eq!(env_name("--auth.client-id"), "PARTNERCENTER_AUTH_CLIENT_ID");
        assert_eq!(
            env_name("--collector.usage.processed-date-time"),
            "PARTNERCENTER_COLLECTOR_USAGE_PROCESSED_DATE_TIME"
        );
    }

    #[test]
    fn listen_address_accepts_the_port_only_form() {
        assert_eq!(parse_listen_address(":9847").unwrap().port(), 9847);
        assert!(parse_listen_address("localhost:1").unwrap().ip().is_loopback());
        assert!(parse_listen_address("nonsense").is_err());
    }
}
