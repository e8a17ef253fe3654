//! Fault injection: the exporter binary against a misbehaving upstream. Each test checks that it
//! recovers without waiting an interval (`--collector.interval` is an hour here), keeps serving
//! its last good data, exits 0 within seconds on SIGTERM, and never leaves the token or a state
//! file empty. Deadlines are generous ("eventually", polled); the measured times are printed as
//! `FAULT <name>: <what> after <seconds> s` (run with `--nocapture` to see them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    CLIENT_SECRET, REFRESH_TOKEN, TENANT, USAGE_PATH, commercial_page, mount_token, usage_row,
};

/// Longest wait for something that should take about a second.
const EVENTUALLY: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running exporter process.
struct Exporter {
    child: Child,
    base: String,
    started: Instant,
}

impl Exporter {
    /// Start the binary against `upstream` (a base URL) with its secrets in `dir`, only the usage
    /// collector, an hour's interval and a one-second retry backoff.
    fn start(upstream: &str, dir: &Path, extra: &[String], stderr: Stdio) -> Self {
        let port = free_port();
        let mut args = vec![
            format!("--web.listen-address=127.0.0.1:{port}"),
            format!("--partnercenter.url={upstream}"),
            format!("--auth.token-url={upstream}/{{tenant}}/oauth2/token"),
            format!("--auth.tenant-id={TENANT}"),
            "--auth.client-id=test-client".into(),
            format!("--auth.client-secret-file={}", dir.join("secret").display()),
            format!("--auth.refresh-token-file={}", dir.join("refresh").display()),
            "--no-collector.deployment".into(),
            "--no-collector.partner-deployment".into(),
            "--collector.interval=1h".into(),
            "--collector.retry-backoff=1s".into(),
            "--partnercenter.max-retries=1".into(),
            "--partnercenter.max-backoff=100ms".into(),
            "--partnercenter.timeout=2s".into(),
        ];
        // A flag in `extra` replaces the default above.
        let flag = |a: &str| a.split('=').next().unwrap_or_default().to_owned();
        args.retain(|a| !extra.iter().any(|e| flag(e) == flag(a)));
        args.extend(extra.iter().cloned());
        let child = Command::new(env!("CARGO_BIN_EXE_partnercenter-exporter"))
            .args(&args)
            .env_clear()
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the exporter starts");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            started: Instant::now(),
        }
    }

    async fn status(&self, path: &str) -> Option<u16> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .ok()?;
        let response = client.get(format!("{}{path}", self.base)).send().await.ok()?;
        Some(response.status().as_u16())
    }

    async fn metrics(&self) -> String {
        match reqwest::get(format!("{}/metrics", self.base)).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Poll until `/-/ready` is 200; the time from start, or `None` after [`EVENTUALLY`].
    async fn ready_after(&self) -> Option<Duration> {
        let deadline = Instant::now() + EVENTUALLY;
        while Instant::now() < deadline {
            if self.status("/-/ready").await == Some(200) {
                return Some(self.started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// Poll `/metrics` until `check` holds; the time waited.
    async fn metrics_until(&self, check: impl Fn(&str) -> bool) -> Option<Duration> {
        let since = Instant::now();
        while since.elapsed() < EVENTUALLY {
            if check(&self.metrics().await) {
                return Some(since.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// SIGTERM, then wait for the exit; the exit code and how long it took.
    async fn terminate(mut self) -> (Option<i32>, Duration) {
        let sent = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        while sent.elapsed() < EVENTUALLY {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status.code(), sent.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        (None, sent.elapsed())
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn secrets(dir: &Path) {
    std::fs::write(dir.join("secret"), CLIENT_SECRET).expect("secret");
    std::fs::write(dir.join("refresh"), REFRESH_TOKEN).expect("refresh token");
}

fn good_usage() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(commercial_page(vec![usage_row(
        "c1", "Contoso", "p1", "EXO", 3, 10,
    )]))
}

async fn serve_usage(server: &MockServer, response: ResponseTemplate, times: Option<u64>, priority: u8) {
    let mock = Mock::given(method("GET"))
        .and(path(USAGE_PATH))
        .respond_with(response)
        .with_priority(priority);
    let mock = match times {
        Some(n) => mock.up_to_n_times(n),
        None => mock,
    };
    mock.mount(server).await;
}

fn report(fault: &str, what: &str, took: Duration) {
    eprintln!("FAULT {fault}: {what} after {:.2} s", took.as_secs_f64());
}

fn has_data(metrics: &str) -> bool {
    metrics.contains("partnercenter_licenses_active{")
}

fn non_empty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

async fn stop_cleanly(fault: &str, exporter: Exporter) {
    let (code, took) = exporter.terminate().await;
    report(fault, "exit on SIGTERM", took);
    assert_eq!(code, Some(0), "{fault}: exit code after SIGTERM");
}

#[tokio::test]
async fn an_upstream_that_is_down_at_start_is_used_as_soon_as_it_is_up() {
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let exporter = Exporter::start(&format!("http://{addr}"), dir.path(), &[], Stdio::null());
    // Two seconds of "connection refused", then the upstream comes up on that port.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_ne!(exporter.status("/-/ready").await, Some(200));
    let listener = std::net::TcpListener::bind(addr).expect("the port is still free");
    let server = MockServer::builder().listener(listener).start().await;
    let up = Instant::now();
    mount_token(&server).await;
    serve_usage(&server, good_usage(), None, 5).await;
    let ready = exporter.ready_after().await;
    assert!(ready.is_some(), "ready without waiting an interval");
    report(
        "down at start, up after 2 s",
        "ready after the upstream came up",
        up.elapsed(),
    );
    stop_cleanly("down at start", exporter).await;
    assert!(non_empty(&dir.path().join("refresh")));
}

#[tokio::test]
async fn a_hung_connection_times_out_and_the_run_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    let server = MockServer::start().await;
    mount_token(&server).await;
    // Two requests hang (each longer than --partnercenter.timeout), then the upstream answers.
    serve_usage(
        &server,
        good_usage().set_delay(Duration::from_secs(600)),
        Some(2),
        1,
    )
    .await;
    serve_usage(&server, good_usage(), None, 5).await;
    let exporter = Exporter::start(&server.uri(), dir.path(), &[], Stdio::null());
    let ready = exporter.ready_after().await;
    assert!(ready.is_some(), "recovered from a hung connection");
    report("hung connection (2 requests)", "ready from start", ready.unwrap());
    stop_cleanly("hung connection", exporter).await;
}

#[tokio::test]
async fn a_burst_of_server_errors_is_outlasted() {
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    let server = MockServer::start().await;
    mount_token(&server).await;
    serve_usage(&server, ResponseTemplate::new(503), Some(6), 1).await;
    serve_usage(&server, good_usage(), None, 5).await;
    let exporter = Exporter::start(&server.uri(), dir.path(), &[], Stdio::null());
    let ready = exporter.ready_after().await;
    assert!(ready.is_some(), "recovered from a 5xx burst");
    report("5xx burst (6 answers)", "ready from start", ready.unwrap());
    stop_cleanly("5xx burst", exporter).await;
}

#[tokio::test]
async fn a_truncated_body_fails_the_run_and_the_last_good_data_stays() {
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    let server = MockServer::start().await;
    mount_token(&server).await;
    serve_usage(&server, good_usage(), Some(1), 1).await;
    let truncated = ResponseTemplate::new(200).set_body_raw(
        br#"{"Value": [{"customerTenantId": "c1", "licen"#.to_vec(),
        "application/json",
    );
    serve_usage(&server, truncated, Some(3), 2).await;
    serve_usage(&server, good_usage(), None, 5).await;
    // A short interval, so that the truncated answers come after a good run.
    let exporter = Exporter::start(
        &server.uri(),
        dir.path(),
        &["--collector.usage.interval=1s".into()],
        Stdio::null(),
    );
    assert!(exporter.ready_after().await.is_some());
    let failing = exporter
        .metrics_until(|m| m.contains("partnercenter_collector_success{collector=\"usage\"} 0"))
        .await;
    assert!(failing.is_some(), "the truncated body fails the run");
    assert!(
        has_data(&exporter.metrics().await),
        "the last good data is still served"
    );
    let since = Instant::now();
    let recovered = exporter
        .metrics_until(|m| m.contains("partnercenter_collector_success{collector=\"usage\"} 1"))
        .await;
    assert!(recovered.is_some(), "recovered after the truncated bodies");
    report(
        "truncated body (3 answers)",
        "healthy again after the first failure",
        since.elapsed(),
    );
    stop_cleanly("truncated body", exporter).await;
}

#[tokio::test]
async fn a_failing_token_endpoint_is_retried_and_outlasted() {
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/token")))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>oops</html>"))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_token(&server).await;
    serve_usage(&server, good_usage(), None, 5).await;
    let exporter = Exporter::start(&server.uri(), dir.path(), &[], Stdio::null());
    let ready = exporter.ready_after().await;
    assert!(ready.is_some(), "recovered from token endpoint 500s");
    report(
        "token endpoint 500 (3 answers)",
        "ready from start",
        ready.unwrap(),
    );
    let metrics = exporter.metrics().await;
    assert!(
        metrics.contains("partnercenter_api_retries_total{endpoint=\"token\",reason=\"5xx\"} "),
        "{metrics}"
    );
    stop_cleanly("token endpoint 500", exporter).await;
}

#[tokio::test]
async fn sigterm_during_a_run_exits_zero_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    let state = dir.path().join("state");
    let server = MockServer::start().await;
    mount_token(&server).await;
    serve_usage(&server, good_usage(), Some(1), 1).await;
    serve_usage(&server, good_usage().set_delay(Duration::from_secs(600)), None, 5).await;
    let exporter = Exporter::start(
        &server.uri(),
        dir.path(),
        &[
            "--collector.usage.interval=1s".into(),
            format!("--storage.path={}", state.display()),
            "--partnercenter.timeout=10m".into(),
        ],
        Stdio::null(),
    );
    assert!(exporter.ready_after().await.is_some());
    // Wait until the second, hanging run is in flight.
    let deadline = Instant::now() + EVENTUALLY;
    while crate::support::requests_to(&server, USAGE_PATH).await < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(crate::support::requests_to(&server, USAGE_PATH).await >= 2);
    stop_cleanly("SIGTERM during a run", exporter).await;
    assert!(non_empty(&dir.path().join("refresh")), "the token file is whole");
    assert!(non_empty(&state.join("usage.json.gz")), "the state file is whole");
}

#[tokio::test]
async fn a_closed_standard_error_neither_stops_collection_nor_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    let server = MockServer::start().await;
    mount_token(&server).await;
    serve_usage(&server, good_usage(), None, 5).await;
    let mut exporter = Exporter::start(
        &server.uri(),
        dir.path(),
        &["--collector.usage.interval=1s".into(), "--log.level=debug".into()],
        Stdio::piped(),
    );
    // Close the read end at once: every later log write meets a broken pipe.
    drop(exporter.child.stderr.take());
    let ready = exporter.ready_after().await;
    assert!(ready.is_some(), "collects with a broken standard error");
    let runs = crate::support::requests_to(&server, USAGE_PATH).await;
    let later = exporter
        .metrics_until(|m| has_data(m) && m.contains("partnercenter_log_lines_lost_total"))
        .await;
    assert!(later.is_some());
    let deadline = Instant::now() + EVENTUALLY;
    while crate::support::requests_to(&server, USAGE_PATH).await <= runs + 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        crate::support::requests_to(&server, USAGE_PATH).await > runs + 1,
        "collection goes on"
    );
    assert_eq!(exporter.status("/-/healthy").await, Some(200));
    report("standard error closed", "ready from start", ready.unwrap());
    stop_cleanly("standard error closed", exporter).await;
}

#[tokio::test]
async fn a_standard_error_nobody_reads_neither_stops_collection_nor_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    let server = MockServer::start().await;
    mount_token(&server).await;
    serve_usage(&server, good_usage(), None, 5).await;
    // A pipe kept open but never read: once its buffer is full, every write blocks.
    let exporter = Exporter::start(
        &server.uri(),
        dir.path(),
        &["--collector.usage.interval=1s".into(), "--log.level=trace".into()],
        Stdio::piped(),
    );
    let ready = exporter.ready_after().await;
    assert!(ready.is_some(), "collects with a blocked standard error");
    // Trace logging fills the pipe's buffer within the first run; collection must go on.
    let runs = crate::support::requests_to(&server, USAGE_PATH).await;
    let deadline = Instant::now() + EVENTUALLY;
    while crate::support::requests_to(&server, USAGE_PATH).await <= runs + 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        crate::support::requests_to(&server, USAGE_PATH).await > runs + 2,
        "collection goes on while standard error blocks"
    );
    assert_eq!(exporter.status("/-/healthy").await, Some(200));
    assert!(has_data(&exporter.metrics().await));
    report("standard error blocked", "ready from start", ready.unwrap());
    stop_cleanly("standard error blocked", exporter).await;
}

/// A tmpfs of `size` at a fresh directory, unmounted on drop; `None` where mounting is not
/// allowed (not root), and the caller says so.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?.keep();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self(dir))
    }

    /// Fill the file system, so that the next write fails with "no space left".
    fn fill(&self) {
        let mut filler = std::fs::File::create(self.0.join("filler")).expect("filler");
        let chunk = vec![0u8; 4096];
        while std::io::Write::write_all(&mut filler, &chunk).is_ok() {}
        let _ = filler.sync_all();
    }

    fn read_only(&self) -> bool {
        Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_full_storage_directory_costs_neither_the_data_nor_the_token() {
    let Some(disk) = Tmpfs::mount("256k") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root); the unit tests of storage and files cover the write failures"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    // The refresh token and an earlier state file live on the full disk.
    let token = disk.0.join("refresh");
    std::fs::write(&token, REFRESH_TOKEN).unwrap();
    let state = disk.0.join("state");
    std::fs::create_dir(&state).unwrap();
    let earlier = b"an earlier state file, whatever its content".to_vec();
    std::fs::write(state.join("usage.json.gz"), &earlier).unwrap();
    disk.fill();
    let server = MockServer::start().await;
    mount_token(&server).await;
    serve_usage(&server, good_usage(), None, 5).await;
    let exporter = Exporter::start(
        &server.uri(),
        dir.path(),
        &[
            format!("--auth.refresh-token-file={}", token.display()),
            format!("--storage.path={}", state.display()),
        ],
        Stdio::null(),
    );
    let ready = exporter.ready_after().await;
    assert!(ready.is_some());
    let counted = exporter
        .metrics_until(|m| {
            crate::support::sample(
                m,
                "partnercenter_storage_write_errors_total",
                &[("collector", "usage")],
            )
            .is_some_and(|v| v >= 1.0)
                && crate::support::sample(m, "partnercenter_refresh_token_write_errors_total", &[])
                    .is_some_and(|v| v >= 1.0)
        })
        .await;
    assert!(counted.is_some(), "{}", exporter.metrics().await);
    assert!(
        has_data(&exporter.metrics().await),
        "the data is served from memory"
    );
    report("storage directory full", "ready from start", ready.unwrap());
    stop_cleanly("storage directory full", exporter).await;
    assert_eq!(
        std::fs::read_to_string(&token).unwrap(),
        REFRESH_TOKEN,
        "the old token is whole"
    );
    assert_eq!(
        std::fs::read(state.join("usage.json.gz")).unwrap(),
        earlier,
        "the old state file is whole"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
}

#[tokio::test]
async fn a_read_only_storage_directory_costs_neither_the_data_nor_the_token() {
    let Some(disk) = Tmpfs::mount("1m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    let token = disk.0.join("refresh");
    std::fs::write(&token, REFRESH_TOKEN).unwrap();
    let state = disk.0.join("state");
    std::fs::create_dir(&state).unwrap();
    assert!(disk.read_only(), "remount read-only");
    let server = MockServer::start().await;
    mount_token(&server).await;
    serve_usage(&server, good_usage(), None, 5).await;
    let exporter = Exporter::start(
        &server.uri(),
        dir.path(),
        &[
            format!("--auth.refresh-token-file={}", token.display()),
            format!("--storage.path={}", state.display()),
        ],
        Stdio::null(),
    );
    let ready = exporter.ready_after().await;
    assert!(ready.is_some());
    let counted = exporter
        .metrics_until(|m| {
            crate::support::sample(
                m,
                "partnercenter_storage_write_errors_total",
                &[("collector", "usage")],
            )
            .is_some_and(|v| v >= 1.0)
        })
        .await;
    assert!(counted.is_some());
    report("storage directory read-only", "ready from start", ready.unwrap());
    stop_cleanly("storage directory read-only", exporter).await;
    assert_eq!(std::fs::read_to_string(&token).unwrap(), REFRESH_TOKEN);
}

#[tokio::test]
async fn stored_data_is_served_at_once_after_a_restart_while_the_upstream_is_down() {
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    let state = dir.path().join("state");
    let server = MockServer::start().await;
    mount_token(&server).await;
    serve_usage(&server, good_usage(), None, 5).await;
    let storage = format!("--storage.path={}", state.display());
    let first = Exporter::start(
        &server.uri(),
        dir.path(),
        std::slice::from_ref(&storage),
        Stdio::null(),
    );
    assert!(first.ready_after().await.is_some());
    let stored = state.join("usage.json.gz");
    let deadline = Instant::now() + EVENTUALLY;
    while !non_empty(&stored) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_cleanly("restart (first run)", first).await;
    assert!(non_empty(&stored));
    // Upstream gone: the restarted exporter must serve the stored data from its first scrape.
    drop(server);
    let reserved = free_port();
    let second = Exporter::start(
        &format!("http://127.0.0.1:{reserved}"),
        dir.path(),
        std::slice::from_ref(&storage),
        Stdio::null(),
    );
    let ready = second.ready_after().await;
    assert!(ready.is_some(), "ready from stored data");
    let metrics = second.metrics().await;
    assert!(has_data(&metrics), "{metrics}");
    assert!(
        crate::support::sample(
            &metrics,
            "partnercenter_collector_last_success_timestamp_seconds",
            &[("collector", "usage")]
        )
        .is_some_and(|t| t > 1.0e9),
        "the true collection time: {metrics}"
    );
    report(
        "restart with the upstream down",
        "ready from stored data",
        ready.unwrap(),
    );
    stop_cleanly("restart with the upstream down", second).await;
}

#[tokio::test]
async fn a_truncated_state_file_is_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    secrets(dir.path());
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::write(state.join("usage.json.gz"), b"\x1f\x8b\x08\x00garbage").unwrap();
    let server = MockServer::start().await;
    mount_token(&server).await;
    serve_usage(&server, good_usage(), None, 5).await;
    let exporter = Exporter::start(
        &server.uri(),
        dir.path(),
        &[format!("--storage.path={}", state.display())],
        Stdio::piped(),
    );
    assert!(
        exporter.ready_after().await.is_some(),
        "starts despite the bad file"
    );
    let metrics = exporter.metrics().await;
    assert!(has_data(&metrics));
    let mut exporter = exporter;
    let stderr = exporter.child.stderr.take();
    stop_cleanly("truncated state file", exporter).await;
    let mut log = String::new();
    if let Some(mut pipe) = stderr {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut log);
    }
    assert_eq!(
        log.matches("skipping stored data").count(),
        1,
        "one warning: {log}"
    );
}
