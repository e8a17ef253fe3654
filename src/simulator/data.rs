//! The synthetic partner's data: the [`DataStore`] holding the current customer set (see
//! [`super::customers`] for how one customer is generated), and the [`View`] of all rows at one
//! moment (drift step and processed date), from which every endpoint and every ground-truth method
//! (in `truth`) reads, so the figures agree everywhere. A view computes the rows (`records`) and
//! caches them rendered (`render`).
//!
//! Invariants: a product's qualified licenses (per workload) equal its deployed licenses, deployed
//! never exceeds sold, and partner-level figures are sums of the customer-level ones. Products that
//! are sold but never deployed have deployment rows and no usage rows (nothing qualifies).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, Utc};

use super::catalog::Workload;
use super::customers::{self, Customer, Subscription};
use super::json::Rendered;
use super::licences::{self, Licences};
use super::lock::{lock, read, write};
use super::records::{CustomerSet, DeploymentRec, PartnerDeployment, PartnerUsage, UsageRec};
use super::render::{self, Style};
use super::rng;

const SALT_DRIFT: u64 = 3;
/// Drift steps per period of the drift noise: counts wander smoothly over this many steps.
const DRIFT_STEPS_PER_PERIOD: f64 = 6.0;

/// What a [`View`] was computed for; a different key means a rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewKey {
    pub generation: u64,
    pub drift_step: u64,
    pub processed: NaiveDate,
    /// The UTC day of the simulator's clock: subscriptions renew or expire as it passes.
    pub today: NaiveDate,
}

/// Every row at one moment. Immutable; endpoints share it through an `Arc`.
#[derive(Debug)]
pub struct View {
    pub key: ViewKey,
    pub style: Style,
    pub set: Arc<CustomerSet>,
    /// Customer order, then product, then workload order.
    pub usage: Vec<UsageRec>,
    pub deployment: Vec<DeploymentRec>,
    /// Per customer index: its rows in `usage` and in `deployment`.
    pub ranges: Vec<(Range<usize>, Range<usize>)>,
    pub partner_deployment: Vec<PartnerDeployment>,
    pub partner_usage: Vec<PartnerUsage>,
    /// Subscriptions and tenant licence counts, agreeing with the deployment rows.
    pub licences: Licences,
    usage_json: OnceLock<Rendered>,
    deployment_json: OnceLock<Rendered>,
    customers_json: OnceLock<Rendered>,
}

impl View {
    fn build(key: ViewKey, style: Style, set: Arc<CustomerSet>, seed: u64, anchor: NaiveDate) -> Self {
        let mut usage = Vec::new();
        let mut deployment = Vec::new();
        let mut ranges = Vec::with_capacity(set.customers.len());
        let t = key.drift_step as f64 / DRIFT_STEPS_PER_PERIOD;
        for (ci, customer) in set.customers.iter().enumerate() {
            let (u0, d0) = (usage.len(), deployment.len());
            for (si, sub) in customer.subscriptions.iter().enumerate() {
                let (sold, deployed) = drifted_seats(seed, customer.ordinal, si, sub, t);
                deployment.push(DeploymentRec {
                    customer: ci as u32,
                    sub: si as u16,
                    deployed,
                    sold,
                });
                if deployed == 0 {
                    continue;
                }
                for (wi, &u) in sub.utilisation.iter().enumerate() {
                    let key = rng::hash(seed, &[SALT_DRIFT, customer.ordinal, si as u64, wi as u64 + 1]);
                    let u = if t == 0.0 {
                        u
                    } else {
                        u * (1.0 + 0.1 * rng::noise(seed, key, t))
                    };
                    let mut active = (u * deployed as f64).round() as u64;
                    if u <= 1.0 {
                        active = active.min(deployed);
                    }
                    usage.push(UsageRec {
                        customer: ci as u32,
                        sub: si as u16,
                        workload: wi as u16,
                        active,
                        qualified: deployed,
                    });
                }
            }
            ranges.push((u0..usage.len(), d0..deployment.len()));
        }
        let dep_ranges: Vec<Range<usize>> = ranges.iter().map(|(_, d)| d.clone()).collect();
        let licences = licences::build(&set, &deployment, &dep_ranges, seed, anchor, key.today);
        let mut view = Self {
            key,
            style,
            set,
            usage,
            deployment,
            ranges,
            licences,
            partner_deployment: Vec::new(),
            partner_usage: Vec::new(),
            usage_json: OnceLock::new(),
            deployment_json: OnceLock::new(),
            customers_json: OnceLock::new(),
        };
        view.aggregate_partner();
        view
    }

