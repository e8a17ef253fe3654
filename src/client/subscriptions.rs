//! What Partner Center sends about subscriptions and licence counts: the DTOs of
//! `GET /v1/customers/{id}/subscriptions`, `…/subscribedskus`, the catalog SKU and a
//! subscription's provisioning status, and their mapping to [`crate::model`] rows.
//!
//! Items are decoded one at a time (from a `serde_json::Value`), so one odd item is skipped and
//! counted instead of failing the customer. The tolerance is the analytics endpoints' and more
//! (reference §1.4–§1.8, §6.2): every field optional; enums as text (`expired`, `disabled` and
//! others crashed strict SDKs when they first appeared); dates with or without an offset, with up
//! to seven fractional digits; a `commitmentEndDate` in year 9999 meaning "no end"; booleans and
//! counts sent as text; legacy items (upper-case GUIDs, no `productType`, `isTrial`,
//! `cancellationAllowedUntilDate` or `commitmentEndDateTime`) next to new-commerce ones.

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use serde::Deserialize;

use super::decode::{count, flag, guid, parse_timestamp, text};
use crate::model::{
    BillingCycle, Commerce, NextTerm, SubscribedSkuRow, SubscriptionRow, SubscriptionStatus, TermDuration,
    catalog_sku_id,
};

/// What one collection item came to.
#[derive(Debug)]
pub(crate) enum Item<R> {
    Row(R),
    /// Decoded, but not something the exporter reports (an Azure or usage-billed subscription,
    /// a SKU without an id).
    Ignored,
    /// Not the expected shape; the text says why.
    Undecodable(String),
}

/// The rows of one listing, and how many of its items could not be decoded (skipped, so that one
/// odd item does not cost the customer).
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<R> {
    pub rows: Vec<R>,
    /// Items that were not the expected shape.
    pub undecodable: usize,
    /// Why the first of them was not.
    pub first_problem: Option<String>,
}

impl<R> Listing<R> {
    pub(crate) fn of(items: Vec<Item<R>>) -> Self {
        let mut listing = Listing {
            rows: Vec::with_capacity(items.len()),
            undecodable: 0,
            first_problem: None,
        };
        for item in items {
            match item {
                Item::Row(r) => listing.rows.push(r),
                Item::Ignored => {}
                Item::Undecodable(why) => {
                    listing.undecodable += 1;
                    listing.first_problem.get_or_insert(why);
                }
            }
        }
        listing
    }
}

