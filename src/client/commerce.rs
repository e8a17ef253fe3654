//! The commercial endpoints of [`PartnerCenterClient`]: a customer's subscriptions and the licence
//! counts of its tenant, and the two look-ups that say which Entra SKU a subscription provisions
//! (nothing in the subscription itself does, reference §3.1–§3.5).

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use url::Url;

use super::subscriptions::{self, CatalogSkuWire, Listing, ProvisioningStatusWire};
use super::{ClientError, PartnerCenterClient, decode, endpoint, paging};
use crate::model::{SubscribedSkuRow, SubscriptionRow};

impl PartnerCenterClient {
    /// The licence-billed subscriptions of `GET /v1/customers/{id}/subscriptions` (App-only or
    /// App+User). No paging is documented; `links.next` is followed should it ever appear.
    /// Rows carry `customer_tenant_id = id` and no SKU id yet.
    pub async fn customer_subscriptions(
        &self,
        customer_id: &str,
    ) -> Result<Listing<SubscriptionRow>, ClientError> {
        let endpoint = endpoint::SUBSCRIPTIONS;
        let url = self.customer_path(endpoint, customer_id, &["subscriptions"])?;
        let items = self
            .collection(endpoint, url, |v: serde_json::Value| {
                Some(subscriptions::subscription_item(v, customer_id))
            })
            .await?;
        Ok(Listing::of(items))
    }

    /// The SKUs of the customer's tenant from `GET /v1/customers/{id}/subscribedskus` (App+User,
    /// and a GDAP role in the customer: Directory Readers is enough). Asked without
    /// `licenseGroupIds`, which gives the default group, every Entra-managed licence.
    pub async fn subscribed_skus(&self, customer_id: &str) -> Result<Listing<SubscribedSkuRow>, ClientError> {
        let endpoint = endpoint::SUBSCRIBED_SKUS;
        let url = self.customer_path(endpoint, customer_id, &["subscribedskus"])?;
        let items = self
            .collection(endpoint, url, |v: serde_json::Value| {
                Some(subscriptions::subscribed_sku_item(v, customer_id))
            })
            .await?;
        Ok(Listing::of(items))
    }

    /// The Entra SKU GUID of a new-commerce catalog SKU (`dynamicAttributes.provisioningId` of
    /// `GET /v1/products/{product}/skus/{sku}?country={cc}`), or `None` when the SKU has none.
    pub async fn catalog_sku_guid(
        &self,
        product_id: &str,
        sku_id: &str,
        country: &str,
    ) -> Result<Option<String>, ClientError> {
        let endpoint = endpoint::CATALOG_SKU;
        let mut url = self.segments_url(endpoint, &["v1", "products", product_id, "skus", sku_id])?;
        paging::append_query(&mut url, &[("country", country)]);
        let sku: CatalogSkuWire = self.resource(endpoint, &url).await?;
        Ok(sku.provisioning_id())
    }

    /// The Entra SKU GUID of one subscription, from
    /// `GET /v1/customers/{id}/subscriptions/{id}/provisioningstatus` (App+User, GDAP Directory
    /// Readers or Global Reader): the route for legacy subscriptions, whose offer ids are not SKUs.
    pub async fn subscription_sku_guid(
        &self,
        customer_id: &str,
        subscription_id: &str,
    ) -> Result<Option<String>, ClientError> {
        let endpoint = endpoint::SUBSCRIPTION_PROVISIONING_STATUS;
        let url = self.customer_path(
            endpoint,
            customer_id,
            &["subscriptions", subscription_id, "provisioningstatus"],
        )?;
        let status: ProvisioningStatusWire = self.resource(endpoint, &url).await?;
        Ok(status.sku_id())
    }

    /// `{base}/v1/customers/{id}/{segments…}`, each id encoded as one path segment.
    pub(super) fn customer_path(
        &self,
        endpoint: &'static str,
        customer_id: &str,
        segments: &[&str],
    ) -> Result<Url, ClientError> {
        let id = customer_id.trim();
        if id.is_empty() {
            return Err(ClientError::InvalidRequest {
                endpoint,
                detail: "the customer id is empty".to_owned(),
            });
        }
        let mut all = vec!["v1", "customers", id];
        all.extend_from_slice(segments);
        self.segments_url(endpoint, &all)
    }

    /// `{base}/{segments…}`, each encoded as one path segment; an empty one is refused.
    fn segments_url(&self, endpoint: &'static str, segments: &[&str]) -> Result<Url, ClientError> {
        let invalid = |detail: &str| ClientError::InvalidRequest {
            endpoint,
            detail: detail.to_owned(),
        };
        if segments.iter().any(|s| s.trim().is_empty()) {
            return Err(invalid("an id in the path is empty"));
        }
        let mut url = paging::api_url(&self.config.base_url, "/");
        url.path_segments_mut()
            .map_err(|()| invalid("the base URL cannot take a path"))?
            .pop_if_empty()
            .extend(segments.iter().map(|s| s.trim()));
        Ok(url)
    }

    /// One resource (not a collection): fetched and decoded.
    async fn resource<W: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        url: &Url,
    ) -> Result<W, ClientError> {
        let fetched = self
            .transport
            .get(endpoint, url, &HeaderMap::new(), self.correlation_id())
            .await?;
        decode::from_body(&fetched.body).map_err(|e| ClientError::Decode {
            endpoint,
            path: url.path().to_owned(),
            status: fetched.status.as_u16(),
            detail: self.transport.redact(&e.to_string()),
            snippet: self.transport.redact(&decode::snippet(&fetched.body)),
        })
    }
}
