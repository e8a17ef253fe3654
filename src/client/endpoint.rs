//! Endpoint names, used as the `endpoint` label of the API metrics and in error messages.

/// `GET {usage_path}` (commercial license usage).
pub const COMMERCIAL_USAGE: &str = "commercial_usage";
/// `GET {deployment_path}` (commercial license deployment).
pub const COMMERCIAL_DEPLOYMENT: &str = "commercial_deployment";
/// `GET /v1/analytics/licenses/deployment` (legacy, partner level).
pub const PARTNER_DEPLOYMENT: &str = "partner_deployment";
/// `GET /v1/analytics/licenses/usage` (legacy, partner level).
pub const PARTNER_USAGE: &str = "partner_usage";
/// `GET /v1/customers`.
pub const CUSTOMERS: &str = "customers";
/// `GET /v1/customers/{id}/analytics/licenses/usage` (legacy, per customer).
pub const CUSTOMER_USAGE: &str = "customer_usage";
/// `GET /v1/customers/{id}/analytics/licenses/deployment` (legacy, per customer).
pub const CUSTOMER_DEPLOYMENT: &str = "customer_deployment";
/// The sign-in service's token endpoint.
pub const TOKEN: &str = "token";
