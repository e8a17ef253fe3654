//! The Partner Center client against wiremock on loopback: documented example bodies, both paging
//! styles and their loop guards, retries, token renewal and rotation, error wording, size caps.
//!
//! Backoff is 10 ms doubling to at most 100 ms, so retry tests take milliseconds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use partnercenter_exporter::client::{
    AnalyticsQuery, ApiObserver, AuthConfig, AuthError, AuthMode, ClientConfig, ClientError,
    PartnerCenterClient, TokenSource, TokenVersion,
};
use partnercenter_exporter::model::derived_id;
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN_PATH: &str = "/partner-tenant/oauth2/token";
const USAGE_PATH: &str = "/partner/v1/analytics/commercial/usage/license";
const DEPLOYMENT_PATH: &str = "/partner/v1/analytics/commercial/deployment/license";
const CLIENT_SECRET: &str = "client-s3cret-value";
const REFRESH_TOKEN: &str = "refresh-s3cret-1";
const CUSTOMER: &str = "4D3CF487-70F4-4E1E-9FF1-B2BFCE8D9F04";

// ----- helpers -----

/// Records what the client reports, as `"request <endpoint> <code>"`, `"retry <endpoint> <reason>"`,
/// `"token_refresh <result>"` and `"rotated"`.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn count(&self, event: &str) -> usize {
        self.events().iter().filter(|e| *e == event).count()
    }
}

impl ApiObserver for Recorder {
    fn request(&self, endpoint: &'static str, code: &str) {
        self.0.lock().unwrap().push(format!("request {endpoint} {code}"));
    }
    fn retry(&self, endpoint: &'static str, reason: &'static str) {
        self.0.lock().unwrap().push(format!("retry {endpoint} {reason}"));
    }
    fn token_refresh(&self, result: &'static str) {
        self.0.lock().unwrap().push(format!("token_refresh {result}"));
    }
    fn refresh_token_rotated(&self, _at: chrono::DateTime<Utc>) {
        self.0.lock().unwrap().push("rotated".into());
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json_body(body: impl Into<Vec<u8>>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into(), "application/json; charset=utf-8")
}

fn token_response(access_token: &str, refresh_token: Option<&str>) -> ResponseTemplate {
    let mut body = json!({
        "token_type": "Bearer",
        "scope": "user_impersonation",
        "expires_in": "3599",
        "resource": "https://api.partnercenter.microsoft.com",
        "access_token": access_token,
    });
    if let Some(rt) = refresh_token {
        body["refresh_token"] = json!(rt);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn client_config(base: &str) -> ClientConfig {
    ClientConfig {
        base_url: base.parse().unwrap(),
        usage_path: USAGE_PATH.into(),
        deployment_path: DEPLOYMENT_PATH.into(),
        timeout: Duration::from_secs(5),
        requests_per_minute: 600_000,
        subscription_requests_per_minute: 0,
        concurrency: 4,
        max_retries: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
        max_response_bytes: 1 << 20,
        max_pages: 50,
        page_size: 2,
        customers_page_size: 2,
        locale: "en-US".into(),
        application: "partnercenter-exporter-tests".into(),
    }
}

fn auth_config(server: &MockServer, mode: AuthMode) -> AuthConfig {
    AuthConfig {
        mode,
        version: TokenVersion::V1,
        token_url: format!("{}{TOKEN_PATH}", server.uri()).parse().unwrap(),
        client_id: "app-id".into(),
        client_secret: Some(CLIENT_SECRET.into()),
        resource: "https://api.partnercenter.microsoft.com".into(),
        scope: "https://api.partnercenter.microsoft.com/user_impersonation offline_access".into(),
        refresh_token: Some(REFRESH_TOKEN.into()),
        refresh_token_file: None,
        access_token_file: None,
        access_token: None,
        refresh_margin: Duration::from_secs(300),
        timeout: Duration::from_secs(5),
        max_retries: 2,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
    }
}

/// A mock Partner Center + sign-in service and a client for it.
struct Harness {
    server: MockServer,
    recorder: Arc<Recorder>,
    tokens: Arc<TokenSource>,
    client: PartnerCenterClient,
}

impl Harness {
    /// App+User client whose token endpoint always answers `access-1`.
    async fn start() -> Self {
        Self::start_with(|_, _| {}).await
    }

    async fn start_with(tweak: impl FnOnce(&mut ClientConfig, &mut AuthConfig)) -> Self {
        let server = MockServer::start().await;
        let mut config = client_config(&server.uri());
        let mut auth = auth_config(&server, AuthMode::AppUser);
        tweak(&mut config, &mut auth);
        Self::build(server, config, auth)
    }

    fn build(server: MockServer, config: ClientConfig, auth: AuthConfig) -> Self {
        let recorder = Arc::new(Recorder::default());
        let tokens = Arc::new(TokenSource::new(auth, recorder.clone()).unwrap());
        let client = PartnerCenterClient::new(config, tokens.clone(), recorder.clone()).unwrap();
        Self {
            server,
            recorder,
            tokens,
            client,
        }
    }

    async fn mount_token(&self) {
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(token_response("access-1", None))
            .mount(&self.server)
            .await;
    }

    async fn requests_to(&self, p: &str) -> Vec<Request> {
        let all = self.server.received_requests().await.unwrap();
        all.into_iter().filter(|r| r.url.path() == p).collect()
    }
}

fn header_of(request: &Request, name: &str) -> String {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

// ----- documented example bodies -----

#[tokio::test]
async fn the_commercial_usage_example_as_printed_is_a_decode_error_naming_endpoint_status_and_first_bytes() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(json_body(fixture("commercial_usage_doc_example.json")))
        .mount(&h.server)
        .await;

    let err = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap_err();

    let ClientError::Decode {
        endpoint,
        status,
        snippet,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((*endpoint, *status), ("commercial_usage", 200));
    assert!(snippet.contains("\"Value\": ["), "{snippet}");
    assert!(
        snippet.chars().count() <= 201,
        "the snippet is truncated: {snippet}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "commercial_usage ({USAGE_PATH}): HTTP 200 response is not the expected JSON"
        )),
        "{text}"
    );
    assert!(!text.contains("skip=0"), "no query string in the message: {text}");
}

#[tokio::test]
async fn the_corrected_commercial_usage_example_is_parsed_with_the_license_active_spelling() {
    let h = Harness::start().await;
    h.mount_token().await;
    // Both rows say 0 in the doc; make one non-zero so that reading `licenseActive` is visible.
    let body = String::from_utf8(fixture("commercial_usage_corrected.json"))
        .unwrap()
        .replacen("\"licenseActive\": 0", "\"licenseActive\": 7", 1);
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(json_body(body))
        .mount(&h.server)
        .await;

    let rows = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap();

    assert_eq!(rows.len(), 2);
    let spo = &rows[0];
    assert_eq!(spo.customer_tenant_id, "0112a436-b14e-4888-967b-ca4bb2cf1234");
    assert_eq!(spo.product_id, "6fd2c87f-b296-42f0-b197-1e91e994b900");
    assert_eq!(spo.product_name, "OFFICE 365 ENTERPRISE E3");
    assert_eq!(
        (spo.workload_code.as_str(), spo.workload_name.as_str()),
        ("SPO", "SharePoint")
    );
    assert_eq!(spo.service_code, "o365");
    assert_eq!(spo.channel, "reseller");
    assert_eq!(spo.customer_name, "TEST COMPANY");
    assert_eq!((spo.licenses_active, spo.licenses_qualified), (7.0, 1.0));
    assert_eq!(
        spo.processed_at,
        Some(Utc.with_ymd_and_hms(2018, 10, 14, 0, 0, 0).unwrap())
    );
    assert_eq!(rows[1].workload_code, "EXO");
}

#[tokio::test]
async fn the_commercial_deployment_example_is_parsed() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(DEPLOYMENT_PATH))
        .respond_with(json_body(fixture("commercial_deployment_doc_example.json")))
        .mount(&h.server)
        .await;

