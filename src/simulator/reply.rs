//! What every Partner Center handler shares, and nothing of the simulator's state: the error
//! shapes ([`ApiError`]), the 200 JSON reply, the query-parameter parsing and the App+User check.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::tokens::{BearerError, Principal};

/// `Content-Type` of every Partner Center body.
pub const JSON: &str = "application/json; charset=utf-8";

/// A Partner Center error: `{code, description, data, source}`, or the throttling shape
/// `{statusCode, message}` with `Retry-After` for 429.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub description: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Any error in the usual shape.
    pub fn new(status: StatusCode, code: u32, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    /// 400, code 800002 ("Invalid request input").
    pub fn bad_request(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            800002,
            format!("Invalid request input: {detail}"),
        )
    }

    /// 404, code 60003: the customer is not the partner's.
    pub fn tenant_not_found(id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, 60003, format!("Tenant not found: {id}"))
    }

    /// 403 for app-only tokens on App+User-only endpoints (the message the real service gives;
    /// the code 2032 is the documented "Access denied" of a 403).
    pub fn app_only() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            2032,
            "This resource can't be accessed by application credentials.",
        )
    }

    /// 401 for a missing, unknown or expired bearer token.
    pub fn unauthorized(why: BearerError) -> Self {
        match why {
            BearerError::Missing => Self::new(
                StatusCode::UNAUTHORIZED,
                800001,
                "Partner Token missing in request context",
            ),
            BearerError::Invalid => Self::new(
                StatusCode::UNAUTHORIZED,
                400,
                "Access denied: the access token is not valid.",
            ),
            BearerError::Expired => Self::new(
                StatusCode::UNAUTHORIZED,
                400,
                "Access denied: the access token has expired.",
            ),
        }
    }

    /// 429 in the throttling shape, with `Retry-After: seconds`.
    pub fn throttled(seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                429,
                format!("Rate limit is exceeded. Try again in {seconds} seconds."),
            )
        }
    }

    /// A simulated server failure: 503, or 500 (code 800003).
    pub fn random_failure(unavailable: bool) -> Self {
        if unavailable {
            // No documented code for 503; the description is the simulator's own.
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                503,
                "The service is temporarily unavailable. Try again later.",
            )
        } else {
            Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                800003,
                "Unexpected service error",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (body, mut headers) = if self.status == StatusCode::TOO_MANY_REQUESTS {
            let body = json!({"statusCode": 429, "message": self.description});
            let mut headers = HeaderMap::new();
            if let Some(s) = self.retry_after {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
            }
            (body, headers)
        } else {
            let body = json!({
                "code": self.code,
                "description": self.description,
                "data": [],
                "source": "PartnerFD",
            });
            (body, HeaderMap::new())
        };
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("OAuth realm=urn:cpsvc:cpid:simulated"),
            );
        }
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        (self.status, headers, body.to_string()).into_response()
    }
}

/// A 200 with a JSON body.
pub fn ok_json(body: Vec<u8>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, JSON)], body).into_response()
}

/// The query parameters, names lower-cased (the case-sensitivity of the real service's names is
/// UNCONFIRMED; one sibling page spells `groupBy`), values decoded. The last of duplicates wins.
pub fn query_params(query: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect()
}

/// Refuse app-only tokens: every license analytics endpoint is App+User only.
pub fn require_user(principal: &Principal) -> Result<(), ApiError> {
    if principal.app_only {
        Err(ApiError::app_only())
    } else {
        Ok(())
    }
}
