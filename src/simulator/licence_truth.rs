//! The commercial ground truth: the subscriptions and licence counts the endpoints serve, as the
//! exporter should read them (plain `model` rows), the unused licences it should attribute, and
//! the subscriptions its two alerts should fire for, at a moment.
//!
//! The attribution here is written again from the README's rule, not shared with the exporter,
//! so that the end-to-end checks compare two implementations. The alert thresholds are the
//! numbers of `deploy/prometheus/rules.yml`; a test reads them from there.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::data::View;
use super::licences::SubRec;
use super::offers::{self, CATALOG_SKU, FREE_SKU};
use super::plans::{Role, Schedule, Term};
use crate::model::{
    BillingCycle, Commerce, NextTerm, SkuAccess, SubscribedSkuRow, SubscribedSkus, SubscriptionRow,
    SubscriptionStatus, TermDuration, UnusedRow,
};

/// `PartnerCenterUnusedLicensesRenewingSoon` fires at this many unused licences or more…
pub const RENEWAL_UNUSED_MIN: f64 = 2.0;
/// …when an annual (or longer) term ends within this many days…
pub const LEAD_DAYS_ANNUAL: i64 = 14;
/// …or a monthly term within this many.
pub const LEAD_DAYS_MONTHLY: i64 = 3;
/// `PartnerCenterSeatReductionWindowClosing` fires at this many unused licences or more…
pub const WINDOW_UNUSED_MIN: f64 = 1.0;
/// …when the refund window closes within this many hours.
pub const WINDOW_HOURS: i64 = 48;

/// The subscriptions each alert should fire for at a moment, by subscription id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpectedAlerts {
    pub renewing_soon: Vec<String>,
    pub window_closing: Vec<String>,
}

fn at(day: NaiveDate, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    day.and_time(NaiveTime::from_hms_opt(h, m, s).unwrap_or(NaiveTime::MIN))
        .and_utc()
}

impl View {
    fn planned(&self, r: &SubRec) -> &super::plans::PlannedSub {
        &self.customer(r.customer).plan.subs[usize::from(r.plan)]
    }

    /// The instant the term of `r` ends (new commerce: 23:59:59 of its last day; legacy: the
    /// next midnight, as legacy end dates are exclusive).
    pub fn term_end(&self, r: &SubRec) -> DateTime<Utc> {
        if self.planned(r).legacy {
            at(r.end, 0, 0, 0) + Duration::days(1)
        } else {
            at(r.end, 23, 59, 59)
        }
    }

    /// The instant the refund window of `r` closes (new commerce only).
    pub fn refund_until(&self, r: &SubRec) -> Option<DateTime<Utc>> {
        r.refund_until.map(|d| at(d, 23, 59, 0))
    }

    /// Whether the exporter's user has a GDAP role in the customer.
    pub fn gdap(&self, customer: u32) -> bool {
        self.customer(customer).plan.gdap
    }

