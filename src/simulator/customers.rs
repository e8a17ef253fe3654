//! Customers of the synthetic partner, generated from `(seed, ordinal)`: name, domain, usage
//! profile and the products they bought with base figures (before drift).
//!
//! Most customers are healthy; about one in eight is badly under-used and about one in eight has
//! a product sold and never deployed. Ordinals 3 and 5 are always one of each, so even a small
//! partner has both, and every fifth customer has a name that is hard to escape.

use super::catalog::{self, Kind, Product, Workload};
use super::offers;
use super::plans::{self, Bought, CustomerPlan, PLACEMENTS, Role};
use super::rng::{self, Rng};
use crate::model;

const SALT_CUSTOMER: u64 = 1;
const SALT_ID: u64 = 2;

/// How a customer uses what it bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Most licenses deployed and used.
    Healthy,
    /// Licenses deployed but badly under-used (utilisation well below [`super::truth::UNDERUSED_RATIO`]).
    Underused,
    /// Healthy use, but at least one product sold and never deployed.
    Shelfware,
}

impl Profile {
    /// Lower-case name, for `/admin/state`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Healthy => "healthy",
            Profile::Underused => "underused",
            Profile::Shelfware => "shelfware",
        }
    }
}

/// One product a customer bought, with its base figures (before drift).
#[derive(Debug, Clone)]
pub struct Subscription {
    pub product: &'static Product,
    pub sold: u64,
    pub deployed: u64,
    /// Share of qualified licenses active, per workload of the product (same order).
    pub utilisation: Vec<f64>,
}

/// A customer of the synthetic partner.
#[derive(Debug, Clone)]
pub struct Customer {
    /// Creation order; stable across additions and removals, used for continuation tokens.
    pub ordinal: u64,
    /// Lower-case GUID (the `/v1/customers` form); also the customer's tenant id.
    pub id: String,
    /// Upper-case GUID (the commercial endpoints' form).
    pub id_upper: String,
    pub name: String,
    pub domain: String,
    pub profile: Profile,
    /// The products bought (named after the analytics' "subscriptions" of a product).
    pub subscriptions: Vec<Subscription>,
    /// The commercial side: subscriptions as Partner Center's commerce API lists them.
    pub plan: CustomerPlan,
}

impl Customer {
    /// The customer with this ordinal, as `seed` determines it; `name` overrides the generated name.
    pub fn generate(seed: u64, ordinal: u64, name: Option<String>) -> Self {
        let mut rng = Rng::new(seed, &[SALT_CUSTOMER, ordinal]);
        let id = rng::guid(seed, &[SALT_ID, ordinal]);
        let name = name.unwrap_or_else(|| company_name(&mut rng, ordinal));
        let domain = domain_for(&name, ordinal);
        let profile = match ordinal {
            // Forced so that even a five-customer partner has one of each.
            3 => Profile::Underused,
            5 => Profile::Shelfware,
            _ => match rng.unit() {
                u if u < 0.12 => Profile::Underused,
                u if u < 0.25 => Profile::Shelfware,
                _ => Profile::Healthy,
            },
        };
        let subscriptions = portfolio(&mut rng, profile);
        let bought: Vec<Bought> = subscriptions
            .iter()
            .map(|s| Bought {
                product: s.product,
                sold: s.sold,
                deployed: s.deployed,
            })
            .collect();
        let plan = plans::plan(seed, ordinal, &bought);
        Self {
            ordinal,
            id_upper: id.to_uppercase(),
            id,
            name,
            domain,
            profile,
            subscriptions,
            plan,
        }
    }

    /// The plain row type of [`crate::model`].
    pub fn to_model(&self) -> model::Customer {
        model::Customer {
            id: self.id.clone(),
            tenant_id: self.id.clone(),
            company_name: self.name.clone(),
            domain: self.domain.clone(),
        }
    }
}

