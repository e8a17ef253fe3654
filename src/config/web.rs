//! The Web flags: where `/metrics` and the other endpoints are served.

use clap::Args;

use super::parse::{ConfigError, parse_listen_address};
use crate::server::WebConfig;

/// Flags of the Web group.
#[derive(Debug, Args)]
pub struct WebArgs {
    /// Address to serve /metrics, /-/healthy, /-/ready and the landing page on.
    #[arg(
        long = "web.listen-address",
        env = "PARTNERCENTER_WEB_LISTEN_ADDRESS",
        default_value = ":9847",
        help_heading = "Web"
    )]
    pub web_listen_address: String,
    /// Path under which metrics are served.
    #[arg(
        long = "web.telemetry-path",
        env = "PARTNERCENTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics",
        help_heading = "Web"
    )]
    pub web_telemetry_path: String,
}

impl WebArgs {
    /// The server's settings, or the flag that is wrong.
    pub fn web_config(&self) -> Result<WebConfig, ConfigError> {
        let listen_address = parse_listen_address(&self.web_listen_address)
            .map_err(|m| ConfigError::new("--web.listen-address", m))?;
        if !self.web_telemetry_path.starts_with('/') || self.web_telemetry_path == "/" {
            return Err(ConfigError::new(
                "--web.telemetry-path",
                "must start with / and not be / itself",
            ));
        }
        Ok(WebConfig {
            listen_address,
            telemetry_path: self.web_telemetry_path.clone(),
        })
    }
}