/// An item of `GET /v1/customers/{id}/subscriptions`. Fields not listed are ignored on purpose
/// (entitlementId, creationDate, billingCycleEndDate, actions, partnerId, contractType,
/// refundOptions, promotionId, orderId, attributes, …).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionWire {
    #[serde(default, deserialize_with = "text")]
    id: String,
    #[serde(default, deserialize_with = "text")]
    offer_id: String,
    #[serde(default, deserialize_with = "text")]
    offer_name: String,
    #[serde(default, deserialize_with = "text")]
    friendly_name: String,
    #[serde(default)]
    product_type: Option<ItemTypeWire>,
    #[serde(default, deserialize_with = "count")]
    quantity: Option<f64>,
    #[serde(default, deserialize_with = "text")]
    unit_type: String,
    #[serde(default, deserialize_with = "text")]
    commitment_end_date: String,
    /// Sent since May 2023: the time-inclusive end (`…T23:59:59Z`).
    #[serde(default, deserialize_with = "text")]
    commitment_end_date_time: String,
    /// New commerce only; `null` or absent otherwise.
    #[serde(default, deserialize_with = "text")]
    cancellation_allowed_until_date: String,
    #[serde(default, deserialize_with = "text")]
    status: String,
    #[serde(default, deserialize_with = "flag")]
    auto_renew_enabled: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    is_trial: Option<bool>,
    #[serde(default, deserialize_with = "text")]
    billing_type: String,
    #[serde(default, deserialize_with = "text")]
    billing_cycle: String,
    #[serde(default, deserialize_with = "text")]
    term_duration: String,
    /// `""` in every documented example.
    #[serde(default, deserialize_with = "text")]
    renewal_term_duration: String,
    #[serde(default)]
    scheduled_next_term_instructions: Option<NextTermWire>,
    #[serde(default)]
    links: Option<SubscriptionLinksWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemTypeWire {
    #[serde(default, deserialize_with = "text")]
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NextTermWire {
    #[serde(default)]
    product: Option<ProductTermWire>,
    #[serde(default, deserialize_with = "count")]
    quantity: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductTermWire {
    /// `Annual` (capitalised) in the documented example.
    #[serde(default, deserialize_with = "text")]
    billing_cycle: String,
    #[serde(default, deserialize_with = "text")]
    term_duration: String,
}

/// Only `links.product.uri` is read, for its `country=`; link URIs are otherwise opaque (§1.2).
#[derive(Deserialize)]
struct SubscriptionLinksWire {
    #[serde(default, alias = "Product")]
    product: Option<LinkUriWire>,
}

#[derive(Deserialize)]
struct LinkUriWire {
    #[serde(default, alias = "Uri", alias = "URI", deserialize_with = "text")]
    uri: String,
}

/// One item of the subscriptions listing, as a row of `customer_id` (the id the request used).
pub(crate) fn subscription_item(value: serde_json::Value, customer_id: &str) -> Item<SubscriptionRow> {
    match serde_json::from_value::<SubscriptionWire>(value) {
        Ok(wire) => wire.into_row(customer_id).map_or(Item::Ignored, Item::Row),
        Err(e) => Item::Undecodable(e.to_string()),
    }
}

impl SubscriptionWire {
    /// The row, or `None` for an item without an id or one that is not licence-billed.
    fn into_row(self, customer_id: &str) -> Option<SubscriptionRow> {
        let id = guid(&self.id);
        let product_type = self
            .product_type
            .map(|t| t.id.trim().to_owned())
            .unwrap_or_default();
        if id.is_empty() || !is_licence(&product_type, &self.billing_type, &self.unit_type) {
            return None;
        }
        let offer = self.offer_id.trim();
        let parts: Vec<&str> = offer.split(':').map(str::trim).collect();
        let three_parts = parts.len() == 3 && parts.iter().all(|p| !p.is_empty());
        let commerce = if three_parts || product_type.eq_ignore_ascii_case("OnlineServicesNCE") {
            Commerce::Nce
        } else {
            Commerce::Legacy
        };
        let (catalog_product_id, catalog_sku) = if three_parts {
            (parts[0].to_ascii_uppercase(), catalog_sku_id(parts[1]))
        } else {
            (String::new(), String::new())
        };
        let offer_id = if uuid::Uuid::parse_str(offer).is_ok() {
            offer.to_ascii_lowercase()
        } else {
            offer.to_owned()
        };
        let scheduled = self.scheduled_next_term_instructions.map(|n| {
            let product = n.product;
            NextTerm {
                quantity: n.quantity,
                term_duration: product
                    .as_ref()
                    .and_then(|p| TermDuration::parse(&p.term_duration)),
                billing_cycle: product
                    .as_ref()
                    .and_then(|p| BillingCycle::from_wire(&p.billing_cycle)),
            }
        });
        let term = TermDuration::parse(&self.term_duration);
        let renewal_term = scheduled
            .as_ref()
            .and_then(|n| n.term_duration.clone())
            .or_else(|| TermDuration::parse(&self.renewal_term_duration))
            .or_else(|| term.clone());
        Some(SubscriptionRow {
            customer_tenant_id: guid(customer_id),
            customer_name: String::new(),
            subscription_id: id,
            offer_id,
            offer_name: self.offer_name.trim().to_owned(),
            friendly_name: self.friendly_name.trim().to_owned(),
            commerce,
            catalog_product_id,
            catalog_sku_id: catalog_sku,
            catalog_country: self
                .links
                .and_then(|l| l.product)
                .and_then(|p| country_of(&p.uri)),
            product_type,
            sku_id: String::new(),
            quantity: self.quantity.unwrap_or(0.0),
            status: SubscriptionStatus::from_wire(&self.status),
            auto_renew: self.auto_renew_enabled.unwrap_or(false),
            is_trial: self.is_trial.unwrap_or(false),
            billing_cycle: BillingCycle::from_wire(&self.billing_cycle),
            term,
            renewal_term,
            term_end: term_end(
                &self.commitment_end_date_time,
                &self.commitment_end_date,
                commerce,
            ),
            cancellation_allowed_until: date(
                &self.cancellation_allowed_until_date,
                "cancellationAllowedUntilDate",
            )
            .and_then(Sentinel::real),
            scheduled_next_term: scheduled,
        })
    }
}

/// A licence-billed subscription: not Azure, and `billingType` `license`, or (when that is empty,
/// `none` or new) a `unitType` of `Licenses` / `License(s)`. Usage- and benefit-billed items go.
fn is_licence(product_type: &str, billing_type: &str, unit_type: &str) -> bool {
    if product_type.eq_ignore_ascii_case("azure") {
        return false;
    }
    match billing_type.trim().to_ascii_lowercase().as_str() {
        "license" => true,
        "usage" | "benefit" => false,
        _ => unit_type.trim().to_ascii_lowercase().starts_with("licen"),
    }
}

/// A parsed date, telling Partner Center's far-future "no end" apart from a real one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sentinel {
    Real(DateTime<Utc>),
    NoEnd,
}

impl Sentinel {
    fn real(self) -> Option<DateTime<Utc>> {
        match self {
            Sentinel::Real(t) => Some(t),
            Sentinel::NoEnd => None,
        }
    }
}

/// `raw` parsed (see [`parse_timestamp`]); `None` when absent or unparseable (logged at debug).
fn date(raw: &str, field: &'static str) -> Option<Sentinel> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match parse_timestamp(raw) {
        Some(t) if t.year() >= 9000 => Some(Sentinel::NoEnd),
        Some(t) => Some(Sentinel::Real(t)),
        None => {
            tracing::debug!(field, value = %raw, "ignoring a subscription date in an unknown format");
            None
        }
    }
}