    fn aggregate_partner(&mut self) {
        let mut dep: BTreeMap<&'static str, PartnerDeployment> = BTreeMap::new();
        for r in &self.deployment {
            let service = self.sub(r.customer, r.sub).product.service;
            let e = dep.entry(service.code()).or_insert(PartnerDeployment {
                service,
                deployed: 0,
                sold: 0,
            });
            e.deployed += r.deployed;
            e.sold += r.sold;
        }
        let mut use_: BTreeMap<(&'static str, &'static str), PartnerUsage> = BTreeMap::new();
        for r in &self.usage {
            let product = self.sub(r.customer, r.sub).product;
            let workload = product.workloads[usize::from(r.workload)];
            let e = use_
                .entry((product.service.code(), workload.name))
                .or_insert(PartnerUsage {
                    service: product.service,
                    workload,
                    active: 0,
                    qualified: 0,
                });
            e.active += r.active;
            e.qualified += r.qualified;
        }
        self.partner_deployment = dep.into_values().collect();
        self.partner_usage = use_.into_values().collect();
    }

    /// The customer of a row.
    pub fn customer(&self, index: u32) -> &Customer {
        self.set.customer(index)
    }

    /// The subscription of a row.
    pub fn sub(&self, customer: u32, sub: u16) -> &Subscription {
        self.set.sub(customer, sub)
    }

    /// The workload of a usage row.
    pub fn workload(&self, r: &UsageRec) -> &'static Workload {
        self.set.workload(r)
    }

    /// Every commercial usage row rendered once (for the default processed date).
    pub fn usage_json(&self) -> &Rendered {
        self.usage_json.get_or_init(|| {
            let date = render::commercial_date(self.key.processed);
            Rendered::build(self.usage.iter(), |buf, r| {
                render::usage_row(buf, &self.set, self.style, r, &date)
            })
        })
    }

    /// Every commercial deployment row rendered once (for the default processed date).
    pub fn deployment_json(&self) -> &Rendered {
        self.deployment_json.get_or_init(|| {
            let date = render::commercial_date(self.key.processed);
            Rendered::build(self.deployment.iter(), |buf, r| {
                render::deployment_row(buf, &self.set, r, &date)
            })
        })
    }

    /// Every `/v1/customers` item rendered once.
    pub fn customers_json(&self) -> &Rendered {
        self.customers_json.get_or_init(|| {
            Rendered::build(self.set.customers.iter(), |buf, c| render::customer_item(buf, c))
        })
    }
}

/// Sold and deployed seats of a subscription at drift time `t` (0 = no drift).
fn drifted_seats(seed: u64, ordinal: u64, sub_index: usize, sub: &Subscription, t: f64) -> (u64, u64) {
    if t == 0.0 {
        return (sub.sold, sub.deployed);
    }
    let key = |n: u64| rng::hash(seed, &[SALT_DRIFT, ordinal, sub_index as u64, 0, n]);
    // Sold seats move slower than deployed ones: purchases change less often than assignments.
    let sold = ((sub.sold as f64) * (1.0 + 0.03 * rng::noise(seed, key(1), t / 4.0)))
        .round()
        .max(1.0) as u64;
    let deployed = ((sub.deployed as f64) * (1.0 + 0.08 * rng::noise(seed, key(2), t))).round() as u64;
    (sold, deployed.min(sold))
}

/// Settings of the data that do not change while the simulator runs.
#[derive(Debug, Clone)]
pub struct DataConfig {
    pub seed: u64,
    pub customers: usize,
    /// Length of one drift step; `None` keeps the figures constant.
    pub drift: Option<Duration>,
    /// Fixed processed date; `None` means yesterday (UTC) by the simulator's clock.
    pub processed_date: Option<NaiveDate>,
    pub style: Style,
}

