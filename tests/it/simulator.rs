//! The simulated Partner Center over HTTP, as a client sees it: sign-in, paging, filters, error
//! shapes, knobs and the admin hooks.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use partnercenter_exporter::config::SimulateArgs;
use partnercenter_exporter::simulator::{KnobValues, RunningSimulator};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

const USAGE: &str = "/partner/v1/analytics/commercial/usage/license";
const DEPLOYMENT: &str = "/partner/v1/analytics/commercial/deployment/license";
const LICENSE_ENDPOINTS: [&str; 4] = [
    USAGE,
    DEPLOYMENT,
    "/v1/analytics/licenses/usage",
    "/v1/analytics/licenses/deployment",
];

struct TestSim {
    sim: RunningSimulator,
    http: reqwest::Client,
}

async fn start(args: SimulateArgs) -> TestSim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = RunningSimulator::start(args, listener).await.unwrap();
    TestSim {
        sim,
        http: reqwest::Client::new(),
    }
}

async fn start_default() -> TestSim {
    start(SimulateArgs::default()).await
}

impl TestSim {
    fn url(&self, path_and_query: &str) -> Url {
        self.sim
            .base_url()
            .join(path_and_query.trim_start_matches('/'))
            .unwrap()
    }

    fn token_url(&self, v2: bool) -> String {
        self.sim
            .token_url_template(v2)
            .replace("{tenant}", &self.sim.partner_tenant_id())
    }

    async fn token(&self, v2: bool, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let (id, secret) = self.sim.client_credentials();
        let mut full = vec![("client_id", id.as_str()), ("client_secret", secret.as_str())];
        full.extend_from_slice(form);
        let resp = self
            .http
            .post(self.token_url(v2))
            .form(&full)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap())
    }

    async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("resource", "https://api.partnercenter.microsoft.com"),
        ];
        self.token(false, &form).await
    }

    async fn user_token(&self) -> String {
        let (status, body) = self.refresh(&self.sim.issue_refresh_token()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn app_token(&self) -> String {
        let form = [
            ("grant_type", "client_credentials"),
            ("resource", "https://api.partnercenter.microsoft.com"),
        ];
        let (status, body) = self.token(false, &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path_and_query: &str, token: &str) -> reqwest::Response {
        self.get_url(self.url(path_and_query), token).await
    }

    async fn get_url(&self, url: Url, token: &str) -> reqwest::Response {
        self.http.get(url).bearer_auth(token).send().await.unwrap()
    }

    async fn get_json(&self, path_and_query: &str, token: &str) -> Value {
        let resp = self.get(path_and_query, token).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path_and_query}");
        resp.json().await.unwrap()
    }

    /// Every row of a commercial endpoint, following `@nextLink`; also returns the page count.
    async fn all_pages(&self, path_and_query: &str, token: &str) -> (Vec<Value>, usize) {
        let mut url = self.url(path_and_query);
        let mut rows = Vec::new();
        let mut pages = 0;
        loop {
            let resp = self.get_url(url.clone(), token).await;
            assert_eq!(resp.status(), StatusCode::OK, "{url}");
            let page: Value = resp.json().await.unwrap();
            pages += 1;
            rows.extend(page["Value"].as_array().unwrap().iter().cloned());
            match page["@nextLink"].as_str() {
                Some(next) => url = url.join(next).unwrap(),
                None => {
                    assert_eq!(page["TotalCount"].as_u64().unwrap() as usize, rows.len());
                    return (rows, pages);
                }
            }
        }
    }
}

#[tokio::test]
async fn a_refresh_token_grant_returns_an_access_token_and_a_rotated_refresh_token() {
    let t = start_default().await;
    let first = t.sim.issue_refresh_token();

    let (status, v1) = t.refresh(&first).await;

    assert_eq!(status, StatusCode::OK, "{v1}");
    assert_eq!(v1["token_type"], "Bearer");
    assert_eq!(v1["expires_in"], "3600", "v1 sends numbers as strings");
    assert_eq!(v1["scope"], "user_impersonation");
    let second = v1["refresh_token"].as_str().unwrap();
    assert_ne!(second, first);
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", second),
        (
            "scope",
            "https://api.partnercenter.microsoft.com/user_impersonation offline_access",
        ),
    ];
    let (status, v2) = t.token(true, &form).await;
    assert_eq!(status, StatusCode::OK, "{v2}");
    assert_eq!(v2["expires_in"], 3600, "v2 sends numbers as numbers");
    assert_ne!(v2["refresh_token"].as_str().unwrap(), second);
}

