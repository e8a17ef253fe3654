//! The exporter against the built-in simulated Partner Center, end to end over loopback: every
//! collector's values checked against the simulator's own figures, paging through several pages of
//! every kind, token rotation, throttling, expired refresh tokens, and customers that come and go.

use std::time::Duration;

use partnercenter_exporter::app;
use partnercenter_exporter::model::derived_id;
use partnercenter_exporter::simulator::RunningSimulator;

use crate::support::*;

fn fmt(v: f64) -> String {
    format!("{v}")
}

/// The ids a row's series carry: Partner Center's, or for the legacy rows (no product id, no
/// workload code) the ids derived from the names.
fn ids(product_id: &str, product_name: &str, by_product_id: bool) -> String {
    if by_product_id {
        product_id.to_owned()
    } else {
        derived_id(product_name)
    }
}

/// Assert that the info series of `kind` names `id` as `name`, exactly once.
fn assert_named(text: &str, metric: &str, labels: [&str; 2], id: &str, name: &str) {
    let line = format!(
        "{metric}{{{}=\"{}\",{}=\"{}\"}} 1",
        labels[0],
        escape(id),
        labels[1],
        escape(name)
    );
    assert_eq!(
        text.lines().filter(|l| *l == line).count(),
        1,
        "{line} once in the exposition"
    );
    let same_id = format!("{metric}{{{}=\"{}\",", labels[0], escape(id));
    assert_eq!(
        text.lines().filter(|l| l.starts_with(&same_id)).count(),
        1,
        "one {metric} for {id}"
    );
}

/// Assert every expected usage row is on /metrics with its figures, and nothing else; and that
/// the info series name its customer, product and workload.
fn assert_usage_matches(text: &str, sim: &RunningSimulator, by_product_id: bool) {
    let expected = sim.expected_usage();
    assert!(!expected.is_empty());
    for row in &expected {
        let product = ids(&row.product_id, &row.product_name, by_product_id);
        let workload = if by_product_id {
            row.workload_code.clone()
        } else {
            derived_id(&row.workload_name).into()
        };
        let labels = [
            ("customer_tenant_id", row.customer_tenant_id.as_str()),
            ("product_id", product.as_str()),
            ("workload_code", workload.as_str()),
        ];
        assert_eq!(
            sample(text, "partnercenter_licenses_active", &labels).map(fmt),
            Some(fmt(row.licenses_active)),
            "active of {row:?}"
        );
        assert_eq!(
            sample(text, "partnercenter_licenses_qualified", &labels).map(fmt),
            Some(fmt(row.licenses_qualified)),
            "qualified of {row:?}"
        );
        assert_named(
            text,
            "partnercenter_customer_info",
            ["customer_tenant_id", "customer_name"],
            &row.customer_tenant_id,
            &row.customer_name,
        );
        assert_named(
            text,
            "partnercenter_product_info",
            ["product_id", "product_name"],
            &product,
            &row.product_name,
        );
        assert_named(
            text,
            "partnercenter_workload_info",
            ["workload_code", "workload_name"],
            &workload,
            &row.workload_name,
        );
    }
    let served = text
        .lines()
        .filter(|l| l.starts_with("partnercenter_licenses_active{"))
        .count();
    assert_eq!(served, expected.len(), "no series beyond the simulator's rows");
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("partnercenter_licenses_") && l.contains("_name=")),
        "value series carry ids only"
    );
}

/// Assert every expected deployment row is on /metrics with its figures, and nothing else.
fn assert_deployment_matches(text: &str, sim: &RunningSimulator, by_product_id: bool) {
    let expected = sim.expected_deployment();
    assert!(!expected.is_empty());
    for row in &expected {
        let product = ids(&row.product_id, &row.product_name, by_product_id);
        let labels = [
            ("customer_tenant_id", row.customer_tenant_id.as_str()),
            ("product_id", product.as_str()),
        ];
        assert_eq!(
            sample(text, "partnercenter_licenses_deployed", &labels),
            Some(row.licenses_deployed),
            "{row:?}"
        );
        assert_eq!(
            sample(text, "partnercenter_licenses_sold", &labels),
            Some(row.licenses_sold),
            "{row:?}"
        );
        assert_named(
            text,
            "partnercenter_customer_info",
            ["customer_tenant_id", "customer_name"],
            &row.customer_tenant_id,
            &row.customer_name,
        );
        assert_named(
            text,
            "partnercenter_product_info",
            ["product_id", "product_name"],
            &product,
            &row.product_name,
        );
    }
    let served = text
        .lines()
        .filter(|l| l.starts_with("partnercenter_licenses_sold{"))
        .count();
    assert_eq!(served, expected.len());
}

