//! Access tokens for Partner Center (Secure Application Model, reference §2).
//!
//! - [`AuthMode::AppUser`]: the refresh-token grant. The sign-in service may hand out a new
//!   refresh token with every access token; the newest one is kept in memory and, when a file is
//!   configured, written back atomically so the 90-day window keeps sliding across restarts.
//! - [`AuthMode::AppOnly`]: the client-credentials grant (enough for `/v1/customers` only).
//! - [`AuthMode::Token`]: a bearer token kept fresh by another tool, re-read when its file changes.
//!
//! Access tokens are cached and renewed `refresh_margin` before they expire, one renewal at a
//! time: callers that arrive during a renewal wait for it and share its outcome.
//!
//! Secrets (client secret, refresh and access tokens) never reach logs, errors or `Debug`: they
//! are `SecretString`s, and sign-in error messages are built from the `error` field and the first
//! line of `error_description` only, with any echoed secret blanked out.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

use super::http::{Overflow, read_body, transport_detail};
use super::redact::Redactor;
use super::{ApiObserver, endpoint, wire};

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
    fn refresh_result(&self) -> &'static str {
        match self {
            AuthError::InvalidGrant { .. } => "invalid_grant",
            AuthError::MfaRequired { .. } => "mfa_required",
            _ => "error",
        }
    }
}

/// Hands out a valid access token, renewing it before it expires, one renewal at a time.
pub struct TokenSource {
    config: AuthConfig,
    observer: Arc<dyn ApiObserver>,
    http: reqwest::Client,
    /// The current access token. A std mutex: only held to copy or replace the value, never
    /// across an await, so `invalidate` can be synchronous.
    cached: Mutex<Option<Cached>>,
    /// Held for the whole of a renewal, which makes renewals single-flight. It owns the refresh
    /// token because only a renewal reads or replaces it.
    renewal: tokio::sync::Mutex<Renewal>,
    /// Finished renewals, so a caller that queued behind a renewal can tell one happened.
    renewals: AtomicU64,
    /// Every secret this source has held, to blank out of quoted upstream text.
    redactor: Arc<Redactor>,
}

#[derive(Clone)]
struct Cached {
    token: SecretString,
    /// When to renew; `None` for `AuthMode::Token` (the other tool renews).
    renew_at: Option<Instant>,
    /// For `AuthMode::Token` with a file: the file version the token was read from.
    stamp: Option<FileStamp>,
}

