//! [`ClientError`]: what failed, where (endpoint name and URL path, never the query string or a
//! secret), and what to do about it. Also the lenient parser of Partner Center error bodies.

use std::fmt;
use std::time::Duration;

use super::credentials::AuthError;
use super::decode;
use super::endpoint;

/// Everything that can go wrong talking to Partner Center.
///
/// Every message names the endpoint and the URL path. Query strings are left out on purpose:
/// they are long, and filters may carry customer ids that do not belong in logs.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Partner Center answered with an error status (after the retries it deserved).
    #[error("{endpoint} ({path}): Partner Center answered HTTP {status}{fault}{}; {}", attempts_note(.attempts), http_hint(.endpoint, .status))]
    Http {
        endpoint: &'static str,
        path: String,
        status: u16,
        /// What the error body said, if anything.
        fault: Box<ApiFault>,
        /// Attempts made, retries included.
        attempts: u32,
    },
    /// A license endpoint refused an app-only token.
    #[error(
        "{endpoint} ({path}): Partner Center answered HTTP {status}{fault}; the license analytics endpoints \
         need App+User (refresh-token) authentication, but --auth.mode=app-only signs in with client \
         credentials; use --auth.mode=app-user with a refresh token (README \"Obtaining Partner Center credentials\")"
    )]
    AppUserRequired {
        endpoint: &'static str,
        path: String,
        status: u16,
        fault: Box<ApiFault>,
    },
    /// Partner Center refused an App+User token without an MFA claim (401, code 900421).
    #[error(
        "{endpoint} ({path}): MFA required: Partner Center answered HTTP 401{fault}. The refresh token must \
         come from a sign-in that performed MFA; re-consent with an MFA sign-in (README \"Obtaining \
         credentials\") and replace the refresh token"
    )]
    MfaRequired {
        endpoint: &'static str,
        path: String,
        fault: Box<ApiFault>,
    },
    /// A body that is not the JSON expected.
    #[error(
        "{endpoint} ({path}): HTTP {status} response is not the expected JSON ({detail}); it starts with \
         {snippet:?}. Partner Center may have changed its format: please report this with the snippet"
    )]
    Decode {
        endpoint: &'static str,
        path: String,
        status: u16,
        detail: String,
        /// The first bytes of the body, lossy UTF-8.
        snippet: String,
    },
    /// No complete answer within the per-request timeout, on every attempt.
    #[error(
        "{endpoint} ({path}): no answer within {timeout:?} after {attempts} attempt(s); Partner Center may \
         be slow or unreachable (raise --partnercenter.timeout if large pages need longer)"
    )]
    Timeout {
        endpoint: &'static str,
        path: String,
        timeout: Duration,
        attempts: u32,
    },
    /// The connection failed (DNS, TCP, TLS, reset), on every attempt.
    #[error(
        "{endpoint} ({path}): cannot reach Partner Center after {attempts} attempt(s): {detail}; check the \
         network, proxy and --partnercenter.url"
    )]
    Connection {
        endpoint: &'static str,
        path: String,
        detail: String,
        attempts: u32,
    },
    /// The body exceeded `max_response_bytes`.
    #[error(
        "{endpoint} ({path}): the response is larger than {limit} bytes; raise \
         --partnercenter.max-response-bytes{}", smaller_pages_hint(.endpoint)
    )]
    TooLarge {
        endpoint: &'static str,
        path: String,
        limit: usize,
    },
    /// Partner Center redirected to another origin, which is never followed.
    #[error(
        "{endpoint} ({path}): Partner Center answered HTTP {status} redirecting to {location}, outside the \
         configured Partner Center origin; not following it (check --partnercenter.url)"
    )]
    Redirected {
        endpoint: &'static str,
        path: String,
        status: u16,
        /// The host (and port) the redirect pointed at.
        location: String,
    },
    /// Paging went wrong: a loop, too many pages, or an unusable next link.
    #[error("{endpoint} ({path}): paging stopped: {detail}")]
    Paging {
        endpoint: &'static str,
        path: String,
        detail: String,
    },
    /// The caller asked for something that cannot be requested (e.g. an empty customer id).
    #[error("{endpoint}: invalid request: {detail}")]
    InvalidRequest { endpoint: &'static str, detail: String },
    /// No access token could be obtained.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The client could not be built from its configuration.
    #[error("cannot set up the Partner Center client: {0}")]
    Setup(String),
}

impl ClientError {
    /// True when the credentials, not Partner Center or the network, are the problem: retrying
    /// later will not help until someone fixes them.
    pub fn is_auth(&self) -> bool {
        match self {
            ClientError::Auth(_) | ClientError::AppUserRequired { .. } | ClientError::MfaRequired { .. } => {
                true
            }
            ClientError::Http { status, .. } => matches!(status, 401 | 403),
            _ => false,
        }
    }

