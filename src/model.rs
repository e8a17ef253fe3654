//! Plain data rows shared by the Partner Center client, the collectors, the snapshot and the
//! simulator's tests. No Prometheus and no HTTP types live here: these are the facts Partner Center
//! reported, already normalised (GUIDs lower-cased, timestamps in UTC, numbers as `f64`). The rows
//! are serde types because `--storage.path` keeps them across restarts (see [`crate::storage`]).
//! The analytics rows' labels are [`Text`]s: immutable and shared, so that the equal labels of a
//! page's rows, interned while decoding, are one allocation, and a clone of the rows is cheap.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod subscriptions;
mod text;

pub use text::Text;

pub use subscriptions::{
    BillingCycle, Commerce, NextTerm, PriceRow, SkuAccess, SubscribedSkuRow, SubscribedSkus, SubscriptionRow,
    SubscriptionStatus, TermDuration, UnusedRow, catalog_sku_id,
};

/// One row of license usage: a customer × product × workload.
///
/// Filled from the commercial usage endpoint, or from the legacy per-customer usage endpoint, which
/// lacks `product_id` and often `workload_code`: those get a [`derived_id`] of the name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UsageRow {
    pub customer_tenant_id: Text,
    pub customer_name: Text,
    pub product_id: Text,
    pub product_name: Text,
    pub workload_code: Text,
    pub workload_name: Text,
    pub service_code: Text,
    /// `serviceName` of the commercial endpoints (`Microsoft Office 365`); empty for legacy rows,
    /// whose `serviceName` holds the code.
    pub service_name: Text,
    pub channel: Text,
    pub licenses_active: f64,
    pub licenses_qualified: f64,
    pub processed_at: Option<DateTime<Utc>>,
}

/// One row of license deployment: a customer × product.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeploymentRow {
    pub customer_tenant_id: Text,
    pub customer_name: Text,
    pub product_id: Text,
    pub product_name: Text,
    pub service_code: Text,
    /// As in [`UsageRow::service_name`].
    pub service_name: Text,
    pub channel: Text,
    pub licenses_deployed: f64,
    pub licenses_sold: f64,
    pub processed_at: Option<DateTime<Utc>>,
}

/// One row of the partner-level (legacy) deployment insights: a service × channel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartnerDeploymentRow {
    pub service_code: Text,
    pub channel: Text,
    /// As Partner Center reports it; whether the scale is 0–1 or 0–100 is not documented.
    pub prorated_deployment_percent: f64,
    pub licenses_sold: f64,
    pub processed_at: Option<DateTime<Utc>>,
}

/// One row of the partner-level (legacy) usage insights: a service × workload × channel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartnerUsageRow {
    pub service_code: Text,
    /// The legacy endpoint sends only the workload's name: this is its [`derived_id`].
    pub workload_code: Text,
    pub workload_name: Text,
    pub channel: Text,
    /// As Partner Center reports it; whether the scale is 0–1 or 0–100 is not documented.
    pub prorated_licenses_usage_percent: f64,
    pub processed_at: Option<DateTime<Utc>>,
}

/// A customer of the partner, from `GET /v1/customers`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Customer {
    /// The customer id used in `/v1/customers/{id}/…` paths, lower-cased.
    pub id: String,
    /// The customer's Entra tenant id, lower-cased (equal to `id` in every documented example).
    pub tenant_id: String,
    pub company_name: String,
    pub domain: String,
}

/// The stable id of an object that Partner Center names but does not identify (the legacy
/// endpoints send `productName` without `productId`, `workloadName` without `workloadCode`):
/// `derived:` and the 16 hex digits of the 64-bit FNV-1a hash of the name, trimmed and
/// lower-cased. The same name always gives the same id, on every machine and in every version, so
/// a legacy row's series keeps its identity from run to run; names that differ only in case or
/// surrounding spaces are one object. An empty name has no id (the empty string).
pub fn derived_id(name: &str) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let name = name.trim();
    if name.is_empty() {
        return String::new();
    }
    let mut hash = OFFSET;
    for c in name.chars().flat_map(char::to_lowercase) {
        let mut utf8 = [0u8; 4];
        for byte in c.encode_utf8(&mut utf8).bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("derived:{hash:016x}")
}

/// `id`, or the [`derived_id`] of `name` when Partner Center sent no id.
pub fn id_or_derived(id: Text, name: &str) -> Text {
    if id.is_empty() {
        derived_id(name).into()
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_fnv1a_of_the_trimmed_lower_cased_name() {
        // FNV-1a 64 of "a" is af63dc4c8601ec8c (the published test vector).
        assert_eq!(derived_id("a"), "derived:af63dc4c8601ec8c");
        assert_eq!(derived_id(" A "), derived_id("a"));
        assert_eq!(
            derived_id("OFFICE 365 ENTERPRISE E3"),
            derived_id("Office 365 Enterprise E3")
        );
        assert_ne!(derived_id("Exchange"), derived_id("SharePoint"));
        assert_eq!(derived_id("  "), "");
    }

    #[test]
    fn a_sent_id_is_kept_and_a_missing_one_derived() {
        assert_eq!(id_or_derived("p1".into(), "Name"), "p1");
        assert_eq!(id_or_derived(Text::default(), "Name"), derived_id("name"));
        assert_eq!(id_or_derived(Text::default(), ""), "");
    }
}