    let rows = h
        .client
        .commercial_deployment(&AnalyticsQuery::default())
        .await
        .unwrap();

    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].service_code, "crm");
    assert_eq!(rows[0].product_id, "54b84594-9c77-4499-8d65-5e0d5f410e78");
    assert_eq!(rows[0].customer_tenant_id, "0112a436-b14e-4888-967b-ca4bb2cf1234");
    assert_eq!((rows[0].licenses_deployed, rows[0].licenses_sold), (0.0, 9.0));
    assert_eq!(
        (rows[1].product_name.as_str(), rows[1].licenses_sold),
        ("DOMESTIC AND INTERNATIONAL CALLING PLAN", 5.0)
    );
}

#[tokio::test]
async fn the_partner_deployment_example_is_parsed_with_fractional_second_timestamps() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path("/v1/analytics/licenses/deployment"))
        .respond_with(json_body(fixture("partner_deployment_doc_example.json")))
        .mount(&h.server)
        .await;

    let rows = h.client.partner_deployment().await.unwrap();

    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].service_code.as_str(), rows[0].licenses_sold),
        ("crm", 343.0)
    );
    assert_eq!(
        rows[0].processed_at,
        Some(Utc.with_ymd_and_hms(2017, 3, 10, 0, 0, 0).unwrap())
    );
    assert_eq!(
        (rows[1].service_code.as_str(), rows[1].prorated_deployment_percent),
        ("o365", 1.0)
    );
    assert_eq!(
        rows[1].processed_at.unwrap().timestamp_millis(),
        1_489_461_916_360
    );
}

#[tokio::test]
async fn the_partner_usage_example_is_parsed_even_behind_a_bom() {
    let h = Harness::start().await;
    h.mount_token().await;
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(fixture("partner_usage_doc_example.json"));
    Mock::given(method("GET"))
        .and(path("/v1/analytics/licenses/usage"))
        .respond_with(json_body(body))
        .mount(&h.server)
        .await;

    let rows = h.client.partner_usage().await.unwrap();

    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].service_code, "crm");
    assert_eq!(rows[0].workload_name, "Microsoft Dynamics CRM");
    assert_eq!(rows[4].workload_name, "Skype For Business");
    assert!(
        rows.iter()
            .all(|r| r.channel == "reseller" && r.prorated_licenses_usage_percent == 0.0)
    );
}

#[tokio::test]
async fn the_customer_usage_example_rows_carry_the_requested_customer_id() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{CUSTOMER}/analytics/licenses/usage")))
        .respond_with(json_body(fixture("customer_usage_doc_example.json")))
        .mount(&h.server)
        .await;

    let rows = h.client.customer_usage(CUSTOMER).await.unwrap();

    assert_eq!(rows.len(), 5);
    for row in &rows {
        assert_eq!(row.customer_tenant_id, "4d3cf487-70f4-4e1e-9ff1-b2bfce8d9f04");
        assert_eq!(row.customer_name, "DT DEMO CSP CUSTOMER 005");
        assert_eq!(row.service_code, "o365", "the legacy serviceName holds the code");
        // The legacy rows name products and workloads without their ids: the ids are derived.
        assert_eq!(row.product_id, derived_id(&row.product_name));
        assert_eq!(row.workload_code, derived_id(&row.workload_name));
        assert!(row.product_id.starts_with("derived:"), "{}", row.product_id);
    }
    assert_eq!(
        (rows[3].product_name.as_str(), rows[3].licenses_qualified),
        ("EXCHANGE ONLINE (PLAN 1)", 5.0)
    );
    assert_eq!(
        rows[0].processed_at,
        Some(Utc.with_ymd_and_hms(2017, 3, 9, 0, 0, 0).unwrap())
    );
}

