//! The token endpoint exchange: one POST of the refresh-token or client-credentials grant, its
//! answer read within limits and classified into a token or an [`AuthError`].
//!
//! The request carries the client secret (and the refresh token), so the HTTP client used for it
//! follows no redirect; and sign-in error messages are built from the `error` field and the first
//! line of `error_description` only, with any secret blanked out.

use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::body::{BodyError, Overflow, location_host, read_body, transport_detail};
use super::credentials::{AuthConfig, AuthError, AuthMode, TokenVersion};
use super::decode;
use super::endpoint;
use super::observer::ApiObserver;
use super::redact::Redactor;
use super::retry;

/// The HTTP client for the token endpoint: no redirects, since a redirected POST would carry the
/// client secret and the refresh token to the redirect's target.
pub(super) fn http_client(timeout: Duration) -> Result<reqwest::Client, AuthError> {
    reqwest::Client::builder()
        .connect_timeout(timeout)
        .user_agent(concat!("partnercenter-exporter/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| AuthError::Config(format!("cannot build the HTTP client: {e}")))
}

/// A successful token response, secrets wrapped at once.
pub(super) struct Granted {
    pub(super) access_token: SecretString,
    pub(super) lifetime: Duration,
    pub(super) refresh_token: Option<SecretString>,
}

/// The token endpoint's JSON, success and error alike. No `Debug`: it holds raw tokens.
#[derive(Deserialize, Default)]
struct TokenResponse {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    /// A number on v2, a string on v1 (`"3599"`).
    #[serde(default, deserialize_with = "decode::count")]
    expires_in: Option<f64>,
    #[serde(default, deserialize_with = "decode::count")]
    expires_on: Option<f64>,
    #[serde(default, deserialize_with = "decode::opt_text")]
    error: Option<String>,
    #[serde(default, deserialize_with = "decode::opt_text")]
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

/// A failed exchange, and whether another attempt may help: `retry` is the reason label and the
/// server's `Retry-After` for 5xx, 429, 408, timeouts and connection errors. Refusals that
/// repeating cannot fix (`invalid_grant`, `invalid_client`, MFA, other 4xx, a redirect) have none.
pub(super) struct Failed {
    pub(super) error: AuthError,
    pub(super) retry: Option<(&'static str, Option<Duration>)>,
}

impl Failed {
    fn fatal(error: AuthError) -> Self {
        Self { error, retry: None }
    }
}

/// One exchange with the token endpoint, borrowing what the token source holds.
pub(super) struct Exchange<'a> {
    pub(super) config: &'a AuthConfig,
    pub(super) http: &'a reqwest::Client,
    pub(super) observer: &'a dyn ApiObserver,
    pub(super) redactor: &'a Redactor,
}

impl Exchange<'_> {
    /// One POST to the token endpoint.
    pub(super) async fn request_token(
        &self,
        refresh_token: Option<&SecretString>,
    ) -> Result<Granted, Failed> {
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
            // Not retried: the answer would be the same redirect.
            return Err(Failed::fatal(AuthError::Redirected {
                url,
                status: status.as_u16(),
                location: location_host(response.headers()),
            }));
        }
        // 5xx, 429 and 408 are worth another attempt, after the server's Retry-After if it sent one.
        let retry = retry::retry_reason(status).map(|reason| {
            let after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry::parse_retry_after(v, std::time::SystemTime::now()));
            (reason, after)
        });
        let body = match read_body(response, MAX_TOKEN_RESPONSE, Overflow::Fail).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                self.observer.request(endpoint::TOKEN, status.as_str());
                return Err(Failed {
                    error: AuthError::BadResponse {
                        url,
                        status: status.as_u16(),
                        detail: format!("larger than {MAX_TOKEN_RESPONSE} bytes"),
                    },
                    retry,
                });
            }
            Err(BodyError::Transport(e)) => return Err(self.transport_error(url, e)),
        };
        self.observer.request(endpoint::TOKEN, status.as_str());
        let parsed: TokenResponse = match decode::from_body(&body) {
            Ok(parsed) => parsed,
            // An overloaded sign-in service or a proxy in front of it answers 5xx with HTML.
            Err(e) => {
                return Err(Failed {
                    error: AuthError::BadResponse {
                        url: url.clone(),
                        status: status.as_u16(),
                        // Position and category only: serde's message could quote a token.
                        detail: format!("{} at line {} column {}", json_problem(&e), e.line(), e.column()),
                    },
                    retry,
                });
            }
        };
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
            _ => {
                let error = self.refusal(url, status.as_u16(), &parsed);
                // A dead refresh token or a missing MFA claim stays so however often it is asked.
                let retry = retry.filter(|_| {
                    !matches!(
                        error,
                        AuthError::InvalidGrant { .. } | AuthError::MfaRequired { .. }
                    )
                });
                Err(Failed { error, retry })
            }
        }
    }

    fn transport_error(&self, url: String, e: reqwest::Error) -> Failed {
        if e.is_timeout() {
            self.observer.request(endpoint::TOKEN, "timeout");
            Failed {
                error: AuthError::Timeout {
                    url,
                    timeout: self.config.timeout,
                },
                retry: Some(("timeout", None)),
            }
        } else {
            self.observer.request(endpoint::TOKEN, "error");
            Failed {
                error: AuthError::Unreachable {
                    url,
                    detail: transport_detail(e),
                },
                retry: Some(("connection", None)),
            }
        }
    }

    /// Classifies an error response from the `error`, `error_codes` and the first line of
    /// `error_description`; the rest of the body is never quoted.
    fn refusal(&self, url: String, status: u16, parsed: &TokenResponse) -> AuthError {
        let description = parsed
            .error_description
            .as_deref()
            .map(|d| first_line(d, self.redactor))
            .unwrap_or_default();
        let error = parsed.error.as_deref().map(|e| first_line(e, self.redactor));
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
pub(super) fn url_for_messages(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
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
}
