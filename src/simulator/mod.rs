//! A simulated Partner Center: sign-in endpoints, `/v1/customers` and the six license analytics
//! endpoints, with deterministic synthetic data. Used by `--demo`, `simulate`, tests and benchmarks.
//!
//! Layout, in the order the data flows (a module uses only those named before it, and the leaves
//! `lock` and `filter`): `catalog`, `rng` and `customers` generate the customers; `records` are
//! the rows as plain figures; `render` writes them as Partner Center JSON with the `json` writer;
//! `data` computes and caches every row at a moment (`data::View`); `truth` reads a view back as
//! the ground truth. The commercial side: `offers` (catalog ids, part numbers, prices), `plans`
//! (each customer's subscriptions, drawn apart from its licence figures), `licences` (the
//! subscriptions and tenant licence counts of a view), `licence_truth` (their ground truth and
//! the expected alerts), `licence_api` (the endpoints) and `price_sheet` (a matching price file). `tokens` keeps the issued tokens, `state` what the handlers share, built by
//! `settings` from the flags by group; `reply` has what every Partner Center handler shares;
//! `signin` is the sign-in service, `commercial` the commercial endpoints, `admin` the test hooks,
//! and `routes` mounts them behind the request layer, beside `/v1/customers` and the legacy
//! endpoints. This file only declares, re-exports, and holds `RunningSimulator`. The flags of the
//! `simulate` subcommand are `config::SimulateArgs`, which become [`Settings`]. Where the real
//! API's behaviour is unknown (UNCONFIRMED in the team's API reference) the simulator does what
//! the documentation shows, and the code says so where it decides.

mod admin;
mod catalog;
mod commercial;
mod customers;
mod data;
mod filter;
mod json;
mod licence_api;
mod licence_truth;
mod licences;
mod lock;
mod offers;
mod plans;
mod price_sheet;
mod records;
mod render;
mod reply;
mod rng;
mod routes;
mod settings;
mod signin;
mod state;
mod tokens;
mod truth;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::model;

pub use data::DataConfig;
pub use licence_truth::{
    ExpectedAlerts, LEAD_DAYS_ANNUAL, LEAD_DAYS_MONTHLY, RENEWAL_UNUSED_MIN, WINDOW_HOURS, WINDOW_UNUSED_MIN,
};
pub use render::{PercentScale, Style, UsageSpelling};
pub use settings::{Paging, Settings, SignIn};
pub use state::{KnobValues, NextLinkStyle};
pub use truth::{UNDERUSED_MIN_QUALIFIED, UNDERUSED_RATIO};