#[tokio::test]
async fn the_customer_deployment_example_rows_carry_the_requested_customer_id() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v1/customers/{CUSTOMER}/analytics/licenses/deployment"
        )))
        .respond_with(json_body(fixture("customer_deployment_doc_example.json")))
        .mount(&h.server)
        .await;

    let rows = h.client.customer_deployment(CUSTOMER).await.unwrap();

    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.customer_tenant_id == "4d3cf487-70f4-4e1e-9ff1-b2bfce8d9f04")
    );
    assert_eq!(
        (rows[1].product_name.as_str(), rows[1].licenses_sold),
        ("EXCHANGE ONLINE (PLAN 1)", 5.0)
    );
    assert_eq!(rows[1].service_code, "o365");
    assert_eq!(
        rows[1].processed_at.unwrap().timestamp_millis(),
        1_489_461_916_360
    );
}

#[tokio::test]
async fn the_customers_example_is_listed() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(query_param("size", "2"))
        .respond_with(json_body(fixture("customers_doc_example.json")))
        .expect(1)
        .mount(&h.server)
        .await;

    let customers = h.client.customers().await.unwrap();

    let ids: Vec<_> = customers.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "b44bb1fb-c595-45b0-9e09-d657365580bf",
            "45c44870-ef77-4fdd-b6fe-3dacb075cff2"
        ]
    );
    assert_eq!(customers[0].company_name, "companyName");
    assert_eq!(customers[0].domain, "domain");
    assert_eq!(customers[0].tenant_id, "<guid>", "the doc's placeholder, as sent");
}

// ----- headers -----

#[tokio::test]
async fn every_request_carries_the_partner_center_headers() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(json_body(r#"{"Value": [], "@nextLink": null}"#))
        .mount(&h.server)
        .await;

    h.client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap();
    h.client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap();

    let requests = h.requests_to(USAGE_PATH).await;
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(header_of(r, "authorization"), "Bearer access-1");
        assert_eq!(header_of(r, "accept"), "application/json");
        assert_eq!(header_of(r, "x-locale"), "en-US");
        assert_eq!(
            header_of(r, "ms-partnercenter-application"),
            "partnercenter-exporter-tests"
        );
        uuid::Uuid::parse_str(&header_of(r, "ms-requestid")).expect("MS-RequestId is a GUID");
        uuid::Uuid::parse_str(&header_of(r, "ms-correlationid")).expect("MS-CorrelationId is a GUID");
    }
    assert_ne!(
        header_of(&requests[0], "ms-requestid"),
        header_of(&requests[1], "ms-requestid")
    );
    assert_ne!(
        header_of(&requests[0], "ms-correlationid"),
        header_of(&requests[1], "ms-correlationid")
    );
}

// ----- paging -----

#[tokio::test]
async fn commercial_paging_follows_relative_and_absolute_next_links_to_the_end() {
    let h = Harness::start().await;
    h.mount_token().await;
    let row =
        |n: u32| json!({"customerTenantId": format!("C{n}"), "licensesActive": n, "licensesQualified": "10"});
    // Page 1 sends a query-string-only link (the Store analytics style), page 2 an absolute one.
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .and(query_param("skip", "0"))
        .and(query_param("top", "2"))
        .and(query_param("filter", "channel eq 'reseller'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"Value": [row(1), row(2)], "@nextLink": "license?top=2&skip=2", "TotalCount": 5}),
        ))
        .expect(1)
        .mount(&h.server)
        .await;
    let absolute = format!("{}{USAGE_PATH}?top=2&skip=4", h.server.uri());
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .and(query_param("skip", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [row(3), row(4)], "nextLink": absolute, "totalCount": 5})),
        )
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .and(query_param("skip", "4"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Value": [row(5)], "@nextLink": null})))
        .expect(1)
        .mount(&h.server)
        .await;
    let query = AnalyticsQuery {
        filter: Some("channel eq 'reseller'".into()),
        ..AnalyticsQuery::default()
    };

    let rows = h.client.commercial_usage(&query).await.unwrap();

    let tenants: Vec<_> = rows.iter().map(|r| r.customer_tenant_id.as_str()).collect();
    assert_eq!(tenants, ["c1", "c2", "c3", "c4", "c5"]);
    assert_eq!(rows[2].licenses_qualified, 10.0);
    let first = &h.requests_to(USAGE_PATH).await[0];
    assert_eq!(
        first.url.query(),
        Some("top=2&skip=0&filter=channel%20eq%20%27reseller%27")
    );
}

#[tokio::test]
async fn without_a_next_link_paging_goes_on_with_skip_while_total_count_says_rows_remain() {
    let h = Harness::start().await;
    h.mount_token().await;
    let row =
        |n: u32| json!({"customerTenantId": format!("C{n}"), "licensesActive": n, "licensesQualified": 10});
    // The real shape of @nextLink is undocumented: this service never sends one.
    for (skip, rows) in [
        ("0", vec![row(1), row(2)]),
        ("2", vec![row(3), row(4)]),
        ("4", vec![row(5)]),
    ] {
        Mock::given(method("GET"))
            .and(path(USAGE_PATH))
            .and(query_param("top", "2"))
            .and(query_param("skip", skip))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Value": rows, "TotalCount": 5})))
            .expect(1)
            .mount(&h.server)
            .await;
    }
    let rows = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap();
    let tenants: Vec<_> = rows.iter().map(|r| r.customer_tenant_id.as_str()).collect();
    assert_eq!(tenants, ["c1", "c2", "c3", "c4", "c5"]);
}

#[tokio::test]
async fn without_a_next_link_or_a_total_count_paging_stops_after_the_page() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"Value": [{"customerTenantId": "C1", "licensesActive": 1, "licensesQualified": 2}]}),
        ))
        .expect(1)
        .mount(&h.server)
        .await;
    let rows = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}

