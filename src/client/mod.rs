//! The Partner Center client: authentication, HTTP, paging, retries and tolerant decoding.
//!
//! It returns plain [`crate::model`] rows and reports what it does through [`ApiObserver`], so no
//! Prometheus type enters this module.
//!
//! Layout, lowest layer first; each module uses only the ones above it:
//! - `endpoint` (names), `settings` ([`ClientConfig`]), `observer` ([`ApiObserver`]), `redact`
//!   (blanking secrets out of quoted text), `decode` (tolerant field decoders), `body` (reading a
//!   response within a size limit), `retry` (pure policy, shared by the token endpoint and the
//!   API);
//! - `credentials` ([`AuthConfig`], [`AuthError`]), `grant` (one exchange with the token
//!   endpoint), `auth` ([`TokenSource`]: cached, single-flight renewal, retried);
//! - `error` ([`ClientError`]), `paging` (pure policy), `wire` (response bodies →
//!   [`crate::model`] rows), `http` (one GET with limits, retries and a token renewal on 401);
//! - this file: [`PartnerCenterClient`], one method per endpoint.

mod auth;
mod body;
mod credentials;
mod decode;
pub mod endpoint;
mod error;
mod grant;
mod http;
mod observer;
mod page;
mod paging;
pub mod redact;
mod retry;
mod settings;
mod wire;

use std::sync::Arc;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use url::Url;
use uuid::Uuid;

use crate::model::{Customer, DeploymentRow, PartnerDeploymentRow, PartnerUsageRow, UsageRow};

pub use auth::TokenSource;
pub use credentials::{AuthConfig, AuthError, AuthMode, TokenVersion};
pub use error::{ApiFault, ClientError};
pub use observer::{ApiObserver, NoopObserver};
pub use retry::backoff;
pub use settings::{AnalyticsQuery, ClientConfig};

/// The Partner Center client. Cheap to clone; clones share the token, rate and concurrency limits.
#[derive(Clone)]
pub struct PartnerCenterClient {
    config: Arc<ClientConfig>,
    transport: Arc<http::Transport>,
    /// `MS-CorrelationId` for every request of this handle; `None` = a fresh one per listing.
    correlation_id: Option<Uuid>,
}

impl std::fmt::Debug for PartnerCenterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerCenterClient")
            .field("base_url", &self.config.base_url.as_str())
            .field("correlation_id", &self.correlation_id)
            .finish_non_exhaustive()
    }
}

impl PartnerCenterClient {
    /// Builds the client. No request is made until the first listing.
    pub fn new(
        config: ClientConfig,
        tokens: Arc<TokenSource>,
        observer: Arc<dyn ApiObserver>,
    ) -> Result<Self, ClientError> {
        let config = Arc::new(config);
        let transport = http::Transport::new(config.clone(), tokens, observer)?;
        Ok(Self {
            config,
            transport: Arc::new(transport),
            correlation_id: None,
        })
    }

    /// A handle that sends `id` as `MS-CorrelationId` on every request, so that all calls of one
    /// collection run can be found together in Partner Center's logs. Limits are still shared.
    pub fn with_correlation_id(&self, id: Uuid) -> Self {
        Self {
            correlation_id: Some(id),
            ..self.clone()
        }
    }

    /// All rows of `GET {usage_path}`, following `@nextLink`/`skip` to the end.
    pub async fn commercial_usage(&self, query: &AnalyticsQuery) -> Result<Vec<UsageRow>, ClientError> {
        let path = self.config.usage_path.clone();
        self.commercial(
            endpoint::COMMERCIAL_USAGE,
            &path,
            query,
            wire::UsageWire::into_commercial,
        )
        .await
    }

    /// All rows of `GET {deployment_path}`, following `@nextLink`/`skip` to the end.
    pub async fn commercial_deployment(
        &self,
        query: &AnalyticsQuery,
    ) -> Result<Vec<DeploymentRow>, ClientError> {
        let path = self.config.deployment_path.clone();
        self.commercial(
            endpoint::COMMERCIAL_DEPLOYMENT,
            &path,
            query,
            wire::DeploymentWire::into_commercial,
        )
        .await
    }

    /// `GET /v1/analytics/licenses/deployment`.
    pub async fn partner_deployment(&self) -> Result<Vec<PartnerDeploymentRow>, ClientError> {
        let url = paging::api_url(&self.config.base_url, "/v1/analytics/licenses/deployment");
        self.collection(
            endpoint::PARTNER_DEPLOYMENT,
            url,
            |w: wire::PartnerDeploymentWire| Some(w.into()),
        )
        .await
    }

    /// `GET /v1/analytics/licenses/usage`.
    pub async fn partner_usage(&self) -> Result<Vec<PartnerUsageRow>, ClientError> {
        let url = paging::api_url(&self.config.base_url, "/v1/analytics/licenses/usage");
        self.collection(endpoint::PARTNER_USAGE, url, |w: wire::PartnerUsageWire| {
            Some(w.into())
        })
        .await
    }

