//! Which of our paid licences nobody uses: the tenant's unassigned seats of a SKU, attributed to
//! our subscriptions of that SKU. A pure function; the README's "Unused licenses" explains the
//! rule to users.
//!
//! For each customer and Entra SKU:
//!
//! 1. No subscribed-SKU row for the pair (the customer refused, or the SKU is not provisioned
//!    yet), or a subscription whose SKU is unknown: no figure at all. Unknown is not zero.
//! 2. `pool = max(0, total − consumed − our trial seats − our expired new-commerce seats)`: the
//!    tenant's unassigned seats, counting every channel. Trial and expired (grace period) seats are
//!    in the tenant's total but are leaving; users on them still need seats, so they never make
//!    our paid seats look unused.
//! 3. A suspended new-commerce subscription is billed but nobody can use it: all its seats are
//!    unused (they sit in `suspendedUnits`, not in the pool).
//! 4. Our billed, usable subscriptions (new commerce or legacy, active, not trials) share
//!    `min(pool, their seats)`: the largest reduction of our subscriptions that unassigns nobody,
//!    since licences are pooled per SKU in a tenant. What is left of the pool belongs to other
//!    channels (direct, EA, another partner), which this partner cannot change, so it is never
//!    blamed on our subscriptions, and no subscription gets more than its own quantity.
//! 5. The share goes to the subscription whose deadline comes first: the end of an open refund
//!    window, else the term end (no end = last; ties by subscription id). That is where a
//!    reduction can happen soonest, so the alert fires at the first chance to act.
//!    Subscriptions that get 0 are reported as 0: paid and fully used.
//! 6. Subscriptions that are not billed (trials, expired, disabled, deleted, pending, legacy
//!    suspended, unknown statuses) get no figure.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::model::{Commerce, SubscribedSkuRow, SubscriptionRow, SubscriptionStatus, UnusedRow};

/// The last moment seats of `sub` can be shed: an open refund window's end, else the term end.
fn deadline(sub: &SubscriptionRow, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let window = sub.cancellation_allowed_until.filter(|t| *t > now);
    match (window, sub.term_end) {
        (Some(w), Some(e)) => Some(w.min(e)),
        (w, e) => w.or(e),
    }
}

/// Seats of trials and expired new-commerce subscriptions: in the tenant's total, but leaving.
fn leaving(sub: &SubscriptionRow) -> bool {
    let trial = sub.is_trial
        && matches!(
            sub.status,
            SubscriptionStatus::Active | SubscriptionStatus::Pending
        );
    let expired = sub.commerce == Commerce::Nce && sub.status == SubscriptionStatus::Expired && !sub.is_trial;
    trial || expired
}

