//! Plain data rows shared by the Partner Center client, the collectors, the snapshot and the
//! simulator's tests. No Prometheus and no HTTP types live here: these are the facts Partner Center
//! reported, already normalised (GUIDs lower-cased, timestamps in UTC, numbers as `f64`). The rows
//! are serde types because `--storage.path` keeps them across restarts (see [`crate::storage`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One row of license usage: a customer × product × workload.
///
/// Filled from the commercial usage endpoint, or from the legacy per-customer usage endpoint, which
/// lacks `product_id` and often `workload_code` (left empty then).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UsageRow {
    pub customer_tenant_id: String,
    pub customer_name: String,
    pub product_id: String,
    pub product_name: String,
    pub workload_code: String,
    pub workload_name: String,
    pub service_code: String,
    pub channel: String,
    pub licenses_active: f64,
    pub licenses_qualified: f64,
    pub processed_at: Option<DateTime<Utc>>,
}

/// One row of license deployment: a customer × product.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeploymentRow {
    pub customer_tenant_id: String,
    pub customer_name: String,
    pub product_id: String,
    pub product_name: String,
    pub service_code: String,
    pub channel: String,
    pub licenses_deployed: f64,
    pub licenses_sold: f64,
    pub processed_at: Option<DateTime<Utc>>,
}

/// One row of the partner-level (legacy) deployment insights: a service × channel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartnerDeploymentRow {
    pub service_code: String,
    pub channel: String,
    /// As Partner Center reports it; whether the scale is 0–1 or 0–100 is not documented.
    pub prorated_deployment_percent: f64,
    pub licenses_sold: f64,
    pub processed_at: Option<DateTime<Utc>>,
}

/// One row of the partner-level (legacy) usage insights: a service × workload × channel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartnerUsageRow {
    pub service_code: String,
    pub workload_name: String,
    pub channel: String,
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