/// Apply [`PLACEMENTS`] to the first customers (see `plans`), so that every alert case exists.
pub fn force_placements(customers: &mut [Customer]) {
    let mut used = std::collections::HashSet::new();
    for placement in &PLACEMENTS {
        let found = customers.iter_mut().take(64).find_map(|c| {
            if !c.plan.gdap || used.contains(&c.ordinal) {
                return None;
            }
            let product = c.subscriptions.iter().position(|s| {
                s.sold.saturating_sub(s.deployed) >= placement.min_unassigned
                    && (!placement.monthly || offers::of(s.product).monthly_term)
            })?;
            Some((c, product))
        });
        let Some((customer, product)) = found else {
            continue;
        };
        used.insert(customer.ordinal);
        let plan = &mut customer.plan;
        plan.subs
            .retain(|s| !(s.product == product && s.role == Role::Flex));
        if let Some(sub) = plan
            .subs
            .iter_mut()
            .find(|s| s.product == product && s.role == Role::Main)
        {
            (placement.place)(sub);
        }
    }
    if let Some(c) = customers.iter_mut().find(|c| c.ordinal == 4) {
        plans::place_without_gdap(&mut c.plan);
    }
}

fn company_name(rng: &mut Rng, ordinal: u64) -> String {
    if ordinal % 5 == 2 {
        let n = (ordinal / 5) as usize;
        let base = catalog::TRICKY_NAMES[n % catalog::TRICKY_NAMES.len()];
        let round = n / catalog::TRICKY_NAMES.len();
        return if round == 0 {
            base.to_owned()
        } else {
            format!("{base} {}", round + 1)
        };
    }
    let head = rng.pick(catalog::NAME_HEADS);
    let tail = rng.pick(catalog::NAME_TAILS);
    let suffix = rng.pick(catalog::NAME_SUFFIXES);
    if suffix.is_empty() {
        format!("{head} {tail}")
    } else {
        format!("{head} {tail} {suffix}")
    }
}

/// `{ascii letters of the name}{ordinal}.onmicrosoft.com`: unique and stable per customer.
fn domain_for(name: &str, ordinal: u64) -> String {
    let slug: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(24)
        .collect();
    let slug = if slug.is_empty() {
        "tenant".to_owned()
    } else {
        slug
    };
    format!("{slug}{ordinal}.onmicrosoft.com")
}

fn portfolio(rng: &mut Rng, profile: Profile) -> Vec<Subscription> {
    let mut seats = match rng.unit() {
        u if u < 0.5 => rng.range_u32(5, 25),
        u if u < 0.85 => rng.range_u32(26, 250),
        _ => rng.range_u32(251, 3000),
    };
    if profile == Profile::Underused {
        seats = seats.max(15);
    }
    let mut products: Vec<(&'static Product, u32)> = vec![(*rng.pick(&catalog::of_kind(Kind::Suite)), seats)];
    let add_ons = catalog::of_kind(Kind::AddOn);
    for _ in 0..rng.range_u32(0, 2) {
        let p = *rng.pick(&add_ons);
        if products.iter().all(|(q, _)| q.id != p.id) {
            products.push((p, rng.range_u32(1, (seats / 2).max(1))));
        }
    }
    if rng.chance(0.3) {
        products.push((
            *rng.pick(&catalog::of_kind(Kind::Dynamics)),
            rng.range_u32(3, (seats / 4).max(3)),
        ));
    }
    if profile == Profile::Shelfware && products.len() == 1 {
        let p = *rng.pick(&add_ons);
        products.push((p, rng.range_u32(5, (seats / 2).max(5))));
    }
    let shelf = products.len() - 1;
    let scale = match profile {
        Profile::Underused => rng.range_f64(0.05, 0.22),
        _ => rng.range_f64(0.8, 1.05),
    };
    products
        .into_iter()
        .enumerate()
        .map(|(i, (product, sold))| {
            let deployed_share = match profile {
                Profile::Shelfware if i == shelf => 0.0,
                Profile::Underused => rng.range_f64(0.5, 0.9),
                _ => rng.range_f64(0.8, 1.0),
            };
            let deployed = (f64::from(sold) * deployed_share).round() as u64;
            let utilisation = product
                .workloads
                .iter()
                .map(|w| utilisation(rng, w, profile, scale))
                .collect();
            Subscription {
                product,
                sold: u64::from(sold),
                deployed,
                utilisation,
            }
        })
        .collect()
}

fn utilisation(rng: &mut Rng, workload: &Workload, profile: Profile, scale: f64) -> f64 {
    // Yammer use above 100 % happens (Partner Center's own docs explain why); keep it to healthy customers.
    if workload.code == catalog::YAM.code && profile != Profile::Underused && rng.chance(0.08) {
        return rng.range_f64(1.05, 1.3);
    }
    (workload.typical_use * scale * rng.range_f64(0.9, 1.1)).clamp(0.0, 1.0)
}
