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
/// `GET /v1/customers/{id}/subscriptions`.
pub const SUBSCRIPTIONS: &str = "subscriptions";
/// `GET /v1/customers/{id}/subscribedskus`.
pub const SUBSCRIBED_SKUS: &str = "subscribed_skus";
/// `GET /v1/products/{product-id}/skus/{sku-id}` (the catalog SKU, for its Entra SKU id).
pub const CATALOG_SKU: &str = "catalog_sku";
/// `GET /v1/customers/{id}/subscriptions/{id}/provisioningstatus` (for the Entra SKU id).
pub const SUBSCRIPTION_PROVISIONING_STATUS: &str = "subscription_provisioning_status";
/// The sign-in service's token endpoint.
pub const TOKEN: &str = "token";

/// Whether the endpoint belongs to the Subscription resource, which Partner Center limits to 500
/// requests per minute per tenant (reference `partner-center-subscriptions.md` §1.3).
pub fn is_subscription_resource(name: &str) -> bool {
    matches!(name, SUBSCRIPTIONS | SUBSCRIPTION_PROVISIONING_STATUS)
}

/// Whether the endpoint accepts App+User tokens only. The customer list, the subscriptions and
/// the catalog take app-only tokens too (reference §1.1); a 401/403 there with an app-only token
/// is not "App+User required".
pub fn needs_app_user(name: &str) -> bool {
    !matches!(name, CUSTOMERS | TOKEN | SUBSCRIPTIONS | CATALOG_SKU)
}
