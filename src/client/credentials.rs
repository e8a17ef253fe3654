//! What authentication is configured with, and how it fails: the grant ([`AuthMode`]), the
//! sign-in endpoint flavour ([`TokenVersion`]), the settings ([`AuthConfig`]) and [`AuthError`].
//! Plain types, shared by the token source, the token endpoint exchange and the client's errors.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

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
    /// Which grant to use.
    pub mode: AuthMode,
    /// v1 (`resource=`) or v2 (`scope=`) sign-in endpoint.
    pub version: TokenVersion,
    /// Full token URL, `{tenant}` already substituted.
    pub token_url: Url,
    /// Application (client) id of the app registration.
    pub client_id: String,
    /// Client secret of the app registration (app-user and app-only).
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
    /// Retries of a token request that failed with 5xx, 429, 408, a timeout or a connection
    /// error (`--partnercenter.max-retries`, shared with the API).
    pub max_retries: u32,
    /// First backoff delay of those retries; doubled each retry, with jitter.
    pub backoff_base: std::time::Duration,
    /// Upper bound of a backoff delay and of an honoured `Retry-After`.
    pub backoff_max: std::time::Duration,
}

/// Why no access token could be had. Never contains a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// `invalid_grant` (e.g. AADSTS700082): the refresh token is dead; only a new consent helps.
    #[error(
        "the refresh token expired or was revoked ({detail}); run the consent flow again to get a new \
         refresh token and store it in --auth.refresh-token-file (README \"Obtaining Partner Center credentials\")"
    )]
    InvalidGrant {
        /// `error: first line of error_description`.
        detail: String,
    },
    /// The sign-in service wants MFA the refresh token does not carry (AADSTS50076/50079, 900421).
    #[error(
        "MFA required: the sign-in service refused to renew the access token ({detail}); the refresh token \
         must come from a sign-in that performed MFA: re-consent with an MFA sign-in (README \"Obtaining \
         credentials\") and replace the refresh token"
    )]
    MfaRequired {
        /// `error: first line of error_description`.
        detail: String,
    },
    /// Any other refusal, e.g. `invalid_client` (wrong or expired client secret).
    #[error(
        "the sign-in service {url} refused the token request with HTTP {status} ({detail}); check \
         --auth.client-id, the client secret, --auth.tenant-id and --auth.token-url"
    )]
    Rejected {
        /// Token URL without query.
        url: String,
        status: u16,
        /// `error: first line of error_description`.
        detail: String,
    },
    /// The sign-in service answered with a redirect. The token request carries the client secret
    /// and the refresh token, so it is never sent on to wherever the redirect points.
    #[error(
        "the sign-in service {url} answered HTTP {status} redirecting to {location}; the token request \
         carries the client secret and is not sent on to another address: check --auth.token-url"
    )]
    Redirected {
        url: String,
        status: u16,
        /// The host (and port) the redirect pointed at, or a note that it named none.
        location: String,
    },
    /// The sign-in service did not answer in time.
    #[error("the sign-in service {url} did not answer within {timeout:?}; check network access to it")]
    Timeout { url: String, timeout: Duration },
    /// The sign-in service could not be reached.
    #[error(
        "cannot reach the sign-in service {url}: {detail}; check network access, proxy and --auth.token-url"
    )]
    Unreachable { url: String, detail: String },
    /// The sign-in service answered something that is not a token response.
    #[error(
        "the sign-in service {url} answered HTTP {status} with a body that is not a token response ({detail})"
    )]
    BadResponse {
        url: String,
        status: u16,
        detail: String,
    },
    /// `AuthMode::Token`: the token file cannot be used.
    #[error("cannot use the access token file {}: {detail}", path.display())]
    TokenFile { path: PathBuf, detail: String },
    /// A credential the mode needs is missing.
    #[error("authentication is not configured: {0}")]
    Config(String),
}

impl AuthError {
    /// The `result` label of `ApiObserver::token_refresh`.
    pub(super) fn refresh_result(&self) -> &'static str {
        match self {
            AuthError::InvalidGrant { .. } => "invalid_grant",
            AuthError::MfaRequired { .. } => "mfa_required",
            _ => "error",
        }
    }
}
