//! Simulated sign-in: the v1 (`/{tenant}/oauth2/token`, `resource=`) and v2
//! (`/{tenant}/oauth2/v2.0/token`, `scope=`) token endpoints with the `refresh_token` and
//! `client_credentials` grants, answering as the Microsoft identity platform does, errors
//! (`AADSTS…`) included. The tokens themselves, and their rotation and expiry rules, are in
//! `tokens`.
//!
//! A used refresh token keeps working for `--refresh-token-grace` after its first use, then gets
//! `invalid_grant` (AADSTS70008). A refresh token unused for `--refresh-token-ttl` gets
//! AADSTS700082.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::Sim;
use super::tokens::{Claims, RefreshError};

/// Which token endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// The default v1 resource, as Partner Center documents it.
const PARTNER_CENTER_RESOURCE: &str = "https://api.partnercenter.microsoft.com";

/// `POST /{tenant}/oauth2/token`.
pub async fn token_v1(State(sim): State<Arc<Sim>>, Path(tenant): Path<String>, body: Bytes) -> Response {
    token(&sim, &tenant, &body, Version::V1)
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token_v2(State(sim): State<Arc<Sim>>, Path(tenant): Path<String>, body: Bytes) -> Response {
    token(&sim, &tenant, &body, Version::V2)
}

/// An error of the sign-in service: `{"error", "error_description", "error_codes", …}`.
struct AadError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    message: String,
}

impl AadError {
    fn new(status: StatusCode, error: &'static str, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            code,
            message: message.into(),
        }
    }

    fn missing(param: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{param}'."),
        )
    }

    fn into_response(self, now: SystemTime) -> Response {
        let trace_id = uuid::Uuid::new_v4();
        let correlation_id = uuid::Uuid::new_v4();
        let timestamp = chrono::DateTime::<chrono::Utc>::from(now)
            .format("%Y-%m-%d %H:%M:%SZ")
            .to_string();
        let description = format!(
            "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
            self.code, self.message
        );
        let body = json!({
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id.to_string(),
            "correlation_id": correlation_id.to_string(),
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store, no-cache")],
            axum::Json(body),
        )
            .into_response()
    }
}

fn token(sim: &Sim, tenant: &str, body: &[u8], version: Version) -> Response {
    let now = sim.clock.now();
    match grant(sim, tenant, body, version, now) {
        Ok(body) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "no-store, no-cache")],
            axum::Json(body),
        )
            .into_response(),
        Err(e) => e.into_response(now),
    }
}

fn grant(
    sim: &Sim,
    tenant: &str,
    body: &[u8],
    version: Version,
    now: SystemTime,
) -> Result<serde_json::Value, AadError> {
    let c = &sim.config;
    if !tenant.eq_ignore_ascii_case(&c.tenant_id) && !tenant.eq_ignore_ascii_case(&c.tenant_domain) {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ));
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let param = |name: &str| form.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
    let grant_type = param("grant_type").ok_or_else(|| AadError::missing("grant_type"))?;
    let client_id = param("client_id").ok_or_else(|| AadError::missing("client_id"))?;
    if client_id != c.client_id {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."),
        ));
    }
    let secret = param("client_secret").ok_or_else(|| {
        AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    })?;
    if secret != c.client_secret {
        return Err(AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        ));
    }
    let resource = param("resource").unwrap_or(PARTNER_CENTER_RESOURCE);
    let scope = param("scope");
    let (app_only, refresh_token) = match grant_type {
        "refresh_token" => {
            let old = param("refresh_token").ok_or_else(|| AadError::missing("refresh_token"))?;
            let new = sim
                .tokens
                .redeem_refresh(old, now, c.refresh_token_ttl, c.refresh_token_grace)
                .map_err(refresh_error)?;
            (false, Some(new))
        }
        "client_credentials" => {
            if version == Version::V2 && !scope.is_some_and(|s| s.ends_with("/.default")) {
                return Err(AadError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    1002012,
                    format!(
                        "The provided value for scope {} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
                        scope.unwrap_or("")
                    ),
                ));
            }
            (true, None)
        }
        other => {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            ));
        }
    };
    let audience = match version {
        Version::V1 => resource.to_owned(),
        Version::V2 => scope
            .and_then(|s| {
                s.split_whitespace()
                    .find_map(|s| s.rsplit_once('/').map(|(r, _)| r.to_owned()))
            })
            .unwrap_or_else(|| PARTNER_CENTER_RESOURCE.to_owned()),
    };
    let claims = Claims {
        app_only,
        tenant: &c.tenant_id,
        tenant_domain: &c.tenant_domain,
        client_id: &c.client_id,
        audience: &audience,
    };
    let access_token = sim.tokens.issue_access(now, c.token_ttl, &claims);
    Ok(response_body(Issued {
        version,
        now,
        ttl: c.token_ttl,
        resource: &audience,
        scope,
        access_token,
        refresh_token,
        app_only,
    }))
}

/// A successful grant, to be written as the token response.
struct Issued<'a> {
    version: Version,
    now: SystemTime,
    ttl: Duration,
    resource: &'a str,
    scope: Option<&'a str>,
    access_token: String,
    refresh_token: Option<String>,
    app_only: bool,
}

fn response_body(i: Issued<'_>) -> serde_json::Value {
    let Issued {
        version,
        now,
        ttl,
        resource,
        scope,
        access_token,
        refresh_token,
        app_only,
    } = i;
    let secs = ttl.as_secs();
    let mut body = match version {
        // v1 sends the numbers as strings, as the documented responses show.
        Version::V1 => {
            let now_s = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
            json!({
                "token_type": "Bearer",
                "expires_in": secs.to_string(),
                "ext_expires_in": secs.to_string(),
                "expires_on": (now_s + secs).to_string(),
                "not_before": now_s.saturating_sub(300).to_string(),
                "resource": resource,
                "access_token": access_token,
            })
        }
        Version::V2 => json!({
            "token_type": "Bearer",
            "expires_in": secs,
            "ext_expires_in": secs,
            "access_token": access_token,
        }),
    };
    if !app_only {
        body["scope"] = json!(match version {
            Version::V1 => "user_impersonation".to_owned(),
            Version::V2 => scope.map_or_else(
                || format!("{PARTNER_CENTER_RESOURCE}/user_impersonation"),
                str::to_owned
            ),
        });
    }
    if let Some(rt) = refresh_token {
        body["refresh_token"] = json!(rt);
    }
    body
}

fn refresh_error(e: RefreshError) -> AadError {
    let date = |t: SystemTime| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339();
    match e {
        RefreshError::Unknown => AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid. (The refresh token was not issued by this simulated tenant.)",
        ),
        RefreshError::Used { used_at } => AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            70008,
            format!(
                "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource. (Simulator: this refresh token was redeemed at {} and replaced; store the refresh token returned by every token response.)",
                date(used_at)
            ),
        ),
        RefreshError::Inactive { issued_at } => AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            700082,
            format!(
                "The refresh token has expired due to inactivity. The token was issued on {} and was inactive for the maximum allowed time.",
                date(issued_at)
            ),
        ),
    }
}
