//! The ground truth: what the endpoints serve, read back from a [`View`] as plain `model` rows,
//! and the lists the exporter's alerts should find — the under-used customers and the products
//! sold but never deployed. The tests, the end-to-end check and `/admin/state` compare against
//! these, so they read the same view the endpoints render.

use chrono::{DateTime, Utc};

use super::data::View;
use super::records::CHANNEL;
use crate::model;

/// A customer counts as under-used when its active licenses are below this share of its qualified
/// licenses, summed over all its usage rows…
pub const UNDERUSED_RATIO: f64 = 0.3;
/// …and it has at least this many qualified licenses in total.
pub const UNDERUSED_MIN_QUALIFIED: u64 = 10;

impl View {
    /// Midnight UTC of the processed date.
    pub fn processed_at(&self) -> DateTime<Utc> {
        self.key.processed.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// Commercial usage rows as [`model::UsageRow`]s (ids lower-cased).
    pub fn model_usage(&self) -> Vec<model::UsageRow> {
        self.usage
            .iter()
            .map(|r| {
                let c = self.customer(r.customer);
                let p = self.sub(r.customer, r.sub).product;
                let w = self.workload(r);
                model::UsageRow {
                    customer_tenant_id: c.id.clone().into(),
                    customer_name: c.name.clone().into(),
                    product_id: p.id.to_ascii_lowercase().into(),
                    product_name: p.name.to_owned().into(),
                    workload_code: w.code.to_owned().into(),
                    workload_name: w.name.to_owned().into(),
                    service_code: p.service.code().to_owned().into(),
                    service_name: p.service.name().to_owned().into(),
                    channel: CHANNEL.to_owned().into(),
                    licenses_active: r.active as f64,
                    licenses_qualified: r.qualified as f64,
                    processed_at: Some(self.processed_at()),
                }
            })
            .collect()
    }

    /// Commercial deployment rows as [`model::DeploymentRow`]s (ids lower-cased).
    pub fn model_deployment(&self) -> Vec<model::DeploymentRow> {
        self.deployment
            .iter()
            .map(|r| {
                let c = self.customer(r.customer);
                let p = self.sub(r.customer, r.sub).product;
                model::DeploymentRow {
                    customer_tenant_id: c.id.clone().into(),
                    customer_name: c.name.clone().into(),
                    product_id: p.id.to_ascii_lowercase().into(),
                    product_name: p.name.to_owned().into(),
                    service_code: p.service.code().to_owned().into(),
                    service_name: p.service.name().to_owned().into(),
                    channel: CHANNEL.to_owned().into(),
                    licenses_deployed: r.deployed as f64,
                    licenses_sold: r.sold as f64,
                    processed_at: Some(self.processed_at()),
                }
            })
            .collect()
    }

    /// Partner-level deployment rows, percent in the configured scale.
    pub fn model_partner_deployment(&self) -> Vec<model::PartnerDeploymentRow> {
        self.partner_deployment
            .iter()
            .map(|d| model::PartnerDeploymentRow {
                service_code: d.service.code().to_owned().into(),
                channel: CHANNEL.to_owned().into(),
                prorated_deployment_percent: self.style.percent(d.deployed, d.sold),
                licenses_sold: d.sold as f64,
                processed_at: Some(self.processed_at()),
            })
            .collect()
    }

    /// Partner-level usage rows, percent in the configured scale.
    pub fn model_partner_usage(&self) -> Vec<model::PartnerUsageRow> {
        self.partner_usage
            .iter()
            .map(|u| model::PartnerUsageRow {
                service_code: u.service.code().to_owned().into(),
                workload_code: model::derived_id(u.workload.name).into(),
                workload_name: u.workload.name.to_owned().into(),
                channel: CHANNEL.to_owned().into(),
                prorated_licenses_usage_percent: self.style.percent(u.active, u.qualified),
                processed_at: Some(self.processed_at()),
            })
            .collect()
    }

    /// Tenant ids (lower-case) of customers whose summed active licenses are below
    /// [`UNDERUSED_RATIO`] of their summed qualified licenses, with at least
    /// [`UNDERUSED_MIN_QUALIFIED`] qualified.
    pub fn underused_customers(&self) -> Vec<String> {
        self.ranges
            .iter()
            .enumerate()
            .filter_map(|(ci, (usage, _))| {
                let rows = &self.usage[usage.clone()];
                let active: u64 = rows.iter().map(|r| r.active).sum();
                let qualified: u64 = rows.iter().map(|r| r.qualified).sum();
                let low = qualified >= UNDERUSED_MIN_QUALIFIED
                    && (active as f64) < UNDERUSED_RATIO * qualified as f64;
                low.then(|| self.set.customers[ci].id.clone())
            })
            .collect()
    }

    /// `(tenant id, product id)`, both lower-case, of products sold and not deployed at all.
    pub fn sold_but_undeployed(&self) -> Vec<(String, String)> {
        self.deployment
            .iter()
            .filter(|r| r.deployed == 0 && r.sold > 0)
            .map(|r| {
                let p = self.sub(r.customer, r.sub).product;
                (self.customer(r.customer).id.clone(), p.id.to_ascii_lowercase())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use chrono::NaiveDate;

    use crate::simulator::customers::Profile;
    use crate::simulator::data::{DataConfig, DataStore};
    use crate::simulator::render::{PercentScale, Style, UsageSpelling};

    fn config(customers: usize, seed: u64) -> DataConfig {
        DataConfig {
            seed,
            customers,
            drift: None,
            processed_date: NaiveDate::from_ymd_opt(2026, 11, 21),
            style: Style {
                spelling: UsageSpelling::LicenseActive,
                percent: PercentScale::Percent,
            },
        }
    }

    fn store(customers: usize, seed: u64) -> DataStore {
        DataStore::new(config(customers, seed))
    }

    fn now() -> SystemTime {
        SystemTime::now()
    }

    #[test]
    fn a_small_partner_has_underused_customers_and_shelfware_but_is_mostly_healthy() {
        let view = store(25, 1).view(now());
        let underused = view.underused_customers();
        assert!(underused.contains(&view.set.customers[3].id));
        assert!(underused.len() < 10, "{underused:?}");
        assert!(
            view.sold_but_undeployed()
                .iter()
                .any(|(c, _)| *c == view.set.customers[5].id)
        );
    }

    #[test]
    fn underused_customers_are_exactly_the_underused_profile_for_many_seeds() {
        for seed in 0..20 {
            let view = store(50, seed).view(now());
            let expected: Vec<String> = view
                .set
                .customers
                .iter()
                .filter(|c| c.profile == Profile::Underused)
                .map(|c| c.id.clone())
                .collect();
            assert_eq!(view.underused_customers(), expected, "seed {seed}");
        }
    }

    #[test]
    fn drift_keeps_the_underused_customers_for_many_seeds_and_steps() {
        for seed in 0..10 {
            let mut config = config(40, seed);
            config.drift = Some(Duration::from_secs(60));
            let store = DataStore::new(config);
            for step in 0..30 {
                let view = store.view(UNIX_EPOCH + Duration::from_secs(1_800_000_000 + 60 * step));
                let expected: Vec<String> = view
                    .set
                    .customers
                    .iter()
                    .filter(|c| c.profile == Profile::Underused)
                    .map(|c| c.id.clone())
                    .collect();
                assert_eq!(view.underused_customers(), expected, "seed {seed} step {step}");
            }
        }
    }
}