    /// A short, fixed label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Http { .. } => "http",
            ClientError::AppUserRequired { .. } => "app_user_required",
            ClientError::MfaRequired { .. } => "mfa_required",
            ClientError::Decode { .. } => "decode",
            ClientError::Timeout { .. } => "timeout",
            ClientError::Connection { .. } => "connection",
            ClientError::TooLarge { .. } => "too_large",
            ClientError::Redirected { .. } => "redirected",
            ClientError::Paging { .. } => "paging",
            ClientError::InvalidRequest { .. } => "invalid_request",
            ClientError::Auth(_) => "auth",
            ClientError::Setup(_) => "setup",
        }
    }

    /// The HTTP status Partner Center answered, for the variants that have one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. }
            | ClientError::AppUserRequired { status, .. }
            | ClientError::Decode { status, .. }
            | ClientError::Redirected { status, .. } => Some(*status),
            ClientError::MfaRequired { .. } => Some(401),
            _ => None,
        }
    }
}

fn attempts_note(attempts: &u32) -> String {
    let attempts = *attempts;
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

fn smaller_pages_hint(endpoint: &str) -> &'static str {
    match endpoint {
        endpoint::COMMERCIAL_USAGE | endpoint::COMMERCIAL_DEPLOYMENT => {
            " or request smaller pages (--partnercenter.page-size)"
        }
        endpoint::CUSTOMERS => " or request smaller pages (--partnercenter.customers-page-size)",
        _ => "",
    }
}

fn http_hint(endpoint: &str, status: &u16) -> &'static str {
    let status = *status;
    let commercial = matches!(
        endpoint,
        endpoint::COMMERCIAL_USAGE | endpoint::COMMERCIAL_DEPLOYMENT
    );
    match status {
        400 => {
            "Partner Center rejected the request; check the --collector.*.filter, groupby and processed-date-time values"
        }
        401 | 403
            if endpoint == endpoint::SUBSCRIBED_SKUS
                || endpoint == endpoint::SUBSCRIPTION_PROVISIONING_STATUS =>
        {
            "the exporter's user has no GDAP role in this customer's tenant; grant Directory Readers (or Global \
             Reader, User Administrator, License Administrator) through the customer's GDAP relationship"
        }
        401 => {
            "the access token was rejected even after renewing it; check that the app registration has the \
             Partner Center API permission (user_impersonation) and that it was consented"
        }
        403 if endpoint == endpoint::SUBSCRIPTIONS => {
            "no reseller relationship with this customer (code 20002), or the partner user is not an Admin agent \
             or Sales agent"
        }
        403 => {
            "the signed-in partner user lacks the rights; it needs an agent role (member of AdminAgents) in the \
             partner tenant"
        }
        404 if commercial => {
            "check --partnercenter.usage-path / --partnercenter.deployment-path (the docs disagree about the \
             /partner prefix)"
        }
        404 if endpoint == endpoint::CUSTOMER_USAGE || endpoint == endpoint::CUSTOMER_DEPLOYMENT => {
            "the customer may have left the partner, or Partner Center retired this legacy endpoint"
        }
        404 if endpoint == endpoint::CATALOG_SKU => "the catalog has no such product or SKU in that country",
        404 if endpoint::is_subscription_resource(endpoint) || endpoint == endpoint::SUBSCRIBED_SKUS => {
            "the customer or subscription may have left the partner"
        }
        404 => "Partner Center may have retired this endpoint",
        429 => {
            "Partner Center kept throttling; lower --partnercenter.requests-per-minute or \
             --partnercenter.concurrency"
        }
        500..=599 => "Partner Center failed; it usually recovers, the next collection will try again",
        _ => "see https://learn.microsoft.com/partner-center/developer/error-codes",
    }
}

/// What a Partner Center error body said. Bodies come as `{code, description, …}` (code a number
/// or a string), as the 429 shape `{statusCode, message}`, or as anything else (HTML from a
/// gateway): then only a snippet is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiFault {
    /// `code` (or `statusCode`), as text.
    pub code: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `message`.
    pub message: Option<String>,
    /// The start of a body that is not such an object.
    pub body: Option<String>,
}

impl ApiFault {
    /// Parses an error body leniently; never fails.
    pub(crate) fn parse(body: &[u8]) -> ApiFault {
        let text_of = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        match decode::from_body::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(map)) => {
                let field = |name: &str| map.get(name).and_then(text_of);
                ApiFault {
                    code: field("code").or_else(|| field("statusCode")),
                    description: field("description"),
                    message: field("message"),
                    body: None,
                }
            }
            _ => {
                let snippet = decode::snippet(body);
                ApiFault {
                    body: Some(snippet).filter(|s| !s.trim().is_empty()),
                    ..ApiFault::default()
                }
            }
        }
    }

    /// The same fault with `redact` applied to every text it quotes.
    pub(crate) fn redacted(self, redact: impl Fn(&str) -> String) -> ApiFault {
        let apply = |t: Option<String>| t.map(|t| redact(&t));
        ApiFault {
            code: apply(self.code),
            description: apply(self.description),
            message: apply(self.message),
            body: apply(self.body),
        }
    }

    /// True when the body says the token lacks MFA: code 900421, or MFA named in the text.
    pub(crate) fn mentions_mfa(&self) -> bool {
        if self.code.as_deref() == Some("900421") {
            return true;
        }
        [&self.description, &self.message, &self.body]
            .into_iter()
            .flatten()
            .any(|t| {
                let t = t.to_ascii_lowercase();
                t.contains("900421")
                    || t.contains("mfa")
                    || t.contains("multi-factor")
                    || t.contains("multifactor")
            })
    }
}

