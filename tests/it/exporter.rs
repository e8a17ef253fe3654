//! The exporter end to end against a wiremock Partner Center: exposition, snapshots, scrape mode,
//! readiness, staleness, gzip, secrets, and the binary's exit codes.

use std::io::Read;
use std::time::Duration;

use partnercenter_exporter::app;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const CUSTOMER_A: &str = "0112a436-b14e-4888-967b-ca4bb2cf1234";
const CUSTOMER_B: &str = "7d3c1f0e-2b7a-4c55-9d1e-5a9b2c3d4e5f";
const PRODUCT: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";

/// Mount the three default collectors' endpoints with two customers, one with a hostile name.
async fn mount_default_data(server: &MockServer, customers: &[&str]) {
    let names = |c: &str| {
        if c == CUSTOMER_A {
            "Contoso \"Quoted\" \\ Ltd\nSecond line — Zürich"
        } else {
            "Fabrikam, Inc."
        }
    };
    let usage: Vec<_> = customers
        .iter()
        .flat_map(|c| {
            [
                usage_row(c, names(c), PRODUCT, "EXO", 3, 10),
                usage_row(c, names(c), PRODUCT, "SPO", 1, 10),
            ]
        })
        .collect();
    let deployment: Vec<_> = customers
        .iter()
        .map(|c| deployment_row(c, names(c), PRODUCT, 8, 10))
        .collect();
    serve_json(server, USAGE_PATH, commercial_page(usage)).await;
    serve_json(server, DEPLOYMENT_PATH, commercial_page(deployment)).await;
    serve_json(
        server,
        PARTNER_DEPLOYMENT_PATH,
        json!({
            "totalCount": 1,
            "items": [{
                "proratedDeploymentPercent": 0.8,
                "licensesSold": 20,
                "processedDateTime": "2026-11-20T00:00:00+00:00",
                "serviceName": "o365",
                "channel": "reseller",
                "attributes": {"objectType": "PartnerLicensesDeploymentInsights"}
            }],
            "attributes": {"objectType": "Collection"}
        }),
    )
    .await;
}

/// Serve one usage row after `delay`: a run that takes a while.
async fn mount_slow_usage(server: &MockServer, delay: Duration) {
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(commercial_page(vec![usage_row(
                    CUSTOMER_A, "A", PRODUCT, "EXO", 1, 2,
                )]))
                .set_delay(delay),
        )
        .mount(server)
        .await;
}

fn data_lines(text: &str) -> String {
    let data_families = [
        "partnercenter_licenses_",
        "partnercenter_prorated_",
        "partnercenter_partner_licenses_",
        "partnercenter_data_processed_",
        "partnercenter_collector_rows",
        "partnercenter_customer_info",
        "partnercenter_product_info",
        "partnercenter_workload_info",
        "partnercenter_service_info",
    ];
    text.lines()
        .filter(|l| {
            let name = l.trim_start_matches("# HELP ").trim_start_matches("# TYPE ");
            data_families.iter().any(|f| name.starts_with(f))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[tokio::test]
async fn the_exposition_matches_the_golden_file() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A, CUSTOMER_B]).await;
    let secrets = secrets();
    let config = config(&server, &secrets, &[]);
    let (exposition, ok) = app::collect_once(&config).await.expect("collects");
    assert!(ok, "every collector succeeds");
    let text = String::from_utf8(exposition).expect("utf-8");
    assert_valid_exposition(&text);

    let actual = data_lines(&text);
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/metrics.prom");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &actual).expect("write golden file");
    }
    let expected = std::fs::read_to_string(&golden).expect("golden file exists (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(
        actual, expected,
        "exposition differs from tests/golden/metrics.prom"
    );
}