struct Renewal {
    refresh_token: Option<SecretString>,
    /// The outcome of the last failed renewal, handed to the callers that waited for it.
    last_error: Option<AuthError>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

/// A successful token response, secrets wrapped at once.
struct Granted {
    access_token: SecretString,
    lifetime: Duration,
    refresh_token: Option<SecretString>,
}

/// The token endpoint's JSON, success and error alike. No `Debug`: it holds raw tokens.
#[derive(Deserialize, Default)]
struct TokenResponse {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    /// A number on v2, a string on v1 (`"3599"`).
    #[serde(default, deserialize_with = "wire::count")]
    expires_in: Option<f64>,
    #[serde(default, deserialize_with = "wire::count")]
    expires_on: Option<f64>,
    #[serde(default, deserialize_with = "wire::opt_text")]
    error: Option<String>,
    #[serde(default, deserialize_with = "wire::opt_text")]
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Option<Vec<serde_json::Value>>,
}

/// Largest token response read; real ones are a few KiB.
const MAX_TOKEN_RESPONSE: usize = 1024 * 1024;
/// Lifetime assumed when the response states none: short, so a wrong guess costs little.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// AADSTS codes meaning "this sign-in needs (fresh) MFA", and Partner Center's 900421.
const MFA_CODES: [u64; 5] = [50072, 50074, 50076, 50079, 900421];
/// Longest `error_description` line quoted in an error.
const MAX_DESCRIPTION: usize = 300;

impl TokenSource {
    /// Checks that `config` has what its mode needs and prepares the HTTP client. No request is
    /// made until the first [`TokenSource::access_token`].
    pub fn new(config: AuthConfig, observer: Arc<dyn ApiObserver>) -> Result<Self, AuthError> {
        let missing = |what: &str| AuthError::Config(format!("{what} is missing"));
        match config.mode {
            AuthMode::AppUser => {
                config
                    .client_secret
                    .as_ref()
                    .ok_or_else(|| missing("the client secret"))?;
                config.refresh_token.as_ref().ok_or_else(|| {
                    missing(
                        "the refresh token (--auth.refresh-token-file or PARTNERCENTER_AUTH_REFRESH_TOKEN)",
                    )
                })?;
            }
            AuthMode::AppOnly => {
                config
                    .client_secret
                    .as_ref()
                    .ok_or_else(|| missing("the client secret"))?;
            }
            AuthMode::Token => {
                if config.access_token_file.is_none() && config.access_token.is_none() {
                    return Err(missing(
                        "the access token (--auth.access-token-file or PARTNERCENTER_AUTH_ACCESS_TOKEN)",
                    ));
                }
            }
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .user_agent(concat!("partnercenter-exporter/", env!("CARGO_PKG_VERSION")))
            // A redirected POST would carry the client secret and refresh token to its target.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AuthError::Config(format!("cannot build the HTTP client: {e}")))?;
        let refresh_token = config.refresh_token.clone();
        let redactor = Arc::new(Redactor::default());
        for secret in [&config.client_secret, &config.refresh_token, &config.access_token]
            .into_iter()
            .flatten()
        {
            redactor.remember(secret);
        }
        Ok(Self {
            redactor,
            config,
            observer,
            http,
            cached: Mutex::new(None),
            renewal: tokio::sync::Mutex::new(Renewal {
                refresh_token,
                last_error: None,
            }),
            renewals: AtomicU64::new(0),
        })
    }

    /// `text` with every secret this source has held, and anything shaped like a token, blanked
    /// out: for upstream text quoted in errors.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// The grant this source uses (the client words its 401/403 errors by it).
    pub fn mode(&self) -> AuthMode {
        self.config.mode
    }

    /// A valid access token: the cached one, or a renewed one.
    pub async fn access_token(&self) -> Result<SecretString, AuthError> {
        match self.config.mode {
            AuthMode::Token => self.token_from_config().await,
            AuthMode::AppUser | AuthMode::AppOnly => self.renewed_token().await,
        }
    }

    /// Forgets the cached access token, e.g. after Partner Center answered 401: the next
    /// [`TokenSource::access_token`] renews it (or re-reads the token file).
    pub fn invalidate(&self) {
        *self.lock_cached() = None;
    }

    /// Forgets the cached access token if it is still `rejected`. When several requests get a 401
    /// for the same token at once, the first one's renewal serves them all instead of each
    /// discarding the token the previous one just obtained.
    pub fn invalidate_if_current(&self, rejected: &SecretString) {
        let mut cached = self.lock_cached();
        if cached
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == rejected.expose_secret())
        {
            *cached = None;
        }
    }

    fn lock_cached(&self) -> MutexGuard<'_, Option<Cached>> {
        // Never held across an await or while anything can panic half-way, so a poisoned value
        // is still consistent.
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh_cached(&self) -> Option<SecretString> {
        let cached = self.lock_cached();
        let c = cached.as_ref()?;
        match c.renew_at {
            Some(at) if at > Instant::now() => Some(c.token.clone()),
            _ => None,
        }
    }

    async fn renewed_token(&self) -> Result<SecretString, AuthError> {
        if let Some(token) = self.fresh_cached() {
            return Ok(token);
        }
        let seen = self.renewals.load(Ordering::Acquire);
        let mut renewal = self.renewal.lock().await;
        // Whoever held the lock before us may have renewed already: use their token, or their
        // error, instead of asking the sign-in service again.
        if let Some(token) = self.fresh_cached() {
            return Ok(token);
        }
        if self.renewals.load(Ordering::Acquire) != seen
            && let Some(err) = &renewal.last_error
        {
            return Err(err.clone());
        }
        let result = self.renew(&mut renewal).await;
        let token = match result {
            Ok(cached) => {
                let token = cached.token.clone();
                *self.lock_cached() = Some(cached);
                renewal.last_error = None;
                Ok(token)
            }
            Err(err) => {
                renewal.last_error = Some(err.clone());
                Err(err)
            }
        };
        self.renewals.fetch_add(1, Ordering::Release);
        token
    }

