//! Shared helpers of the integration tests: a wiremock Partner Center with a token endpoint,
//! configurations pointing at it, and a strict checker of the text exposition format.

use std::path::PathBuf;

use std::sync::Arc;
use std::time::Duration;

use partnercenter_exporter::app::{self, App};
use partnercenter_exporter::config::Config;
use partnercenter_exporter::scheduler::Scheduler;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const TENANT: &str = "partner-tenant";
pub const USAGE_PATH: &str = "/partner/v1/analytics/commercial/usage/license";
pub const DEPLOYMENT_PATH: &str = "/partner/v1/analytics/commercial/deployment/license";
pub const PARTNER_DEPLOYMENT_PATH: &str = "/v1/analytics/licenses/deployment";
pub const CLIENT_SECRET: &str = "test-client-secret-value";
pub const REFRESH_TOKEN: &str = "test-refresh-token-value";

/// A wiremock server answering the sign-in endpoint (every grant succeeds and rotates the token).
pub async fn upstream() -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server).await;
    server
}

/// Mount the sign-in endpoint (again, after `server.reset()`).
pub async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer",
            "expires_in": "3600",
            "access_token": "test-access-token-value",
            "refresh_token": "test-rotated-refresh-token-value",
        })))
        .mount(server)
        .await;
}

/// A commercial usage row as Partner Center documents it (note the `licenseActive` spelling).
pub fn usage_row(
    customer: &str,
    name: &str,
    product: &str,
    workload: &str,
    active: u64,
    qualified: u64,
) -> Value {
    json!({
        "processedDateTime": "2026-11-20T00:00:00",
        "workloadCode": workload,
        "workloadName": format!("{workload} workload"),
        "serviceCode": "o365",
        "serviceName": "Microsoft Office 365",
        "channel": "reseller",
        "customerTenantId": customer.to_uppercase(),
        "customerName": name,
        "productId": product.to_uppercase(),
        "productName": "OFFICE 365 E3",
        "licenseActive": active,
        "licensesQualified": qualified,
    })
}

/// A commercial deployment row.
pub fn deployment_row(customer: &str, name: &str, product: &str, deployed: u64, sold: u64) -> Value {
    json!({
        "processedDateTime": "2026-11-20T00:00:00",
        "serviceCode": "o365",
        "serviceName": "Microsoft Office 365",
        "channel": "reseller",
        "customerTenantId": customer.to_uppercase(),
        "customerName": name,
        "productId": product.to_uppercase(),
        "productName": "OFFICE 365 E3",
        "licensesDeployed": deployed,
        "licensesSold": sold,
    })
}

/// The commercial envelope of one last page.
pub fn commercial_page(rows: Vec<Value>) -> Value {
    let n = rows.len();
    json!({ "Value": rows, "@nextLink": null, "TotalCount": n })
}

