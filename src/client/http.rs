//! One Partner Center GET, done properly: headers, bearer token, concurrency and rate limits,
//! per-request timeout, response size cap, retries with backoff, and one token renewal on 401.
//!
//! Every exchange is reported to the observer (`request`), every retry too (`retry`). Each call
//! gets a fresh `MS-RequestId` that is kept across its retries, as the headers doc asks ("If
//! there's a timeout, the retry call should include the same value").

use std::sync::Arc;
use std::time::SystemTime;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;
use url::Url;
use uuid::Uuid;

use super::auth::TokenSource;
use super::body::{BodyError, Overflow, location_host, read_body, transport_detail};
use super::credentials::{AuthError, AuthMode};
use super::endpoint;
use super::error::{ApiFault, ClientError};
use super::observer::ApiObserver;
use super::retry::{self, RateLimiter};
use super::settings::ClientConfig;

/// Error bodies are read up to this size and cut there: they are only quoted in messages.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Redirects are followed only while they stay on the Partner Center origin: one elsewhere would
/// take the request (and, but for reqwest stripping it, the bearer token) to another host, and
/// that host's answer would be served as Partner Center data. A stopped redirect reaches
/// [`Transport::attempt`] as a 3xx and fails the request there.
fn same_origin_redirects(base: &Url) -> reqwest::redirect::Policy {
    let origin = base.origin();
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 10 {
            attempt.error("more than 10 redirects")
        } else if attempt.url().origin() == origin {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// A 2xx body.
pub(crate) struct Fetched {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// What one attempt came to.
enum Attempt {
    Success(Fetched),
    Status {
        status: StatusCode,
        headers: HeaderMap,
        body: Vec<u8>,
    },
    Transport(reqwest::Error),
    Fatal(ClientError),
}

/// Shared by every clone of the client.
pub(crate) struct Transport {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
    tokens: Arc<TokenSource>,
    observer: Arc<dyn ApiObserver>,
    limiter: RateLimiter,
    permits: Semaphore,
    /// `Accept`, `X-Locale`, `MS-PartnerCenter-Application`: validated once.
    static_headers: HeaderMap,
}

impl Transport {
    pub(crate) fn new(
        config: Arc<ClientConfig>,
        tokens: Arc<TokenSource>,
        observer: Arc<dyn ApiObserver>,
    ) -> Result<Self, ClientError> {
        let value = |name: &str, v: &str| {
            HeaderValue::from_str(v)
                .map_err(|_| ClientError::Setup(format!("{name} {v:?} is not a valid header value")))
        };
        let mut static_headers = HeaderMap::new();
        static_headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        static_headers.insert("x-locale", value("the locale", &config.locale)?);
        static_headers.insert(
            "ms-partnercenter-application",
            value("the application name", &config.application)?,
        );
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .user_agent(config.application.clone())
            .redirect(same_origin_redirects(&config.base_url))
            .build()
            .map_err(|e| ClientError::Setup(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            limiter: RateLimiter::new(
                config.requests_per_minute,
                config.subscription_requests_per_minute,
            ),
            permits: Semaphore::new(config.concurrency.clamp(1, Semaphore::MAX_PERMITS)),
            tokens,
            observer,
            static_headers,
            config,
        })
    }

    /// GETs `url`, retrying as the policy allows, and returns the 2xx body or the error.
    pub(crate) async fn get(
        &self,
        endpoint: &'static str,
        url: &Url,
        extra_headers: &HeaderMap,
        correlation_id: Uuid,
    ) -> Result<Fetched, ClientError> {
        let request_id = Uuid::new_v4();
        let path = url.path().to_owned();
        let mut attempts = 0u32;
        let mut retries = 0u32;
        let mut renewed = false;
        loop {
            let token = self.tokens.access_token().await?;
            attempts += 1;
            tracing::debug!(endpoint, path, attempt = attempts, ms_request_id = %request_id, ms_correlation_id = %correlation_id, "GET");
            let outcome = self
                .attempt(
                    endpoint,
                    url,
                    extra_headers,
                    token.expose_secret(),
                    request_id,
                    correlation_id,
                )
                .await;
            // Decide: done, fail, or retry after a delay (reason, Retry-After, the error if it
            // turns out to be the last attempt, MS-CV for the log).
            let (reason, retry_after, failure, ms_cv) = match outcome {
                Attempt::Success(fetched) => return Ok(fetched),
                Attempt::Fatal(err) => return Err(err),
                Attempt::Status {
                    status,
                    headers,
                    body,
                } => {
                    let fault = ApiFault::parse(&body).redacted(|text| self.tokens.redact(text));
                    let ms_cv = header_text(&headers, "ms-cv");
                    if status == StatusCode::UNAUTHORIZED && !renewed && !is_mfa(&fault, &headers) {
                        // The token may have been revoked or expired early: renew once. Not
                        // counted as a retry of the budget, and no backoff: nothing is overloaded.
                        renewed = true;
                        self.tokens.invalidate_if_current(&token);
                        self.observer.retry(endpoint, "401");
                        tracing::warn!(endpoint, path, ms_request_id = %request_id, ms_correlation_id = %correlation_id, ms_cv, "Partner Center answered 401; renewing the access token and retrying once");
                        continue;
                    }
                    let Some(reason) = retry::retry_reason(status) else {
                        let err = self.status_error(endpoint, &path, status, &headers, fault, attempts);
                        log_failure(&err, request_id, correlation_id, ms_cv.as_deref());
                        return Err(err);
                    };
                    let retry_after = headers
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
                    if status == StatusCode::TOO_MANY_REQUESTS
                        && let Some(wait) = retry_after
                    {
                        // The throttle is per tenant: hold every request back, not only this one.
                        self.limiter
                            .pause_until(tokio::time::Instant::now() + wait.min(self.config.backoff_max));
                    }
                    let err = self.status_error(endpoint, &path, status, &headers, fault, attempts);
                    (reason, retry_after, err, ms_cv)
                }
                Attempt::Transport(e) => {
                    let err = if e.is_timeout() {
                        ClientError::Timeout {
                            endpoint,
                            path: path.clone(),
                            timeout: self.config.timeout,
                            attempts,
                        }
                    } else {
                        ClientError::Connection {
                            endpoint,
                            path: path.clone(),
                            detail: transport_detail(e),
                            attempts,
                        }
                    };
                    let reason = if matches!(err, ClientError::Timeout { .. }) {
                        "timeout"
                    } else {
                        "connection"
                    };
                    (reason, None, err, None)
                }
            };
            if retries >= self.config.max_retries {
                log_failure(&failure, request_id, correlation_id, ms_cv.as_deref());
                return Err(failure);
            }
            let delay = retry::retry_delay(
                retries,
                retry_after,
                self.config.backoff_base,
                self.config.backoff_max,
                rand::random::<f64>(),
            );
            retries += 1;
            self.observer.retry(endpoint, reason);
            tracing::warn!(
                endpoint, path, reason, retry = retries, max_retries = self.config.max_retries,
                delay_ms = delay.as_millis() as u64, ms_request_id = %request_id,
                ms_correlation_id = %correlation_id, ms_cv, error = %failure,
                "Partner Center request failed; retrying"
            );
            // No permit is held while waiting, so other requests can proceed.
            tokio::time::sleep(delay).await;
        }
    }

    /// One exchange: wait for a concurrency permit and a rate slot, send, read the body.
    async fn attempt(
        &self,
        endpoint: &'static str,
        url: &Url,
        extra_headers: &HeaderMap,
        token: &str,
        request_id: Uuid,
        correlation_id: Uuid,
    ) -> Attempt {
        let Ok(_permit) = self.permits.acquire().await else {
            // The semaphore is owned here and never closed.
            return Attempt::Fatal(ClientError::Setup("the request semaphore was closed".into()));
        };
        self.limiter
            .acquire(endpoint::is_subscription_resource(endpoint))
            .await;
        let mut headers = self.static_headers.clone();
        for (name, id) in [("ms-requestid", request_id), ("ms-correlationid", correlation_id)] {
            // A hyphenated UUID is ASCII hex digits and hyphens: always a valid header value.
            let value =
                HeaderValue::from_str(&id.hyphenated().to_string()).expect("a UUID is a valid header value");
            headers.insert(name, value);
        }
        let Ok(mut bearer) = HeaderValue::from_str(&format!("Bearer {token}")) else {
            return Attempt::Fatal(ClientError::Auth(AuthError::Config(
                "the access token contains characters that are not allowed in an HTTP header".into(),
            )));
        };
        // Marked sensitive so that hyper never logs or indexes it.
        bearer.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, bearer);
        for (name, value) in extra_headers {
            headers.insert(name.clone(), value.clone());
        }
        let sent = self
            .http
            .get(url.clone())
            .headers(headers)
            .timeout(self.config.timeout)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                self.observer
                    .request(endpoint, if e.is_timeout() { "timeout" } else { "error" });
                return Attempt::Transport(e);
            }
        };
        let status = response.status();
        if status.is_redirection() {
            self.observer.request(endpoint, status.as_str());
            return Attempt::Fatal(ClientError::Redirected {
                endpoint,
                path: url.path().to_owned(),
                status: status.as_u16(),
                location: location_host(response.headers()),
            });
        }
        let response_headers = response.headers().clone();
        let (limit, overflow) = if status.is_success() {
            (self.config.max_response_bytes, Overflow::Fail)
        } else {
            (
                MAX_ERROR_BODY.min(self.config.max_response_bytes),
                Overflow::Truncate,
            )
        };
        match read_body(response, limit, overflow).await {
            Ok(body) => {
                self.observer.request(endpoint, status.as_str());
                if status.is_success() {
                    Attempt::Success(Fetched { status, body })
                } else {
                    Attempt::Status {
                        status,
                        headers: response_headers,
                        body,
                    }
                }
            }
            Err(BodyError::TooLarge) => {
                self.observer.request(endpoint, status.as_str());
                Attempt::Fatal(ClientError::TooLarge {
                    endpoint,
                    path: url.path().to_owned(),
                    limit,
                })
            }
            Err(BodyError::Transport(e)) => {
                self.observer
                    .request(endpoint, if e.is_timeout() { "timeout" } else { "error" });
                Attempt::Transport(e)
            }
        }
    }

    /// `text` with every secret of the token source, and anything shaped like a token, blanked out.
    pub(crate) fn redact(&self, text: &str) -> String {
        self.tokens.redact(text)
    }

    /// The error for a non-2xx answer, worded by what the status means for this endpoint and
    /// this kind of token.
    fn status_error(
        &self,
        endpoint: &'static str,
        path: &str,
        status: StatusCode,
        headers: &HeaderMap,
        fault: ApiFault,
        attempts: u32,
    ) -> ClientError {
        let path = path.to_owned();
        let fault = Box::new(fault);
        let code = status.as_u16();
        if code == 401 && is_mfa(&fault, headers) {
            return ClientError::MfaRequired {
                endpoint,
                path,
                fault,
            };
        }
        if matches!(code, 401 | 403)
            && self.tokens.mode() == AuthMode::AppOnly
            && endpoint::needs_app_user(endpoint)
        {
            return ClientError::AppUserRequired {
                endpoint,
                path,
                status: code,
                fault,
            };
        }
        ClientError::Http {
            endpoint,
            path,
            status: code,
            fault,
            attempts,
        }
    }
}

