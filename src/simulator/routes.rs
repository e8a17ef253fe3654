//! The HTTP surface: the router, the layer every Partner Center request goes through (counting,
//! latency, bearer check, rate limit, random failures, response headers, BOM), and the handlers
//! of `/v1/customers` and the four legacy license analytics endpoints. The router mounts the
//! commercial endpoints of `commercial`, the subscription endpoints of `licence_api`, the sign-in
//! endpoints of `signin` and the test hooks of `admin`; the error shapes all Partner Center handlers share are in `reply`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng as _;

use super::admin;
use super::commercial;
use super::licence_api;
use super::render;
use super::reply::{ApiError, ok_json, query_params, require_user};
use super::rng;
use super::signin;
use super::state::{Endpoint, Sim};
use super::tokens::Principal;

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// `size` of `/v1/customers` when the request sends 0 (the SDK's "non-indexed" query); the real
/// service's default is UNCONFIRMED.
const DEFAULT_CUSTOMERS_PAGE: usize = 500;

/// The whole simulator: sign-in, Partner Center and admin routes.
pub fn router(sim: Arc<Sim>) -> Router {
    let mut api = Router::new()
        .route("/v1/customers", get(customers))
        .route("/v1/customers/{id}/analytics/licenses/usage", get(customer_usage))
        .route(
            "/v1/customers/{id}/analytics/licenses/deployment",
            get(customer_deployment),
        )
        .route("/v1/analytics/licenses/usage", get(partner_usage))
        .route("/v1/analytics/licenses/deployment", get(partner_deployment))
        .route(
            "/v1/customers/{id}/subscriptions",
            get(licence_api::subscriptions),
        )
        .route(
            "/v1/customers/{id}/subscribedskus",
            get(licence_api::subscribed_skus),
        )
        .route(
            "/v1/customers/{id}/subscriptions/{subscription}/provisioningstatus",
            get(licence_api::provisioning_status),
        )
        .route("/v1/products/{product}/skus/{sku}", get(licence_api::catalog_sku));
    // The docs' syntax tables say `/v1/analytics/commercial/…/license/`, their examples
    // `/partner/v1/analytics/commercial/…/license`: answer all four spellings.
    for prefix in ["/partner/v1", "/v1"] {
        for slash in ["", "/"] {
            api = api
                .route(
                    &format!("{prefix}/analytics/commercial/usage/license{slash}"),
                    get(commercial::usage),
                )
                .route(
                    &format!("{prefix}/analytics/commercial/deployment/license{slash}"),
                    get(commercial::deployment),
                );
        }
    }
    let api = api.layer(middleware::from_fn_with_state(sim.clone(), api_layer));
    let sign_in = Router::new()
        .route("/{tenant}/oauth2/token", post(signin::token_v1))
        .route("/{tenant}/oauth2/v2.0/token", post(signin::token_v2))
        .layer(middleware::from_fn_with_state(sim.clone(), sign_in_layer));
    Router::new()
        .merge(api)
        .merge(sign_in)
        .merge(admin::router(sim.clone()))
        .fallback(not_found)
        .with_state(sim)
}

/// The base URL clients reach a listener bound to `addr` at: an unspecified address (`0.0.0.0`,
/// `::`) is reached on loopback.
pub fn base_url(addr: SocketAddr) -> Result<url::Url, url::ParseError> {
    let host = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    url::Url::parse(&format!("http://{}/", SocketAddr::new(host, addr.port())))
}

async fn not_found(uri: Uri) -> Response {
    // Not documented for unknown paths; the usual error shape, so clients print something useful.
    ApiError::new(
        StatusCode::NOT_FOUND,
        404,
        format!("No such resource: {}", uri.path()),
    )
    .into_response()
}

