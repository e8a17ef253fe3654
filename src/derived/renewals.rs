//! The landing page's table: subscriptions that renew automatically soon with unused licences,
//! and what renewing them locks in. The money follows the recording rules of
//! `deploy/prometheus/rules.yml`: the price of the subscription's catalog SKU, term and billing
//! plan (else the dearest plan of that term), per licence per month, times the unused licences
//! left after a scheduled reduction, times the months of the next term.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::model::{PriceRow, SkuAccess, SubscriptionRow, UnusedRow};

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Renewal {
    pub customer_tenant_id: String,
    pub customer_name: String,
    pub subscription_id: String,
    pub offer_name: String,
    pub friendly_name: String,
    pub term_end: DateTime<Utc>,
    pub quantity: f64,
    pub unused: f64,
    /// Seats the scheduled next term keeps, when one is scheduled.
    pub scheduled: Option<f64>,
    /// Unused licences the renewal carries into the next term (after a scheduled reduction).
    pub unused_at_renewal: f64,
    /// `(amount, currency)` the renewal commits for the unused licences, when a price is known.
    pub locked_in: Option<(f64, String)>,
}

/// The table, and what it cannot show.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RenewalTable {
    /// Sorted by term end.
    pub rows: Vec<Renewal>,
    /// Days ahead the table looks.
    pub days: i64,
    /// Customers that refused their licence counts: their renewals cannot be judged.
    pub without_access: usize,
    /// Whether a price file is loaded.
    pub priced: bool,
}

/// The monthly price of one licence of `sub`: its exact plan, else the dearest plan of its term.
pub fn monthly_price<'p>(sub: &SubscriptionRow, prices: &'p [PriceRow]) -> Option<(f64, &'p str)> {
    let term = sub.term.as_ref()?;
    let same_term = prices.iter().filter(|p| {
        p.product_id == sub.catalog_product_id
            && p.sku_id == sub.catalog_sku_id
            && p.term_duration.text == term.text
    });
    let exact = same_term
        .clone()
        .find(|p| sub.billing_cycle.as_ref() == Some(&p.billing_plan));
    exact
        .or_else(|| same_term.max_by(|a, b| a.monthly_price.total_cmp(&b.monthly_price)))
        .map(|p| (p.monthly_price, p.currency.as_str()))
}

