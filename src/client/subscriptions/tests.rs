//! Tests of `subscriptions`.

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
    let status: ProvisioningStatusWire =
        serde_json::from_value(json!({"skuId": "6FD2C87F-B296-42F0-B197-1E91E994B900", "status": "success"}))
            .unwrap();
    assert_eq!(
        status.sku_id().as_deref(),
        Some("6fd2c87f-b296-42f0-b197-1e91e994b900")
    );
}