/// The unused licences of our subscriptions, from the subscriptions and the tenants' SKU counts.
pub fn attribute_unused(
    subscriptions: &[SubscriptionRow],
    skus: &[SubscribedSkuRow],
    now: DateTime<Utc>,
) -> Vec<UnusedRow> {
    let tenant: HashMap<(&str, &str), &SubscribedSkuRow> = skus
        .iter()
        .map(|s| ((s.customer_tenant_id.as_str(), s.sku_id.as_str()), s))
        .collect();
    let mut groups: HashMap<(&str, &str), Vec<&SubscriptionRow>> = HashMap::new();
    for sub in subscriptions.iter().filter(|s| !s.sku_id.is_empty()) {
        groups
            .entry((sub.customer_tenant_id.as_str(), sub.sku_id.as_str()))
            .or_default()
            .push(sub);
    }
    let mut out = Vec::new();
    let mut keys: Vec<(&str, &str)> = groups.keys().copied().collect();
    keys.sort_unstable();
    for key in keys {
        let Some(sku) = tenant.get(&key) else {
            continue;
        };
        let group = &groups[&key];
        let leaving_seats: f64 = group
            .iter()
            .filter(|s| leaving(s))
            .map(|s| s.quantity.max(0.0))
            .sum();
        let pool = (sku.total_units - sku.consumed_units - leaving_seats).max(0.0);
        let emit = |sub: &SubscriptionRow, unused: f64| UnusedRow {
            customer_tenant_id: sub.customer_tenant_id.clone(),
            subscription_id: sub.subscription_id.clone(),
            sku_id: sub.sku_id.clone(),
            unused,
        };
        for sub in group.iter().filter(|s| s.is_billed() && !s.is_billed_usable()) {
            out.push(emit(sub, sub.quantity.max(0.0)));
        }
        let mut usable: Vec<&SubscriptionRow> =
            group.iter().copied().filter(|s| s.is_billed_usable()).collect();
        // `None` (no end) sorts after every date; then by id, so the order is total.
        usable.sort_by(|a, b| {
            let (da, db) = (deadline(a, now), deadline(b, now));
            (da.is_none(), da, &a.subscription_id).cmp(&(db.is_none(), db, &b.subscription_id))
        });
        let paid: f64 = usable.iter().map(|s| s.quantity.max(0.0)).sum();
        let mut remaining = pool.min(paid);
        for sub in usable {
            let unused = remaining.min(sub.quantity.max(0.0));
            remaining -= unused;
            out.push(emit(sub, unused));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::model::{NextTerm, TermDuration};

    const E3: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
    }

    fn days(n: i64) -> Option<DateTime<Utc>> {
        Some(now() + Duration::days(n))
    }

    fn sub(
        id: &str,
        commerce: Commerce,
        status: SubscriptionStatus,
        qty: f64,
        end: Option<DateTime<Utc>>,
    ) -> SubscriptionRow {
        SubscriptionRow {
            customer_tenant_id: "c1".into(),
            customer_name: "Contoso".into(),
            subscription_id: id.into(),
            offer_id: "x".into(),
            offer_name: "Office 365 E3".into(),
            friendly_name: id.into(),
            commerce,
            catalog_product_id: String::new(),
            catalog_sku_id: String::new(),
            catalog_country: None,
            product_type: String::new(),
            sku_id: E3.into(),
            quantity: qty,
            status,
            auto_renew: true,
            is_trial: false,
            billing_cycle: None,
            term: TermDuration::parse("P1Y"),
            renewal_term: TermDuration::parse("P1Y"),
            term_end: end,
            cancellation_allowed_until: None,
            scheduled_next_term: None::<NextTerm>,
        }
    }

    fn active(id: &str, qty: f64, end_days: i64) -> SubscriptionRow {
        sub(id, Commerce::Nce, SubscriptionStatus::Active, qty, days(end_days))
    }

    fn tenant(total: f64, consumed: f64) -> SubscribedSkuRow {
        SubscribedSkuRow {
            customer_tenant_id: "c1".into(),
            sku_id: E3.into(),
            total_units: total,
            consumed_units: consumed,
            ..SubscribedSkuRow::default()
        }
    }

    /// `(subscription id, unused)`, sorted by id.
    fn unused(subs: &[SubscriptionRow], skus: &[SubscribedSkuRow]) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = attribute_unused(subs, skus, now())
            .into_iter()
            .map(|u| (u.subscription_id, u.unused))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn pairs(expected: &[(&str, f64)]) -> Vec<(String, f64)> {
        expected.iter().map(|(id, n)| ((*id).to_owned(), *n)).collect()
    }

    #[test]
    fn several_subscriptions_of_one_sku_take_the_unused_seats_nearest_deadline_first() {
        let subs = [
            active("s1", 20.0, 10),
            active("s2", 30.0, 200),
            active("s3", 5.0, 20),
        ];
        assert_eq!(
            unused(&subs, &[tenant(55.0, 40.0)]),
            pairs(&[("s1", 15.0), ("s2", 0.0), ("s3", 0.0)])
        );
    }

    #[test]
    fn an_open_refund_window_comes_before_a_nearer_term_end() {
        let mut s4 = active("s4", 10.0, 362);
        s4.cancellation_allowed_until = days(4);
        let mut closed = active("s1", 20.0, 10);
        closed.cancellation_allowed_until = days(-300);
        assert_eq!(
            unused(&[s4, closed], &[tenant(30.0, 18.0)]),
            pairs(&[("s1", 2.0), ("s4", 10.0)])
        );
    }

    #[test]
    fn seats_bought_through_another_channel_are_never_blamed_on_ours() {
        let subs = [active("s1", 20.0, 30)];
        assert_eq!(unused(&subs, &[tenant(50.0, 42.0)]), pairs(&[("s1", 8.0)]));
        assert_eq!(
            unused(&subs, &[tenant(50.0, 25.0)]),
            pairs(&[("s1", 20.0)]),
            "capped at our 20; the other 5 unassigned are the other channel's"
        );
    }

    #[test]
    fn suspended_seats_are_all_unused_and_trials_and_legacy_suspended_get_no_figure() {
        let mut trial = active("s3", 25.0, 20);
        trial.is_trial = true;
        let subs = [
            active("s1", 10.0, 100),
            sub("s2", Commerce::Nce, SubscriptionStatus::Suspended, 5.0, days(100)),
            trial,
            sub(
                "s4",
                Commerce::Legacy,
                SubscriptionStatus::Suspended,
                3.0,
                days(100),
            ),
        ];
        assert_eq!(
            unused(&subs, &[tenant(35.0, 12.0)]),
            pairs(&[("s1", 0.0), ("s2", 5.0)])
        );
        assert_eq!(
            unused(&subs, &[tenant(35.0, 6.0)]),
            pairs(&[("s1", 4.0), ("s2", 5.0)])
        );
    }

    #[test]
    fn a_sku_without_subscriptions_and_subscriptions_without_a_sku_row_get_nothing() {
        let mut other = tenant(5.0, 1.0);
        other.sku_id = "f8a1db68-be16-40ed-86d5-cb42ce701560".into();
        assert!(unused(&[], &[other.clone()]).is_empty());
        assert!(
            unused(&[active("s5", 10.0, 30)], &[other]).is_empty(),
            "no row for E3"
        );
        let mut unresolved = active("s6", 10.0, 30);
        unresolved.sku_id.clear();
        assert!(unused(&[unresolved], &[tenant(20.0, 0.0)]).is_empty());
        assert!(
            unused(&[active("s7", 10.0, 30)], &[]).is_empty(),
            "a customer that refused"
        );
    }

    #[test]
    fn more_assigned_than_bought_means_nothing_unused() {
        assert_eq!(
            unused(&[active("s1", 10.0, 30)], &[tenant(10.0, 12.0)]),
            pairs(&[("s1", 0.0)])
        );
    }

    #[test]
    fn expired_seats_in_their_grace_period_are_not_counted_as_ours() {
        let subs = [
            active("s1", 10.0, 30),
            sub("s2", Commerce::Nce, SubscriptionStatus::Expired, 10.0, days(-5)),
        ];
        assert_eq!(unused(&subs, &[tenant(20.0, 10.0)]), pairs(&[("s1", 0.0)]));
    }

    #[test]
    fn legacy_and_new_commerce_of_one_sku_share_by_deadline() {
        let subs = [
            sub("s1", Commerce::Legacy, SubscriptionStatus::Active, 5.0, days(40)),
            active("s2", 10.0, 200),
        ];
        assert_eq!(
            unused(&subs, &[tenant(15.0, 9.0)]),
            pairs(&[("s1", 5.0), ("s2", 1.0)])
        );
    }

    #[test]
    fn a_subscription_without_an_end_comes_last() {
        let subs = [
            active("s1", 4.0, 30),
            sub("s9", Commerce::Nce, SubscriptionStatus::Active, 4.0, None),
        ];
        assert_eq!(
            unused(&subs, &[tenant(8.0, 2.0)]),
            pairs(&[("s1", 4.0), ("s9", 2.0)])
        );
    }

    #[test]
    fn unknown_statuses_and_other_customers_are_kept_apart() {
        let mut elsewhere = active("s2", 10.0, 30);
        elsewhere.customer_tenant_id = "c2".into();
        let subs = [
            sub(
                "s1",
                Commerce::Nce,
                SubscriptionStatus::Unknown("transferring".into()),
                5.0,
                days(30),
            ),
            elsewhere,
        ];
        let mut c2 = tenant(10.0, 0.0);
        c2.customer_tenant_id = "c2".into();
        assert_eq!(unused(&subs, &[tenant(10.0, 0.0), c2]), pairs(&[("s2", 10.0)]));
    }

    #[test]
    fn the_invariants_hold_on_many_generated_cases() {
        // A small deterministic generator: never more than the quantity, never more than the pool.
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for _ in 0..500 {
            let count = 1 + next(4) as usize;
            let subs: Vec<SubscriptionRow> = (0..count)
                .map(|i| {
                    let status = [
                        SubscriptionStatus::Active,
                        SubscriptionStatus::Suspended,
                        SubscriptionStatus::Expired,
                    ][next(3) as usize]
                        .clone();
                    let commerce = if next(2) == 0 {
                        Commerce::Nce
                    } else {
                        Commerce::Legacy
                    };
                    let mut s = sub(
                        &format!("s{i}"),
                        commerce,
                        status,
                        next(30) as f64,
                        days(next(400) as i64 - 20),
                    );
                    s.is_trial = next(8) == 0;
                    s
                })
                .collect();
            let total = next(120) as f64;
            let consumed = next(140) as f64;
            let result = attribute_unused(&subs, &[tenant(total, consumed)], now());
            let leaving: f64 = subs.iter().filter(|s| leaving(s)).map(|s| s.quantity).sum();
            let pool = (total - consumed - leaving).max(0.0);
            let mut usable_sum = 0.0;
            for u in &result {
                let s = subs
                    .iter()
                    .find(|s| s.subscription_id == u.subscription_id)
                    .unwrap();
                assert!(s.is_billed(), "only billed subscriptions get a figure");
                assert!(u.unused >= 0.0 && u.unused <= s.quantity, "{u:?} of {s:?}");
                if s.is_billed_usable() {
                    usable_sum += u.unused;
                }
            }
            assert!(usable_sum <= pool + 1e-9, "{usable_sum} > {pool}");
            assert_eq!(
                result,
                attribute_unused(&subs, &[tenant(total, consumed)], now()),
                "deterministic"
            );
        }
    }
}
