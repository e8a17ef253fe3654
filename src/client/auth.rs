//! Access tokens for Partner Center (Secure Application Model, reference §2).
//!
//! - [`AuthMode::AppUser`]: the refresh-token grant. The sign-in service may hand out a new
//!   refresh token with every access token; the newest one is kept in memory and, when a file is
//!   configured, written back atomically so the 90-day window keeps sliding across restarts.
//! - [`AuthMode::AppOnly`]: the client-credentials grant (enough for `/v1/customers` only).
//! - [`AuthMode::Token`]: a bearer token kept fresh by another tool, re-read when its file changes.
//!
//! Access tokens are cached and renewed `refresh_margin` before they expire, one renewal at a
//! time: callers that arrive during a renewal wait for it and share its outcome. The exchange
//! with the token endpoint itself is in `grant`.
//!
//! Secrets (client secret, refresh and access tokens) never reach logs, errors or `Debug`: they
//! are `SecretString`s, and every secret this source holds is remembered by its redactor, which
//! blanks them out of any upstream text quoted in an error.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::credentials::{AuthConfig, AuthError, AuthMode};
use super::endpoint;
use super::grant::{self, Exchange, Granted};
use super::observer::ApiObserver;
use super::redact::Redactor;
use super::retry;
use crate::files::write_private_file;

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
        let http = grant::http_client(config.timeout)?;
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

    /// One renewal: the token request, retried like every Partner Center call (5xx, 429 with
    /// its `Retry-After`, 408, timeouts and connection errors; backoff with jitter, at most
    /// `max_retries` times), but never on a refusal that repeating cannot fix.
    async fn request_with_retries(&self, refresh_token: Option<&SecretString>) -> Result<Granted, AuthError> {
        let mut retries = 0u32;
        loop {
            let failed = match self.exchange().request_token(refresh_token).await {
                Ok(granted) => return Ok(granted),
                Err(failed) => failed,
            };
            let Some((reason, retry_after)) = failed.retry else {
                return Err(failed.error);
            };
            if retries >= self.config.max_retries {
                return Err(failed.error);
            }
            let delay = retry::retry_delay(
                retries,
                retry_after,
                self.config.backoff_base,
                self.config.backoff_max,
                rand::random::<f64>(),
            );
            retries += 1;
            self.observer.retry(endpoint::TOKEN, reason);
            tracing::warn!(
                reason,
                retry = retries,
                max_retries = self.config.max_retries,
                delay_ms = delay.as_millis() as u64,
                error = %failed.error,
                "token request failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn renew(&self, renewal: &mut Renewal) -> Result<Cached, AuthError> {
        let outcome = self.request_with_retries(renewal.refresh_token.as_ref()).await;
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

    fn exchange(&self) -> Exchange<'_> {
        Exchange {
            config: &self.config,
            http: &self.http,
            observer: self.observer.as_ref(),
            redactor: &self.redactor,
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
            // one in the file keeps working until its own 90 days are up. The write is atomic, so
            // the old file is never left empty or cut. Counted, and the rotation metric stops
            // moving, which is what alerts.
            Err(e) => {
                self.observer.refresh_token_write_failed();
                tracing::error!(
                    path = %path.display(),
                    error = %e,
                    "cannot write the rotated refresh token to --auth.refresh-token-file; the new token is kept and used in memory, \
                     and the file still holds the previous one, unchanged. After a restart the exporter starts from the previous token, \
                     which keeps working until 90 days after it was issued; then renewals fail with invalid_grant. \
                     Make the file and its directory writable by the exporter (free disk space, fix the owner or the read-only mount); \
                     the next rotation writes it"
                )
            }
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
            .field("token_url", &grant::url_for_messages(&self.config.token_url))
            .field("client_id", &self.config.client_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use url::Url;

    use super::*;
    use crate::client::credentials::TokenVersion;
    use crate::client::observer::NoopObserver;

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
            max_retries: 0,
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(1),
        };
        let source = TokenSource::new(config.clone(), Arc::new(NoopObserver)).unwrap();
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
            max_retries: 0,
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(1),
        };
        let err = TokenSource::new(config, Arc::new(NoopObserver)).unwrap_err();
        assert!(err.to_string().contains("refresh token"), "{err}");
    }
}
