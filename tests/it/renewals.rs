//! The commercial collectors against the built-in simulated Partner Center, end to end: every
//! subscription, licence-count, unused-licence and price series equals the simulator's own
//! figures (its attribution is a second implementation of the README's rule), and the landing
//! page lists exactly the renewals the simulator placed in the next 14 days.

use std::collections::BTreeSet;

use chrono::Duration;
use partnercenter_exporter::app;

use crate::support::*;

fn id_pair(text: &str, line_prefix: &str) -> BTreeSet<(String, String)> {
    text.lines()
        .filter(|l| l.starts_with(line_prefix))
        .filter_map(|l| {
            let label = |name: &str| {
                let start = l.find(&format!("{name}=\""))? + name.len() + 2;
                let end = l[start..].find('"')? + start;
                Some(l[start..end].to_owned())
            };
            Some((label("customer_tenant_id")?, label("subscription_id")?))
        })
        .collect()
}

#[tokio::test]
async fn every_commercial_series_equals_the_simulators_figures() {
    let stack = Stack::start(40, 500).await;
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.csv");
    std::fs::write(&prices, stack.sim.price_sheet_csv()).unwrap();
    let config = stack.config(&[&format!("--pricing.file={}", prices.display())]);
    let (exposition, ok) = app::collect_once(&config).await.expect("collects");
    let text = String::from_utf8(exposition).unwrap();
    assert!(ok, "{text}");
    assert_valid_exposition(&text);

    let subs = stack.sim.expected_subscriptions();
    assert!(subs.len() > 60, "{}", subs.len());
    let listed = id_pair(&text, "partnercenter_subscription_info{");
    let expected: BTreeSet<(String, String)> = subs
        .iter()
        .map(|s| (s.customer_tenant_id.clone(), s.subscription_id.clone()))
        .collect();
    assert_eq!(listed, expected);
    for s in &subs {
        let id = [("subscription_id", s.subscription_id.as_str())];
        let value = |metric: &str| sample(&text, metric, &id);
        assert_eq!(
            value("partnercenter_subscription_licenses"),
            Some(s.quantity),
            "{s:?}"
        );
        assert_eq!(
            value("partnercenter_subscription_auto_renew"),
            Some(f64::from(u8::from(s.auto_renew)))
        );
        assert_eq!(
            value("partnercenter_subscription_term_end_timestamp_seconds"),
            s.term_end.map(|t| t.timestamp() as f64),
            "{s:?}"
        );
        assert_eq!(
            value("partnercenter_subscription_cancellation_allowed_until_timestamp_seconds"),
            s.cancellation_allowed_until.map(|t| t.timestamp() as f64)
        );
        assert_eq!(
            value("partnercenter_subscription_scheduled_next_term_licenses"),
            s.scheduled_next_term.as_ref().and_then(|n| n.quantity)
        );
        let info = text
            .lines()
            .find(|l| l.starts_with("partnercenter_subscription_info{") && l.contains(&s.subscription_id))
            .unwrap();
        for (label, want) in [
            ("sku_id", s.sku_id.as_str()),
            ("status", s.status.label()),
            ("commerce", s.commerce.label()),
            ("offer_id", s.offer_id.as_str()),
            ("trial", if s.is_trial { "true" } else { "false" }),
        ] {
            assert!(
                info.contains(&format!("{label}=\"{want}\"")),
                "{label}={want} in {info}"
            );
        }
    }
    assert!(subs.iter().any(|s| s.is_trial) && subs.iter().any(|s| s.status.label() == "suspended"));
    assert!(subs.iter().any(|s| s.status.label() == "expired") && subs.iter().any(|s| !s.auto_renew));
    assert!(
        subs.iter().any(|s| s.commerce.label() == "legacy"),
        "legacy and new commerce side by side"
    );

    let skus = stack.sim.expected_subscribed_skus();
    for row in &skus.rows {
        let units = |state: &str| {
            sample(
                &text,
                "partnercenter_subscribed_sku_units",
                &[
                    ("customer_tenant_id", &row.customer_tenant_id),
                    ("sku_id", &row.sku_id),
                    ("state", state),
                ],
            )
        };
        assert_eq!(units("total"), Some(row.total_units), "{row:?}");
        assert_eq!(units("consumed"), Some(row.consumed_units));
        assert_eq!(units("suspended"), Some(row.suspended_units));
        assert_eq!(units("warning"), Some(row.warning_units));
        assert!(
            row.consumed_units <= row.total_units,
            "assigned never exceeds the tenant's seats: {row:?}"
        );
    }
    let no_gdap = stack.sim.no_gdap_customers();
    assert!(!no_gdap.is_empty());
    for access in &skus.access {
        let value = sample(
            &text,
            "partnercenter_subscribed_skus_access",
            &[("customer_tenant_id", &access.customer_tenant_id)],
        );
        assert_eq!(
            value,
            Some(if no_gdap.contains(&access.customer_tenant_id) {
                0.0
            } else {
                1.0
            })
        );
    }
    assert_eq!(
        sample(
            &text,
            "partnercenter_collector_customer_errors",
            &[("collector", "subscribed-skus")]
        ),
        Some(no_gdap.len() as f64)
    );

    let mut exported: Vec<(String, String)> = text
        .lines()
        .filter(|l| l.starts_with("partnercenter_subscription_unused_licenses{"))
        .map(|l| {
            let (labels, value) = l.rsplit_once(' ').unwrap();
            (labels.to_owned(), value.to_owned())
        })
        .collect();
    exported.sort();
    let mut expected: Vec<(String, String)> = stack
        .sim
        .expected_unused()
        .into_iter()
        .map(|u| {
            (
                format!(
                    "partnercenter_subscription_unused_licenses{{customer_tenant_id=\"{}\",subscription_id=\"{}\",sku_id=\"{}\"}}",
                    u.customer_tenant_id, u.subscription_id, u.sku_id
                ),
                format!("{}", u.unused),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(exported, expected);
    assert!(expected.iter().any(|(_, v)| v != "0"), "some seats are unused");

    // Office 365 E3 (CFQ7TTC0S002), annual term billed annually: 276 a year, 23 a month; the
    // superseded row of last month (10 % cheaper) is not taken.
    let price = sample(
        &text,
        "partnercenter_license_unit_price",
        &[
            ("product_id", "CFQ7TTC0S002"),
            ("sku_id", "0001"),
            ("term_duration", "P1Y"),
            ("billing_plan", "annual"),
        ],
    );
    assert_eq!(price, Some(23.0));
    assert!(
        sample(&text, "partnercenter_pricing_prices", &[]).is_some_and(|n| n > 50.0),
        "the prices were counted"
    );
}

#[tokio::test]
async fn the_landing_page_lists_the_renewals_of_the_next_fourteen_days_with_unused_licenses() {
    let stack = Stack::start(25, 500).await;
    let running = Running::start(&stack.config(&[])).await;
    running.scheduler.run_once().await;
    let page = running.get("/").await.text().await.unwrap();
    running.stop().await;
    let now = stack.sim.now();
    let unused: std::collections::HashMap<String, f64> = stack
        .sim
        .expected_unused()
        .into_iter()
        .map(|u| (u.subscription_id, u.unused))
        .collect();
    let expected: BTreeSet<String> = stack
        .sim
        .expected_subscriptions()
        .into_iter()
        .filter(|s| {
            s.auto_renew
                && s.term_end
                    .is_some_and(|t| t > now && t <= now + Duration::days(14))
        })
        .filter(|s| unused.get(&s.subscription_id).is_some_and(|u| *u > 0.0))
        .map(|s| s.subscription_id)
        .collect();
    assert!(
        !expected.is_empty(),
        "the simulator places renewals in the next 14 days"
    );
    let section = &page[page
        .find("Renewals in the next 14 days with unused licenses")
        .expect("the section")..];
    let listed: BTreeSet<String> = section
        .match_indices("<td title=\"")
        .map(|(i, _)| {
            let rest = &section[i + 11..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        // Titles name tenants and subscriptions; keep the subscriptions.
        .filter(|id| unused.contains_key(id) || expected.contains(id))
        .collect();
    assert_eq!(listed, expected, "{section}");
    assert!(section.contains("No prices loaded"), "no --pricing.file here");
}
