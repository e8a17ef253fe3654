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
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn row(value: serde_json::Value) -> SubscriptionRow {
        match subscription_item(value, "C1") {
            Item::Row(r) => r,
            other => panic!("not a row: {other:?}"),
        }
    }

    fn nce(extra: serde_json::Value) -> serde_json::Value {
        let mut base = json!({
            "id": "A4C1340D-6911-4758-BBA3-0C4C6007D161",
            "offerId": "CFQ7TTC0LH18:1:CFQ7TTC0K971",
            "productType": {"id": "OnlineServicesNCE"},
            "quantity": 15,
            "unitType": "Licenses",
            "billingType": "license",
            "status": "active",
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    }

    #[test]
    fn a_new_commerce_item_splits_its_offer_id_into_catalog_ids() {
        let r = row(nce(
            json!({"links": {"product": {"uri": "/products/CFQ7TTC0LH18?country=us"}}}),
        ));
        assert_eq!(r.subscription_id, "a4c1340d-6911-4758-bba3-0c4c6007d161");
        assert_eq!(r.customer_tenant_id, "c1");
        assert_eq!(r.commerce, Commerce::Nce);
        assert_eq!(
            (r.catalog_product_id.as_str(), r.catalog_sku_id.as_str()),
            ("CFQ7TTC0LH18", "0001")
        );
        assert_eq!(r.catalog_country.as_deref(), Some("US"));
        assert_eq!(r.offer_id, "CFQ7TTC0LH18:1:CFQ7TTC0K971");
        assert!(!r.auto_renew && !r.is_trial);
    }

    #[test]
    fn unknown_statuses_and_billing_cycles_are_kept_not_rejected() {
        let r = row(nce(
            json!({"status": "Transferring", "billingCycle": "quarterly"}),
        ));
        assert_eq!(r.status, SubscriptionStatus::Unknown("transferring".into()));
        assert_eq!(r.billing_cycle, Some(BillingCycle::Unknown("quarterly".into())));
        assert!(!r.is_billed());
    }

    #[test]
    fn year_9999_means_no_term_end() {
        let r = row(nce(json!({"commitmentEndDate": "9999-12-10T00:00:00Z"})));
        assert_eq!(r.term_end, None);
        let r = row(nce(
            json!({"commitmentEndDateTime": "9999-12-10T00:00:00Z", "commitmentEndDate": "2026-01-01T00:00:00Z"}),
        ));
        assert_eq!(
            r.term_end, None,
            "an explicit no-end is not overridden by the date"
        );
    }

    #[test]
    fn a_new_commerce_end_date_includes_its_whole_day_and_a_legacy_one_does_not() {
        let end = |extra| row(nce(extra)).term_end.unwrap();
        assert_eq!(
            end(json!({"commitmentEndDate": "2024-10-14T00:00:00Z"})),
            Utc.with_ymd_and_hms(2024, 10, 14, 23, 59, 59).unwrap()
        );
        assert_eq!(
            end(
                json!({"commitmentEndDate": "2024-10-14T00:00:00Z", "commitmentEndDateTime": "2024-10-14T23:59:59Z"})
            ),
            Utc.with_ymd_and_hms(2024, 10, 14, 23, 59, 59).unwrap()
        );
        let legacy = row(json!({
            "id": "968BA1CF-C146-4ADF-A300-308DCF718EEE",
            "offerId": "2828BE95-46BA-4F91-B2FD-0BEF192ECF60",
            "unitType": "License(s)", "billingType": "none",
            "commitmentEndDate": "2020-03-28T00:00:00",
            "billingCycle": "unknown", "status": "active", "autoRenewEnabled": "true",
        }));
        assert_eq!(legacy.commerce, Commerce::Legacy);
        assert_eq!(legacy.offer_id, "2828be95-46ba-4f91-b2fd-0bef192ecf60");
        assert_eq!(
            legacy.term_end,
            Some(Utc.with_ymd_and_hms(2020, 3, 28, 0, 0, 0).unwrap())
        );
        assert_eq!(legacy.cancellation_allowed_until, None);
        assert!(legacy.auto_renew);
        assert!(legacy.catalog_product_id.is_empty());
    }

    #[test]
    fn a_missing_or_null_cancellation_date_is_absent() {
        assert_eq!(row(nce(json!({}))).cancellation_allowed_until, None);
        assert_eq!(
            row(nce(json!({"cancellationAllowedUntilDate": null}))).cancellation_allowed_until,
            None
        );
        let r = row(nce(
            json!({"cancellationAllowedUntilDate": "2021-11-14T23:59:00Z"}),
        ));
        assert_eq!(
            r.cancellation_allowed_until,
            Some(Utc.with_ymd_and_hms(2021, 11, 14, 23, 59, 0).unwrap())
        );
    }

    #[test]
    fn the_renewal_term_prefers_the_scheduled_one() {
        let r = row(nce(json!({
            "termDuration": "P1M",
            "scheduledNextTermInstructions": {"product": {"termDuration": "P1Y", "billingCycle": "Annual"}, "quantity": 10},
        })));
        assert_eq!(r.term.as_ref().unwrap().months, Some(1));
        assert_eq!(r.renewal_term.as_ref().unwrap().months, Some(12));
        let next = r.scheduled_next_term.as_ref().unwrap();
        assert_eq!(
            (next.quantity, next.billing_cycle.clone()),
            (Some(10.0), Some(BillingCycle::Annual))
        );
        assert_eq!(r.scheduled_reduction(), 5.0);
        let plain = row(nce(json!({"termDuration": "P1Y", "renewalTermDuration": ""})));
        assert_eq!(plain.renewal_term.unwrap().text, "P1Y");
        assert_eq!(plain.scheduled_next_term, None);
    }

    #[test]
    fn azure_usage_and_unlicensed_items_are_ignored_and_bad_shapes_reported() {
        for item in [
            nce(json!({"productType": {"id": "Azure"}})),
            nce(json!({"billingType": "usage"})),
            json!({"id": "x", "unitType": "none", "billingType": "none"}),
            nce(json!({"id": ""})),
        ] {
            assert!(matches!(subscription_item(item, "c"), Item::Ignored));
        }
        assert!(matches!(
            subscription_item(nce(json!({"quantity": "many"})), "c"),
            Item::Undecodable(_)
        ));
        assert!(matches!(
            subscription_item(json!("a string"), "c"),
            Item::Undecodable(_)
        ));
    }

    #[test]
    fn quantities_and_flags_sent_as_text_are_read() {
        let r = row(nce(
            json!({"quantity": "12", "isTrial": "True", "autoRenewEnabled": 1}),
        ));
        assert_eq!(r.quantity, 12.0);
        assert!(r.is_trial && r.auto_renew);
    }

    #[test]
    fn subscribed_skus_read_the_nested_product_sku_and_lower_case_its_id() {
        let item = json!({
            "availableUnits": 4, "activeUnits": 5, "consumedUnits": 1, "suspendedUnits": 0,
            "totalUnits": 5, "warningUnits": 0, "capabilityStatus": "Enabled",
            "productSku": {"id": "EFCCB6F7-5641-4E0E-BD10-B4976E1BF68E", "name": "EMS E3", "skuPartNumber": "EMS"},
        });
        let Item::Row(r) = subscribed_sku_item(item, "c") else {
            panic!()
        };
        assert_eq!(r.sku_id, "efccb6f7-5641-4e0e-bd10-b4976e1bf68e");
        assert_eq!(
            (r.total_units, r.consumed_units, r.available_units),
            (5.0, 1.0, 4.0)
        );
        assert_eq!(r.capability_status, "enabled");
        let Item::Row(r) = subscribed_sku_item(
            json!({"productSku": {"id": "a"}, "totalUnits": 3, "consumedUnits": 5}),
            "c",
        ) else {
            panic!()
        };
        assert_eq!(r.available_units, 0.0, "derived, never negative");
        assert!(matches!(
            subscribed_sku_item(json!({"totalUnits": 3}), "c"),
            Item::Ignored
        ));
    }

    #[test]
    fn the_catalog_provisioning_id_must_be_a_guid() {
        let sku = |attrs: serde_json::Value| {
            serde_json::from_value::<CatalogSkuWire>(json!({"dynamicAttributes": attrs}))
                .unwrap()
                .provisioning_id()
        };
        assert_eq!(
            sku(json!({"provisioningId": "3B555118-DA6A-4418-894F-7DF1E2096870"})).as_deref(),
            Some("3b555118-da6a-4418-894f-7df1e2096870")
        );
        assert!(sku(json!({"ProvisioningID": "3b555118-da6a-4418-894f-7df1e2096870"})).is_some());
        assert_eq!(sku(json!({"provisioningId": 42})), None);
        assert_eq!(sku(json!({})), None);
        let status: ProvisioningStatusWire = serde_json::from_value(
            json!({"skuId": "6FD2C87F-B296-42F0-B197-1E91E994B900", "status": "success"}),
        )
        .unwrap();
        assert_eq!(
            status.sku_id().as_deref(),
            Some("6fd2c87f-b296-42f0-b197-1e91e994b900")
        );
    }
}
