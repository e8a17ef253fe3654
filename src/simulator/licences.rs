//! The commercial records of one moment: every customer's subscriptions with their seats, dates
//! and statuses, and every tenant's licence counts (subscribed SKUs), computed from the plans
//! (`plans`) and the licence figures of the same [`super::data::View`], so that they agree:
//!
//! - a product's main (and flex) subscriptions hold exactly its sold licences, so what is paid
//!   for is never less than what is assigned;
//! - a tenant's total of a SKU is those seats, plus seats bought through other channels, trial
//!   seats and expired (grace period) seats; its consumed units are the deployed licences plus
//!   the other channels' assigned seats; suspended seats are counted apart, as Partner Center does.
//!
//! Dates are whole days; the instants Partner Center sends are derived in `licence_api` and
//! `licence_truth` the same way: a new-commerce term ends at 23:59:59 UTC of its last day, a
//! legacy one at 00:00 of the next day, a refund window closes at 23:59:00 of its day.

use std::ops::Range;

use chrono::{Days, Months, NaiveDate};

use super::plans::{self, Role, Schedule};
use super::records::{CustomerSet, DeploymentRec};
use super::rng;

const SALT_SUB_ID: u64 = 5;
/// Days after a term starts that its seats can still be removed for a refund (new commerce).
pub const REFUND_DAYS: u64 = 7;

/// One subscription at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct SubRec {
    pub customer: u32,
    /// Index into the customer's plan.
    pub plan: u16,
    /// Lower-case GUID (legacy subscriptions are sent upper-case).
    pub id: String,
    pub quantity: u64,
    /// `status` as sent.
    pub status: &'static str,
    pub start: NaiveDate,
    /// The term's last day.
    pub end: NaiveDate,
    /// New commerce: the refund window's last day.
    pub refund_until: Option<NaiveDate>,
    pub auto_renew: bool,
    /// Seats scheduled for the next term.
    pub scheduled: Option<u64>,
}

/// One SKU of one tenant at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct SkuRec {
    pub customer: u32,
    /// Index into the customer's products; `None` for the free SKU.
    pub product: Option<u16>,
    pub total: u64,
    pub consumed: u64,
    pub suspended: u64,
    pub warning: u64,
}

impl SkuRec {
    pub fn active(&self) -> u64 {
        self.total - self.warning
    }
    pub fn available(&self) -> u64 {
        self.total.saturating_sub(self.consumed)
    }
}

/// The commercial records of a view, with each customer's ranges in them.
#[derive(Debug, Default)]
pub struct Licences {
    pub subs: Vec<SubRec>,
    pub skus: Vec<SkuRec>,
    /// Per customer index: its subscriptions and its SKUs.
    pub ranges: Vec<(Range<usize>, Range<usize>)>,
    /// The UTC day the data was created; plan dates count from it.
    pub anchor: NaiveDate,
}

fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64)).unwrap_or(d)
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs())).unwrap_or(d)
    }
}

/// `(start, last day)` of a term of `months` that ends on `end`.
fn term_from_end(end: NaiveDate, months: u32) -> NaiveDate {
    end.checked_sub_months(Months::new(months))
        .map_or(end, |d| add_days(d, 1))
}

/// Last day of a term of `months` that starts on `start`.
fn end_from_start(start: NaiveDate, months: u32) -> NaiveDate {
    start
        .checked_add_months(Months::new(months))
        .map_or(start, |d| add_days(d, -1))
}