    /// A subscription as the exporter should read it, SKU id resolved as it can be.
    pub fn subscription_model(&self, r: &SubRec) -> SubscriptionRow {
        let customer = self.customer(r.customer);
        let planned = self.planned(r);
        let product = customer.subscriptions[planned.product].product;
        let offer = offers::of(product);
        let legacy = planned.legacy;
        let (offer_id, catalog_product_id, catalog_sku_id) = match offer.legacy_offer.filter(|_| legacy) {
            Some(id) => (id.to_ascii_lowercase(), String::new(), String::new()),
            None => (
                format!("{}:{CATALOG_SKU}:{}", offer.catalog_product, offer.availability),
                offer.catalog_product.to_owned(),
                CATALOG_SKU.to_owned(),
            ),
        };
        // New commerce resolves through the catalog; legacy through the provisioning status,
        // which needs the GDAP role.
        let sku_id = if !legacy || customer.plan.gdap {
            product.id.to_ascii_lowercase()
        } else {
            String::new()
        };
        let term = TermDuration::parse(planned.term.text());
        let next = r.scheduled.map(|quantity| {
            let (term, cycle) = match planned.schedule {
                Schedule::Reduce => (planned.term.text(), planned.billing),
                _ => (Term::P1Y.text(), "Annual"),
            };
            NextTerm {
                quantity: Some(quantity as f64),
                term_duration: TermDuration::parse(term),
                billing_cycle: BillingCycle::from_wire(cycle),
            }
        });
        let renewal_term = next
            .as_ref()
            .and_then(|n| n.term_duration.clone())
            .or_else(|| term.clone());
        SubscriptionRow {
            customer_tenant_id: customer.id.clone(),
            customer_name: customer.name.clone(),
            subscription_id: r.id.clone(),
            offer_id,
            offer_name: offer.title.to_owned(),
            friendly_name: friendly_name(offer.title, planned.role),
            commerce: if legacy { Commerce::Legacy } else { Commerce::Nce },
            catalog_product_id,
            catalog_sku_id,
            catalog_country: (!legacy).then(|| "US".to_owned()),
            product_type: if legacy {
                String::new()
            } else {
                "OnlineServicesNCE".to_owned()
            },
            sku_id,
            quantity: r.quantity as f64,
            status: SubscriptionStatus::from_wire(r.status),
            auto_renew: r.auto_renew,
            is_trial: planned.role == Role::Trial,
            billing_cycle: BillingCycle::from_wire(planned.billing),
            term,
            renewal_term,
            term_end: Some(self.term_end(r)),
            cancellation_allowed_until: self.refund_until(r),
            scheduled_next_term: next,
        }
    }

    /// Every subscription the subscriptions endpoint serves now, as the exporter should read it.
    pub fn model_subscriptions(&self) -> Vec<SubscriptionRow> {
        self.licences
            .subs
            .iter()
            .map(|r| self.subscription_model(r))
            .collect()
    }

    /// The licence counts of one customer's tenant (by customer index), whatever its GDAP.
    pub fn customer_skus(&self, ci: usize) -> Vec<SubscribedSkuRow> {
        let customer = &self.set.customers[ci];
        self.licences.skus[self.licences.ranges[ci].1.clone()]
            .iter()
            .map(|k| {
                let (sku_id, part, name) = match k.product {
                    Some(p) => {
                        let product = customer.subscriptions[usize::from(p)].product;
                        let offer = offers::of(product);
                        (product.id.to_ascii_lowercase(), offer.part_number, offer.title)
                    }
                    None => (FREE_SKU.0.to_owned(), FREE_SKU.1, FREE_SKU.2),
                };
                SubscribedSkuRow {
                    customer_tenant_id: customer.id.clone(),
                    customer_name: customer.name.clone(),
                    sku_id,
                    sku_part_number: part.to_owned(),
                    sku_name: name.to_owned(),
                    capability_status: "enabled".to_owned(),
                    total_units: k.total as f64,
                    active_units: k.active() as f64,
                    consumed_units: k.consumed as f64,
                    available_units: k.available() as f64,
                    suspended_units: k.suspended as f64,
                    warning_units: k.warning as f64,
                }
            })
            .collect()
    }

    /// What the subscribed-SKUs endpoint serves now: the counts of customers with a GDAP role,
    /// and who refuses.
    pub fn model_subscribed_skus(&self) -> SubscribedSkus {
        let rows = (0..self.set.customers.len())
            .filter(|&ci| self.set.customers[ci].plan.gdap)
            .flat_map(|ci| self.customer_skus(ci))
            .collect();
        let access = self
            .set
            .customers
            .iter()
            .map(|c| SkuAccess {
                customer_tenant_id: c.id.clone(),
                customer_name: c.name.clone(),
                granted: c.plan.gdap,
            })
            .collect();
        SubscribedSkus { rows, access }
    }

    /// Tenant ids of the customers without a GDAP role (403 on their licence counts).
    pub fn no_gdap_customers(&self) -> Vec<String> {
        self.set
            .customers
            .iter()
            .filter(|c| !c.plan.gdap)
            .map(|c| c.id.clone())
            .collect()
    }