/// A price sheet (CSV, Partner Center's new-commerce layout) matching the simulated offers, in
/// force at `now`: what `simulate --write-price-sheet` writes and `--demo` loads.
pub fn price_sheet(now: chrono::DateTime<chrono::Utc>) -> String {
    price_sheet::csv(now)
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

/// A simulator serving on a loopback port.
pub struct RunningSimulator {
    /// The address it listens on.
    pub addr: SocketAddr,
    base_url: url::Url,
    sim: Arc<state::Sim>,
    stop: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningSimulator {
    /// Serve on `listener` until [`RunningSimulator::shutdown`] or drop. Settings that are out
    /// of range are an `InvalidInput` error naming the flags at fault.
    pub async fn start(
        settings: impl Into<Settings>,
        listener: tokio::net::TcpListener,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let base_url = routes::base_url(addr).map_err(|e| invalid(format!("no base URL for {addr}: {e}")))?;
        let sim = Arc::new(settings.into().into_state().map_err(invalid)?);
        let app = routes::router(sim.clone());
        let stop = CancellationToken::new();
        let task = tokio::spawn(
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.clone().cancelled_owned())
                .into_future(),
        );
        Ok(Self {
            addr,
            base_url,
            sim,
            stop,
            task: Some(task),
        })
    }

    /// Stop serving and wait until open connections are done.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }

    /// `http://127.0.0.1:PORT` — the Partner Center base URL.
    pub fn base_url(&self) -> url::Url {
        self.base_url.clone()
    }

    /// Token URL template with `{tenant}` left in, v1 or v2 flavour.
    pub fn token_url_template(&self, v2: bool) -> String {
        let path = if v2 { "oauth2/v2.0/token" } else { "oauth2/token" };
        format!("{}{{tenant}}/{path}", self.base_url)
    }

    /// The simulated partner's tenant id.
    pub fn partner_tenant_id(&self) -> String {
        self.sim.config.tenant_id.clone()
    }

    /// The partner's `….onmicrosoft.com` domain (also accepted in place of the tenant id).
    pub fn partner_domain(&self) -> String {
        self.sim.config.tenant_domain.clone()
    }

    /// The application (client) id and secret the simulator accepts.
    pub fn client_credentials(&self) -> (String, String) {
        (
            self.sim.config.client_id.clone(),
            self.sim.config.client_secret.clone(),
        )
    }

    /// A fresh, valid refresh token (as the one-time consent would give).
    pub fn issue_refresh_token(&self) -> String {
        self.sim.issue_refresh_token()
    }

    /// Every customer, in `/v1/customers` order (ids lower-case).
    pub fn customers(&self) -> Vec<model::Customer> {
        let set = self.sim.data.set();
        set.customers.iter().map(|c| c.to_model()).collect()
    }

    /// Add `count` generated customers; returns them.
    pub fn add_customers(&self, count: usize) -> Vec<model::Customer> {
        let added = self.sim.data.add(count, None);
        added.iter().map(|c| c.to_model()).collect()
    }

    /// Add one customer with this company name; its figures are generated as for any other.
    pub fn add_customer(&self, name: &str) -> model::Customer {
        let added = self.sim.data.add(1, Some(name.to_owned()));
        added.first().map(|c| c.to_model()).unwrap_or_default()
    }

    /// Remove a customer (id in any letter case); false if there was none.
    pub fn remove_customer(&self, id: &str) -> bool {
        self.sim.data.remove(id)
    }

    fn view(&self) -> Arc<data::View> {
        self.sim.data.view(self.sim.clock.now())
    }

    /// What the commercial usage endpoint serves now, as plain rows (ids lower-case).
    pub fn expected_usage(&self) -> Vec<model::UsageRow> {
        self.view().model_usage()
    }

    /// What the commercial deployment endpoint serves now, as plain rows (ids lower-case).
    pub fn expected_deployment(&self) -> Vec<model::DeploymentRow> {
        self.view().model_deployment()
    }

    /// What `/v1/analytics/licenses/deployment` serves now (percent in the configured scale).
    pub fn expected_partner_deployment(&self) -> Vec<model::PartnerDeploymentRow> {
        self.view().model_partner_deployment()
    }

    /// What `/v1/analytics/licenses/usage` serves now (percent in the configured scale).
    pub fn expected_partner_usage(&self) -> Vec<model::PartnerUsageRow> {
        self.view().model_partner_usage()
    }

    /// Tenant ids of customers whose active licenses are below [`UNDERUSED_RATIO`] of their
    /// qualified ones (summed over all their usage rows), with at least
    /// [`UNDERUSED_MIN_QUALIFIED`] qualified.
    pub fn underused_customers(&self) -> Vec<String> {
        self.view().underused_customers()
    }

    /// `(tenant id, product id)` of products sold and never deployed.
    pub fn sold_but_undeployed(&self) -> Vec<(String, String)> {
        self.view().sold_but_undeployed()
    }

    /// The simulator's clock, now.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.sim.clock.now().into()
    }

    /// Every subscription the subscriptions endpoint serves now, as the exporter should read it
    /// (with the Entra SKU id it can resolve: none for legacy subscriptions of customers without
    /// GDAP).
    pub fn expected_subscriptions(&self) -> Vec<model::SubscriptionRow> {
        self.view().model_subscriptions()
    }

    /// What the subscribed-SKUs endpoint serves now, and which customers refuse it.
    pub fn expected_subscribed_skus(&self) -> model::SubscribedSkus {
        self.view().model_subscribed_skus()
    }

    /// The unused licences the exporter should attribute now.
    pub fn expected_unused(&self) -> Vec<model::UnusedRow> {
        self.view().expected_unused(self.now())
    }

    /// Tenant ids of the customers without a GDAP role (403 on their licence counts).
    pub fn no_gdap_customers(&self) -> Vec<String> {
        self.view().no_gdap_customers()
    }

    /// The subscriptions the renewal and refund-window alerts should fire for now.
    pub fn expected_alerts(&self) -> ExpectedAlerts {
        self.view().expected_alerts(self.now())
    }

    /// A price sheet (CSV, Partner Center's new-commerce layout) matching the offers.
    pub fn price_sheet_csv(&self) -> String {
        price_sheet::csv(self.now())
    }

    /// The knobs as they are now.
    pub fn knobs(&self) -> KnobValues {
        self.sim.knobs.values()
    }

    /// Change the knobs that are set in `values`; out-of-range values are an error.
    pub fn set_knobs(&self, values: &KnobValues) -> Result<(), String> {
        self.sim.knobs.apply(values)
    }

    /// Share of Partner Center requests that fail with a random 500/503 (clamped to 0–1).
    pub fn set_fail_rate(&self, rate: f64) {
        let _ = self.set_knobs(&KnobValues {
            fail_rate: Some(rate.clamp(0.0, 1.0)),
            ..Default::default()
        });
    }

    /// Requests per minute per partner tenant (0: no limit).
    pub fn set_rate_limit(&self, per_minute: u32) {
        let _ = self.set_knobs(&KnobValues {
            rate_limit: Some(per_minute),
            ..Default::default()
        });
    }

    /// Mean latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        let ms = Some(latency.as_secs_f64() * 1000.0);
        let _ = self.set_knobs(&KnobValues {
            latency_ms: ms,
            ..Default::default()
        });
    }

    /// Whether Partner Center bodies start with a UTF-8 BOM.
    pub fn set_bom(&self, bom: bool) {
        let _ = self.set_knobs(&KnobValues {
            bom: Some(bom),
            ..Default::default()
        });
    }

    /// Move the simulator's clock forward: access tokens, refresh tokens, drift and the processed
    /// date all follow it.
    pub fn advance_time(&self, by: Duration) {
        self.sim.clock.advance(by);
    }

    /// Requests received so far, per endpoint (`token`, `customers`, `customer_usage`,
    /// `customer_deployment`, `partner_usage`, `partner_deployment`, `commercial_usage`,
    /// `commercial_deployment`, `admin`, `other`), whatever their answer.
    pub fn request_counts(&self) -> BTreeMap<&'static str, u64> {
        state::Endpoint::ALL
            .iter()
            .map(|&e| (e.name(), self.sim.counters.get(e)))
            .collect()
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