/// Build the records from the plans and the view's (drifted) sold and deployed licences.
pub fn build(
    set: &CustomerSet,
    deployment: &[DeploymentRec],
    dep_ranges: &[Range<usize>],
    seed: u64,
    anchor: NaiveDate,
    today: NaiveDate,
) -> Licences {
    let mut out = Licences {
        anchor,
        ..Licences::default()
    };
    for (ci, customer) in set.customers.iter().enumerate() {
        let (s0, k0) = (out.subs.len(), out.skus.len());
        let figures = |product: usize| {
            deployment[dep_ranges[ci].clone()]
                .iter()
                .find(|d| usize::from(d.sub) == product)
                .map_or((0, 0), |d| (d.sold, d.deployed))
        };
        let plan = &customer.plan;
        for (pi, planned) in plan.subs.iter().enumerate() {
            let (sold, deployed) = figures(planned.product);
            let quantity = plans::quantity(plan, pi, sold);
            if quantity == 0 {
                continue;
            }
            let months = planned.term.months();
            let (mut start, mut end) = match planned.start_offset {
                Some(offset) => {
                    let start = add_days(anchor, offset);
                    (start, end_from_start(start, months))
                }
                None => {
                    let end = add_days(anchor, planned.days_to_end);
                    (term_from_end(end, months), end)
                }
            };
            // Keep every refund window away from the window alert's boundaries (see `plans`).
            if !planned.legacy && planned.start_offset.is_none() {
                while matches!(
                    (add_days(start, REFUND_DAYS as i64) - anchor).num_days(),
                    0 | 2 | 3
                ) {
                    end = add_days(end, 1);
                    start = term_from_end(end, months);
                }
            }
            let mut status = match planned.role {
                Role::Main | Role::Flex | Role::Trial => "active",
                Role::SuspendedNce | Role::SuspendedLegacy => "suspended",
                Role::ExpiredNce => "expired",
                Role::UnknownStatus => "transferring",
            };
            let mut auto_renew = planned.auto_renew && status == "active";
            while end < today && status == "active" {
                if auto_renew {
                    start = add_days(end, 1);
                    end = end_from_start(start, months);
                } else {
                    status = if planned.legacy { "deleted" } else { "expired" };
                }
            }
            if status != "active" {
                auto_renew = false;
            }
            let unassigned = sold.saturating_sub(deployed);
            let scheduled = match planned.schedule {
                _ if !auto_renew => None,
                Schedule::None => None,
                Schedule::Reduce => Some(quantity.saturating_sub(unassigned.max(1)).max(1)),
                Schedule::Same => Some(quantity),
                Schedule::Convert => Some(quantity),
            };
            out.subs.push(SubRec {
                customer: ci as u32,
                plan: pi as u16,
                id: rng::guid(seed, &[SALT_SUB_ID, customer.ordinal, pi as u64]),
                quantity,
                status,
                start,
                end,
                refund_until: (!planned.legacy).then(|| add_days(start, REFUND_DAYS as i64)),
                auto_renew,
                scheduled,
            });
        }
        for (index, _) in customer.subscriptions.iter().enumerate() {
            let (sold, deployed) = figures(index);
            let of_product = |role: Role| -> u64 {
                out.subs[s0..]
                    .iter()
                    .filter(|r| {
                        let p = &plan.subs[usize::from(r.plan)];
                        p.product == index && p.role == role && (role != Role::Trial || r.status == "active")
                    })
                    .map(|r| r.quantity)
                    .sum()
            };
            let (trial, expired) = (of_product(Role::Trial), of_product(Role::ExpiredNce));
            let suspended = of_product(Role::SuspendedNce) + of_product(Role::SuspendedLegacy);
            let other = plan.other.iter().find(|o| o.product == index);
            let (other_seats, other_assigned) = other.map_or((0, 0), |o| (o.seats, o.seats - o.unassigned));
            out.skus.push(SkuRec {
                customer: ci as u32,
                product: Some(index as u16),
                total: sold + other_seats + trial + expired,
                consumed: deployed + other_assigned,
                suspended,
                warning: expired,
            });
        }
        if let Some(consumed) = plan.free_sku {
            out.skus.push(SkuRec {
                customer: ci as u32,
                product: None,
                total: 10_000,
                consumed,
                suspended: 0,
                warning: 0,
            });
        }
        out.ranges.push((s0..out.subs.len(), k0..out.skus.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn terms_run_whole_months_from_their_first_to_their_last_day() {
        assert_eq!(term_from_end(d(2027, 1, 14), 12), d(2026, 1, 15));
        assert_eq!(end_from_start(d(2026, 1, 15), 12), d(2027, 1, 14));
        assert_eq!(end_from_start(d(2026, 1, 31), 1), d(2026, 2, 27));
    }
}