/// Auto-renewing subscriptions whose term ends within `days` of `now` with unused licences.
pub fn renewals_within(
    subscriptions: &[SubscriptionRow],
    unused: &[UnusedRow],
    prices: &[PriceRow],
    access: &[SkuAccess],
    now: DateTime<Utc>,
    days: i64,
) -> RenewalTable {
    let unused_of: HashMap<(&str, &str), f64> = unused
        .iter()
        .map(|u| {
            (
                (u.customer_tenant_id.as_str(), u.subscription_id.as_str()),
                u.unused,
            )
        })
        .collect();
    let horizon = now + Duration::days(days);
    let mut rows: Vec<Renewal> = subscriptions
        .iter()
        .filter(|s| s.auto_renew)
        .filter_map(|s| {
            let term_end = s.term_end.filter(|t| *t > now && *t <= horizon)?;
            let unused = *unused_of.get(&(s.customer_tenant_id.as_str(), s.subscription_id.as_str()))?;
            if unused <= 0.0 {
                return None;
            }
            let unused_at_renewal = (unused - s.scheduled_reduction()).max(0.0);
            let months = s.renewal_term.as_ref().and_then(|t| t.months);
            let locked_in = monthly_price(s, prices)
                .zip(months)
                .map(|((price, currency), months)| {
                    (unused_at_renewal * price * f64::from(months), currency.to_owned())
                });
            Some(Renewal {
                customer_tenant_id: s.customer_tenant_id.clone(),
                customer_name: s.customer_name.clone(),
                subscription_id: s.subscription_id.clone(),
                offer_name: s.offer_name.clone(),
                friendly_name: s.friendly_name.clone(),
                term_end,
                quantity: s.quantity,
                unused,
                scheduled: s.scheduled_next_term.as_ref().and_then(|n| n.quantity),
                unused_at_renewal,
                locked_in,
            })
        })
        .collect();
    rows.sort_by(|a, b| (a.term_end, &a.subscription_id).cmp(&(b.term_end, &b.subscription_id)));
    RenewalTable {
        rows,
        days,
        without_access: access.iter().filter(|a| !a.granted).count(),
        priced: !prices.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::{BillingCycle, Commerce, NextTerm, SubscriptionStatus, TermDuration};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
    }

    fn sub(id: &str, end_days: i64, auto_renew: bool) -> SubscriptionRow {
        SubscriptionRow {
            customer_tenant_id: "c1".into(),
            customer_name: "Contoso".into(),
            subscription_id: id.into(),
            offer_id: "CFQ7TTC0LF8Q:0001:X".into(),
            offer_name: "Office 365 E3".into(),
            friendly_name: id.into(),
            commerce: Commerce::Nce,
            catalog_product_id: "CFQ7TTC0LF8Q".into(),
            catalog_sku_id: "0001".into(),
            catalog_country: None,
            product_type: String::new(),
            sku_id: "e3".into(),
            quantity: 20.0,
            status: SubscriptionStatus::Active,
            auto_renew,
            is_trial: false,
            billing_cycle: Some(BillingCycle::Annual),
            term: TermDuration::parse("P1Y"),
            renewal_term: TermDuration::parse("P1Y"),
            term_end: Some(now() + Duration::days(end_days)),
            cancellation_allowed_until: None,
            scheduled_next_term: None,
        }
    }

    fn price(plan: BillingCycle, monthly: f64) -> PriceRow {
        PriceRow {
            product_id: "CFQ7TTC0LF8Q".into(),
            sku_id: "0001".into(),
            term_duration: TermDuration::parse("P1Y").unwrap(),
            billing_plan: plan,
            currency: "USD".into(),
            monthly_price: monthly,
        }
    }

    fn unused(id: &str, n: f64) -> UnusedRow {
        UnusedRow {
            customer_tenant_id: "c1".into(),
            subscription_id: id.into(),
            sku_id: "e3".into(),
            unused: n,
        }
    }

    #[test]
    fn only_auto_renewing_subscriptions_ending_soon_with_unused_seats_are_listed_in_order() {
        let mut reduced = sub("s6", 5, true);
        reduced.scheduled_next_term = Some(NextTerm {
            quantity: Some(18.0),
            ..NextTerm::default()
        });
        let subs = [
            sub("s1", 10, true),
            sub("s2", 20, true),
            sub("s5", 5, false),
            reduced,
            sub("s7", 3, true),
        ];
        let prices = [
            price(BillingCycle::Annual, 23.0),
            price(BillingCycle::Monthly, 23.5),
        ];
        let table = renewals_within(
            &subs,
            &[
                unused("s1", 5.0),
                unused("s2", 5.0),
                unused("s5", 5.0),
                unused("s6", 5.0),
                unused("s7", 0.0),
            ],
            &prices,
            &[],
            now(),
            14,
        );
        let ids: Vec<&str> = table.rows.iter().map(|r| r.subscription_id.as_str()).collect();
        assert_eq!(ids, ["s6", "s1"]);
        assert_eq!(table.rows[0].unused_at_renewal, 3.0);
        assert_eq!(table.rows[0].locked_in, Some((3.0 * 23.0 * 12.0, "USD".into())));
        assert_eq!(table.rows[1].locked_in, Some((1380.0, "USD".into())));
        assert!(table.priced);
    }

    #[test]
    fn a_missing_billing_plan_falls_back_to_the_dearest_plan_of_the_term() {
        let mut s = sub("s2", 5, true);
        s.billing_cycle = Some(BillingCycle::Triennial);
        let prices = [
            price(BillingCycle::Annual, 23.0),
            price(BillingCycle::Monthly, 23.5),
        ];
        assert_eq!(monthly_price(&s, &prices), Some((23.5, "USD")));
        s.term = TermDuration::parse("P2Y");
        assert_eq!(monthly_price(&s, &prices), None);
    }
}