    /// Every customer of `GET /v1/customers`, following `links.next` + `MS-ContinuationToken`.
    /// Items without an id are skipped (they cannot be asked about).
    pub async fn customers(&self) -> Result<Vec<Customer>, ClientError> {
        let mut url = paging::api_url(&self.config.base_url, "/v1/customers");
        let size = self.config.customers_page_size.to_string();
        paging::append_query(&mut url, &[("size", &size)]);
        self.collection(endpoint::CUSTOMERS, url, wire::CustomerWire::into_customer)
            .await
    }

    /// `GET /v1/customers/{id}/analytics/licenses/usage`; rows carry `customer_tenant_id = id`.
    pub async fn customer_usage(&self, customer_id: &str) -> Result<Vec<UsageRow>, ClientError> {
        let endpoint = endpoint::CUSTOMER_USAGE;
        let url = self.customer_url(endpoint, customer_id, "usage")?;
        self.collection(endpoint, url, |w: wire::UsageWire| {
            Some(w.into_legacy(customer_id))
        })
        .await
    }

    /// `GET /v1/customers/{id}/analytics/licenses/deployment`; rows carry `customer_tenant_id = id`.
    pub async fn customer_deployment(&self, customer_id: &str) -> Result<Vec<DeploymentRow>, ClientError> {
        let endpoint = endpoint::CUSTOMER_DEPLOYMENT;
        let url = self.customer_url(endpoint, customer_id, "deployment")?;
        self.collection(endpoint, url, |w: wire::DeploymentWire| {
            Some(w.into_legacy(customer_id))
        })
        .await
    }

    fn correlation_id(&self) -> Uuid {
        self.correlation_id.unwrap_or_else(Uuid::new_v4)
    }

    /// `{base}/v1/customers/{id}/analytics/licenses/{kind}`, the id encoded as one path segment.
    fn customer_url(
        &self,
        endpoint: &'static str,
        customer_id: &str,
        kind: &str,
    ) -> Result<Url, ClientError> {
        let id = customer_id.trim();
        let invalid = |detail: &str| ClientError::InvalidRequest {
            endpoint,
            detail: detail.to_owned(),
        };
        if id.is_empty() {
            return Err(invalid("the customer id is empty"));
        }
        let mut url = paging::api_url(&self.config.base_url, "/v1/customers");
        url.path_segments_mut()
            .map_err(|()| invalid("the base URL cannot take a path"))?
            .extend([id, "analytics", "licenses", kind]);
        Ok(url)
    }

    /// A commercial listing: `top`/`skip` on the first request, then `@nextLink` until it is
    /// null, absent, or a page comes back empty. The shape of a real `@nextLink` is not
    /// documented (only `null` is shown), so when a page carries none although `TotalCount` says
    /// more rows exist, the listing goes on with `skip` = the rows received so far, the paging the
    /// docs describe for `top`/`skip`. Without a `TotalCount` the exporter does not guess.
    async fn commercial<W, R>(
        &self,
        endpoint: &'static str,
        path: &str,
        query: &AnalyticsQuery,
        map: fn(W) -> R,
    ) -> Result<Vec<R>, ClientError>
    where
        W: DeserializeOwned,
    {
        let correlation_id = self.correlation_id();
        let top = self.config.page_size.to_string();
        let page_url = |skip: usize| {
            let mut url = paging::api_url(&self.config.base_url, path);
            let skip = skip.to_string();
            let mut pairs = vec![("top", top.as_str()), ("skip", skip.as_str())];
            let optional = [
                ("filter", &query.filter),
                ("groupby", &query.groupby),
                ("processedDateTime", &query.processed_date_time),
            ];
            for (name, value) in optional {
                if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                    pairs.push((name, value));
                }
            }
            paging::append_query(&mut url, &pairs);
            url
        };