#[tokio::test]
async fn hostile_label_values_are_escaped_and_guids_lower_cased() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A]).await;
    let secrets = secrets();
    let (exposition, _) = app::collect_once(&config(&server, &secrets, &[]))
        .await
        .expect("collects");
    let text = String::from_utf8(exposition).expect("utf-8");
    assert_valid_exposition(&text);
    assert!(
        text.contains(&format!(
            r#"partnercenter_customer_info{{customer_tenant_id="{CUSTOMER_A}",customer_name="Contoso \"Quoted\" \\ Ltd\nSecond line — Zürich"}} 1"#
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("customer_tenant_id=\"{CUSTOMER_A}\"")),
        "GUIDs are lower-cased"
    );
    assert_eq!(
        sample(
            &text,
            "partnercenter_licenses_active",
            &[("workload_code", "EXO"), ("product_id", PRODUCT)]
        ),
        Some(3.0)
    );
}

#[tokio::test]
async fn customers_that_vanish_upstream_vanish_from_metrics_after_the_next_run() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A, CUSTOMER_B]).await;
    let secrets = secrets();
    let running = Running::start(&config(&server, &secrets, &["--collector.interval=1h"])).await;
    wait_ready(&running).await;
    let before = running.metrics().await;
    assert!(before.contains(CUSTOMER_B));

    server.reset().await;
    mount_token(&server).await;
    mount_default_data(&server, &[CUSTOMER_A]).await;
    running.scheduler.run_once().await;
    let after = running.metrics().await;
    assert_valid_exposition(&after);
    assert!(after.contains(CUSTOMER_A));
    assert!(
        !after.contains(CUSTOMER_B),
        "customer B vanished upstream and must vanish here"
    );
    running.stop().await;
}

#[tokio::test]
async fn a_failing_collector_keeps_its_last_good_data_and_the_others_are_unaffected() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A]).await;
    let secrets = secrets();
    let running = Running::start(&config(&server, &secrets, &[])).await;
    wait_ready(&running).await;

    // Usage now fails; wiremock answers with the first matching mock, so this one goes first.
    server.reset().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 800002, "description": "Invalid request input", "source": "PartnerFD"
        })))
        .mount(&server)
        .await;
    mount_default_data(&server, &[CUSTOMER_A, CUSTOMER_B]).await;
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
    assert_eq!(
        sample(
            &text,
            "partnercenter_collector_success",
            &[("collector", "deployment")]
        ),
        Some(1.0)
    );
    // Usage keeps the old data (customer A only); deployment has the new data (A and B).
    assert!(
        sample(
            &text,
            "partnercenter_licenses_active",
            &[("customer_tenant_id", CUSTOMER_A)]
        )
        .is_some()
    );
    assert!(
        sample(
            &text,
            "partnercenter_licenses_active",
            &[("customer_tenant_id", CUSTOMER_B)]
        )
        .is_none()
    );
    assert!(
        sample(
            &text,
            "partnercenter_licenses_sold",
            &[("customer_tenant_id", CUSTOMER_B)]
        )
        .is_some()
    );
    let landing = running.get("/").await.text().await.expect("landing page");
    assert!(
        landing.contains("failing"),
        "the landing page shows the failing collector"
    );
    assert!(
        landing.contains("800002") || landing.contains("Invalid request input"),
        "{landing}"
    );
    running.stop().await;
}

#[tokio::test]
async fn concurrent_scrapes_in_scrape_mode_share_one_run() {
    let server = upstream().await;
    mount_slow_usage(&server, Duration::from_millis(300)).await;
    let secrets = secrets();
    let running = Running::start(&config(
        &server,
        &secrets,
        &[
            "--collector.mode=scrape",
            "--collector.min-interval=1h",
            "--no-collector.deployment",
            "--no-collector.partner-deployment",
        ],
    ))
    .await;
    let scrapes = (0..5).map(|_| running.metrics());
    let bodies = futures::future::join_all(scrapes).await;
    for body in &bodies {
        assert_eq!(
            sample(
                body,
                "partnercenter_licenses_qualified",
                &[("customer_tenant_id", CUSTOMER_A)]
            ),
            Some(2.0)
        );
    }
    let usage_calls = requests_to(&server, USAGE_PATH).await;
    assert_eq!(usage_calls, 1, "five concurrent scrapes share one run");
    // Fresh data: the next scrape does not call Partner Center again.
    running.metrics().await;
    let usage_calls_after = requests_to(&server, USAGE_PATH).await;
    assert_eq!(usage_calls_after, 1);
    running.stop().await;
}