/// The UTC day of `now`.
fn day_of(now: SystemTime) -> NaiveDate {
    DateTime::<Utc>::from(now).date_naive()
}

/// The mutable customer set and the cached [`View`].
#[derive(Debug)]
pub struct DataStore {
    config: DataConfig,
    /// The UTC day the data was created: subscription dates count from it.
    anchor: NaiveDate,
    /// Replaced as a whole on every change; readers keep the `Arc` they took.
    set: RwLock<Arc<CustomerSet>>,
    /// Serialises changes so ordinals and generations stay unique.
    change: Mutex<u64>,
    view: RwLock<Option<Arc<View>>>,
    /// Held while a view is built, so concurrent requests build it once.
    build: Mutex<()>,
}

impl DataStore {
    /// Generate the initial customers.
    pub fn new(config: DataConfig) -> Self {
        let mut customers: Vec<Customer> = (0..config.customers as u64)
            .map(|n| Customer::generate(config.seed, n, None))
            .collect();
        customers::force_placements(&mut customers);
        let customers = customers.into_iter().map(Arc::new).collect();
        Self {
            anchor: day_of(SystemTime::now()),
            set: RwLock::new(Arc::new(CustomerSet::new(0, customers))),
            change: Mutex::new(config.customers as u64),
            view: RwLock::new(None),
            build: Mutex::new(()),
            config,
        }
    }

    /// The current customer set.
    pub fn set(&self) -> Arc<CustomerSet> {
        read(&self.set).clone()
    }

    /// The view at `now`, built if customers, the drift step or the processed date changed.
    pub fn view(&self, now: SystemTime) -> Arc<View> {
        let key = self.key(now);
        if let Some(v) = read(&self.view).as_ref().filter(|v| v.key == key) {
            return v.clone();
        }
        let _building = lock(&self.build);
        // Another request may have built it while this one waited for the lock.
        if let Some(v) = read(&self.view).as_ref().filter(|v| v.key == key) {
            return v.clone();
        }
        let set = self.set();
        let key = ViewKey {
            generation: set.generation,
            ..key
        };
        let view = Arc::new(View::build(
            key,
            self.config.style,
            set,
            self.config.seed,
            self.anchor,
        ));
        *write(&self.view) = Some(view.clone());
        view
    }

    fn key(&self, now: SystemTime) -> ViewKey {
        let secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let drift_step = self.config.drift.map_or(0, |d| secs / d.as_secs().max(1));
        let processed = self.config.processed_date.unwrap_or_else(|| {
            let today = DateTime::<Utc>::from(now).date_naive();
            today.pred_opt().unwrap_or(today)
        });
        ViewKey {
            generation: read(&self.set).generation,
            drift_step,
            processed,
            today: day_of(now),
        }
    }

    /// Add `count` generated customers, or one named `name`; returns what was added.
    pub fn add(&self, count: usize, name: Option<String>) -> Vec<Arc<Customer>> {
        let mut next = lock(&self.change);
        let mut customers = self.set().customers.clone();
        let count = if name.is_some() { 1 } else { count };
        let added: Vec<Arc<Customer>> = (0..count as u64)
            .map(|i| Arc::new(Customer::generate(self.config.seed, *next + i, name.clone())))
            .collect();
        *next += count as u64;
        customers.extend(added.iter().cloned());
        self.replace(customers);
        added
    }

    /// Remove the customer with this id (any letter case); false if there is none.
    pub fn remove(&self, id: &str) -> bool {
        let _change = lock(&self.change);
        let set = self.set();
        let Some(index) = set.index_of(id) else {
            return false;
        };
        let mut customers = set.customers.clone();
        customers.remove(index);
        self.replace(customers);
        true
    }