    async fn renew(&self, renewal: &mut Renewal) -> Result<Cached, AuthError> {
        let outcome = self.request_token(renewal.refresh_token.as_ref()).await;
        self.observer.token_refresh(match &outcome {
            Ok(_) => "success",
            Err(e) => e.refresh_result(),
        });
        let granted = match outcome {
            Ok(granted) => granted,
            Err(err) => {
                tracing::warn!(error = %err, "access token renewal failed");
                return Err(err);
            }
        };
        self.redactor.remember(&granted.access_token);
        if self.config.mode == AuthMode::AppUser
            && let Some(new) = granted.refresh_token
        {
            self.redactor.remember(&new);
            self.store_refresh_token(renewal, new).await;
        }
        // A margin larger than the lifetime would renew on every call; keep half the lifetime.
        let margin = self.config.refresh_margin.min(granted.lifetime / 2);
        tracing::debug!(
            lifetime_s = granted.lifetime.as_secs(),
            "renewed the access token"
        );
        Ok(Cached {
            token: granted.access_token,
            renew_at: Some(Instant::now() + granted.lifetime - margin),
            stamp: None,
        })
    }

    /// One POST to the token endpoint.
    async fn request_token(&self, refresh_token: Option<&SecretString>) -> Result<Granted, AuthError> {
        let url = url_for_messages(&self.config.token_url);
        let secret = self
            .config
            .client_secret
            .as_ref()
            .map(|s| s.expose_secret())
            .unwrap_or_default();
        let mut form: Vec<(&str, &str)> =
            vec![("client_id", &self.config.client_id), ("client_secret", secret)];
        match self.config.mode {
            AuthMode::AppUser => {
                form.push(("grant_type", "refresh_token"));
                form.push((
                    "refresh_token",
                    refresh_token.map(|t| t.expose_secret()).unwrap_or_default(),
                ));
            }
            _ => form.push(("grant_type", "client_credentials")),
        }
        match self.config.version {
            TokenVersion::V1 => form.push(("resource", &self.config.resource)),
            TokenVersion::V2 => form.push(("scope", &self.config.scope)),
        }
        let sent = self
            .http
            .post(self.config.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .timeout(self.config.timeout)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Err(self.transport_error(url, e)),
        };
        let status = response.status();
        if status.is_redirection() {
            self.observer.request(endpoint::TOKEN, status.as_str());
            return Err(AuthError::Redirected {
                url,
                status: status.as_u16(),
                location: super::http::location_host(response.headers()),
            });
        }
        let body = match read_body(response, MAX_TOKEN_RESPONSE, Overflow::Fail).await {
            Ok(body) => body,
            Err(super::http::BodyError::TooLarge) => {
                self.observer.request(endpoint::TOKEN, status.as_str());
                return Err(AuthError::BadResponse {
                    url,
                    status: status.as_u16(),
                    detail: format!("larger than {MAX_TOKEN_RESPONSE} bytes"),
                });
            }
            Err(super::http::BodyError::Transport(e)) => return Err(self.transport_error(url, e)),
        };
        self.observer.request(endpoint::TOKEN, status.as_str());
        let parsed: TokenResponse = wire::from_body(&body).map_err(|e| AuthError::BadResponse {
            url: url.clone(),
            status: status.as_u16(),
            // Position and category only: serde's message could quote a token.
            detail: format!("{} at line {} column {}", json_problem(&e), e.line(), e.column()),
        })?;
        drop(body);
        let access_token = parsed.access_token.clone().filter(|t| !t.trim().is_empty());
        match access_token {
            Some(access_token) if status.is_success() => Ok(Granted {
                access_token: SecretString::from(access_token),
                lifetime: lifetime(&parsed),
                refresh_token: parsed
                    .refresh_token
                    .filter(|t| !t.trim().is_empty())
                    .map(SecretString::from),
            }),
            _ => Err(self.refusal(url, status.as_u16(), &parsed)),
        }
    }

    fn transport_error(&self, url: String, e: reqwest::Error) -> AuthError {
        if e.is_timeout() {
            self.observer.request(endpoint::TOKEN, "timeout");
            AuthError::Timeout {
                url,
                timeout: self.config.timeout,
            }
        } else {
            self.observer.request(endpoint::TOKEN, "error");
            AuthError::Unreachable {
                url,
                detail: transport_detail(e),
            }
        }
    }