#[tokio::test]
async fn a_scrape_that_cannot_wait_gets_the_current_snapshot_while_the_run_goes_on() {
    let server = upstream().await;
    mount_slow_usage(&server, Duration::from_millis(1500)).await;
    let secrets = secrets();
    let running = Running::start(&config(
        &server,
        &secrets,
        &[
            "--collector.mode=scrape",
            "--no-collector.deployment",
            "--no-collector.partner-deployment",
        ],
    ))
    .await;
    let response = reqwest::Client::new()
        .get(format!("{}/metrics", running.base))
        .header("X-Prometheus-Scrape-Timeout-Seconds", "0.6")
        .send()
        .await
        .expect("scrape answers");
    assert_eq!(response.status(), 200);
    let early = response.text().await.expect("body");
    assert!(
        !early.contains("partnercenter_licenses_active{"),
        "no data yet: the run is still going"
    );
    wait_ready(&running).await;
    assert!(running.metrics().await.contains("partnercenter_licenses_active{"));
    running.stop().await;
}

#[tokio::test]
async fn ready_answers_503_until_the_first_collection_produced_data() {
    let server = upstream().await;
    mount_slow_usage(&server, Duration::from_millis(500)).await;
    let secrets = secrets();
    let running = Running::start(&config(
        &server,
        &secrets,
        &["--no-collector.deployment", "--no-collector.partner-deployment"],
    ))
    .await;
    assert_eq!(running.get("/-/healthy").await.status(), 200);
    assert_eq!(running.get("/-/ready").await.status(), 503);
    wait_ready(&running).await;
    running.stop().await;
}

#[tokio::test]
async fn data_older_than_max_age_is_dropped_rather_than_shown_as_current() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A]).await;
    let secrets = secrets();
    let running = Running::start(&config(&server, &secrets, &["--collector.max-age=300ms"])).await;
    wait_ready(&running).await;
    // The next run fails, so the data stops being refreshed.
    server.reset().await;
    mount_token(&server).await;
    running.scheduler.run_once().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let text = running.metrics().await;
    assert!(
        !text.contains("partnercenter_licenses_active{"),
        "expired data is not served"
    );
    assert!(
        text.contains("partnercenter_data_processed_timestamp_seconds{"),
        "its age stays visible"
    );
    running.stop().await;
}

#[tokio::test]
async fn gzip_scrapes_decode_to_the_same_exposition() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A, CUSTOMER_B]).await;
    let secrets = secrets();
    let running = Running::start(&config(&server, &secrets, &[])).await;
    wait_ready(&running).await;
    let plain = running.metrics().await;
    let response = reqwest::Client::new()
        .get(format!("{}/metrics", running.base))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .expect("scrape");
    assert_eq!(
        response.headers().get("content-encoding").map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    let compressed = response.bytes().await.expect("body");
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(&compressed[..])
        .read_to_string(&mut text)
        .expect("valid gzip");
    assert_valid_exposition(&text);
    assert_eq!(data_lines(&text), data_lines(&plain));
    running.stop().await;
}

#[tokio::test]
async fn secrets_never_reach_metrics_or_the_landing_page() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A]).await;
    let secrets = secrets();
    let config = config(&server, &secrets, &[]);
    let debug = format!("{config:?}");
    let running = Running::start(&config).await;
    wait_ready(&running).await;
    let metrics = running.metrics().await;
    let landing = running.get("/").await.text().await.expect("landing page");
    for secret in [
        CLIENT_SECRET,
        REFRESH_TOKEN,
        "test-access-token-value",
        "test-rotated-refresh-token-value",
    ] {
        assert!(!metrics.contains(secret), "{secret} in /metrics");
        assert!(!landing.contains(secret), "{secret} on the landing page");
        assert!(!debug.contains(secret), "{secret} in Debug of the configuration");
    }
    running.stop().await;
}