/// Serve `body` on `GET route` (replacing nothing: mount order decides; use `server.reset()` to swap).
pub async fn serve_json(server: &MockServer, route: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// How many requests `server` received for `route`.
pub async fn requests_to(server: &MockServer, route: &str) -> usize {
    let requests = server
        .received_requests()
        .await
        .expect("wiremock records requests");
    requests.iter().filter(|r| r.url.path() == route).count()
}

/// Files holding the (fake) client secret and refresh token.
pub struct Secrets {
    /// Kept so the directory lives as long as the test.
    _dir: tempfile::TempDir,
    pub secret: PathBuf,
    pub refresh: PathBuf,
}

pub fn secrets() -> Secrets {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = dir.path().join("secret");
    let refresh = dir.path().join("refresh");
    std::fs::write(&secret, CLIENT_SECRET).expect("write secret");
    std::fs::write(&refresh, REFRESH_TOKEN).expect("write refresh token");
    Secrets {
        _dir: dir,
        secret,
        refresh,
    }
}

/// A configuration against `server`, plus `extra` flags.
pub fn config(server: &MockServer, secrets: &Secrets, extra: &[&str]) -> Config {
    let mut args: Vec<String> = vec![
        "partnercenter-exporter".into(),
        "--web.listen-address=127.0.0.1:0".into(),
        format!("--partnercenter.url={}", server.uri()),
        format!("--auth.token-url={}/{{tenant}}/oauth2/token", server.uri()),
        format!("--auth.tenant-id={TENANT}"),
        "--auth.client-id=test-client".into(),
        format!("--auth.client-secret-file={}", secrets.secret.display()),
        format!("--auth.refresh-token-file={}", secrets.refresh.display()),
        "--partnercenter.max-retries=1".into(),
        "--partnercenter.max-backoff=50ms".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    app::config_from_args(args).expect("valid test configuration")
}

/// Label pairs of one series, in order.
type Labels = Vec<(String, String)>;

/// Parse `label="value",...}` (after the opening brace); returns the labels and the rest of the line.
fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    let mut rest = s;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or("label without '='")?;
        let name = &rest[..eq];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad label name {name:?}"));
        }
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("label value not quoted".into());
        }
        let mut value = String::new();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((i, '"')) => break i,
                Some((_, '\n')) => return Err("raw newline in a value".into()),
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value".into()),
            }
        };
        labels.push((name.to_owned(), value));
        rest = &rest[eq + 1 + end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// Check that `text` is valid text exposition: every line a HELP/TYPE comment, blank, or
/// `name{label="value",...} number` with correctly escaped values; no series twice.
pub fn assert_valid_exposition(text: &str) {
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "line {}: bad metric name: {line:?}",
            n + 1
        );
        let (labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(after) => parse_labels(after).unwrap_or_else(|e| panic!("line {}: {e}: {line:?}", n + 1)),
            None => (Vec::new(), &line[name_end..]),
        };
        let value = rest
            .strip_prefix(' ')
            .and_then(|v| v.split(' ').next())
            .unwrap_or_default();
        assert!(
            value.parse::<f64>().is_ok() || matches!(value, "+Inf" | "-Inf" | "NaN"),
            "line {}: bad value {value:?}: {line:?}",
            n + 1
        );
        assert!(
            seen.insert((name.to_owned(), labels)),
            "line {}: duplicate series: {line:?}",
            n + 1
        );
    }
}

/// The value of the one series of `name` whose labels include every `(label, value)` pair.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .find(|l| labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A running exporter on a loopback port.
pub struct Running {
    pub base: String,
    pub scheduler: Arc<Scheduler>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn start(config: &partnercenter_exporter::config::Config) -> Self {
        let app = App::build(config).await.expect("app builds");
        // http://127.0.0.1:PORT, or https:// with a web config file that turns TLS on.
        let base = app.urls()[0].trim_end_matches('/').to_owned();
        let scheduler = app.scheduler();
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            app.run(token).await.expect("server runs");
        });
        Self {
            base,
            scheduler,
            shutdown,
            task,
        }
    }

    /// The port of the (first) listener.
    pub fn port(&self) -> u16 {
        self.base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("base ends with the port")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request succeeds")
    }

    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.expect("text body")
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("server task ends cleanly");
    }
}

/// The exporter binary, with none of the tests' own `PARTNERCENTER_` variables.
pub fn binary() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_partnercenter-exporter"));
    // The tests' own environment must not configure the binary.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PARTNERCENTER_") {
            command.env_remove(key);
        }
    }
    command
}

/// Wait until the exporter reports ready (first data) and every enabled collector has finished
/// its first run (each is published as it finishes), polling; fails after 10 s.
pub async fn wait_ready(running: &Running) {
    for _ in 0..200 {
        let all_ran = running
            .scheduler
            .snapshot()
            .collectors
            .iter()
            .all(|c| c.last_run.is_some());
        if all_ran && running.get("/-/ready").await.status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("exporter never became ready");
}