    /// The unused licences of every billed subscription of a customer with a GDAP role, at
    /// `now`: per product, the unassigned seats (sold − deployed + other channels' unassigned)
    /// shared by the usable subscriptions in deadline order, capped at their seats; suspended
    /// new-commerce subscriptions entirely unused.
    pub fn expected_unused(&self, now: DateTime<Utc>) -> Vec<UnusedRow> {
        let mut out = Vec::new();
        for (ci, (subs, _)) in self.licences.ranges.iter().enumerate() {
            let customer = &self.set.customers[ci];
            if !customer.plan.gdap {
                continue;
            }
            let mut by_product: HashMap<usize, Vec<&SubRec>> = HashMap::new();
            for r in &self.licences.subs[subs.clone()] {
                by_product.entry(self.planned(r).product).or_default().push(r);
            }
            let mut products: Vec<usize> = by_product.keys().copied().collect();
            products.sort_unstable();
            for product in products {
                let recs = &by_product[&product];
                let (sold, deployed) = self.deployment[self.ranges[ci].1.clone()]
                    .iter()
                    .find(|d| usize::from(d.sub) == product)
                    .map_or((0, 0), |d| (d.sold, d.deployed));
                let other = customer
                    .plan
                    .other
                    .iter()
                    .find(|o| o.product == product)
                    .map_or(0, |o| o.unassigned);
                let row = |r: &SubRec, unused: u64| UnusedRow {
                    customer_tenant_id: customer.id.clone(),
                    subscription_id: r.id.clone(),
                    sku_id: customer.subscriptions[product].product.id.to_ascii_lowercase(),
                    unused: unused as f64,
                };
                for r in recs
                    .iter()
                    .filter(|r| self.planned(r).role == Role::SuspendedNce && r.status == "suspended")
                {
                    out.push(row(r, r.quantity));
                }
                let mut usable: Vec<&SubRec> = recs
                    .iter()
                    .copied()
                    .filter(|r| self.planned(r).role.holds_sold_seats() && r.status == "active")
                    .collect();
                let deadline = |r: &SubRec| {
                    let end = self.term_end(r);
                    self.refund_until(r)
                        .filter(|w| *w > now)
                        .map_or(end, |w| w.min(end))
                };
                usable.sort_by(|a, b| (deadline(a), &a.id).cmp(&(deadline(b), &b.id)));
                let paid: u64 = usable.iter().map(|r| r.quantity).sum();
                let mut left = (sold - deployed.min(sold) + other).min(paid);
                for r in usable {
                    let unused = left.min(r.quantity);
                    left -= unused;
                    out.push(row(r, unused));
                }
            }
        }
        out
    }

    /// The subscriptions each alert should fire for at `now` (after its `for:`), by the rules'
    /// own thresholds.
    pub fn expected_alerts(&self, now: DateTime<Utc>) -> ExpectedAlerts {
        let computed = self.expected_unused(now);
        let unused: HashMap<&str, f64> = computed
            .iter()
            .map(|u| (u.subscription_id.as_str(), u.unused))
            .collect();
        let mut alerts = ExpectedAlerts::default();
        for r in &self.licences.subs {
            let Some(&n) = unused.get(r.id.as_str()) else {
                continue;
            };
            let lead = match self.planned(r).term {
                Term::P1M => LEAD_DAYS_MONTHLY,
                _ => LEAD_DAYS_ANNUAL,
            };
            let to_end = self.term_end(r) - now;
            let reduced = r.scheduled.is_some_and(|s| s < r.quantity);
            if n >= RENEWAL_UNUSED_MIN
                && r.auto_renew
                && to_end > Duration::zero()
                && to_end < Duration::days(lead)
                && !reduced
            {
                alerts.renewing_soon.push(r.id.clone());
            }
            let to_window = self.refund_until(r).map(|w| w - now);
            if n >= WINDOW_UNUSED_MIN
                && to_window.is_some_and(|w| w > Duration::zero() && w < Duration::hours(WINDOW_HOURS))
            {
                alerts.window_closing.push(r.id.clone());
            }
        }
        alerts.renewing_soon.sort();
        alerts.window_closing.sort();
        alerts
    }
}

/// The nickname a partner gave the subscription: the offer's title, marked by role.
fn friendly_name(title: &str, role: Role) -> String {
    match role {
        Role::Main => title.to_owned(),
        Role::Flex => format!("{title} (monthly top-up)"),
        Role::Trial => format!("{title} trial"),
        _ => format!("{title} (old)"),
    }
}

#[cfg(test)]
mod tests;