    fn replace(&self, customers: Vec<Arc<Customer>>) {
        let mut set = write(&self.set);
        *set = Arc::new(CustomerSet::new(set.generation + 1, customers));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::render::{PercentScale, UsageSpelling};

    fn store(customers: usize, seed: u64) -> DataStore {
        DataStore::new(DataConfig {
            seed,
            customers,
            drift: None,
            processed_date: NaiveDate::from_ymd_opt(2026, 11, 21),
            style: Style {
                spelling: UsageSpelling::LicenseActive,
                percent: PercentScale::Percent,
            },
        })
    }

    fn now() -> SystemTime {
        SystemTime::now()
    }

    #[test]
    fn the_same_seed_gives_the_same_partner() {
        let (a, b) = (store(40, 7).view(now()), store(40, 7).view(now()));
        assert_eq!(a.model_usage(), b.model_usage());
        assert_eq!(a.model_deployment(), b.model_deployment());
        let c = store(40, 8).view(now());
        assert_ne!(a.model_deployment(), c.model_deployment());
    }

    #[test]
    fn customer_level_rows_sum_to_the_partner_level_ones() {
        let view = store(60, 3).view(now());
        for d in &view.partner_deployment {
            let sold: u64 = view
                .deployment
                .iter()
                .filter(|r| view.sub(r.customer, r.sub).product.service == d.service)
                .map(|r| r.sold)
                .sum();
            assert_eq!(sold, d.sold);
        }
        for u in &view.partner_usage {
            let rows = view.usage.iter().filter(|r| {
                view.sub(r.customer, r.sub).product.service == u.service && view.workload(r) == u.workload
            });
            let (a, q) = rows.fold((0, 0), |(a, q), r| (a + r.active, q + r.qualified));
            assert_eq!((a, q), (u.active, u.qualified));
        }
    }

    #[test]
    fn qualified_equals_deployed_and_deployed_never_exceeds_sold() {
        let view = store(80, 5).view(now());
        for (ci, (usage, deployment)) in view.ranges.iter().enumerate() {
            for d in &view.deployment[deployment.clone()] {
                assert!(d.deployed <= d.sold);
                for u in view.usage[usage.clone()].iter().filter(|u| u.sub == d.sub) {
                    assert_eq!(u.qualified, d.deployed, "customer {ci}");
                }
            }
        }
    }

    #[test]
    fn customer_names_include_quotes_backslashes_apostrophes_and_non_ascii() {
        let set = store(25, 1).set();
        let names: Vec<&str> = set.customers.iter().map(|c| c.name.as_str()).collect();
        assert!(names.iter().any(|n| n.contains('"')), "{names:?}");
        assert!(names.iter().any(|n| n.contains('\\')), "{names:?}");
        assert!(names.iter().any(|n| n.contains('\'')), "{names:?}");
        assert!(names.iter().any(|n| !n.is_ascii()), "{names:?}");
    }

    #[test]
    fn drift_moves_figures_slowly_and_keeps_the_invariants() {
        let mut config = store(30, 2).config.clone();
        config.drift = Some(Duration::from_secs(60));
        let store = DataStore::new(config);
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let a = store.view(t0);
        let b = store.view(t0 + Duration::from_secs(60));
        assert_ne!(a.model_usage(), b.model_usage());
        for (x, y) in a.deployment.iter().zip(&b.deployment) {
            assert!(y.deployed <= y.sold);
            assert!((x.deployed as f64 - y.deployed as f64).abs() <= 2.0 + 0.1 * x.deployed as f64);
        }
        assert_eq!(a.underused_customers(), b.underused_customers());
    }

    #[test]
    fn adding_and_removing_customers_changes_the_view() {
        let store = store(3, 1);
        let added = store.add(2, None);
        assert_eq!(added[0].ordinal, 3);
        let named = store.add(1, Some("Named \"Co\"".into()));
        assert_eq!(named[0].name, "Named \"Co\"");
        let view = store.view(now());
        assert_eq!(view.set.customers.len(), 6);
        assert!(store.remove(&added[0].id.to_uppercase()));
        assert!(!store.remove(&added[0].id));
        let view = store.view(now());
        assert_eq!(view.set.customers.len(), 5);
        assert!(
            view.model_usage()
                .iter()
                .all(|r| r.customer_tenant_id != added[0].id)
        );
    }
}