/// End of the current term: `commitmentEndDateTime` when it parses; else `commitmentEndDate`,
/// which for new commerce includes its whole UTC day (so 23:59:59 of it) and for legacy does not
/// (reference §1.4, §2.6). Year 9999 in either means no end.
fn term_end(date_time: &str, end_date: &str, commerce: Commerce) -> Option<DateTime<Utc>> {
    match date(date_time, "commitmentEndDateTime") {
        Some(exact) => exact.real(),
        None => match date(end_date, "commitmentEndDate")? {
            Sentinel::NoEnd => None,
            Sentinel::Real(t) if commerce == Commerce::Nce => {
                let last_second = NaiveTime::from_hms_opt(23, 59, 59)?;
                Some(t.date_naive().and_time(last_second).and_utc())
            }
            Sentinel::Real(t) => Some(t),
        },
    }
}

/// The `country` query parameter of a relative link such as `/products/CFQ7TTC0LH18?country=US`.
fn country_of(uri: &str) -> Option<String> {
    let query = uri.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("country"))
        .map(|(_, v)| v.trim().to_ascii_uppercase())
        .filter(|v| !v.is_empty())
}

/// An item of `GET /v1/customers/{id}/subscribedskus` (reference §3.6): the counts are the whole
/// tenant's, every channel together.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribedSkuWire {
    #[serde(default, deserialize_with = "count")]
    available_units: Option<f64>,
    #[serde(default, deserialize_with = "count")]
    active_units: Option<f64>,
    #[serde(default, deserialize_with = "count")]
    consumed_units: Option<f64>,
    #[serde(default, deserialize_with = "count")]
    suspended_units: Option<f64>,
    #[serde(default, deserialize_with = "count")]
    total_units: Option<f64>,
    #[serde(default, deserialize_with = "count")]
    warning_units: Option<f64>,
    #[serde(default)]
    product_sku: Option<ProductSkuWire>,
    #[serde(default, deserialize_with = "text")]
    capability_status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductSkuWire {
    #[serde(default, deserialize_with = "text")]
    id: String,
    #[serde(default, deserialize_with = "text")]
    name: String,
    #[serde(default, deserialize_with = "text")]
    sku_part_number: String,
}

/// One item of the subscribed SKUs, as a row of `customer_id`; items without a SKU id are ignored.
pub(crate) fn subscribed_sku_item(value: serde_json::Value, customer_id: &str) -> Item<SubscribedSkuRow> {
    let wire = match serde_json::from_value::<SubscribedSkuWire>(value) {
        Ok(wire) => wire,
        Err(e) => return Item::Undecodable(e.to_string()),
    };
    let Some(sku) = wire.product_sku.filter(|s| !s.id.trim().is_empty()) else {
        return Item::Ignored;
    };
    let total = wire.total_units.unwrap_or(0.0);
    let consumed = wire.consumed_units.unwrap_or(0.0);
    Item::Row(SubscribedSkuRow {
        customer_tenant_id: guid(customer_id),
        customer_name: String::new(),
        sku_id: guid(&sku.id),
        sku_part_number: sku.sku_part_number.trim().to_owned(),
        sku_name: sku.name.trim().to_owned(),
        capability_status: wire.capability_status.trim().to_ascii_lowercase(),
        total_units: total,
        active_units: wire.active_units.unwrap_or(0.0),
        consumed_units: consumed,
        available_units: wire.available_units.unwrap_or((total - consumed).max(0.0)),
        suspended_units: wire.suspended_units.unwrap_or(0.0),
        warning_units: wire.warning_units.unwrap_or(0.0),
    })
}

/// `GET /v1/products/{product-id}/skus/{sku-id}?country={cc}`: only `dynamicAttributes` matters.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CatalogSkuWire {
    #[serde(default)]
    dynamic_attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

impl CatalogSkuWire {
    /// `dynamicAttributes.provisioningId`, the Entra SKU GUID, lower-cased. The docs warn that
    /// dynamic attribute keys may change without notice, so the key is matched in any case and
    /// anything that is not a GUID string is ignored.
    pub(crate) fn provisioning_id(&self) -> Option<String> {
        let attributes = self.dynamic_attributes.as_ref()?;
        attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("provisioningId"))
            .and_then(|(_, v)| v.as_str())
            .filter(|v| uuid::Uuid::parse_str(v.trim()).is_ok())
            .map(guid)
    }
}

/// `GET /v1/customers/{id}/subscriptions/{id}/provisioningstatus` (reference §3.4).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProvisioningStatusWire {
    #[serde(default, deserialize_with = "text")]
    sku_id: String,
}

impl ProvisioningStatusWire {
    /// The Entra SKU GUID, lower-cased, if it is one.
    pub(crate) fn sku_id(&self) -> Option<String> {
        uuid::Uuid::parse_str(self.sku_id.trim())
            .ok()
            .map(|_| guid(&self.sku_id))
    }
}

#[cfg(test)]
mod tests;