#[tokio::test]
async fn customers_paging_follows_links_next_and_sends_the_continuation_token() {
    let h = Harness::start().await;
    h.mount_token().await;
    let page = |ids: [&str; 2], next: Option<(&str, &str)>| {
        let items: Vec<_> = ids
            .iter()
            .map(|id| json!({"id": id, "companyProfile": {"tenantId": id, "domain": format!("{id}.example"), "companyName": id}}))
            .collect();
        let mut links = json!({"self": {"uri": "/customers?size=2", "method": "GET", "headers": []}});
        if let Some((uri, token)) = next {
            links["next"] = json!({"uri": uri, "method": "GET", "headers": [{"key": "MS-ContinuationToken", "value": token}]});
        }
        ResponseTemplate::new(200).set_body_json(json!({"totalCount": 2, "items": items, "links": links}))
    };
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(query_param_is_missing("seekOperation"))
        .respond_with(page(
            ["A1", "A2"],
            Some(("/customers?size=2&seekOperation=Next", "token-2")),
        ))
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(query_param("seekOperation", "Next"))
        .and(header("MS-ContinuationToken", "token-2"))
        .respond_with(page(
            ["b1", "b2"],
            Some(("/v1/customers?size=2&seekOperation=Next", "token-3")),
        ))
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(query_param("seekOperation", "Next"))
        .and(header("MS-ContinuationToken", "token-3"))
        .respond_with(page(["c1", "c2"], None))
        .expect(1)
        .mount(&h.server)
        .await;

    let customers = h.client.customers().await.unwrap();

    let ids: Vec<_> = customers.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2", "b1", "b2", "c1", "c2"]);
    assert_eq!(customers[0].domain, "A1.example");
    let tokens: Vec<_> = h
        .requests_to("/v1/customers")
        .await
        .iter()
        .map(|r| header_of(r, "ms-continuationtoken"))
        .collect();
    assert_eq!(tokens, ["", "token-2", "token-3"]);
}

#[tokio::test]
async fn a_repeated_next_link_stops_paging_with_an_error() {
    let h = Harness::start().await;
    h.mount_token().await;
    let row = json!({"licensesActive": 1});
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .and(query_param("skip", "0"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"Value": [row], "@nextLink": "license?top=2&skip=2"})),
        )
        .mount(&h.server)
        .await;
    // Page 2 links back to page 1.
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .and(query_param("skip", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"Value": [row], "@nextLink": "license?top=2&skip=0"})),
        )
        .mount(&h.server)
        .await;

    let err = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap_err();

    assert!(matches!(err, ClientError::Paging { .. }), "{err:?}");
    assert!(err.to_string().contains("same next page"), "{err}");
    assert_eq!(h.requests_to(USAGE_PATH).await.len(), 2);
}

#[tokio::test]
async fn a_repeated_continuation_token_stops_customer_paging_with_an_error() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [{"id": "x"}],
            "links": {"next": {"uri": "/customers?size=2&seekOperation=Next", "headers": [{"key": "MS-ContinuationToken", "value": "same"}]}}
        })))
        .mount(&h.server)
        .await;

    let err = h.client.customers().await.unwrap_err();

    assert!(
        matches!(
            err,
            ClientError::Paging {
                endpoint: "customers",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(h.requests_to("/v1/customers").await.len(), 2);
}

#[tokio::test]
async fn paging_stops_with_an_error_at_the_page_cap() {
    let h = Harness::start_with(|c, _| c.max_pages = 3).await;
    h.mount_token().await;
    // An endless listing: every page links to the next.
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(|req: &Request| {
            let skip: u64 = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "skip")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            ResponseTemplate::new(200).set_body_json(json!({
                "Value": [{"licensesActive": 1}],
                "@nextLink": format!("license?top=2&skip={}", skip + 2),
            }))
        })
        .mount(&h.server)
        .await;

    let err = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap_err();

    assert!(err.to_string().contains("more than 3 pages"), "{err}");
    assert!(err.to_string().contains("--partnercenter.max-pages"), "{err}");
    assert_eq!(h.requests_to(USAGE_PATH).await.len(), 3);
}

#[tokio::test]
async fn an_empty_page_ends_paging_even_if_it_has_a_next_link() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .and(query_param("skip", "0"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"Value": [{"licensesActive": 1}], "@nextLink": "license?skip=2"})),
        )
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .and(query_param("skip", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"Value": [], "@nextLink": "license?skip=4"})),
        )
        .mount(&h.server)
        .await;

    let rows = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap();

    assert_eq!(rows.len(), 1);
    assert_eq!(h.requests_to(USAGE_PATH).await.len(), 2);
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"Value": [{"licensesActive": 1}], "@nextLink": "https://elsewhere.example/partner/v1/x"}),
        ))
        .mount(&h.server)
        .await;

    let err = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap_err();

    assert!(matches!(err, ClientError::Paging { .. }), "{err:?}");
    assert!(err.to_string().contains("elsewhere.example"), "{err}");
}

// ----- retries -----

