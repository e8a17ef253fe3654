//! The Authentication flags: the grant, the app registration, and where the secrets are read
//! from (files, or the environment variables named here).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::parse::{ConfigError, duration, env_secret, parse_url, read_secret_file, required};
use super::partner_center::Cloud;
use crate::client::{AuthConfig, AuthMode, ClientConfig, TokenVersion};

/// Environment variable holding the client secret, as an alternative to `--auth.client-secret-file`.
pub const ENV_CLIENT_SECRET: &str = "PARTNERCENTER_AUTH_CLIENT_SECRET";
/// Environment variable holding the refresh token, as an alternative to `--auth.refresh-token-file`.
pub const ENV_REFRESH_TOKEN: &str = "PARTNERCENTER_AUTH_REFRESH_TOKEN";
/// Environment variable holding a bearer token, as an alternative to `--auth.access-token-file`.
pub const ENV_ACCESS_TOKEN: &str = "PARTNERCENTER_AUTH_ACCESS_TOKEN";

/// Flags of the Authentication group.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// app-user: refresh-token grant (required by the license endpoints); app-only: client credentials; token: a bearer token from a file.
    #[arg(
        long = "auth.mode",
        env = "PARTNERCENTER_AUTH_MODE",
        value_enum,
        default_value = "app-user",
        help_heading = "Authentication"
    )]
    pub auth_mode: AuthMode,
    /// The partner's Entra tenant id (or domain), substituted for {tenant} in --auth.token-url.
    #[arg(
        long = "auth.tenant-id",
        env = "PARTNERCENTER_AUTH_TENANT_ID",
        help_heading = "Authentication"
    )]
    pub auth_tenant_id: Option<String>,
    /// Application (client) id of the Entra app registration.
    #[arg(
        long = "auth.client-id",
        env = "PARTNERCENTER_AUTH_CLIENT_ID",
        help_heading = "Authentication"
    )]
    pub auth_client_id: Option<String>,
    /// File holding the client secret (or set PARTNERCENTER_AUTH_CLIENT_SECRET).
    #[arg(
        long = "auth.client-secret-file",
        env = "PARTNERCENTER_AUTH_CLIENT_SECRET_FILE",
        help_heading = "Authentication"
    )]
    pub auth_client_secret_file: Option<PathBuf>,
    /// File holding the refresh token; rotated tokens are written back to it (or set PARTNERCENTER_AUTH_REFRESH_TOKEN, not persisted).
    #[arg(
        long = "auth.refresh-token-file",
        env = "PARTNERCENTER_AUTH_REFRESH_TOKEN_FILE",
        help_heading = "Authentication"
    )]
    pub auth_refresh_token_file: Option<PathBuf>,
    /// For --auth.mode=token: file holding the bearer token, re-read when it changes (or set PARTNERCENTER_AUTH_ACCESS_TOKEN).
    #[arg(
        long = "auth.access-token-file",
        env = "PARTNERCENTER_AUTH_ACCESS_TOKEN_FILE",
        help_heading = "Authentication"
    )]
    pub auth_access_token_file: Option<PathBuf>,
    /// Token URL; {tenant} is replaced by --auth.tenant-id [default: the --cloud preset's login host + /{tenant}/oauth2/token, or /oauth2/v2.0/token for v2].
    #[arg(
        long = "auth.token-url",
        env = "PARTNERCENTER_AUTH_TOKEN_URL",
        help_heading = "Authentication"
    )]
    pub auth_token_url: Option<String>,
    /// v1: resource= (documented by Partner Center); v2: scope=.
    #[arg(
        long = "auth.token-version",
        env = "PARTNERCENTER_AUTH_TOKEN_VERSION",
        value_enum,
        default_value = "v1",
        help_heading = "Authentication"
    )]
    pub auth_token_version: TokenVersion,
    /// v1 resource [default: the Partner Center base URL of --cloud].
    #[arg(
        long = "auth.resource",
        env = "PARTNERCENTER_AUTH_RESOURCE",
        help_heading = "Authentication"
    )]
    pub auth_resource: Option<String>,
    /// v2 scope [default: RESOURCE/user_impersonation offline_access; RESOURCE/.default for app-only].
    #[arg(
        long = "auth.scope",
        env = "PARTNERCENTER_AUTH_SCOPE",
        help_heading = "Authentication"
    )]
    pub auth_scope: Option<String>,
    /// Renew the access token this long before it expires.
    #[arg(long = "auth.refresh-margin", env = "PARTNERCENTER_AUTH_REFRESH_MARGIN", default_value = "5m", value_parser = duration, help_heading = "Authentication")]
    pub auth_refresh_margin: Duration,
}