        let mut guard = paging::PageGuard::new(self.config.max_pages);
        let mut rows = Vec::new();
        let mut next = Some(page_url(0));
        while let Some(url) = next.take() {
            guard
                .visit(url.as_str().to_owned())
                .map_err(|detail| paging_error(endpoint, &url, detail))?;
            let mut page: page::Page<W> = self
                .fetch_page(endpoint, &url, &HeaderMap::new(), correlation_id)
                .await?;
            let (next_link, total_count) = (page.next_link.take(), page.total_count);
            let items = page.rows().unwrap_or_default();
            tracing::debug!(endpoint, rows = items.len(), total = ?total_count, "page received");
            if items.is_empty() {
                break;
            }
            rows.extend(items.into_iter().map(map));
            if let Some(link) = next_link {
                let resolved = paging::resolve_next_link(&url, &self.config.base_url, &link)
                    .map_err(|detail| paging_error(endpoint, &url, detail))?;
                next = Some(resolved);
            } else if total_count.is_some_and(|total| (rows.len() as f64) < total) {
                tracing::debug!(endpoint, rows = rows.len(), total = ?total_count, "no @nextLink although TotalCount says more rows exist; continuing with skip");
                next = Some(page_url(rows.len()));
            }
        }
        Ok(rows)
    }

    /// A legacy collection (`{"totalCount", "items", "links"}`): the first page, then
    /// `links.next` with its headers until there is none or a page comes back empty.
    async fn collection<W, R>(
        &self,
        endpoint: &'static str,
        first: Url,
        mut map: impl FnMut(W) -> Option<R>,
    ) -> Result<Vec<R>, ClientError>
    where
        W: DeserializeOwned,
    {
        let correlation_id = self.correlation_id();
        let mut guard = paging::PageGuard::new(self.config.max_pages);
        let mut rows = Vec::new();
        let mut next = Some((first, HeaderMap::new()));
        while let Some((url, headers)) = next.take() {
            // The same URI with a different continuation token is a different page.
            let mut key = url.as_str().to_owned();
            for (name, value) in &headers {
                key.push_str(&format!(
                    "\n{name}: {}",
                    String::from_utf8_lossy(value.as_bytes())
                ));
            }
            guard
                .visit(key)
                .map_err(|detail| paging_error(endpoint, &url, detail))?;
            let mut page: page::Page<W> = self.fetch_page(endpoint, &url, &headers, correlation_id).await?;
            let link = page.links.take().and_then(|l| l.next);
            let items = page.rows().unwrap_or_default();
            tracing::debug!(endpoint, rows = items.len(), "page received");
            if items.is_empty() {
                break;
            }
            let before = rows.len();
            let count = items.len();
            rows.extend(items.into_iter().filter_map(&mut map));
            if rows.len() - before < count {
                tracing::warn!(
                    endpoint,
                    skipped = count - (rows.len() - before),
                    "skipped items without an id"
                );
            }
            if let Some(link) = link {
                next = Some(self.collection_link(endpoint, &url, link)?);
            }
        }
        Ok(rows)
    }

    /// Resolves `links.next` and turns its headers (`MS-ContinuationToken`) into request headers.
    fn collection_link(
        &self,
        endpoint: &'static str,
        current: &Url,
        link: page::Link,
    ) -> Result<(Url, HeaderMap), ClientError> {
        if link.uri.trim().is_empty() {
            return Err(paging_error(endpoint, current, "links.next has no uri".into()));
        }
        let url = paging::resolve_collection_link(&self.config.base_url, &link.uri)
            .map_err(|detail| paging_error(endpoint, current, detail))?;
        let mut headers = HeaderMap::new();
        for pair in link.headers.unwrap_or_default() {
            let name = HeaderName::from_bytes(pair.key.trim().as_bytes()).map_err(|_| {
                paging_error(
                    endpoint,
                    current,
                    format!("links.next names an invalid header {:?}", pair.key),
                )
            })?;
            // A link must not replace the credentials or the target host.
            if name == header::AUTHORIZATION || name == header::HOST {
                tracing::warn!(endpoint, header = %name, "ignoring a header that links.next asked to send");
                continue;
            }
            let value = HeaderValue::from_str(pair.value.trim()).map_err(|_| {
                paging_error(
                    endpoint,
                    current,
                    format!("links.next has an invalid value for header {name}"),
                )
            })?;
            headers.append(name, value);
        }
        Ok((url, headers))
    }

    /// One page: fetched, decoded, and its bytes dropped before the next page is asked for.
    async fn fetch_page<W: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        url: &Url,
        headers: &HeaderMap,
        correlation_id: Uuid,
    ) -> Result<page::Page<W>, ClientError> {
        let fetched = self.transport.get(endpoint, url, headers, correlation_id).await?;
        let decode_error = |detail: String| ClientError::Decode {
            endpoint,
            path: url.path().to_owned(),
            status: fetched.status.as_u16(),
            // serde quotes the offending value ("invalid type: string \"…\""), which may be a token.
            detail: self.transport.redact(&detail),
            snippet: self.transport.redact(&decode::snippet(&fetched.body)),
        };
        let page: page::Page<W> =
            decode::from_body(&fetched.body).map_err(|e| decode_error(e.to_string()))?;
        match &page.items {
            None => Err(decode_error(
                "no `Value`, `value` or `items` list in the body".into(),
            )),
            Some(page::Listed::Null) => Err(decode_error(
                "the list of rows is null rather than a list (an empty listing is []); not taking it for no data, so the last good data stays".into(),
            )),
            Some(page::Listed::Rows(_)) => Ok(page),
        }
    }
}

fn paging_error(endpoint: &'static str, url: &Url, detail: String) -> ClientError {
    ClientError::Paging {
        endpoint,
        path: url.path().to_owned(),
        detail,
    }
}
