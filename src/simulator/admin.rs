//! Admin endpoints for end-to-end tests and demos (no authentication: the simulator is a test
//! tool and listens on loopback by default):
//!
//! - `GET /admin/state` — the current truth: customers with their products and figures, the
//!   under-used customers, the subscriptions by kind, the customers without GDAP, the
//!   subscriptions the renewal and refund-window alerts should fire for, the knobs and the
//!   request counters.
//! - `GET /admin/subscriptions` — every subscription and tenant licence count as the exporter
//!   should read them, with the unused licences it should attribute.
//! - `POST /admin/customers` — body `{"count": n}` (default 1) or `{"name": "…"}`; answers 201 with
//!   the added customers.
//! - `DELETE /admin/customers/{id}` — 204, or 404 when there is no such customer.
//! - `GET`/`PUT /admin/knobs` — read or change fail rate, rate limit, latency, jitter, BOM.
//! - `POST /admin/refresh-tokens` — a fresh refresh token, as a one-time consent would give.
//! - `POST /admin/clock` — body `{"advanceSeconds": n}`: move the simulator's clock forward
//!   (token expiry, drift and the processed date follow it).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::customers::Customer;
use super::state::{Endpoint, KnobValues, Sim};

/// The admin routes.
pub fn router(sim: Arc<Sim>) -> Router<Arc<Sim>> {
    Router::new()
        .route("/admin/state", get(state))
        .route("/admin/subscriptions", get(subscriptions))
        .route("/admin/customers", post(add_customers))
        .route("/admin/customers/{id}", delete(remove_customer))
        .route("/admin/knobs", get(knobs).put(set_knobs))
        .route("/admin/refresh-tokens", post(refresh_token))
        .route("/admin/clock", post(advance_clock))
        .layer(axum::middleware::from_fn_with_state(sim, count))
}

async fn count(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    sim.counters.hit(Endpoint::Admin);
    next.run(req).await
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

/// Parse a JSON body; an empty body is the type's default.
fn body<T: for<'de> Deserialize<'de> + Default>(bytes: &[u8]) -> Result<T, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| format!("bad JSON body: {e}"))
}

fn summary(c: &Customer) -> Value {
    json!({"id": c.id, "companyName": c.name, "domain": c.domain})
}

async fn state(State(sim): State<Arc<Sim>>) -> Response {
    let view = sim.data.view(sim.clock.now());
    let underused = view.underused_customers();
    let customers: Vec<Value> = view
        .set
        .customers
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            let (usage, deployment) = &view.ranges[ci];
            let products: Vec<Value> = view.deployment[deployment.clone()]
                .iter()
                .map(|d| {
                    let p = view.sub(d.customer, d.sub).product;
                    let workloads: Vec<Value> = view.usage[usage.clone()]
                        .iter()
                        .filter(|u| u.sub == d.sub)
                        .map(|u| {
                            let w = view.workload(u);
                            json!({
                                "workloadCode": w.code,
                                "workloadName": w.name,
                                "licensesActive": u.active,
                                "licensesQualified": u.qualified,
                            })
                        })
                        .collect();
                    json!({
                        "productId": p.id.to_ascii_lowercase(),
                        "productName": p.name,
                        "serviceCode": p.service.code(),
                        "licensesSold": d.sold,
                        "licensesDeployed": d.deployed,
                        "workloads": workloads,
                    })
                })
                .collect();
            let mut value = summary(c);
            value["profile"] = json!(c.profile.name());
            value["underused"] = json!(underused.contains(&c.id));
            value["products"] = json!(products);
            value
        })
        .collect();
    let requests: serde_json::Map<String, Value> = Endpoint::ALL
        .iter()
        .map(|&e| (e.name().to_owned(), json!(sim.counters.get(e))))
        .collect();
    let now = sim.clock.now().into();
    let alerts = view.expected_alerts(now);
    let subs = view.model_subscriptions();
    let count = |f: &dyn Fn(&crate::model::SubscriptionRow) -> bool| subs.iter().filter(|s| f(s)).count();
    let subscription_counts = json!({
        "total": subs.len(),
        "nce": count(&|s| s.commerce == crate::model::Commerce::Nce),
        "legacy": count(&|s| s.commerce == crate::model::Commerce::Legacy),
        "trials": count(&|s| s.is_trial),
        "suspended": count(&|s| s.status.label() == "suspended"),
        "expired": count(&|s| s.status.label() == "expired"),
        "autoRenewOff": count(&|s| !s.auto_renew),
        "scheduled": count(&|s| s.scheduled_next_term.is_some()),
    });
    axum::Json(json!({
        "partnerTenantId": sim.config.tenant_id,
        "generation": view.key.generation,
        "processedDate": view.key.processed.to_string(),
        "customers": customers,
        "underusedCustomers": underused,
        "soldButUndeployed": view.sold_but_undeployed(),
        "subscriptionCounts": subscription_counts,
        "noGdapCustomers": view.no_gdap_customers(),
        "expectedAlerts": {
            "PartnerCenterUnusedLicensesRenewingSoon": alerts.renewing_soon,
            "PartnerCenterSeatReductionWindowClosing": alerts.window_closing,
        },
        "knobs": sim.knobs.values(),
        "requests": requests,
    }))
    .into_response()
}