/// `": code 60012: description"`, or nothing when the body said nothing useful.
impl fmt::Display for ApiFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages are embedded in sentences that go on: a trailing full stop would double up.
        let description = self
            .description
            .as_deref()
            .map(|d| d.trim_end_matches('.').to_owned());
        let message = self
            .message
            .as_deref()
            .map(|m| m.trim_end_matches('.').to_owned());
        let text = match (&description, &message) {
            (Some(d), Some(m)) if d != m => Some(format!("{d} ({m})")),
            (Some(d), _) => Some(d.clone()),
            (None, Some(m)) => Some(m.clone()),
            (None, None) => self.body.as_ref().map(|b| format!("body {b:?}")),
        };
        match (&self.code, text) {
            (Some(c), Some(t)) => write!(f, ": code {c}: {t}"),
            (Some(c), None) => write!(f, ": code {c}"),
            (None, Some(t)) => write!(f, ": {t}"),
            (None, None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_with_numeric_or_string_codes_are_read() {
        let f = ApiFault::parse(
            br#"{"code": 60012, "description": "out of licenses", "data": [], "source": "PartnerFD"}"#,
        );
        assert_eq!(f.code.as_deref(), Some("60012"));
        assert_eq!(f.to_string(), ": code 60012: out of licenses");
        let f = ApiFault::parse(br#"{"code": "2032", "description": "Access denied"}"#);
        assert_eq!(f.code.as_deref(), Some("2032"));
    }

    #[test]
    fn the_429_body_shape_is_read() {
        let f = ApiFault::parse(
            "\u{FEFF}{ \"statusCode\": 429, \"message\": \"Rate limit is exceeded. Try again in 57 seconds.\" }"
                .as_bytes(),
        );
        assert_eq!(f.code.as_deref(), Some("429"));
        assert_eq!(
            f.to_string(),
            ": code 429: Rate limit is exceeded. Try again in 57 seconds"
        );
    }

    #[test]
    fn a_non_json_error_body_is_kept_as_a_snippet() {
        let f = ApiFault::parse(b"<html>Bad Gateway</html>");
        assert_eq!(f.body.as_deref(), Some("<html>Bad Gateway</html>"));
        assert_eq!(ApiFault::parse(b"").to_string(), "");
    }

    #[test]
    fn mfa_is_recognised_by_code_or_text() {
        assert!(ApiFault::parse(br#"{"code": 900421, "description": "x"}"#).mentions_mfa());
        assert!(
            ApiFault::parse(br#"{"code": "x", "description": "Multi-Factor Authentication required"}"#)
                .mentions_mfa()
        );
        assert!(
            !ApiFault::parse(br#"{"code": 800001, "description": "Partner Token missing"}"#).mentions_mfa()
        );
    }

    #[test]
    fn http_errors_name_endpoint_path_status_and_advice() {
        let err = ClientError::Http {
            endpoint: endpoint::COMMERCIAL_USAGE,
            path: "/partner/v1/analytics/commercial/usage/license".into(),
            status: 404,
            fault: Box::default(),
            attempts: 1,
        };
        let text = err.to_string();
        assert!(text.starts_with("commercial_usage (/partner/v1/analytics/commercial/usage/license): Partner Center answered HTTP 404; "), "{text}");
        assert!(text.contains("--partnercenter.usage-path"), "{text}");
        assert_eq!(err.kind(), "http");
        assert_eq!(err.status(), Some(404));
        assert!(!err.is_auth());
    }

    #[test]
    fn retried_errors_say_how_many_attempts_were_made() {
        let err = ClientError::Http {
            endpoint: endpoint::CUSTOMERS,
            path: "/v1/customers".into(),
            status: 429,
            fault: Box::new(ApiFault::parse(br#"{"statusCode": 429, "message": "slow down"}"#)),
            attempts: 6,
        };
        assert!(
            err.to_string()
                .contains("HTTP 429: code 429: slow down after 6 attempts; Partner Center kept throttling"),
            "{err}"
        );
    }

    #[test]
    fn a_fault_ending_in_a_full_stop_does_not_double_punctuation() {
        let f = ApiFault::parse(br#"{"code": 2032, "description": "This resource can't be accessed by application credentials."}"#);
        assert_eq!(
            f.to_string(),
            ": code 2032: This resource can't be accessed by application credentials"
        );
    }
}