/// A label value as it appears, escaped, in the exposition.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[tokio::test]
async fn the_commercial_and_partner_collectors_serve_the_simulators_own_figures() {
    let stack = Stack::start(12, 7).await;
    let config = stack.config(&["--collector.partner-usage"]);
    let running = Running::start(&config).await;
    wait_ready(&running).await;
    let text = running.metrics().await;
    assert_valid_exposition(&text);
    for collector in ["usage", "deployment", "partner-deployment", "partner-usage"] {
        assert_eq!(
            sample(
                &text,
                "partnercenter_collector_success",
                &[("collector", collector)]
            ),
            Some(1.0),
            "{collector}"
        );
    }
    assert_usage_matches(&text, &stack.sim, true);
    assert_deployment_matches(&text, &stack.sim, true);
    for row in stack.sim.expected_partner_deployment() {
        let labels = [
            ("service_code", row.service_code.as_str()),
            ("channel", row.channel.as_str()),
        ];
        assert_eq!(
            sample(&text, "partnercenter_partner_licenses_sold", &labels),
            Some(row.licenses_sold)
        );
        assert_eq!(
            sample(&text, "partnercenter_prorated_deployment_percent", &labels),
            Some(row.prorated_deployment_percent)
        );
    }
    for row in stack.sim.expected_partner_usage() {
        let labels = [
            ("service_code", row.service_code.as_str()),
            ("workload_code", row.workload_code.as_str()),
            ("channel", row.channel.as_str()),
        ];
        assert_eq!(
            sample(&text, "partnercenter_prorated_licenses_usage_percent", &labels),
            Some(row.prorated_licenses_usage_percent),
            "{row:?}"
        );
    }
    // A page holds at most 7 rows: both commercial listings took at least three pages.
    let counts = stack.sim.request_counts();
    assert!(counts["commercial_usage"] >= 3, "{counts:?}");
    assert!(counts["commercial_deployment"] >= 3, "{counts:?}");
    running.stop().await;
}

