//! The commercial endpoints of the simulated Partner Center: a customer's subscriptions, its
//! tenant's licence counts (subscribed SKUs), the catalog SKU and a subscription's provisioning
//! status. Bodies are written from the ground truth's rows (`licence_truth`) in the shapes of
//! the documented examples, quirks included: new-commerce and legacy items side by side, legacy
//! ids upper-case with dates that may lack an offset, `commitmentEndDateTime` only on some, a
//! leading space before the subscribed SKUs' `{`.
//!
//! Customers without a GDAP role answer 403 on the two calls that need one (the exact answer of
//! the real service is UNCONFIRMED; the documented 2032 "Access denied", and for every third
//! such customer 900150, so that clients do not depend on one code).

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::data::View;
use super::licences::SubRec;
use super::offers::{self, CATALOG_SKU};
use super::reply::{ApiError, ok_json, query_params, require_user};
use super::state::Sim;
use super::tokens::Principal;
use crate::model::{Commerce, SubscriptionRow};

fn link(uri: &str) -> Value {
    json!({"uri": uri, "method": "GET", "headers": []})
}

fn zulu(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A legacy date: an offset or none, as the real capture shows.
fn legacy_date(t: DateTime<Utc>, naive: bool) -> String {
    if naive {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        zulu(t)
    }
}

fn collection(self_uri: &str, items: Vec<Value>) -> Value {
    json!({
        "totalCount": items.len(),
        "items": items,
        "links": {"self": link(self_uri)},
        "attributes": {"objectType": "Collection"},
    })
}

/// One item of `GET /v1/customers/{id}/subscriptions`.
fn subscription_item(view: &View, r: &SubRec, m: &SubscriptionRow) -> Value {
    let customer = view.customer(r.customer);
    let planned = &customer.plan.subs[usize::from(r.plan)];
    let start = r.start.and_time(chrono::NaiveTime::MIN).and_utc();
    let created = start - Duration::hours(2);
    let self_uri = format!("/customers/{}/subscriptions/{}", customer.id, r.id);
    let billing = planned.billing;
    if m.commerce == Commerce::Legacy {
        let naive = planned.naive_dates;
        let end = view.term_end(r);
        let mut item = json!({
            "id": r.id.to_uppercase(),
            "entitlementId": "",
            "offerId": m.offer_id.to_uppercase(),
            "offerName": m.offer_name,
            "friendlyName": m.friendly_name,
            "quantity": r.quantity,
            "unitType": "Licenses",
            "creationDate": legacy_date(created, naive),
            "effectiveStartDate": legacy_date(start, naive),
            "commitmentEndDate": legacy_date(end, naive),
            "status": r.status,
            "autoRenewEnabled": r.auto_renew,
            "billingType": "license",
            "billingCycle": billing,
            "termDuration": planned.term.text(),
            "actions": ["Cancel", "Edit"],
            "contractType": "subscription",
            "links": {"offer": link(&format!("/offers/{}?country=US", m.offer_id.to_uppercase())), "self": link(&self_uri)},
            "orderId": r.id.to_uppercase(),
            "attributes": {"etag": format!("etag-{}", r.id), "objectType": "Subscription"},
        });
        if !naive {
            item["commitmentEndDateTime"] = json!(zulu(end));
        }
        return item;
    }
    let product = &m.catalog_product_id;
    let availability = m.offer_id.rsplit(':').next().unwrap_or_default();
    let mut item = json!({
        "id": r.id,
        "offerId": m.offer_id,
        "offerName": m.offer_name,
        "friendlyName": m.friendly_name,
        "productType": {"id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE"},
        "quantity": r.quantity,
        "unitType": "Licenses",
        "hasPurchasableAddons": false,
        "creationDate": zulu(created),
        "effectiveStartDate": zulu(start),
        "commitmentEndDate": format!("{}T00:00:00Z", r.end.format("%Y-%m-%d")),
        "commitmentEndDateTime": zulu(view.term_end(r)),
        "cancellationAllowedUntilDate": view.refund_until(r).map(zulu),
        "status": r.status,
        "autoRenewEnabled": r.auto_renew,
        "isTrial": m.is_trial,
        "billingType": "license",
        "billingCycle": billing,
        "termDuration": planned.term.text(),
        "renewalTermDuration": "",
        "isMicrosoftProduct": true,
        "partnerId": "",
        "attentionNeeded": false,
        "actionTaken": false,
        "contractType": "subscription",
        "links": {
            "product": link(&format!("/products/{product}?country=US")),
            "sku": link(&format!("/products/{product}/skus/{CATALOG_SKU}?country=US")),
            "availability": link(&format!("/products/{product}/skus/{CATALOG_SKU}/availabilities/{availability}?country=US")),
            "self": link(&self_uri),
        },
        "publisherName": "Microsoft Corporation",
        "orderId": &r.id[..12],
        "attributes": {"objectType": "Subscription"},
    });
    if let Some(next) = &m.scheduled_next_term {
        let cycle = next.billing_cycle.as_ref().map_or("", |c| c.label());
        // The documented example capitalises the next term's billing cycle (`Annual`).
        let mut chars = cycle.chars();
        let cycle: String = chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(chars)
            .collect();
        item["scheduledNextTermInstructions"] = json!({
            "product": {
                "productId": product,
                "skuId": CATALOG_SKU,
                "availabilityId": availability,
                "billingCycle": cycle,
                "termDuration": next.term_duration.as_ref().map_or("", |t| t.text.as_str()),
            },
            "quantity": next.quantity,
        });
    }
    item
}

fn customer_index(view: &View, id: &str) -> Result<usize, ApiError> {
    view.set
        .index_of(id)
        .ok_or_else(|| ApiError::tenant_not_found(id))
}

/// 403 for a customer the exporter's user has no GDAP role in.
fn no_gdap(view: &View, index: usize) -> Result<(), ApiError> {
    let customer = &view.set.customers[index];
    if customer.plan.gdap {
        return Ok(());
    }
    Err(if customer.ordinal.is_multiple_of(3) {
        ApiError::new(
            StatusCode::FORBIDDEN,
            900150,
            "The supplied role doesn't have the rights to perform the requested operation.",
        )
    } else {
        ApiError::new(StatusCode::FORBIDDEN, 2032, "Access denied")
    })
}

/// `GET /v1/customers/{id}/subscriptions` (App-only or App+User).
pub async fn subscriptions(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = sim.data.view(sim.clock.now());
    let index = customer_index(&view, &id)?;
    let recs = &view.licences.subs[view.licences.ranges[index].0.clone()];
    let items = recs
        .iter()
        .map(|r| subscription_item(&view, r, &view.subscription_model(r)))
        .collect();
    let customer = &view.set.customers[index];
    let body = collection(&format!("/customers/{}/subscriptions", customer.id), items);
    Ok(ok_json(body.to_string().into_bytes()))
}

/// `GET /v1/customers/{id}/subscribedskus` (App+User, GDAP role in the customer).
pub async fn subscribed_skus(
    State(sim): State<Arc<Sim>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_user(&p)?;
    let view = sim.data.view(sim.clock.now());
    let index = customer_index(&view, &id)?;
    no_gdap(&view, index)?;
    let tenant = &view.set.customers[index].id;
    let items = view
        .customer_skus(index)
        .into_iter()
        .map(|r| {
            json!({
                "availableUnits": r.available_units, "activeUnits": r.active_units,
                "consumedUnits": r.consumed_units, "suspendedUnits": r.suspended_units,
                "totalUnits": r.total_units, "warningUnits": r.warning_units,
                "productSku": {"id": r.sku_id, "name": r.sku_name, "skuPartNumber": r.sku_part_number,
                               "targetType": "User", "licenseGroupId": "group1"},
                "servicePlans": [],
                "capabilityStatus": "Enabled",
                "attributes": {"objectType": "SubscribedSku"},
            })
        })
        .collect();
    let mut body = b" ".to_vec(); // as in the documented example
    body.extend_from_slice(
        collection(&format!("/customers/{tenant}/subscribedskus"), items)
            .to_string()
            .as_bytes(),
    );
    Ok(ok_json(body))
}

/// `GET /v1/products/{product}/skus/{sku}?country=CC` (App-only or App+User).
pub async fn catalog_sku(
    Path((product, sku)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = query_params(uri.query());
    let country = params.get("country").filter(|c| !c.trim().is_empty());
    let Some(country) = country else {
        return Err(ApiError::bad_request("the country parameter is required"));
    };
    let found = offers::by_catalog_product(&product).filter(|_| sku.trim_start_matches('0') == "1");
    let Some((product, offer)) = found else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, 400018, "Sku was not found"));
    };
    let body = json!({
        "id": CATALOG_SKU,
        "productId": offer.catalog_product,
        "title": offer.title,
        "description": offer.title,
        "minimumQuantity": 1,
        "maximumQuantity": 300,
        "isTrial": false,
        "supportedBillingCycles": ["annual", "monthly"],
        "purchasePrerequisites": [],
        "dynamicAttributes": {
            "isMicrosoftProduct": true,
            "hasConstraints": false,
            "isAddon": false,
            "provisioningId": product.id.to_ascii_lowercase(),
        },
        "links": {"self": link(&format!("/products/{}/skus/{CATALOG_SKU}?country={country}", offer.catalog_product))},
        "attributes": {"objectType": "Sku"},
    });
    Ok(ok_json(body.to_string().into_bytes()))
}

/// `GET /v1/customers/{id}/subscriptions/{id}/provisioningstatus` (App+User, GDAP role).
pub async fn provisioning_status(
    State(sim): State<Arc<Sim>>,
    Extension(p): Extension<Principal>,
    Path((id, subscription)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    require_user(&p)?;
    let view = sim.data.view(sim.clock.now());
    let index = customer_index(&view, &id)?;
    no_gdap(&view, index)?;
    let wanted = subscription.to_ascii_lowercase();
    let rec = view.licences.subs[view.licences.ranges[index].0.clone()]
        .iter()
        .find(|r| r.id == wanted)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, 800099, "Subscription not found"))?;
    let customer = &view.set.customers[index];
    let product = customer.subscriptions[customer.plan.subs[usize::from(rec.plan)].product].product;
    let body = json!({
        "skuId": product.id,
        "status": "success",
        "quantity": rec.quantity,
        "endDate": zulu(view.term_end(rec)),
        "attributes": {"objectType": "SubscriptionProvisioningStatus"},
    });
    Ok(ok_json(body.to_string().into_bytes()))
}