/// Wait the configured latency, ± its jitter.
async fn delay(sim: &Sim) {
    let mean = sim.knobs.latency();
    if mean.is_zero() {
        return;
    }
    let jitter = sim.knobs.latency_jitter();
    let factor = if jitter > 0.0 {
        rand::rng().random_range(1.0 - jitter..=1.0 + jitter)
    } else {
        1.0
    };
    tokio::time::sleep(Duration::from_secs_f64(mean.as_secs_f64() * factor)).await;
}

async fn sign_in_layer(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    sim.counters.hit(Endpoint::Token);
    delay(&sim).await;
    next.run(req).await
}

/// Everything a Partner Center request goes through, in the order the real service plausibly
/// applies it: authentication, then throttling (keyed by the token's partner tenant), then
/// (simulated) server trouble.
async fn api_layer(State(sim): State<Arc<Sim>>, mut req: Request, next: Next) -> Response {
    let endpoint = Endpoint::of_path(req.uri().path());
    sim.counters.hit(endpoint);
    let request_id = header_or_new(req.headers(), "ms-requestid");
    let correlation_id = header_or_new(req.headers(), "ms-correlationid");
    delay(&sim).await;
    let response = match admit(&sim, req.headers()) {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    };
    tracing::debug!(
        endpoint = endpoint.name(),
        status = response.status().as_u16(),
        "simulated request"
    );
    finish(&sim, response, request_id, correlation_id).await
}

fn admit(sim: &Sim, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let principal = sim
        .tokens
        .check_bearer(headers, sim.clock.now())
        .map_err(ApiError::unauthorized)?;
    sim.limiter
        .admit(&principal.tenant, sim.knobs.rate_limit(), sim.clock.now_ms())
        .map_err(ApiError::throttled)?;
    let fail_rate = sim.knobs.fail_rate();
    if fail_rate > 0.0 {
        let mut rng = rand::rng();
        if rng.random_bool(fail_rate.min(1.0)) {
            return Err(ApiError::random_failure(rng.random_bool(0.5)));
        }
    }
    Ok(principal)
}

fn header_or_new(headers: &HeaderMap, name: &str) -> HeaderValue {
    headers.get(name).cloned().unwrap_or_else(|| {
        // A hyphenated UUID is always a valid header value; the fallback is never used.
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap_or(HeaderValue::from_static("0"))
    })
}

async fn finish(
    sim: &Sim,
    response: Response,
    request_id: HeaderValue,
    correlation_id: HeaderValue,
) -> Response {
    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .insert(HeaderName::from_static("ms-requestid"), request_id);
    parts
        .headers
        .insert(HeaderName::from_static("ms-correlationid"), correlation_id);
    parts.headers.insert(
        HeaderName::from_static("ms-cv"),
        HeaderValue::from_static("SimulatedPC.0"),
    );
    if !sim.knobs.bom() {
        return Response::from_parts(parts, body);
    }
    // Bodies here are small, complete buffers; reading one back costs a copy, not a wait.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 800003, e.to_string()).into_response();
        }
    };
    let mut with_bom = Vec::with_capacity(BOM.len() + bytes.len());
    with_bom.extend_from_slice(BOM);
    with_bom.extend_from_slice(&bytes);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(with_bom))
}