#[tokio::test]
async fn a_429_is_retried_after_the_retry_after_delay() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(
                    json!({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}),
                ),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(json_body(r#"{"Value": [{"licensesActive": 3}]}"#))
        .expect(1)
        .mount(&h.server)
        .await;
    let started = Instant::now();

    let rows = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap();

    assert_eq!(rows.len(), 1);
    // Retry-After: 1 s is honoured up to backoff_max (100 ms); the plain backoff would be ≤ 10 ms.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(
        waited < Duration::from_millis(900),
        "Retry-After is capped at backoff_max: {waited:?}"
    );
    assert_eq!(
        h.recorder
            .events()
            .into_iter()
            .filter(|e| e.contains("commercial_usage"))
            .collect::<Vec<_>>(),
        [
            "request commercial_usage 429",
            "retry commercial_usage 429",
            "request commercial_usage 200"
        ]
    );
}

#[tokio::test]
async fn a_5xx_is_retried_with_the_same_ms_request_id() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(
            ResponseTemplate::new(503).set_body_raw("<html>Service Unavailable</html>", "text/html"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(json_body(r#"{"Value": [{"licensesActive": 3}]}"#))
        .mount(&h.server)
        .await;

    h.client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap();
    h.client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap();

    let requests = h.requests_to(USAGE_PATH).await;
    assert_eq!(requests.len(), 3);
    let ids: Vec<_> = requests.iter().map(|r| header_of(r, "ms-requestid")).collect();
    assert_eq!(ids[0], ids[1], "a retry repeats the MS-RequestId");
    assert_ne!(ids[1], ids[2], "a new call gets a new MS-RequestId");
    assert_eq!(h.recorder.count("retry commercial_usage 5xx"), 1);
}

#[tokio::test]
async fn a_400_is_not_retried_and_its_error_body_is_quoted() {
    let h = Harness::start().await;
    h.mount_token().await;
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(
        br#"{"code": 800002, "description": "Invalid request input", "data": [], "source": "PartnerFD"}"#,
    );
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_raw(body, "application/json"))
        .expect(1)
        .mount(&h.server)
        .await;
    let query = AnalyticsQuery {
        filter: Some("customerTenantId eq 'secret-ish'".into()),
        ..AnalyticsQuery::default()
    };

    let err = h.client.commercial_usage(&query).await.unwrap_err();

    assert_eq!(err.status(), Some(400));
    let text = err.to_string();
    assert!(text.contains(&format!("commercial_usage ({USAGE_PATH}): Partner Center answered HTTP 400: code 800002: Invalid request input")), "{text}");
    assert!(text.contains("--collector.*.filter"), "{text}");
    assert!(
        !text.contains("secret-ish"),
        "no query string in the message: {text}"
    );
    assert_eq!(
        h.recorder
            .events()
            .iter()
            .filter(|e| e.starts_with("retry"))
            .count(),
        0
    );
}

#[tokio::test]
async fn retries_give_up_after_max_retries_with_the_last_status() {
    let h = Harness::start_with(|c, _| c.max_retries = 2).await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path("/v1/analytics/licenses/usage"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"code": 800003, "description": "Unexpected service error"})),
        )
        .expect(3)
        .mount(&h.server)
        .await;

    let err = h.client.partner_usage().await.unwrap_err();

    assert!(
        err.to_string()
            .contains("HTTP 500: code 800003: Unexpected service error after 3 attempts"),
        "{err}"
    );
    assert_eq!(h.recorder.count("retry partner_usage 5xx"), 2);
}

