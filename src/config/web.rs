//! The Web flags: where `/metrics` and the other endpoints are served, the web config file (TLS,
//! basic auth) and the limits that keep one client from holding the server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::parse::{ConfigError, duration};
use crate::server::{Limits, ListenAddress, WebConfig, WebFile};

/// Flags of the Web group.
#[derive(Debug, Args)]
pub struct WebArgs {
    /// Address to serve /metrics, /-/healthy, /-/ready and the landing page on. Repeat the flag
    /// (or comma-separate in the environment variable) to listen on several; `:9847` is every
    /// interface, IPv6 and IPv4.
    #[arg(
        long = "web.listen-address",
        env = "PARTNERCENTER_WEB_LISTEN_ADDRESS",
        default_value = ":9847",
        value_delimiter = ',',
        help_heading = "Web"
    )]
    pub web_listen_address: Vec<String>,
    /// Path under which metrics are served.
    #[arg(
        long = "web.telemetry-path",
        env = "PARTNERCENTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics",
        help_heading = "Web"
    )]
    pub web_telemetry_path: String,
    /// Web configuration file in exporter-toolkit's format: TLS, client certificates, basic auth,
    /// response headers. Re-read when it or its certificates change.
    #[arg(
        long = "web.config.file",
        env = "PARTNERCENTER_WEB_CONFIG_FILE",
        help_heading = "Web"
    )]
    pub web_config_file: Option<PathBuf>,
    /// Time a client has to complete the TLS handshake, and again to send each request's
    /// headers; also how long an idle keep-alive connection stays open.
    #[arg(
        long = "web.read-header-timeout",
        env = "PARTNERCENTER_WEB_READ_HEADER_TIMEOUT",
        default_value = "10s",
        value_parser = duration,
        help_heading = "Web"
    )]
    pub web_read_header_timeout: Duration,
    /// How long sending a response may make no progress (a client that stopped reading) before
    /// the connection is closed.
    #[arg(
        long = "web.write-stall-timeout",
        env = "PARTNERCENTER_WEB_WRITE_STALL_TIMEOUT",
        default_value = "30s",
        value_parser = duration,
        help_heading = "Web"
    )]
    pub web_write_stall_timeout: Duration,
    /// Connections served at once; further clients wait until one closes.
    #[arg(
        long = "web.max-connections",
        env = "PARTNERCENTER_WEB_MAX_CONNECTIONS",
        default_value = "512",
        help_heading = "Web"
    )]
    pub web_max_connections: usize,
    /// On SIGTERM or SIGINT, how long in-flight responses may take before the exporter closes
    /// them and exits.
    #[arg(
        long = "web.shutdown-grace-period",
        env = "PARTNERCENTER_WEB_SHUTDOWN_GRACE_PERIOD",
        default_value = "10s",
        value_parser = duration,
        help_heading = "Web"
    )]
    pub web_shutdown_grace_period: Duration,
}

impl WebArgs {
    /// The server's settings, or the flag that is wrong. Reads and validates the web config file
    /// and every certificate it names.
    pub fn web_config(&self) -> Result<WebConfig, ConfigError> {
        let listen_addresses = self
            .web_listen_address
            .iter()
            .map(|a| ListenAddress::parse(a.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| ConfigError::new("--web.listen-address", m))?;
        if listen_addresses.is_empty() {
            return Err(ConfigError::new(
                "--web.listen-address",
                "at least one address is needed",
            ));
        }
        if !self.web_telemetry_path.starts_with('/') || self.web_telemetry_path == "/" {
            return Err(ConfigError::new(
                "--web.telemetry-path",
                "must start with / and not be / itself",
            ));
        }
        for (flag, value) in [
            ("--web.read-header-timeout", self.web_read_header_timeout),
            ("--web.write-stall-timeout", self.web_write_stall_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::new(flag, "must be more than 0s"));
            }
        }
        if self.web_max_connections == 0 {
            return Err(ConfigError::new("--web.max-connections", "must be at least 1"));
        }
        let config_file = self
            .web_config_file
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|path| {
                WebFile::load(path)
                    .map(Arc::new)
                    .map_err(|e| ConfigError::new("--web.config.file", e.to_string().replace('\n', " ")))
            })
            .transpose()?;
        Ok(WebConfig {
            listen_addresses,
            telemetry_path: self.web_telemetry_path.clone(),
            config_file,
            limits: Limits {
                header_timeout: self.web_read_header_timeout,
                write_timeout: self.web_write_stall_timeout,
                max_connections: self.web_max_connections,
                shutdown_grace: self.web_shutdown_grace_period,
            },
        })
    }
}
