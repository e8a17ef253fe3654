//! Tests of `licence_truth`: the data agrees with itself, every alert case is placed, and the
//! thresholds are those of the shipped rules.

use std::time::SystemTime;

use super::*;
use crate::simulator::data::{DataConfig, DataStore};
use crate::simulator::render::{PercentScale, Style, UsageSpelling};

fn store(customers: usize, seed: u64) -> DataStore {
    DataStore::new(DataConfig {
        seed,
        customers,
        drift: None,
        processed_date: None,
        style: Style {
            spelling: UsageSpelling::LicenseActive,
            percent: PercentScale::Percent,
        },
    })
}

#[test]
fn paid_seats_cover_the_assigned_ones_and_tenant_counts_agree_with_the_deployment_rows() {
    for seed in 0..10 {
        let view = store(60, seed).view(SystemTime::now());
        for (ci, (subs, skus)) in view.licences.ranges.iter().enumerate() {
            for d in &view.deployment[view.ranges[ci].1.clone()] {
                let paid: u64 = view.licences.subs[subs.clone()]
                    .iter()
                    .filter(|r| {
                        let p = view.planned(r);
                        p.product == usize::from(d.sub) && p.role.holds_sold_seats()
                    })
                    .map(|r| r.quantity)
                    .sum();
                assert_eq!(
                    paid, d.sold,
                    "seed {seed} customer {ci}: main and flex hold the sold seats"
                );
                assert!(d.deployed <= paid);
            }
            for k in &view.licences.skus[skus.clone()] {
                assert!(k.consumed <= k.total, "seed {seed}: {k:?}");
            }
        }
    }
}

#[test]
fn every_alert_case_is_placed_at_the_demo_size_for_every_seed() {
    for seed in 0..20 {
        let view = store(25, seed).view(SystemTime::now());
        let now = Utc::now();
        let alerts = view.expected_alerts(now);
        let unused: HashMap<String, f64> = view
            .expected_unused(now)
            .into_iter()
            .map(|u| (u.subscription_id, u.unused))
            .collect();
        let renewing: Vec<&SubRec> = view
            .licences
            .subs
            .iter()
            .filter(|r| alerts.renewing_soon.contains(&r.id))
            .collect();
        assert!(
            renewing.iter().any(|r| view.planned(r).term == Term::P1Y),
            "seed {seed}: an annual renewal"
        );
        assert!(
            renewing.iter().any(|r| view.planned(r).term == Term::P1M),
            "seed {seed}: a monthly renewal"
        );
        assert!(
            !alerts.window_closing.is_empty(),
            "seed {seed}: a refund window closing"
        );
        for r in &renewing {
            assert!(r.auto_renew && unused[&r.id] >= RENEWAL_UNUSED_MIN);
            assert!(view.gdap(r.customer));
        }
        // F4 (auto-renew off) and F5 (reduction scheduled) renew in five days without alerting.
        let quiet = |f: &dyn Fn(&SubRec) -> bool| {
            view.licences.subs.iter().any(|r| {
                (view.term_end(r) - now) < Duration::days(6) && f(r) && !alerts.renewing_soon.contains(&r.id)
            })
        };
        assert!(
            quiet(&|r| !r.auto_renew && r.status == "active"),
            "seed {seed}: F4"
        );
        assert!(
            quiet(&|r| r.scheduled.is_some_and(|s| s < r.quantity)),
            "seed {seed}: F5"
        );
        let no_gdap = &view.set.customers[4];
        assert!(!no_gdap.plan.gdap);
        assert!(
            view.expected_unused(now)
                .iter()
                .all(|u| u.customer_tenant_id != no_gdap.id)
        );
    }
}

const RULES: &str = include_str!("../../../deploy/prometheus/rules.yml");

/// The expression of `alert`, up to its `for:`.
fn alert(name: &str) -> &'static str {
    let start = RULES
        .find(&format!("alert: {name}"))
        .expect("the alert is in rules.yml");
    let rest = &RULES[start..];
    &rest[..rest.find("for:").expect("a for:")]
}

fn number(text: &str, pattern: &str) -> f64 {
    let re = regex::Regex::new(pattern).unwrap();
    re.captures(text)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or_else(|| panic!("{pattern} in {text}"))
}

#[test]
fn the_thresholds_are_those_of_the_shipped_rules() {
    let renewing = alert("PartnerCenterUnusedLicensesRenewingSoon");
    assert_eq!(
        number(renewing, r"partnercenter_subscription_unused_licenses >= (\d+)"),
        RENEWAL_UNUSED_MIN
    );
    let window = alert("PartnerCenterSeatReductionWindowClosing");
    assert_eq!(
        number(window, r"partnercenter_subscription_unused_licenses >= (\d+)"),
        WINDOW_UNUSED_MIN
    );
    assert_eq!(number(window, r"< (\d+) \* 3600"), WINDOW_HOURS as f64);
    let lead = |term: &str| {
        number(
            RULES,
            &format!(r#"label_replace\(vector\((\d+) \* 86400\), "term_duration", "{term}""#),
        ) as i64
    };
    assert_eq!(
        (lead("P1Y"), lead("P3Y"), lead("P1M")),
        (LEAD_DAYS_ANNUAL, LEAD_DAYS_ANNUAL, LEAD_DAYS_MONTHLY)
    );
}