#[tokio::test]
async fn a_timeout_is_retried_and_then_reported() {
    let h = Harness::start_with(|c, _| {
        c.timeout = Duration::from_millis(100);
        c.max_retries = 1;
    })
    .await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path("/v1/analytics/licenses/deployment"))
        .respond_with(json_body(r#"{"items": []}"#).set_delay(Duration::from_millis(500)))
        .mount(&h.server)
        .await;

    let err = h.client.partner_deployment().await.unwrap_err();

    assert!(matches!(err, ClientError::Timeout { attempts: 2, .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("no answer within 100ms after 2 attempt(s)"),
        "{err}"
    );
    assert_eq!(h.recorder.count("request partner_deployment timeout"), 2);
    assert_eq!(h.recorder.count("retry partner_deployment timeout"), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_and_reported_as_a_connection_error() {
    // A port that was free a moment ago: nothing listens there now.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = MockServer::start().await;
    // A bearer token from the environment: no sign-in involved.
    let mut auth = auth_config(&server, AuthMode::Token);
    auth.access_token = Some("bearer-from-env".into());
    let mut config = client_config(&format!("http://{closed}"));
    config.max_retries = 1;
    let h = Harness::build(server, config, auth);

    let err = h.client.partner_usage().await.unwrap_err();

    assert!(
        matches!(err, ClientError::Connection { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("cannot reach Partner Center after 2 attempt(s)"),
        "{err}"
    );
    assert_eq!(h.recorder.count("request partner_usage error"), 2);
    assert_eq!(h.recorder.count("retry partner_usage connection"), 1);
}

// ----- tokens -----

#[tokio::test]
async fn the_v1_refresh_token_request_sends_the_documented_form_and_the_token_is_cached() {
    let h = Harness::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("client_id=app-id"))
        .and(body_string_contains(format!("client_secret={CLIENT_SECRET}")))
        .and(body_string_contains(format!("refresh_token={REFRESH_TOKEN}")))
        .and(body_string_contains(
            "resource=https%3A%2F%2Fapi.partnercenter.microsoft.com",
        ))
        .respond_with(token_response("access-1", None))
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/analytics/licenses/usage"))
        .respond_with(json_body(r#"{"items": []}"#))
        .mount(&h.server)
        .await;

    h.client.partner_usage().await.unwrap();
    h.client.partner_usage().await.unwrap();

    assert_eq!(h.recorder.count("token_refresh success"), 1);
    assert_eq!(h.recorder.count("request token 200"), 1);
}

#[tokio::test]
async fn the_v2_token_request_sends_scope_instead_of_resource() {
    let h = Harness::start_with(|_, a| a.version = TokenVersion::V2).await;
    h.mount_token().await;

    h.tokens.access_token().await.unwrap();

    let body = String::from_utf8(h.requests_to(TOKEN_PATH).await[0].body.clone()).unwrap();
    assert!(
        body.contains(
            "scope=https%3A%2F%2Fapi.partnercenter.microsoft.com%2Fuser_impersonation+offline_access"
        ),
        "{body}"
    );
    assert!(!body.contains("resource="), "{body}");
}

#[tokio::test]
async fn concurrent_callers_share_one_token_renewal() {
    let h = Harness::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token_response("access-1", None).set_delay(Duration::from_millis(100)))
        .expect(1)
        .mount(&h.server)
        .await;

    let calls = (0..8).map(|_| h.tokens.access_token());
    let tokens = futures::future::join_all(calls).await;

    for token in tokens {
        assert_eq!(token.unwrap().expose_secret(), "access-1");
    }
    assert_eq!(h.recorder.count("token_refresh success"), 1);
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_retries() {
    let h = Harness::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token_response("access-1", None))
        .up_to_n_times(1)
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token_response("access-2", None))
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(header("Authorization", "Bearer access-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"code": 800001, "description": "Partner Token missing in request context"}),
        ))
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(header("Authorization", "Bearer access-2"))
        .respond_with(json_body(fixture("customers_doc_example.json")))
        .expect(1)
        .mount(&h.server)
        .await;

    let customers = h.client.customers().await.unwrap();

    assert_eq!(customers.len(), 2);
    assert_eq!(
        h.requests_to(TOKEN_PATH).await.len(),
        2,
        "the token endpoint is hit twice"
    );
    assert_eq!(h.recorder.count("retry customers 401"), 1);
}

#[tokio::test]
async fn a_401_after_the_renewal_is_an_error_not_a_loop() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"code": 400, "description": "Access denied"})),
        )
        .expect(2)
        .mount(&h.server)
        .await;

    let err = h.client.customers().await.unwrap_err();

    assert!(err.is_auth());
    assert!(
        err.to_string().contains("HTTP 401: code 400: Access denied"),
        "{err}"
    );
    assert!(err.to_string().contains("even after renewing it"), "{err}");
    assert_eq!(h.requests_to(TOKEN_PATH).await.len(), 2);
}

#[tokio::test]
async fn a_rotated_refresh_token_is_written_back_to_its_file_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("refresh-token");
    std::fs::write(&file, format!("{REFRESH_TOKEN}\n")).unwrap();
    let h = Harness::start_with(|_, a| a.refresh_token_file = Some(file.clone())).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains(format!("refresh_token={REFRESH_TOKEN}")))
        .respond_with(token_response("access-1", Some("refresh-rotated-2")))
        .expect(1)
        .mount(&h.server)
        .await;
    // The next renewal must use the rotated token.
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("refresh_token=refresh-rotated-2"))
        .respond_with(token_response("access-2", Some("refresh-rotated-3")))
        .expect(1)
        .mount(&h.server)
        .await;

    h.tokens.access_token().await.unwrap();

    assert_eq!(std::fs::read_to_string(&file).unwrap(), "refresh-rotated-2");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(h.recorder.count("rotated"), 1);

    h.tokens.invalidate();
    assert_eq!(h.tokens.access_token().await.unwrap().expose_secret(), "access-2");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "refresh-rotated-3");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary files left"
    );
}

#[tokio::test]
async fn an_expired_refresh_token_gives_a_clear_auth_error_without_secrets() {
    let h = Harness::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            // Echoes the refresh token on purpose: it must be blanked out.
            "error_description": format!("AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2024-01-01 and was inactive for 90.00:00:00. Token {REFRESH_TOKEN}\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2024-04-01 00:00:00Z"),
            "error_codes": [700082],
            "access_token_hint": CLIENT_SECRET,
        })))
        .mount(&h.server)
        .await;

    let err = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap_err();

    assert!(
        matches!(err, ClientError::Auth(AuthError::InvalidGrant { .. })),
        "{err:?}"
    );
    assert!(err.is_auth());
    let text = err.to_string();
    assert!(
        text.contains("the refresh token expired or was revoked"),
        "{text}"
    );
    assert!(text.contains("AADSTS700082"), "{text}");
    assert!(
        text.contains("README \"Obtaining Partner Center credentials\""),
        "{text}"
    );
    for shown in [text.clone(), format!("{err:?}")] {
        for secret in [REFRESH_TOKEN, CLIENT_SECRET, "Trace ID"] {
            assert!(!shown.contains(secret), "{secret} leaked into {shown}");
        }
    }
    assert_eq!(h.recorder.count("token_refresh invalid_grant"), 1);
    assert!(
        h.requests_to(USAGE_PATH).await.is_empty(),
        "no API call without a token"
    );
}