/// An upstream error body that echoes the request's `Authorization` header and a JWT.
async fn mount_usage_echoing_the_token(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "code": 400,
            "description": format!("Bad request: Authorization: Bearer test-access-token-value; {ECHOED_JWT}"),
        })))
        .mount(server)
        .await;
}

const ECHOED_JWT: &str = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJwYyJ9.c2lnbmF0dXJlLXZhbHVl";

#[tokio::test]
async fn an_access_token_echoed_by_an_upstream_error_is_redacted_on_the_landing_page() {
    let server = upstream().await;
    mount_usage_echoing_the_token(&server).await;
    mount_default_data(&server, &[CUSTOMER_A]).await;
    let secrets = secrets();
    let running = Running::start(&config(&server, &secrets, &[])).await;
    wait_ready(&running).await;

    let landing = running.get("/").await.text().await.expect("landing page");

    assert!(
        landing.contains("failing"),
        "the usage collector failed: {landing}"
    );
    assert!(landing.contains("[redacted]"), "{landing}");
    for secret in ["test-access-token-value", ECHOED_JWT] {
        assert!(!landing.contains(secret), "{secret} on the landing page");
    }
    running.stop().await;
}

#[tokio::test]
async fn an_access_token_echoed_by_an_upstream_error_is_redacted_in_the_logs() {
    let server = upstream().await;
    mount_usage_echoing_the_token(&server).await;
    mount_default_data(&server, &[CUSTOMER_A]).await;
    let secrets = secrets();
    let args = once_args(&server, &secrets, &["--log.level=debug"]);
    let output = tokio::task::spawn_blocking(move || binary().args(args).output())
        .await
        .expect("joins")
        .expect("runs");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[redacted]"), "the failure is logged: {stderr}");
    for secret in [
        "test-access-token-value",
        ECHOED_JWT,
        CLIENT_SECRET,
        REFRESH_TOKEN,
        "test-rotated-refresh-token-value",
    ] {
        assert!(!stderr.contains(secret), "{secret} in the log: {stderr}");
    }
}

/// Flags for `--once` against `server`, without retries, plus `extra`.
fn once_args(server: &MockServer, secrets: &Secrets, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--once".to_owned(),
        format!("--partnercenter.url={}", server.uri()),
        format!("--auth.token-url={}/{{tenant}}/oauth2/token", server.uri()),
        format!("--auth.tenant-id={TENANT}"),
        "--auth.client-id=c".to_owned(),
        format!("--auth.client-secret-file={}", secrets.secret.display()),
        format!("--auth.refresh-token-file={}", secrets.refresh.display()),
        "--partnercenter.max-retries=0".to_owned(),
    ];
    args.extend(WITHOUT_COMMERCE.iter().map(|s| s.to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn bad_configuration_exits_with_code_2_and_one_line_naming_the_flag() {
    let output = binary()
        .args(["--auth.tenant-id=t", "--auth.client-id=c"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--auth.client-secret-file"), "{stderr}");

    let output = binary()
        .args(["--collector.interval=often"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--collector.interval"));

    let output = binary()
        .args(["--partnercenter.url=not a url", "--auth.mode=token"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--partnercenter.url"));
}

#[tokio::test]
async fn once_prints_the_exposition_and_exits_non_zero_when_a_collector_fails() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A]).await;
    let secrets = secrets();
    let args = |extra: &[&str]| once_args(&server, &secrets, extra);
    let ok_args = args(&[]);
    let output = tokio::task::spawn_blocking(move || binary().args(ok_args).output())
        .await
        .expect("joins")
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert_valid_exposition(&stdout);
    assert!(stdout.contains("partnercenter_licenses_active{"));

    let failing_args = args(&["--collector.partner-usage"]); // not mounted: 404
    let output = tokio::task::spawn_blocking(move || binary().args(failing_args).output())
        .await
        .expect("joins")
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("partnercenter_collector_success{collector=\"partner-usage\"} 0")
    );
}

#[tokio::test]
async fn sigterm_stops_the_binary_gracefully_with_exit_code_0() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A]).await;
    let secrets = secrets();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        l.local_addr().expect("addr").port()
    };
    let mut child = binary()
        .args([
            format!("--web.listen-address=127.0.0.1:{port}"),
            format!("--partnercenter.url={}", server.uri()),
            format!("--auth.token-url={}/{{tenant}}/oauth2/token", server.uri()),
            format!("--auth.tenant-id={TENANT}"),
            "--auth.client-id=c".to_owned(),
            format!("--auth.client-secret-file={}", secrets.secret.display()),
            format!("--auth.refresh-token-file={}", secrets.refresh.display()),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let url = format!("http://127.0.0.1:{port}/-/ready");
    let mut ready = false;
    for _ in 0..200 {
        if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the binary became ready");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("joins")
        .expect("waits");
    assert_eq!(exit.code(), Some(0));
}

#[tokio::test]
async fn every_request_of_one_run_carries_the_same_correlation_id_and_a_fresh_request_id() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A]).await;
    let secrets = secrets();
    app::collect_once(&config(&server, &secrets, &[]))
        .await
        .expect("collects");
    let requests = server.received_requests().await.expect("recording on");
    let api: Vec<_> = requests.iter().filter(|r| r.method.as_str() == "GET").collect();
    assert_eq!(api.len(), 3, "one request per collector");
    let header = |r: &wiremock::Request, name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default()
    };
    let correlation: std::collections::HashSet<_> =
        api.iter().map(|r| header(r, "ms-correlationid")).collect();
    assert_eq!(correlation.len(), 1, "{correlation:?}");
    let request_ids: std::collections::HashSet<_> = api.iter().map(|r| header(r, "ms-requestid")).collect();
    assert_eq!(request_ids.len(), 3);
    for r in &api {
        assert_eq!(header(r, "accept"), "application/json");
        assert_eq!(header(r, "authorization"), "Bearer test-access-token-value");
        assert_eq!(header(r, "x-locale"), "en-US");
        assert!(header(r, "ms-partnercenter-application").starts_with("partnercenter-exporter/"));
    }
}