async fn subscriptions(State(sim): State<Arc<Sim>>) -> Response {
    let now: chrono::DateTime<chrono::Utc> = sim.clock.now().into();
    let view = sim.data.view(sim.clock.now());
    let unused: std::collections::HashMap<String, f64> = view
        .expected_unused(now)
        .into_iter()
        .map(|u| (u.subscription_id, u.unused))
        .collect();
    let gdap: std::collections::HashSet<String> = view.no_gdap_customers().into_iter().collect();
    let ts = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
    let subscriptions: Vec<Value> = view
        .model_subscriptions()
        .iter()
        .map(|s| {
            json!({
                "customerId": s.customer_tenant_id,
                "subscriptionId": s.subscription_id,
                "offerId": s.offer_id,
                "offerName": s.offer_name,
                "skuId": s.sku_id,
                "commerce": s.commerce.label(),
                "status": s.status.label(),
                "isTrial": s.is_trial,
                "quantity": s.quantity,
                "autoRenew": s.auto_renew,
                "termDuration": s.term.as_ref().map(|t| t.text.clone()),
                "billingCycle": s.billing_cycle.as_ref().map(|b| b.label().to_owned()),
                "termEnd": ts(s.term_end),
                "cancellationAllowedUntil": ts(s.cancellation_allowed_until),
                "scheduledQuantity": s.scheduled_next_term.as_ref().and_then(|n| n.quantity),
                "unused": unused.get(&s.subscription_id),
                "gdap": !gdap.contains(&s.customer_tenant_id),
            })
        })
        .collect();
    let skus: Vec<Value> = view
        .model_subscribed_skus()
        .rows
        .iter()
        .map(|k| {
            json!({
                "customerId": k.customer_tenant_id, "skuId": k.sku_id, "skuPartNumber": k.sku_part_number,
                "total": k.total_units, "consumed": k.consumed_units, "active": k.active_units,
                "available": k.available_units, "suspended": k.suspended_units, "warning": k.warning_units,
            })
        })
        .collect();
    axum::Json(json!({"now": now.to_rfc3339(), "subscriptions": subscriptions, "subscribedSkus": skus}))
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
struct AddCustomers {
    count: Option<usize>,
    name: Option<String>,
}

/// Most customers one admin call may add (keeps a typo from exhausting memory).
const MAX_ADD: usize = 100_000;

async fn add_customers(State(sim): State<Arc<Sim>>, bytes: Bytes) -> Response {
    let req: AddCustomers = match body(&bytes) {
        Ok(req) => req,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let count = req.count.unwrap_or(1);
    if count == 0 || count > MAX_ADD {
        return error(
            StatusCode::BAD_REQUEST,
            format!("count must be from 1 to {MAX_ADD}"),
        );
    }
    let added = sim.data.add(count, req.name);
    let added: Vec<Value> = added.iter().map(|c| summary(c)).collect();
    (StatusCode::CREATED, axum::Json(json!({"added": added}))).into_response()
}

async fn remove_customer(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    if sim.data.remove(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, format!("no customer {id}"))
    }
}

async fn knobs(State(sim): State<Arc<Sim>>) -> Response {
    axum::Json(sim.knobs.values()).into_response()
}

async fn set_knobs(State(sim): State<Arc<Sim>>, bytes: Bytes) -> Response {
    let values: KnobValues = match body(&bytes) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match sim.knobs.apply(&values) {
        Ok(()) => axum::Json(sim.knobs.values()).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

async fn refresh_token(State(sim): State<Arc<Sim>>) -> Response {
    let token = sim.issue_refresh_token();
    axum::Json(json!({"refresh_token": token})).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdvanceClock {
    advance_seconds: f64,
}

async fn advance_clock(State(sim): State<Arc<Sim>>, bytes: Bytes) -> Response {
    let req: AdvanceClock = match body(&bytes) {
        Ok(req) => req,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    if !req.advance_seconds.is_finite() || req.advance_seconds < 0.0 {
        return error(
            StatusCode::BAD_REQUEST,
            "advanceSeconds must be a non-negative number",
        );
    }
    sim.clock.advance(Duration::from_secs_f64(req.advance_seconds));
    axum::Json(json!({"now": chrono::DateTime::<chrono::Utc>::from(sim.clock.now()).to_rfc3339()}))
        .into_response()
}