#[tokio::test]
async fn the_per_customer_collectors_serve_the_same_figures_through_customer_paging() {
    let stack = Stack::start(12, 7).await;
    let config = stack.config(&[
        "--no-collector.usage",
        "--no-collector.deployment",
        "--no-collector.partner-deployment",
        "--collector.customer-usage",
        "--collector.customer-deployment",
    ]);
    let (exposition, ok) = app::collect_once(&config).await.expect("collects");
    let text = String::from_utf8(exposition).expect("utf-8");
    assert!(ok, "{text}");
    assert_valid_exposition(&text);
    assert_usage_matches(&text, &stack.sim, false);
    assert_deployment_matches(&text, &stack.sim, false);
    let counts = stack.sim.request_counts();
    // 12 customers, 4 per page: three pages, listed once for both collectors.
    assert_eq!(counts["customers"], 3, "{counts:?}");
    assert_eq!(counts["customer_usage"], 12, "{counts:?}");
    assert_eq!(counts["customer_deployment"], 12, "{counts:?}");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_every_new_one_is_persisted() {
    let stack = Stack::start(3, 10_000).await;
    let config = stack.config(&["--no-collector.partner-deployment"]);
    let running = Running::start(&config).await;
    wait_ready(&running).await;
    let first = stack.stored_refresh_token();
    assert_ne!(
        first, stack.initial_refresh_token,
        "the rotated token replaced the initial one"
    );

    // Two hours later the access token has expired upstream: Partner Center answers 401, the
    // exporter renews its token once and retries, and the sign-in service rotates again.
    stack.sim.advance_time(Duration::from_secs(2 * 3600));
    running.scheduler.run_once().await;
    let second = stack.stored_refresh_token();
    assert_ne!(second, first);
    let text = running.metrics().await;
    assert_eq!(
        sample(
            &text,
            "partnercenter_collector_success",
            &[("collector", "usage")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "partnercenter_token_refreshes_total",
            &[("result", "success")]
        ),
        Some(2.0)
    );
    assert!(
        sample(
            &text,
            "partnercenter_refresh_token_rotated_timestamp_seconds",
            &[]
        )
        .is_some_and(|t| t > 0.0)
    );
    assert!(
        !text.contains(&second) && !text.contains(&first),
        "tokens never reach /metrics"
    );
    running.stop().await;
}

#[tokio::test]
async fn throttling_is_retried_until_partner_center_lets_the_run_through() {
    let stack = Stack::start(6, 2).await;
    let config = stack.config(&[
        "--partnercenter.max-retries=30",
        "--no-collector.partner-deployment",
    ]);
    let running = Running::start(&config).await;
    wait_ready(&running).await;

    stack.sim.set_rate_limit(3);
    let scheduler = running.scheduler.clone();
    let run = tokio::spawn(async move { scheduler.run_once().await });
    // Each minute of simulated time lets three more requests through.
    for _ in 0..200 {
        if run.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        stack.sim.advance_time(Duration::from_secs(61));
    }
    let snapshot = run.await.expect("run finishes");
    assert!(
        snapshot.collectors.iter().all(|c| c.healthy()),
        "{:?}",
        snapshot.collectors
    );
    let text = running.metrics().await;
    let throttled = sample(
        &text,
        "partnercenter_api_retries_total",
        &[("endpoint", "commercial_usage"), ("reason", "429")],
    );
    assert!(
        throttled.is_some_and(|n| n > 0.0),
        "429s were retried: {throttled:?}"
    );
    assert!(sample(&text, "partnercenter_api_requests_total", &[("code", "429")]).is_some());
    assert_usage_matches(&text, &stack.sim, true);
    running.stop().await;
}

#[tokio::test]
async fn customers_added_and_removed_upstream_appear_and_vanish() {
    let stack = Stack::start(5, 10_000).await;
    let config = stack.config(&[]);
    let running = Running::start(&config).await;
    wait_ready(&running).await;
    let gone = stack.sim.customers()[0].clone();
    assert!(running.metrics().await.contains(&gone.tenant_id));

    assert!(stack.sim.remove_customer(&gone.id));
    let added = stack.sim.add_customer("Neue Kunden GmbH");
    running.scheduler.run_once().await;
    let text = running.metrics().await;
    assert!(
        !text.contains(&gone.tenant_id),
        "the removed customer's series vanished"
    );
    assert!(
        text.contains(&added.tenant_id),
        "the new customer's series appeared"
    );
    assert_usage_matches(&text, &stack.sim, true);
    assert_deployment_matches(&text, &stack.sim, true);
    running.stop().await;
}

#[tokio::test]
async fn an_expired_refresh_token_is_reported_and_the_last_good_data_is_kept() {
    let stack = Stack::start(3, 10_000).await;
    let config = stack.config(&["--no-collector.partner-deployment", "--collector.max-age=1000d"]);
    let running = Running::start(&config).await;
    wait_ready(&running).await;

    // 91 days without a sign-in: the refresh token died of inactivity (AADSTS700082).
    stack.sim.advance_time(Duration::from_secs(91 * 24 * 3600));
    running.scheduler.run_once().await;
    let text = running.metrics().await;
    assert_eq!(
        sample(
            &text,
            "partnercenter_collector_success",
            &[("collector", "usage")]
        ),
        Some(0.0)
    );
    // Collectors that wait for the same renewal share its outcome, so one or two attempts.
    let invalid = sample(
        &text,
        "partnercenter_token_refreshes_total",
        &[("result", "invalid_grant")],
    );
    assert!(invalid.is_some_and(|n| n >= 1.0), "{invalid:?}");
    assert!(
        text.contains("partnercenter_licenses_active{"),
        "the last good data is still served"
    );
    let landing = running.get("/").await.text().await.expect("landing page");
    assert!(
        landing.contains("AADSTS700082") || landing.contains("expired"),
        "{landing}"
    );
    assert_eq!(running.get("/-/healthy").await.status(), 200);
    running.stop().await;
}

#[tokio::test]
async fn the_demo_serves_simulated_data_and_says_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_partnercenter-exporter"))
        .args(["--demo", &format!("--web.listen-address=127.0.0.1:{port}")])
        .env_remove("PARTNERCENTER_WEB_LISTEN_ADDRESS")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("demo starts");
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..300 {
        if reqwest::get(format!("{base}/-/ready"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Ready from the first collector published; each collector is published as it finishes.
    let mut metrics = String::new();
    for _ in 0..300 {
        metrics = reqwest::get(format!("{base}/metrics"))
            .await
            .expect("scrape")
            .text()
            .await
            .expect("body");
        if metrics.contains("partnercenter_licenses_active{")
            && metrics.contains("partnercenter_prorated_deployment_percent{")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let landing = reqwest::get(format!("{base}/"))
        .await
        .expect("landing")
        .text()
        .await
        .expect("body");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = tokio::task::spawn_blocking(move || {
        let status = child.wait();
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            use std::io::Read;
            let _ = pipe.read_to_string(&mut stderr);
        }
        (status, stderr)
    })
    .await
    .expect("joins");
    assert!(ready, "demo became ready; stderr: {}", output.1);
    assert_valid_exposition(&metrics);
    assert!(metrics.contains("partnercenter_licenses_active{"));
    assert!(metrics.contains("partnercenter_prorated_deployment_percent{"));
    assert!(landing.to_lowercase().contains("simulated"), "{landing}");
    assert!(output.1.contains("DEMO MODE"), "{}", output.1);
    assert_eq!(output.0.expect("exit status").code(), Some(0));
}