/// A 401 about MFA: code 900421 or MFA named in the body, or a claims challenge
/// (`WWW-Authenticate: … insufficient_claims`), which is how step-up MFA is asked for.
fn is_mfa(fault: &ApiFault, headers: &HeaderMap) -> bool {
    fault.mentions_mfa()
        || headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .any(|v| v.to_str().is_ok_and(|s| s.contains("insufficient_claims")))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// An answer the caller expects from some customers and sums up once per run: a refusal where
/// the exporter's user may lack a GDAP role or a reseller relationship, a "not found" of a SKU
/// look-up. Logged at debug, so that 10,000 customers do not make 10,000 warnings.
fn is_expected_answer(err: &ClientError) -> bool {
    let ClientError::Http { endpoint, status, .. } = err else {
        return false;
    };
    match *status {
        401 | 403 => matches!(
            *endpoint,
            endpoint::SUBSCRIPTIONS | endpoint::SUBSCRIBED_SKUS | endpoint::SUBSCRIPTION_PROVISIONING_STATUS
        ),
        404 => matches!(
            *endpoint,
            endpoint::CATALOG_SKU | endpoint::SUBSCRIPTION_PROVISIONING_STATUS
        ),
        _ => false,
    }
}

fn log_failure(err: &ClientError, request_id: Uuid, correlation_id: Uuid, ms_cv: Option<&str>) {
    if is_expected_answer(err) {
        tracing::debug!(
            error = %err, ms_request_id = %request_id, ms_correlation_id = %correlation_id, ms_cv,
            "Partner Center refused the request"
        );
        return;
    }
    tracing::warn!(
        error = %err, ms_request_id = %request_id, ms_correlation_id = %correlation_id, ms_cv,
        "Partner Center request failed"
    );
}
