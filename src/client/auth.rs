//! Access tokens for Partner Center (Secure Application Model).
//!
//! INTERFACE STUB: the bodies are being written; the signatures are the contract.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;
use url::Url;

use super::ApiObserver;

/// Which grant the exporter uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// Refresh-token grant (App+User, the Secure Application Model); required by the license endpoints.
    AppUser,
    /// Client-credentials grant (app-only); enough only for `/v1/customers`.
    AppOnly,
    /// A bearer token read from a file that another tool keeps fresh.
    Token,
}

/// Sign-in endpoint flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenVersion {
    /// `/oauth2/token` with `resource=` (what Partner Center documents).
    V1,
    /// `/oauth2/v2.0/token` with `scope=`.
    V2,
}

/// Everything the token source needs. Secrets are `SecretString`, so `Debug` redacts them.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub mode: AuthMode,
    pub version: TokenVersion,
    /// Full token URL, `{tenant}` already substituted.
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    /// v1 `resource` (e.g. `https://api.partnercenter.microsoft.com`).
    pub resource: String,
    /// v2 `scope` (e.g. `https://api.partnercenter.microsoft.com/user_impersonation offline_access`).
    pub scope: String,
    /// Initial refresh token (from the file or the environment).
    pub refresh_token: Option<SecretString>,
    /// Where rotated refresh tokens are written back (atomically, mode 0600); `None` = not persisted.
    pub refresh_token_file: Option<PathBuf>,
    /// For `AuthMode::Token`: the file holding the bearer token (re-read when it changes).
    pub access_token_file: Option<PathBuf>,
    /// For `AuthMode::Token` without a file: the bearer token itself (from the environment).
    pub access_token: Option<SecretString>,
    /// Renew this long before expiry.
    pub refresh_margin: std::time::Duration,
    /// Per-request timeout for the sign-in service.
    pub timeout: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("stub")]
    Stub,
}

/// Hands out a valid access token, renewing it before it expires, one renewal at a time.
pub struct TokenSource {
    _config: AuthConfig,
}

impl TokenSource {
    pub fn new(_config: AuthConfig, _observer: Arc<dyn ApiObserver>) -> Result<Self, AuthError> {
        unimplemented!("stub")
    }
}