#[tokio::test]
async fn a_redeemed_refresh_token_fails_with_invalid_grant_once_its_grace_is_over() {
    let t = start(SimulateArgs {
        refresh_token_grace: Duration::from_secs(60),
        ..SimulateArgs::default()
    })
    .await;
    let first = t.sim.issue_refresh_token();
    assert_eq!(t.refresh(&first).await.0, StatusCode::OK);
    assert_eq!(
        t.refresh(&first).await.0,
        StatusCode::OK,
        "still within the grace"
    );

    t.sim.advance_time(Duration::from_secs(61));
    let (status, body) = t.refresh(&first).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS70008:"),
        "{body}"
    );
    let (status, body) = t.refresh("never-issued").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_refresh_token_left_unused_for_its_lifetime_fails_with_aadsts700082() {
    let t = start_default().await;
    let token = t.sim.issue_refresh_token();

    t.sim.advance_time(Duration::from_secs(91 * 86_400));
    let (status, body) = t.refresh(&token).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS700082:"),
        "{body}"
    );
}

#[tokio::test]
async fn wrong_client_secrets_unknown_tenants_and_bad_v2_scopes_are_refused() {
    let t = start_default().await;
    let (id, _) = t.sim.client_credentials();
    let form = [
        ("client_id", id.as_str()),
        ("client_secret", "wrong"),
        ("grant_type", "client_credentials"),
    ];
    let resp = t.http.post(t.token_url(false)).form(&form).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "invalid_client");

    let other_tenant = t
        .sim
        .token_url_template(false)
        .replace("{tenant}", "contoso.onmicrosoft.com");
    let resp = t.http.post(other_tenant).form(&form).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let (status, body) = t
        .token(true, &[("grant_type", "client_credentials"), ("scope", "x")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
    let (status, _) = t
        .token(
            true,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "https://api.partnercenter.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn app_only_tokens_get_403_from_the_license_endpoints_and_200_from_customers() {
    let t = start_default().await;
    let app = t.app_token().await;
    let customer = &t.sim.customers()[0].id;
    let per_customer = [
        format!("/v1/customers/{customer}/analytics/licenses/usage"),
        format!("/v1/customers/{customer}/analytics/licenses/deployment"),
    ];

    for path in LICENSE_ENDPOINTS
        .iter()
        .map(|s| s.to_string())
        .chain(per_customer)
    {
        let resp = t.get(&path, &app).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["description"],
            "This resource can't be accessed by application credentials."
        );
        assert!(body["code"].is_number());
    }
    assert_eq!(
        t.get("/v1/customers?size=10", &app).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn missing_and_expired_access_tokens_get_401() {
    let t = start(SimulateArgs {
        token_ttl: Duration::from_secs(60),
        ..SimulateArgs::default()
    })
    .await;
    let resp = t.http.get(t.url(USAGE)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], 800001);
    let token = t.user_token().await;
    assert_eq!(t.get(USAGE, &token).await.status(), StatusCode::OK);

    t.sim.advance_time(Duration::from_secs(61));

    let resp = t.get(USAGE, &token).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn customers_are_listed_over_several_pages_with_continuation_tokens() {
    let t = start_default().await;
    let token = t.app_token().await;
    let mut page: Value = t.get_json("/v1/customers?size=10", &token).await;
    let mut seen = Vec::new();
    let mut pages = 1;

    loop {
        assert_eq!(
            page["totalCount"].as_u64().unwrap() as usize,
            page["items"].as_array().unwrap().len()
        );
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["id"], item["companyProfile"]["tenantId"]);
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        let Some(next) = page["links"].get("next") else {
            break;
        };
        let uri = next["uri"].as_str().unwrap();
        assert!(uri.starts_with("/customers?size=10&seekOperation=Next"), "{uri}");
        let mut req = t.http.get(t.url(&format!("/v1{uri}"))).bearer_auth(&token);
        for h in next["headers"].as_array().unwrap() {
            req = req.header(h["key"].as_str().unwrap(), h["value"].as_str().unwrap());
        }
        page = req.send().await.unwrap().json().await.unwrap();
        pages += 1;
    }

    assert_eq!(pages, 3);
    let expected: Vec<String> = t.sim.customers().into_iter().map(|c| c.id).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_next_customers_page_needs_a_valid_continuation_token() {
    let t = start_default().await;
    let token = t.app_token().await;
    let next = "/v1/customers?size=10&seekOperation=Next";

    let without = t.get(next, &token).await;
    let forged = t
        .http
        .get(t.url(next))
        .bearer_auth(&token)
        .header("MS-ContinuationToken", "AQAAAA==")
        .send()
        .await
        .unwrap();

    assert_eq!(without.status(), StatusCode::BAD_REQUEST);
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    let body: Value = forged.json().await.unwrap();
    assert!(
        body["description"].as_str().unwrap().contains("continuation"),
        "{body}"
    );
    assert_eq!(
        t.get("/v1/customers", &token).await.status(),
        StatusCode::BAD_REQUEST,
        "size is required"
    );
}

#[tokio::test]
async fn commercial_usage_pages_through_next_links_and_matches_the_ground_truth() {
    let t = start_default().await;
    let token = t.user_token().await;
    let expected = t.sim.expected_usage();

    let (rows, pages) = t.all_pages(&format!("{USAGE}?top=40"), &token).await;

    assert!(pages >= 3, "{pages} pages");
    assert_eq!(rows.len(), expected.len());
    for (row, want) in rows.iter().zip(&expected) {
        assert_eq!(
            row["customerTenantId"].as_str().unwrap(),
            want.customer_tenant_id.to_uppercase()
        );
        assert_eq!(row["productId"].as_str().unwrap().to_lowercase(), want.product_id);
        assert_eq!(
            row["licenseActive"].as_f64().unwrap(),
            want.licenses_active,
            "documented spelling"
        );
        assert_eq!(
            row["licensesQualified"].as_f64().unwrap(),
            want.licenses_qualified
        );
        let processed = row["processedDateTime"].as_str().unwrap();
        assert!(processed.ends_with("T00:00:00"), "no offset: {processed}");
    }
}

#[tokio::test]
async fn commercial_deployment_pages_respect_the_page_size_cap_and_the_trailing_slash_path() {
    let t = start(SimulateArgs {
        page_size_cap: 20,
        ..SimulateArgs::default()
    })
    .await;
    let token = t.user_token().await;

    let (rows, pages) = t
        .all_pages("/v1/analytics/commercial/deployment/license/", &token)
        .await;

    assert_eq!(rows.len(), t.sim.expected_deployment().len());
    assert_eq!(pages, rows.len().div_ceil(20));
    assert!(pages >= 3);
}

#[tokio::test]
async fn filters_select_rows_and_groupby_sums_them() {
    let t = start_default().await;
    let token = t.user_token().await;
    let expected = t.sim.expected_usage();

    let (exo, _) = t
        .all_pages(&format!("{USAGE}?filter=workloadCode%20eq%20%27EXO%27"), &token)
        .await;
    let filter = "(workloadCode eq 'exo' or workloadCode eq 'TEAMS') and serviceCode ne 'crm'";
    let url = format!("{USAGE}?top=7&filter={}", urlencode(filter));
    let (either, pages) = t.all_pages(&url, &token).await;
    let grouped = t.get_json(&format!("{USAGE}?groupby=workloadCode"), &token).await;

    assert_eq!(
        exo.len(),
        expected.iter().filter(|r| r.workload_code == "EXO").count()
    );
    assert!(exo.iter().all(|r| r["workloadCode"] == "EXO"));
    let want = expected
        .iter()
        .filter(|r| r.workload_code == "EXO" || r.workload_code == "TEAMS")
        .count();
    assert_eq!(either.len(), want);
    assert!(pages > 1, "the filter is carried into the next links");
    for group in grouped["Value"].as_array().unwrap() {
        let code = group["workloadCode"].as_str().unwrap();
        let active: f64 = expected
            .iter()
            .filter(|r| r.workload_code == code)
            .map(|r| r.licenses_active)
            .sum();
        assert_eq!(group["licenseActive"].as_f64().unwrap(), active, "{code}");
        assert!(
            group.get("customerTenantId").is_none(),
            "only grouped fields and counts"
        );
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[tokio::test]
async fn a_bad_filter_gets_400_with_code_and_description() {
    let t = start_default().await;
    let token = t.user_token().await;

    let resp = t
        .get(
            &format!("{DEPLOYMENT}?filter=workloadCode%20eq%20%27EXO%27"),
            &token,
        )
        .await;

    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 800002);
    assert!(
        body["description"].as_str().unwrap().contains("workloadCode"),
        "{body}"
    );
}

#[tokio::test]
async fn legacy_endpoints_agree_with_the_commercial_figures() {
    let t = start_default().await;
    let token = t.user_token().await;
    let deployment = t.sim.expected_deployment();
    let usage = t.sim.expected_usage();

    let partner = t.get_json("/v1/analytics/licenses/deployment", &token).await;
    let customer = &t.sim.customers()[1];
    let legacy_usage = t
        .get_json(
            &format!("/v1/customers/{}/analytics/licenses/usage", customer.id),
            &token,
        )
        .await;

    for item in partner["items"].as_array().unwrap() {
        let service = item["serviceName"].as_str().unwrap();
        let sold: f64 = deployment
            .iter()
            .filter(|r| r.service_code == service)
            .map(|r| r.licenses_sold)
            .sum();
        assert_eq!(item["licensesSold"].as_f64().unwrap(), sold, "{service}");
        assert!(item["processedDateTime"].as_str().unwrap().ends_with("+00:00"));
        assert_eq!(
            item["attributes"]["objectType"],
            "PartnerLicensesDeploymentInsights"
        );
    }
    let mine: Vec<_> = usage
        .iter()
        .filter(|r| r.customer_tenant_id == customer.id)
        .collect();
    let items = legacy_usage["items"].as_array().unwrap();
    assert_eq!(legacy_usage["totalCount"].as_u64().unwrap() as usize, mine.len());
    for (item, want) in items.iter().zip(mine) {
        assert_eq!(item["customerName"].as_str().unwrap(), customer.company_name);
        assert_eq!(item["workloadName"].as_str().unwrap(), want.workload_name);
        assert_eq!(item["licensesActive"].as_f64().unwrap(), want.licenses_active);
    }
    let partner_rows = t.sim.expected_partner_deployment();
    assert_eq!(partner_rows.len(), partner["items"].as_array().unwrap().len());
}

#[tokio::test]
async fn an_unknown_customer_gets_404_tenant_not_found() {
    let t = start_default().await;
    let token = t.user_token().await;

    let resp = t
        .get(
            "/v1/customers/00000000-0000-4000-8000-000000000000/analytics/licenses/usage",
            &token,
        )
        .await;

    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], 60003);
}

#[tokio::test]
async fn requests_beyond_the_rate_limit_get_429_with_retry_after() {
    let t = start(SimulateArgs {
        rate_limit: 3,
        ..SimulateArgs::default()
    })
    .await;
    let token = t.user_token().await;
    for _ in 0..3 {
        assert_eq!(t.get(DEPLOYMENT, &token).await.status(), StatusCode::OK);
    }

    let resp = t.get(DEPLOYMENT, &token).await;

    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["statusCode"], 429);
    assert_eq!(
        body["message"],
        format!("Rate limit is exceeded. Try again in {retry_after} seconds.")
    );
    t.sim.advance_time(Duration::from_secs(retry_after));
    assert_eq!(t.get(DEPLOYMENT, &token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn bodies_start_with_a_bom_when_asked_to() {
    let t = start(SimulateArgs {
        bom: true,
        ..SimulateArgs::default()
    })
    .await;
    let token = t.user_token().await;

    let ok = t.get(USAGE, &token).await.bytes().await.unwrap();
    let err = t
        .get("/v1/customers/nope/analytics/licenses/usage", &token)
        .await
        .bytes()
        .await
        .unwrap();

    for body in [&ok, &err] {
        assert!(body.starts_with(b"\xEF\xBB\xBF"));
        serde_json::from_slice::<Value>(&body[3..]).unwrap();
    }
    t.sim.set_bom(false);
    assert!(
        t.get(USAGE, &token)
            .await
            .bytes()
            .await
            .unwrap()
            .starts_with(b"{")
    );
}

#[tokio::test]
async fn a_fail_rate_of_one_answers_every_request_with_500_or_503() {
    let t = start_default().await;
    let token = t.user_token().await;
    t.sim.set_fail_rate(1.0);

    for _ in 0..5 {
        let resp = t.get(DEPLOYMENT, &token).await;
        assert!(matches!(resp.status().as_u16(), 500 | 503), "{}", resp.status());
        let body: Value = resp.json().await.unwrap();
        assert!(body["code"].is_number() && body["description"].is_string());
    }
}

#[tokio::test]
async fn latency_delays_every_request() {
    let t = start(SimulateArgs {
        latency: Duration::from_millis(100),
        ..SimulateArgs::default()
    })
    .await;
    let token = t.app_token().await;

    let began = Instant::now();
    t.get("/v1/customers?size=1", &token).await;

    assert!(
        began.elapsed() >= Duration::from_millis(70),
        "{:?}",
        began.elapsed()
    );
    t.sim
        .set_knobs(&KnobValues {
            latency_ms: Some(0.0),
            ..Default::default()
        })
        .unwrap();
}

#[tokio::test]
async fn admin_endpoints_add_and_remove_customers_everywhere() {
    let t = start(SimulateArgs {
        customers: 5,
        ..SimulateArgs::default()
    })
    .await;
    let token = t.user_token().await;

    let resp = t
        .http
        .post(t.url("/admin/customers"))
        .body(r#"{"count": 2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let added: Value = resp.json().await.unwrap();
    let new_id = added["added"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(t.sim.customers().len(), 7);
    let (rows, _) = t.all_pages(DEPLOYMENT, &token).await;
    assert!(rows.iter().any(|r| {
        r["customerTenantId"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&new_id)
    }));

    let resp = t
        .http
        .delete(t.url(&format!("/admin/customers/{new_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    let (rows, _) = t.all_pages(DEPLOYMENT, &token).await;
    assert!(!rows.iter().any(|r| {
        r["customerTenantId"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&new_id)
    }));
    let legacy = t
        .get(
            &format!("/v1/customers/{new_id}/analytics/licenses/usage"),
            &token,
        )
        .await;
    assert_eq!(legacy.status(), StatusCode::NOT_FOUND);
    let state: Value = t
        .http
        .get(t.url("/admin/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["customers"].as_array().unwrap().len(), 6);
    assert!(state["requests"]["commercial_deployment"].as_u64().unwrap() >= 2);
}

#[tokio::test]
async fn rust_methods_add_named_customers_and_report_under_used_ones() {
    let t = start(SimulateArgs {
        customers: 10,
        ..SimulateArgs::default()
    })
    .await;

    let named = t.sim.add_customer("Ünïcode \"Quoted\" \\ Co");
    let underused = t.sim.underused_customers();

    assert!(
        t.sim
            .customers()
            .iter()
            .any(|c| c.company_name == "Ünïcode \"Quoted\" \\ Co")
    );
    assert!(!underused.is_empty());
    assert!(t.sim.remove_customer(&named.id));
    assert!(!t.sim.remove_customer(&named.id));
    let ids: HashSet<String> = t.sim.customers().into_iter().map(|c| c.id).collect();
    assert!(underused.iter().all(|id| ids.contains(id)));
    assert!(t.sim.request_counts().values().all(|&n| n == 0));
}

#[tokio::test]
async fn ten_thousand_customers_are_served_in_full_pages() {
    let t = start(SimulateArgs {
        customers: 10_000,
        ..SimulateArgs::default()
    })
    .await;
    let token = t.user_token().await;

    let began = Instant::now();
    let page = t.get_json("/v1/customers?size=10000", &token).await;
    let usage = t.get_json(&format!("{USAGE}?top=10000"), &token).await;

    assert_eq!(page["items"].as_array().unwrap().len(), 10_000);
    assert!(page["links"].get("next").is_none());
    assert_eq!(usage["Value"].as_array().unwrap().len(), 10_000);
    assert!(usage["TotalCount"].as_u64().unwrap() > 10_000);
    assert!(usage["@nextLink"].as_str().unwrap().contains("skip=10000"));
    assert!(began.elapsed() < Duration::from_secs(30), "{:?}", began.elapsed());
}

#[tokio::test]
async fn processed_date_time_restamps_past_dates_and_finds_nothing_in_the_future() {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
    let t = start(SimulateArgs {
        processed_date: Some(date),
        ..SimulateArgs::default()
    })
    .await;
    let token = t.user_token().await;

    let past = t
        .get_json(
            &format!("{DEPLOYMENT}?processedDateTime=2026-03-01T00:00:00"),
            &token,
        )
        .await;
    let future = t
        .get_json(&format!("{DEPLOYMENT}?processedDateTime=2026-03-11"), &token)
        .await;
    let bad = t
        .get(&format!("{DEPLOYMENT}?processedDateTime=yesterday"), &token)
        .await;

    assert_eq!(past["Value"][0]["processedDateTime"], "2026-03-01T00:00:00");
    assert_eq!(
        past["TotalCount"].as_u64().unwrap() as usize,
        t.sim.expected_deployment().len()
    );
    assert_eq!(future["TotalCount"], 0);
    assert_eq!(future["@nextLink"], Value::Null);
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let latest = t.get_json(DEPLOYMENT, &token).await;
    assert_eq!(latest["Value"][0]["processedDateTime"], "2026-03-10T00:00:00");
}

#[tokio::test]
async fn the_partner_domain_works_in_place_of_the_tenant_id_and_requests_are_counted() {
    let t = start_default().await;
    let (id, secret) = t.sim.client_credentials();
    let url = t
        .sim
        .token_url_template(true)
        .replace("{tenant}", &t.sim.partner_domain());
    let form = [
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
        ("grant_type", "client_credentials"),
        ("scope", "https://api.partnercenter.microsoft.com/.default"),
    ];

    let resp = t.http.post(url).form(&form).send().await.unwrap();

    assert_eq!(resp.status(), StatusCode::OK);
    let token = resp.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    t.get("/v1/customers?size=5", &token).await;
    let counts = t.sim.request_counts();
    assert_eq!(counts["token"], 1);
    assert_eq!(counts["customers"], 1);
}