    /// Classifies an error response from the `error`, `error_codes` and the first line of
    /// `error_description`; the rest of the body is never quoted.
    fn refusal(&self, url: String, status: u16, parsed: &TokenResponse) -> AuthError {
        let description = parsed
            .error_description
            .as_deref()
            .map(|d| first_line(d, &self.redactor))
            .unwrap_or_default();
        let error = parsed.error.as_deref().map(|e| first_line(e, &self.redactor));
        let detail = match (&error, description.is_empty()) {
            (Some(e), false) => format!("{e}: {description}"),
            (Some(e), true) => e.clone(),
            (None, false) => description.clone(),
            (None, true) if (200..300).contains(&status) => "the response has no access_token".to_owned(),
            (None, true) => "no error description".to_owned(),
        };
        let codes: Vec<u64> = parsed
            .error_codes
            .iter()
            .flatten()
            .filter_map(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .collect();
        let mfa = MFA_CODES.iter().any(|code| {
            codes.contains(code)
                || description.contains(&format!("AADSTS{code}"))
                || description.contains("900421")
        });
        if mfa {
            AuthError::MfaRequired { detail }
        } else if error.as_deref() == Some("invalid_grant") {
            AuthError::InvalidGrant { detail }
        } else if (200..300).contains(&status) {
            AuthError::BadResponse { url, status, detail }
        } else {
            AuthError::Rejected { url, status, detail }
        }
    }

    /// Keeps a rotated refresh token in memory and writes it back to its file.
    async fn store_refresh_token(&self, renewal: &mut Renewal, new: SecretString) {
        let unchanged = renewal
            .refresh_token
            .as_ref()
            .is_some_and(|old| old.expose_secret() == new.expose_secret());
        if unchanged {
            return;
        }
        renewal.refresh_token = Some(new.clone());
        let Some(path) = self.config.refresh_token_file.clone() else {
            self.observer.refresh_token_rotated(Utc::now());
            tracing::debug!(
                "rotated the refresh token in memory (no --auth.refresh-token-file to keep it in)"
            );
            return;
        };
        let written = tokio::task::spawn_blocking({
            let path = path.clone();
            move || write_private_file(&path, new.expose_secret().as_bytes())
        })
        .await
        .unwrap_or_else(|join| Err(std::io::Error::other(join.to_string())));
        match written {
            Ok(()) => {
                self.observer.refresh_token_rotated(Utc::now());
                tracing::info!(path = %path.display(), "stored the rotated refresh token");
            }
            // Not fatal: the sign-in service does not revoke the previous refresh token, so the
            // one in the file keeps working until its own 90 days are up. The rotation metric
            // stops moving, which is what should alert.
            Err(e) => tracing::error!(
                path = %path.display(),
                error = %e,
                "cannot write the rotated refresh token back; the one in the file stays valid until it expires"
            ),
        }
    }

    /// `AuthMode::Token`: the environment's token, or the file's, re-read when the file changes.
    async fn token_from_config(&self) -> Result<SecretString, AuthError> {
        let Some(path) = &self.config.access_token_file else {
            return self
                .config
                .access_token
                .clone()
                .ok_or_else(|| AuthError::Config("the access token is missing".into()));
        };
        let file_error = |detail: String| AuthError::TokenFile {
            path: path.clone(),
            detail,
        };
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| file_error(e.to_string()))?;
        let stamp = FileStamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        };
        if let Some(cached) = self.lock_cached().as_ref()
            && cached.stamp == Some(stamp)
        {
            return Ok(cached.token.clone());
        }
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(|e| file_error(e.to_string()))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(file_error("the file is empty".into()));
        }
        let token = SecretString::from(token.to_owned());
        self.redactor.remember(&token);
        *self.lock_cached() = Some(Cached {
            token: token.clone(),
            renew_at: None,
            stamp: Some(stamp),
        });
        tracing::debug!(path = %path.display(), "read the access token file");
        Ok(token)
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("mode", &self.config.mode)
            .field("version", &self.config.version)
            .field("token_url", &url_for_messages(&self.config.token_url))
            .field("client_id", &self.config.client_id)
            .finish_non_exhaustive()
    }
}

/// How long a granted token lives: `expires_in`, else `expires_on` (epoch seconds), else a guess.
fn lifetime(response: &TokenResponse) -> Duration {
    if let Some(secs) = response.expires_in.filter(|s| *s > 0.0) {
        return Duration::from_secs_f64(secs.min(86_400.0 * 365.0));
    }
    if let Some(on) = response.expires_on {
        let now = Utc::now().timestamp() as f64;
        if on > now {
            return Duration::from_secs_f64((on - now).min(86_400.0 * 365.0));
        }
    }
    DEFAULT_LIFETIME
}