#[tokio::test]
async fn an_app_only_token_refused_by_a_license_endpoint_says_app_user_is_needed() {
    let h = Harness::start_with(|_, a| {
        a.mode = AuthMode::AppOnly;
        a.refresh_token = None;
    })
    .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(token_response("app-only-1", None))
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"code": 2032, "description": "This resource can't be accessed by application credentials."})))
        .mount(&h.server)
        .await;

    let err = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap_err();

    assert!(
        matches!(err, ClientError::AppUserRequired { status: 403, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("need App+User (refresh-token) authentication"),
        "{text}"
    );
    assert!(text.contains("--auth.mode=app-user"), "{text}");
    assert!(err.is_auth());
}

#[tokio::test]
async fn a_401_naming_mfa_says_the_refresh_token_needs_an_mfa_sign_in() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(DEPLOYMENT_PATH))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"code": 900421, "description": "Multi-factor authentication is required"}),
            ),
        )
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h
        .client
        .commercial_deployment(&AnalyticsQuery::default())
        .await
        .unwrap_err();

    assert!(matches!(err, ClientError::MfaRequired { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("MFA required"), "{text}");
    assert!(
        text.contains("must come from a sign-in that performed MFA; re-consent"),
        "{text}"
    );
    assert_eq!(
        h.requests_to(TOKEN_PATH).await.len(),
        1,
        "renewing cannot add MFA, so it is not tried"
    );
}

#[tokio::test]
async fn a_bearer_token_file_is_reread_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("access-token");
    std::fs::write(&file, "token-a\n").unwrap();
    let h = Harness::start_with(|_, a| {
        a.mode = AuthMode::Token;
        a.access_token_file = Some(file.clone());
    })
    .await;

    assert_eq!(h.tokens.access_token().await.unwrap().expose_secret(), "token-a");
    std::fs::write(&file, "token-bb\n").unwrap();
    assert_eq!(h.tokens.access_token().await.unwrap().expose_secret(), "token-bb");
    assert!(h.requests_to(TOKEN_PATH).await.is_empty());
}

// ----- size cap -----

#[tokio::test]
async fn a_response_larger_than_the_cap_is_an_error() {
    let h = Harness::start_with(|c, _| c.max_response_bytes = 1000).await;
    h.mount_token().await;
    let big = format!(r#"{{"items": [], "padding": "{}"}}"#, "x".repeat(5000));
    Mock::given(method("GET"))
        .and(path("/v1/analytics/licenses/usage"))
        .respond_with(json_body(big))
        .expect(1)
        .mount(&h.server)
        .await;

    let err = h.client.partner_usage().await.unwrap_err();

    assert!(
        matches!(err, ClientError::TooLarge { limit: 1000, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("--partnercenter.max-response-bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn a_chunked_response_larger_than_the_cap_is_cut_off_while_streaming() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // wiremock always sends Content-Length; a raw server sends chunks without announcing a size.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        for _ in 0..10 {
            let chunk = "x".repeat(512);
            // The client may hang up once it has seen enough; that is the point.
            if socket
                .write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
    });
    let mut auth = auth_config(&MockServer::start().await, AuthMode::Token);
    auth.access_token = Some("bearer".into());
    let mut config = client_config(&format!("http://{addr}"));
    config.max_response_bytes = 1000;
    let h = Harness::build(MockServer::start().await, config, auth);

    let err = h.client.partner_usage().await.unwrap_err();

    assert!(
        matches!(err, ClientError::TooLarge { limit: 1000, .. }),
        "{err:?}"
    );
    server.abort();
}

// ----- the handle itself -----

#[tokio::test]
async fn listing_futures_are_send_so_collectors_can_spawn_them() {
    fn assert_send<T: Send>(_: &T) {}
    let h = Harness::start().await;
    let query = AnalyticsQuery::default();
    assert_send(&h.client.commercial_usage(&query));
    assert_send(&h.client.commercial_deployment(&query));
    assert_send(&h.client.partner_deployment());
    assert_send(&h.client.partner_usage());
    assert_send(&h.client.customers());
    assert_send(&h.client.customer_usage(CUSTOMER));
    assert_send(&h.client.customer_deployment(CUSTOMER));
    assert_send(&h.tokens.access_token());
}

#[tokio::test]
async fn a_correlation_id_handle_sends_that_id_on_every_page() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .and(query_param("skip", "0"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"Value": [{"licensesActive": 1}], "@nextLink": "license?skip=2"})),
        )
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .and(query_param("skip", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Value": [{"licensesActive": 1}]})))
        .mount(&h.server)
        .await;
    let cycle = uuid::Uuid::new_v4();

    h.client
        .with_correlation_id(cycle)
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap();

    let requests = h.requests_to(USAGE_PATH).await;
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(header_of(r, "ms-correlationid"), cycle.to_string());
    }
    assert_ne!(
        header_of(&requests[0], "ms-requestid"),
        header_of(&requests[1], "ms-requestid")
    );
}

#[tokio::test]
async fn an_empty_customer_id_is_refused_without_a_request() {
    let h = Harness::start().await;

    let err = h.client.customer_usage("  ").await.unwrap_err();

    assert!(
        matches!(
            err,
            ClientError::InvalidRequest {
                endpoint: "customer_usage",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(h.server.received_requests().await.unwrap().is_empty());
}

// ----- redirects and echoed secrets -----

#[tokio::test]
async fn a_redirect_from_the_token_endpoint_is_refused_and_no_secret_reaches_the_other_host() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_response("stolen-access", None))
        .mount(&elsewhere)
        .await;
    let h = Harness::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(307).insert_header("Location", format!("{}/steal", elsewhere.uri())),
        )
        .mount(&h.server)
        .await;

    let err = h.client.customers().await.unwrap_err();

    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "the token request was re-sent to the redirect's target"
    );
    let text = err.to_string();
    assert!(text.contains("redirect"), "{text}");
    assert!(
        text.contains("127.0.0.1"),
        "the error names the location's host: {text}"
    );
    assert!(
        !text.contains(CLIENT_SECRET) && !text.contains(REFRESH_TOKEN),
        "{text}"
    );
    assert_eq!(
        h.requests_to(TOKEN_PATH).await.len(),
        1,
        "a redirect is not retried"
    );
}