impl AuthArgs {
    /// The token source's settings, or the flag that is wrong. `cloud` gives the default sign-in
    /// host and the default resource (the cloud's Partner Center URL, never `--partnercenter.url`:
    /// pointed at a proxy, the token's audience must still be Partner Center), `client` the retry
    /// policy the token endpoint shares with the API, `timeout` the sign-in requests' timeout.
    pub fn auth_config(
        &self,
        cloud: Cloud,
        client: &ClientConfig,
        timeout: Duration,
    ) -> Result<AuthConfig, ConfigError> {
        let mode = self.auth_mode;
        let resource = self
            .auth_resource
            .clone()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| cloud.api_url().to_owned());
        let scope = self.auth_scope.clone().unwrap_or_else(|| match mode {
            AuthMode::AppOnly => format!("{resource}/.default"),
            _ => format!("{resource}/user_impersonation offline_access"),
        });
        let mut config = AuthConfig {
            mode,
            version: self.auth_token_version,
            token_url: parse_url("--auth.token-url", "http://unused.invalid")?,
            client_id: String::new(),
            client_secret: None,
            resource,
            scope,
            refresh_token: None,
            refresh_token_file: None,
            access_token_file: None,
            access_token: None,
            refresh_margin: self.auth_refresh_margin,
            timeout,
            max_retries: client.max_retries,
            backoff_base: client.backoff_base,
            backoff_max: client.backoff_max,
        };
        if mode == AuthMode::Token {
            config.access_token_file = self.auth_access_token_file.clone();
            match &self.auth_access_token_file {
                Some(path) => {
                    read_secret_file("--auth.access-token-file", path)?;
                }
                None => {
                    if env_secret(ENV_ACCESS_TOKEN).is_none() {
                        return Err(ConfigError::new(
                            "--auth.access-token-file",
                            format!("required for --auth.mode=token (or set {ENV_ACCESS_TOKEN})"),
                        ));
                    }
                    config.access_token = env_secret(ENV_ACCESS_TOKEN);
                }
            }
            return Ok(config);
        }
        let why = match mode {
            AuthMode::AppUser => "for --auth.mode=app-user",
            _ => "for --auth.mode=app-only",
        };
        let tenant = required("--auth.tenant-id", &self.auth_tenant_id, why)?;
        config.client_id = required("--auth.client-id", &self.auth_client_id, why)?;
        config.client_secret = Some(match &self.auth_client_secret_file {
            Some(path) => read_secret_file("--auth.client-secret-file", path)?,
            None => env_secret(ENV_CLIENT_SECRET).ok_or_else(|| {
                ConfigError::new(
                    "--auth.client-secret-file",
                    format!("required {why} (or set {ENV_CLIENT_SECRET})"),
                )
            })?,
        });
        if mode == AuthMode::AppUser {
            match &self.auth_refresh_token_file {
                Some(path) => {
                    config.refresh_token = Some(read_secret_file("--auth.refresh-token-file", path)?);
                    config.refresh_token_file = Some(path.clone());
                }
                None => {
                    config.refresh_token = Some(env_secret(ENV_REFRESH_TOKEN).ok_or_else(|| {
                        ConfigError::new(
                            "--auth.refresh-token-file",
                            format!("required for --auth.mode=app-user (or set {ENV_REFRESH_TOKEN}); see the README for how to obtain one"),
                        )
                    })?);
                }
            }
        }
        let template = self.auth_token_url.clone().unwrap_or_else(|| {
            let path = match self.auth_token_version {
                TokenVersion::V1 => "oauth2/token",
                TokenVersion::V2 => "oauth2/v2.0/token",
            };
            format!("{}/{{tenant}}/{path}", cloud.login_url())
        });
        let token_url = template.replace("{tenant}", &tenant);
        config.token_url = parse_url("--auth.token-url", &token_url)?;
        Ok(config)
    }
}
