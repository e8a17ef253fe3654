//! The two commercial collectors against wiremock: the documented example bodies (new commerce
//! and legacy), undocumented statuses, year 9999, customers without GDAP (403), throttling in the
//! fan-out, a customer without subscriptions, the SKU look-ups and their caching, and app-only
//! sign-in.

use std::sync::{Arc, Mutex};

use partnercenter_exporter::app;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const COMMERCE_ONLY: [&str; 5] = [
    "--no-collector.usage",
    "--no-collector.deployment",
    "--no-collector.partner-deployment",
    "--collector.subscriptions",
    "--collector.subscribed-skus",
];

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(text.trim_start()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_text(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `{"totalCount", "items", "links", "attributes"}` around `items`.
fn collection(items: Vec<Value>) -> Value {
    json!({"totalCount": items.len(), "items": items, "links": {}, "attributes": {"objectType": "Collection"}})
}

async fn mount_customers(server: &MockServer, customers: &[(&str, &str)]) {
    let items = customers
        .iter()
        .map(|(id, name)| json!({"id": id, "companyProfile": {"tenantId": id, "companyName": name, "domain": "x.onmicrosoft.com"}}))
        .collect();
    serve_json(server, "/v1/customers", collection(items)).await;
}

async fn mount_subscriptions(server: &MockServer, customer: &str, body: Value) {
    serve_json(server, &format!("/v1/customers/{customer}/subscriptions"), body).await;
}

async fn mount_skus_body(server: &MockServer, customer: &str, body: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{customer}/subscribedskus")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_owned(), "application/json"))
        .mount(server)
        .await;
}

fn sku(id: &str, total: u64, consumed: u64) -> Value {
    json!({"totalUnits": total, "consumedUnits": consumed, "activeUnits": total, "availableUnits": total.saturating_sub(consumed),
           "suspendedUnits": 0, "warningUnits": 0, "capabilityStatus": "Enabled",
           "productSku": {"id": id, "name": "Office 365 E3", "skuPartNumber": "ENTERPRISEPACK"}})
}

const A: &str = "4d3cf487-70f4-4e1e-9ff1-b2bfce8d9f04";
const B: &str = "0112a436-b14e-4888-967b-ca4bb2cf1234";
const C: &str = "8f2b7c3a-1d2e-4f5a-9b6c-7d8e9f0a1b2c";
const E3: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";

fn nce(id: &str, quantity: u64, end: &str) -> Value {
    json!({
        "id": id, "offerId": "CFQ7TTC0LF8Q:0001:CFQ7TTC0K9SZ", "offerName": "Office 365 E3", "friendlyName": "E3",
        "productType": {"id": "OnlineServicesNCE"}, "quantity": quantity, "unitType": "Licenses",
        "commitmentEndDate": end, "status": "active", "autoRenewEnabled": true, "isTrial": false,
        "billingType": "license", "billingCycle": "annual", "termDuration": "P1Y",
        "links": {"product": {"uri": "/products/CFQ7TTC0LF8Q?country=US", "method": "GET", "headers": []}},
    })
}

async fn mount_e3_catalog(server: &MockServer) {
    serve_json(
        server,
        "/v1/products/CFQ7TTC0LF8Q/skus/0001",
        json!({"id": "0001", "dynamicAttributes": {"provisioningId": E3}}),
    )
    .await;
}

#[tokio::test]
async fn the_documented_subscription_examples_decode_new_commerce_and_legacy_side_by_side() {
    let server = upstream().await;
    mount_customers(&server, &[(A, "Contoso")]).await;
    let mut items = vec![
        fixture("subscription_nce_doc_example.json"),
        fixture("subscription_legacy_addon_doc_example.json"),
    ];
    for list in [
        "subscriptions_nce_software_list_doc_example.json",
        "subscriptions_legacy_list_doc_example.json",
    ] {
        items.extend(fixture(list)["items"].as_array().unwrap().iter().cloned());
    }
    mount_subscriptions(&server, A, collection(items)).await;
    mount_skus_body(&server, A, &fixture_text("subscribed_skus_doc_example.json")).await;
    serve_json(
        &server,
        "/v1/products/CFQ7TTC0LH18/skus/0001",
        fixture("catalog_sku_nce_constructed.json"),
    )
    .await;
    serve_json(
        &server,
        "/v1/customers/4d3cf487-70f4-4e1e-9ff1-b2bfce8d9f04/subscriptions/968ba1cf-c146-4adf-a300-308dcf718eee/provisioningstatus",
        fixture("provisioning_status_constructed.json"),
    )
    .await;
    let secrets = secrets();
    let (exposition, ok) = app::collect_once(&config(&server, &secrets, &COMMERCE_ONLY))
        .await
        .expect("collects");
    let text = String::from_utf8(exposition).unwrap();
    assert!(ok, "{text}");
    assert_valid_exposition(&text);

    let nce = "a4c1340d-6911-4758-bba3-0c4c6007d161";
    let info = text
        .lines()
        .find(|l| l.starts_with("partnercenter_subscription_info{") && l.contains(nce))
        .expect("info");
    for label in [
        r#"sku_id="3b555118-da6a-4418-894f-7df1e2096870""#,
        r#"catalog_product_id="CFQ7TTC0LH18""#,
        r#"catalog_sku_id="0001""#,
        r#"offer_name="Microsoft 365 Business Basic""#,
        r#"term_duration="P1Y""#,
        r#"billing_cycle="monthly""#,
        r#"status="expired""#,
        r#"commerce="nce""#,
        r#"trial="false""#,
    ] {
        assert!(info.contains(label), "{label} in {info}");
    }
    let by_sub = |metric: &str, id: &str| sample(&text, metric, &[("subscription_id", id)]);
    assert_eq!(by_sub("partnercenter_subscription_licenses", nce), Some(15.0));
    assert_eq!(by_sub("partnercenter_subscription_auto_renew", nce), Some(0.0));
    // commitmentEndDateTime 2022-01-13T23:59:59Z
    assert_eq!(
        by_sub("partnercenter_subscription_term_end_timestamp_seconds", nce),
        Some(1_642_118_399.0)
    );
    assert_eq!(
        by_sub(
            "partnercenter_subscription_cancellation_allowed_until_timestamp_seconds",
            nce
        ),
        None
    );

    let legacy = "968ba1cf-c146-4adf-a300-308dcf718eee";
    let info = text
        .lines()
        .find(|l| l.starts_with("partnercenter_subscription_info{") && l.contains(legacy))
        .expect("legacy info");
    assert!(
        info.contains(r#"commerce="legacy""#) && info.contains(&format!(r#"sku_id="{E3}""#)),
        "{info}"
    );
    assert!(
        info.contains(r#"offer_id="2828be95-46ba-4f91-b2fd-0bef192ecf60""#),
        "{info}"
    );
    assert_eq!(by_sub("partnercenter_subscription_licenses", legacy), Some(2.0));
    assert_eq!(by_sub("partnercenter_subscription_auto_renew", legacy), Some(1.0));
    assert_eq!(
        by_sub("partnercenter_subscription_term_end_timestamp_seconds", legacy),
        Some(1_518_220_800.0)
    );

    // New-commerce software: no Entra SKU, no look-up; its end date counts its whole day.
    let software = "924671ba-eab9-45d7-95ed-dbd9477f182b";
    assert_eq!(
        by_sub("partnercenter_subscription_term_end_timestamp_seconds", software),
        Some(1_728_950_399.0)
    );
    assert_eq!(
        by_sub(
            "partnercenter_subscription_cancellation_allowed_until_timestamp_seconds",
            software
        ),
        Some(1_636_934_340.0)
    );
    assert_eq!(
        requests_to(&server, "/v1/products/DG7GMGF0FKZV/skus/0003").await,
        0
    );
    // The legacy list example (unitType none, dates with stray spaces) is no licence subscription.
    assert!(!text.contains("83ef9d05-4169-4ef9-9657-0e86b1eab1de"), "{text}");

    let units = |sku: &str, state: &str| {
        sample(
            &text,
            "partnercenter_subscribed_sku_units",
            &[("sku_id", sku), ("state", state)],
        )
    };
    let ems = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e";
    assert_eq!(
        (
            units(ems, "total"),
            units(ems, "consumed"),
            units(ems, "available")
        ),
        (Some(5.0), Some(1.0), Some(4.0))
    );
    assert_eq!(units("f8a1db68-be16-40ed-86d5-cb42ce701560", "active"), Some(1.0));
    assert!(text.contains(r#"partnercenter_sku_info{sku_id="efccb6f7-5641-4e0e-bd10-b4976e1bf68e",sku_part_number="EMS",sku_name="Enterprise Mobility + Security E3"} 1"#));
    assert_eq!(
        sample(
            &text,
            "partnercenter_subscribed_skus_access",
            &[("customer_tenant_id", A)]
        ),
        Some(1.0)
    );
    // None of the SKUs the tenant shows is one of our billed subscriptions' SKUs: no unused figure.
    assert!(
        !text.contains("partnercenter_subscription_unused_licenses{"),
        "{text}"
    );
    assert!(text.contains(r#"partnercenter_customer_info{customer_tenant_id="4d3cf487-70f4-4e1e-9ff1-b2bfce8d9f04",customer_name="Contoso"} 1"#));
}

#[tokio::test]
async fn unknown_statuses_and_year_9999_are_kept_and_unused_seats_are_attributed() {
    let server = upstream().await;
    mount_customers(&server, &[(A, "Contoso")]).await;
    let mut odd = nce("0a000000-0000-4000-8000-000000000001", 3, "9999-12-10T00:00:00Z");
    odd["status"] = json!("Transferring");
    let open_ended = nce("0a000000-0000-4000-8000-000000000002", 4, "9999-12-10T00:00:00Z");
    let dated = nce("0a000000-0000-4000-8000-000000000003", 10, "2030-01-31T00:00:00Z");
    mount_subscriptions(&server, A, collection(vec![odd, open_ended, dated])).await;
    mount_skus_body(&server, A, &collection(vec![sku(E3, 20, 12)]).to_string()).await;
    mount_e3_catalog(&server).await;
    let secrets = secrets();
    let (exposition, ok) = app::collect_once(&config(&server, &secrets, &COMMERCE_ONLY))
        .await
        .expect("collects");
    let text = String::from_utf8(exposition).unwrap();
    assert!(ok, "{text}");
    assert!(text.contains(r#"status="transferring""#), "{text}");
    let by_sub = |metric: &str, n: u32| {
        sample(
            &text,
            metric,
            &[(
                "subscription_id",
                &format!("0a000000-0000-4000-8000-00000000000{n}"),
            )],
        )
    };
    assert_eq!(
        by_sub("partnercenter_subscription_term_end_timestamp_seconds", 2),
        None,
        "no end"
    );
    assert!(by_sub("partnercenter_subscription_term_end_timestamp_seconds", 3).is_some());
    // Pool 8 of our 14 usable seats: the dated one first (10 → 8), the open-ended one last.
    assert_eq!(by_sub("partnercenter_subscription_unused_licenses", 3), Some(8.0));
    assert_eq!(by_sub("partnercenter_subscription_unused_licenses", 2), Some(0.0));
    assert_eq!(
        by_sub("partnercenter_subscription_unused_licenses", 1),
        None,
        "an unknown status is not billed"
    );
    // The catalog is asked once for the three subscriptions of one SKU.
    assert_eq!(
        requests_to(&server, "/v1/products/CFQ7TTC0LF8Q/skus/0001").await,
        1
    );
}

/// Log lines written while the guard lives, as text.
fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    #[derive(Clone)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Sink(buffer.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    (buffer, tracing::subscriber::set_default(subscriber))
}

// current_thread (the default): every log line of the run is written on this thread.
#[tokio::test]
async fn customers_without_gdap_and_a_429_count_once_and_log_one_line_never_failing_the_run() {
    let server = upstream().await;
    mount_customers(&server, &[(A, "Contoso"), (B, "Fabrikam"), (C, "Northwind")]).await;
    mount_e3_catalog(&server).await;
    for (customer, id) in [(A, "1"), (C, "3")] {
        let sub = nce(
            &format!("0b000000-0000-4000-8000-00000000000{id}"),
            10,
            "2030-01-31T00:00:00Z",
        );
        mount_subscriptions(&server, customer, collection(vec![sub])).await;
        mount_skus_body(&server, customer, &collection(vec![sku(E3, 10, 4)]).to_string()).await;
    }
    // B: throttled once (Retry-After 1 s), then an empty listing: a customer without subscriptions.
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{B}/subscriptions")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(
                    json!({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}),
                ),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_subscriptions(&server, B, collection(vec![])).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{B}/subscribedskus")))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"code": 2032, "description": "Access denied", "data": [], "source": "PartnerFD"}),
        ))
        .mount(&server)
        .await;
    let secrets = secrets();
    // Retry-After is honoured up to --partnercenter.max-backoff, 50 ms in these tests.
    let config = config(&server, &secrets, &COMMERCE_ONLY);
    let (logs, guard) = capture_logs();
    let running = Running::start(&config).await;
    running.scheduler.run_once().await;
    let text = running.metrics().await;
    drop(guard);
    running.stop().await;
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();

    let errors = |collector: &str| {
        sample(
            &text,
            "partnercenter_collector_customer_errors",
            &[("collector", collector)],
        )
    };
    assert_eq!(errors("subscribed-skus"), Some(1.0), "{text}");
    assert_eq!(errors("subscriptions"), Some(0.0), "the 429 was retried: {text}");
    assert_eq!(
        sample(
            &text,
            "partnercenter_collector_success",
            &[("collector", "subscribed-skus")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "partnercenter_subscribed_skus_access",
            &[("customer_tenant_id", B)]
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "partnercenter_subscribed_skus_access",
            &[("customer_tenant_id", A)]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "partnercenter_api_retries_total",
            &[("endpoint", "subscriptions"), ("reason", "429")]
        ),
        Some(1.0)
    );
    assert!(
        !text.contains(&format!(
            r#"partnercenter_subscription_info{{customer_tenant_id="{B}""#
        )),
        "B has none"
    );
    assert_eq!(
        sample(
            &text,
            "partnercenter_subscription_unused_licenses",
            &[("customer_tenant_id", C)]
        ),
        Some(6.0)
    );

    let refusal_lines: Vec<&str> = logs.lines().filter(|l| l.contains("refused")).collect();
    assert_eq!(refusal_lines.len(), 1, "one line per run: {logs}");
    let line = refusal_lines[0];
    assert!(
        line.contains("WARN") && line.contains("1 of 3") && line.contains("Directory Readers"),
        "{line}"
    );
    assert!(
        !logs.contains(&format!("/v1/customers/{B}/subscribedskus")),
        "no line names the customer: {logs}"
    );
}

#[tokio::test]
async fn app_only_sign_in_lists_subscriptions_and_stops_the_licence_counts_at_the_first_refusal() {
    let server = upstream().await;
    let customers: Vec<(String, String)> = (0..20)
        .map(|i| {
            (
                format!("0c000000-0000-4000-8000-{i:012}"),
                format!("Customer {i}"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = customers.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    mount_customers(&server, &refs).await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1/customers/[^/]+/subscriptions$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(collection(vec![])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1/customers/[^/]+/subscribedskus$"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"code": 2032, "description": "This resource can't be accessed by application credentials."}),
        ))
        .mount(&server)
        .await;
    let secrets = secrets();
    let mut flags = COMMERCE_ONLY.to_vec();
    flags.push("--auth.mode=app-only");
    let config = config(&server, &secrets, &flags);
    let running = Running::start(&config).await;
    let snapshot = running.scheduler.run_once().await;
    running.stop().await;
    let state = |kind: &str| {
        snapshot
            .collectors
            .iter()
            .find(|c| c.kind.name() == kind)
            .unwrap()
    };
    assert!(state("subscriptions").healthy());
    let error = state("subscribed-skus")
        .last_run
        .as_ref()
        .unwrap()
        .error
        .clone()
        .unwrap();
    assert!(error.contains("App+User"), "{error}");
    let received = server.received_requests().await.unwrap();
    let asked = received
        .iter()
        .filter(|r| r.url.path().ends_with("/subscribedskus"))
        .count();
    assert!(asked < 20, "stopped early, not one refusal per customer: {asked}");
}