#[tokio::test]
async fn an_api_redirect_to_another_host_is_refused_and_its_rows_are_not_served() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_body(fixture("customers_doc_example.json")))
        .mount(&elsewhere)
        .await;
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", format!("{}/v1/customers", elsewhere.uri())),
        )
        .mount(&h.server)
        .await;

    let err = h.client.customers().await.unwrap_err();

    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "the redirect was followed to another origin"
    );
    let text = err.to_string();
    assert!(text.contains("redirect"), "{text}");
    assert!(
        text.contains(&elsewhere.address().to_string()),
        "names the target: {text}"
    );
}

#[tokio::test]
async fn an_api_redirect_within_the_partner_center_origin_is_followed_with_the_token() {
    let h = Harness::start().await;
    h.mount_token().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/v1/customers-moved"))
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers-moved"))
        .and(header("Authorization", "Bearer access-1"))
        .respond_with(json_body(fixture("customers_doc_example.json")))
        .mount(&h.server)
        .await;

    let customers = h.client.customers().await.unwrap();

    assert_eq!(customers.len(), 2);
}

#[tokio::test]
async fn an_access_token_echoed_by_an_error_body_is_redacted_from_the_error() {
    let h = Harness::start().await;
    h.mount_token().await;
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvdGhlciJ9.c2lnbmF0dXJl";
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 400,
            "description": format!("Bad request; Authorization: Bearer access-1; saw {jwt}; secret {CLIENT_SECRET}"),
            "message": format!("token access-1 refresh {REFRESH_TOKEN}"),
        })))
        .mount(&h.server)
        .await;
    Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(ResponseTemplate::new(502).set_body_string(format!(
            "<html>upstream said Authorization: bearer opaque-token-xyz and {jwt}</html>"
        )))
        .mount(&h.server)
        .await;

    let customers = h.client.customers().await.unwrap_err();
    let usage = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap_err();

    for err in [customers, usage] {
        for shown in [err.to_string(), format!("{err:?}")] {
            for secret in ["access-1", jwt, CLIENT_SECRET, REFRESH_TOKEN, "opaque-token-xyz"] {
                assert!(!shown.contains(secret), "{secret} leaked into {shown}");
            }
            assert!(shown.contains("[redacted]"), "{shown}");
        }
    }
}

// ----- token endpoint retries -----

#[tokio::test]
async fn the_token_endpoint_is_retried_after_a_server_error_and_a_throttle() {
    let h = Harness::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>busy</html>"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token_response("access-1", None))
        .with_priority(5)
        .mount(&h.server)
        .await;
    serve(&h.server, USAGE_PATH, json!({"Value": [], "TotalCount": 0})).await;
    h.client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .expect("the third token request succeeds");
    assert_eq!(h.requests_to(TOKEN_PATH).await.len(), 3);
    assert_eq!(h.recorder.count("retry token 5xx"), 1);
    assert_eq!(h.recorder.count("retry token 429"), 1);
    assert_eq!(h.recorder.count("token_refresh success"), 1);
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_retried_then_fails_with_a_clear_error() {
    let h = Harness::start_with(|_, auth| {
        auth.token_url = "http://127.0.0.1:1/t/oauth2/token".parse().unwrap();
    })
    .await;
    let err = h
        .client
        .commercial_usage(&AnalyticsQuery::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot reach the sign-in service"),
        "{err}"
    );
    assert_eq!(h.recorder.count("retry token connection"), 2, "max_retries = 2");
}

#[tokio::test]
async fn invalid_grant_and_invalid_client_are_not_retried() {
    for (status, body) in [
        (
            400,
            json!({"error": "invalid_grant", "error_description": "AADSTS700082: expired"}),
        ),
        (
            401,
            json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}),
        ),
    ] {
        let h = Harness::start().await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&h.server)
            .await;
        assert!(
            h.client
                .commercial_usage(&AnalyticsQuery::default())
                .await
                .is_err()
        );
        assert_eq!(h.requests_to(TOKEN_PATH).await.len(), 1, "HTTP {status}");
        assert!(!h.recorder.events().iter().any(|e| e.starts_with("retry token")));
    }
}

#[tokio::test]
async fn a_null_collection_is_an_error_not_an_empty_listing() {
    for body in [json!({"Value": null, "TotalCount": 0}), json!({"items": null})] {
        let h = Harness::start().await;
        h.mount_token().await;
        serve(&h.server, USAGE_PATH, body.clone()).await;
        let err = h
            .client
            .commercial_usage(&AnalyticsQuery::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("null"), "{body}: {err}");
    }
}

#[tokio::test]
async fn the_default_resource_is_partner_center_even_behind_a_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("s");
    let refresh = dir.path().join("r");
    std::fs::write(&secret, "x").unwrap();
    std::fs::write(&refresh, "y").unwrap();
    let config = partnercenter_exporter::app::config_from_args([
        "x".to_owned(),
        "--partnercenter.url=https://proxy.example/pc".into(),
        "--auth.tenant-id=t".into(),
        "--auth.client-id=c".into(),
        format!("--auth.client-secret-file={}", secret.display()),
        format!("--auth.refresh-token-file={}", refresh.display()),
    ])
    .unwrap();
    assert_eq!(config.auth.resource, "https://api.partnercenter.microsoft.com");
    let china = partnercenter_exporter::app::config_from_args([
        "x".to_owned(),
        "--cloud=china".into(),
        "--auth.tenant-id=t".into(),
        "--auth.client-id=c".into(),
        format!("--auth.client-secret-file={}", secret.display()),
        format!("--auth.refresh-token-file={}", refresh.display()),
    ])
    .unwrap();
    assert_eq!(
        china.auth.resource,
        "https://partner.partnercenterapi.microsoftonline.cn"
    );
}

async fn serve(server: &MockServer, route: &str, body: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}