/// `GET /v1/customers?size=N[&seekOperation=Next]` with `MS-ContinuationToken` on later pages.
async fn customers(State(sim): State<Arc<Sim>>, uri: Uri, headers: HeaderMap) -> Result<Response, ApiError> {
    let params = query_params(uri.query());
    let size = match params.get("size").map(|s| s.trim().parse::<usize>()) {
        None => return Err(ApiError::bad_request("the size parameter is required")),
        Some(Err(_)) => return Err(ApiError::bad_request("size must be a non-negative integer")),
        Some(Ok(0)) => DEFAULT_CUSTOMERS_PAGE,
        Some(Ok(n)) => n,
    };
    let size = size.min(sim.config.page_size_cap);
    // The documented `filter` of this endpoint (JSON, e.g. CompanyName starts_with) is not
    // simulated: it is ignored, and every customer is listed.
    let after = match params.get("seekoperation") {
        None => None,
        Some(op) if op.eq_ignore_ascii_case("next") => {
            let token = headers
                .get("ms-continuationtoken")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    ApiError::bad_request("seekOperation=Next needs the MS-ContinuationToken header")
                })?;
            Some(
                decode_continuation(&sim, token)
                    .ok_or_else(|| ApiError::bad_request("the continuation token is not valid"))?,
            )
        }
        Some(op) => {
            return Err(ApiError::bad_request(format!(
                "seekOperation '{op}' is not supported"
            )));
        }
    };
    let view = sim.data.view(sim.clock.now());
    let all = &view.set.customers;
    let start = after.map_or(0, |ordinal| all.partition_point(|c| c.ordinal <= ordinal));
    let end = (start + size).min(all.len());
    let self_uri = match after {
        None => format!("/customers?size={size}"),
        Some(_) => format!("/customers?size={size}&seekOperation=Next"),
    };
    let next = (end < all.len()).then(|| {
        let token = encode_continuation(&sim, all[end - 1].ordinal);
        render::link(
            &format!("/customers?size={size}&seekOperation=Next"),
            &[("MS-ContinuationToken", &token)],
        )
    });
    let body = render::customers_page(
        view.customers_json().rows(start..end),
        end - start,
        &render::link(&self_uri, &[]),
        next.as_deref(),
    );
    Ok(ok_json(body))
}

/// An opaque token naming the last customer of a page (by ordinal, so additions and removals
/// between pages neither skip nor repeat customers), with a check value so forged or mangled
/// tokens are refused.
fn encode_continuation(sim: &Sim, ordinal: u64) -> String {
    format!(
        "{ordinal:016x}{:016x}",
        rng::hash(sim.config.continuation_secret, &[ordinal])
    )
}

fn decode_continuation(sim: &Sim, token: &str) -> Option<u64> {
    if token.len() != 32 || !token.is_ascii() {
        return None;
    }
    let ordinal = u64::from_str_radix(&token[..16], 16).ok()?;
    let check = u64::from_str_radix(&token[16..], 16).ok()?;
    (check == rng::hash(sim.config.continuation_secret, &[ordinal])).then_some(ordinal)
}

async fn partner_usage(
    State(sim): State<Arc<Sim>>,
    Extension(p): Extension<Principal>,
) -> Result<Response, ApiError> {
    require_user(&p)?;
    let view = sim.data.view(sim.clock.now());
    Ok(ok_json(render::partner_usage(
        view.style,
        view.key.processed,
        &view.partner_usage,
    )))
}

async fn partner_deployment(
    State(sim): State<Arc<Sim>>,
    Extension(p): Extension<Principal>,
) -> Result<Response, ApiError> {
    require_user(&p)?;
    let view = sim.data.view(sim.clock.now());
    Ok(ok_json(render::partner_deployment(
        view.style,
        view.key.processed,
        &view.partner_deployment,
    )))
}

async fn customer_usage(
    State(sim): State<Arc<Sim>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_user(&p)?;
    let view = sim.data.view(sim.clock.now());
    let index = view
        .set
        .index_of(&id)
        .ok_or_else(|| ApiError::tenant_not_found(&id))?;
    let rows = &view.usage[view.ranges[index].0.clone()];
    Ok(ok_json(render::customer_usage(
        &view.set,
        view.style,
        view.key.processed,
        rows,
    )))
}

async fn customer_deployment(
    State(sim): State<Arc<Sim>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_user(&p)?;
    let view = sim.data.view(sim.clock.now());
    let index = view
        .set
        .index_of(&id)
        .ok_or_else(|| ApiError::tenant_not_found(&id))?;
    let rows = &view.deployment[view.ranges[index].1.clone()];
    Ok(ok_json(render::customer_deployment(
        &view.set,
        view.style,
        view.key.processed,
        rows,
    )))
}