/// The first line of a sign-in message (the AADSTS code and sentence; the trace and correlation
/// ids follow on later lines), truncated, with any secret blanked out.
fn first_line(text: &str, redactor: &Redactor) -> String {
    let mut line = redactor.redact(text.lines().next().unwrap_or_default().trim());
    if line.chars().count() > MAX_DESCRIPTION {
        line = line.chars().take(MAX_DESCRIPTION).collect::<String>() + "…";
    }
    line
}

fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Data => "unexpected field types",
        serde_json::error::Category::Eof => "truncated JSON",
        _ => "invalid JSON",
    }
}

/// The token URL as shown in messages: no query, no credentials.
fn url_for_messages(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

/// Writes `contents` to `path` atomically: a private temporary file in the same directory
/// (mode 0600 on unix, since it holds a credential), flushed, then renamed over `path`, so a
/// crash leaves either the old or the new token, never half of one.
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: do not leave a stray copy of the secret behind.
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    // Persist the rename itself; not all platforms can open a directory, so this is best effort.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_descriptions_keep_the_first_line_and_blank_out_secrets() {
        let text = "AADSTS700082: The refresh token has expired due to inactivity. rt-123456 s3cret-value\r\nTrace ID: abc\r\nCorrelation ID: def";
        let redactor = Redactor::default();
        for secret in ["rt-123456", "s3cret-value", ""] {
            redactor.remember(&SecretString::from(secret));
        }
        let line = first_line(text, &redactor);
        assert_eq!(
            line,
            "AADSTS700082: The refresh token has expired due to inactivity. [redacted] [redacted]"
        );
        let long = "x".repeat(1000);
        assert_eq!(first_line(&long, &redactor).chars().count(), MAX_DESCRIPTION + 1);
    }

    #[test]
    fn expires_in_may_be_a_number_or_a_string() {
        for body in [r#"{"expires_in": 3599}"#, r#"{"expires_in": "3599"}"#] {
            let parsed: TokenResponse = serde_json::from_str(body).unwrap();
            assert_eq!(lifetime(&parsed), Duration::from_secs(3599), "{body}");
        }
        let parsed: TokenResponse = serde_json::from_str("{}").unwrap();
        assert_eq!(lifetime(&parsed), DEFAULT_LIFETIME);
    }

    #[test]
    fn the_private_file_is_replaced_atomically_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("refresh");
        std::fs::write(&path, "old").unwrap();
        write_private_file(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn debug_output_of_the_config_and_the_source_has_no_secrets() {
        let config = AuthConfig {
            mode: AuthMode::AppUser,
            version: TokenVersion::V1,
            token_url: Url::parse("https://login.example/t/oauth2/token").unwrap(),
            client_id: "app".into(),
            client_secret: Some("client-s3cret".into()),
            resource: "https://api.partnercenter.microsoft.com".into(),
            scope: String::new(),
            refresh_token: Some("refresh-s3cret".into()),
            refresh_token_file: None,
            access_token_file: None,
            access_token: Some("access-s3cret".into()),
            refresh_margin: Duration::from_secs(300),
            timeout: Duration::from_secs(5),
        };
        let source = TokenSource::new(config.clone(), Arc::new(super::super::NoopObserver)).unwrap();
        for text in [format!("{config:?}"), format!("{source:?}")] {
            assert!(!text.contains("s3cret"), "{text}");
        }
    }

    #[test]
    fn a_mode_without_its_credential_is_a_config_error() {
        let config = AuthConfig {
            mode: AuthMode::AppUser,
            version: TokenVersion::V1,
            token_url: Url::parse("https://login.example/t/oauth2/token").unwrap(),
            client_id: "app".into(),
            client_secret: Some("x".into()),
            resource: String::new(),
            scope: String::new(),
            refresh_token: None,
            refresh_token_file: None,
            access_token_file: None,
            access_token: None,
            refresh_margin: Duration::from_secs(300),
            timeout: Duration::from_secs(5),
        };
        let err = TokenSource::new(config, Arc::new(super::super::NoopObserver)).unwrap_err();
        assert!(err.to_string().contains("refresh token"), "{err}");
    }
}