#[tokio::test]
async fn scrape_mode_collects_once_at_start_so_it_becomes_ready_without_a_scrape() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A]).await;
    let secrets = secrets();
    let running = Running::start(&config(&server, &secrets, &["--collector.mode=scrape"])).await;
    wait_ready(&running).await;
    let usage_calls = requests_to(&server, USAGE_PATH).await;
    assert_eq!(usage_calls, 1, "one warm-up run, no scrape needed");
    running.stop().await;
}

#[tokio::test]
async fn the_customer_filters_drop_rows_before_rendering_count_them_and_show_what_is_served() {
    let server = upstream().await;
    mount_default_data(&server, &[CUSTOMER_A, CUSTOMER_B]).await;
    let secrets = secrets();
    let running = Running::start(&config(
        &server,
        &secrets,
        &[
            "--collector.customers.exclude=(?i)^fabrikam",
            "--collector.products.include=E3",
        ],
    ))
    .await;
    wait_ready(&running).await;
    let text = running.metrics().await;
    assert_valid_exposition(&text);
    assert!(
        !text.contains(CUSTOMER_B),
        "the excluded customer is gone, names included"
    );
    assert!(text.contains(&format!(
        "partnercenter_customer_info{{customer_tenant_id=\"{CUSTOMER_A}\""
    )));
    assert_eq!(
        sample(
            &text,
            "partnercenter_collector_rows_dropped",
            &[("collector", "usage")]
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "partnercenter_collector_rows_dropped",
            &[("collector", "deployment")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "partnercenter_collector_rows", &[("collector", "usage")]),
        Some(4.0),
        "rows counts what Partner Center returned"
    );
    let landing = running.get("/").await.text().await.expect("landing page");
    assert!(
        landing.contains("<th>series</th><th>exposition bytes</th>"),
        "{landing}"
    );
    // usage: 4 rows, 2 dropped, 2 label sets × 2 families = 4 series.
    assert!(landing.contains("<td>4</td><td>2</td><td>4</td>"), "{landing}");
    assert!(landing.contains("names (info series"), "{landing}");
    running.stop().await;
}
