//! Fan-out benchmark: the two commercial collectors (`subscriptions`, `subscribed-skus`) over many
//! customers, against the rate limit.
//!
//! `cargo bench --bench fanout` (optionally `-- 10000` for the customer count and `-- 30000rpm`
//! for the client's rate limit). The simulator runs as a separate process, with a rate limit of its
//! own 5 % above the client's, so a client that sent faster than configured would be throttled
//! (429s are counted). One tick of both collectors runs, and the benchmark checks:
//!
//! - the wall time against the bound the rate limit sets. The client spaces its requests evenly
//!   across every clone (one slot every 60 s ÷ limit), so N requests cannot take less than
//!   (N − 1) ÷ rate, and a fan-out that keeps the limiter busy takes no longer than that plus one
//!   request's latency. N is counted by the simulator (every request it received during the run,
//!   retries included). The run must be within 5 % of (N − 1) ÷ rate: below means the limiter let
//!   more through than configured, above that the fan-out is not limiter-bound (too little
//!   concurrency, serialisation, contention);
//! - that no customer was lost: every customer has its subscriptions and its licence-count answer
//!   (given or refused), and the exporter's subscription rows are the simulator's.
//!
//! It exits non-zero when a check fails. A fast limit (30,000 a minute by default, against
//! Partner Center's 500) keeps the run under a minute; the arithmetic is the same at 450 a minute
//! (20,000 requests ≈ 45 minutes). Results go into `docs/benchmarks.md`; timings stay out of
//! `cargo test`.

use std::time::{Duration, Instant};

use partnercenter_exporter::app::App;
use partnercenter_exporter::collector::CollectorKind;
use partnercenter_exporter::config::Cli;

/// Requests the simulator has received so far, all endpoints but sign-in and admin.
async fn api_requests(base: &str) -> Result<(u64, serde_json::Value), Box<dyn std::error::Error>> {
    let state: serde_json::Value = reqwest::get(format!("{base}/admin/state")).await?.json().await?;
    let requests = &state["requests"];
    let total = requests
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "token" | "admin"))
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0);
    Ok((total, state))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let customers: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let per_minute: u32 = args
        .iter()
        .find_map(|a| a.strip_suffix("rpm").and_then(|n| n.parse().ok()))
        .unwrap_or(30_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        use clap::Parser;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let simulator_limit = per_minute + per_minute / 20;
        let mut simulator = std::process::Command::new(env!("CARGO_BIN_EXE_partnercenter-exporter"))
            .args([
                "simulate",
                &format!("--listen-address=127.0.0.1:{port}"),
                &format!("--customers={customers}"),
                &format!("--rate-limit={simulator_limit}"),
                "--tenant-id=bench-partner",
                "--client-id=bench-app",
                "--client-secret=bench-secret",
                "--refresh-token=bench-refresh-token",
            ])
            .spawn()?;
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("secret"), "bench-secret")?;
        std::fs::write(dir.path().join("refresh"), "bench-refresh-token")?;
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..400 {
            if reqwest::get(format!("{base}/admin/knobs")).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let cli = Cli::try_parse_from([
            "partnercenter-exporter".to_owned(),
            "--web.listen-address=127.0.0.1:0".to_owned(),
            format!("--partnercenter.url={base}"),
            format!("--auth.token-url={base}/{{tenant}}/oauth2/token"),
            "--auth.tenant-id=bench-partner".to_owned(),
            "--auth.client-id=bench-app".to_owned(),
            format!("--auth.client-secret-file={}", dir.path().join("secret").display()),
            format!("--auth.refresh-token-file={}", dir.path().join("refresh").display()),
            "--no-collector.usage".to_owned(),
            "--no-collector.deployment".to_owned(),
            "--no-collector.partner-deployment".to_owned(),
            format!("--partnercenter.requests-per-minute={per_minute}"),
            format!("--partnercenter.subscriptions.requests-per-minute={per_minute}"),
            "--partnercenter.concurrency=32".to_owned(),
            "--collector.interval=24h".to_owned(),
        ])?;
        let config = cli.exporter.into_config()?;
        let app = App::build(&config).await?;
        let scheduler = app.scheduler();

        let (before, _) = api_requests(&base).await?;
        let started = Instant::now();
        let snapshot = scheduler.run_once().await;
        let wall = started.elapsed();
        let (after, state) = api_requests(&base).await?;
        let requests = after - before;
        let rate = f64::from(per_minute) / 60.0;
        let bound = (requests.saturating_sub(1)) as f64 / rate;
        let ratio = wall.as_secs_f64() / bound;

        let mut failures = Vec::new();
        for c in &snapshot.collectors {
            let run = c.last_run.as_ref();
            println!(
                "collector {:<16} {:>8.3} s  rows {:>7}  customer errors {:>5}  error: {:?}",
                c.kind.name(),
                run.map_or(0.0, |r| r.duration.as_secs_f64()),
                c.data.as_ref().map_or(0, |d| d.rows),
                run.map_or(0, |r| r.customer_errors),
                run.and_then(|r| r.error.as_deref()),
            );
            if !c.healthy() {
                failures.push(format!("{} failed", c.kind.name()));
            }
        }
        let counts = &state["requests"];
        println!("customers            {customers}");
        println!(
            "requests             {requests} (customers {}, subscriptions {}, subscribed SKUs {}, catalog {}, provisioning status {})",
            counts["customers"], counts["subscriptions"], counts["subscribed_skus"], counts["catalog_sku"],
            counts["subscription_provisioning_status"]
        );
        println!("rate limit           {per_minute}/min (simulator: {simulator_limit}/min)");
        println!("wall time            {:.2} s", wall.as_secs_f64());
        println!("bound (N − 1) ÷ rate {bound:.2} s");
        println!("ratio                {ratio:.4}");
        if !(0.95..=1.05).contains(&ratio) {
            failures.push(format!("wall time {ratio:.3} × the bound, not within 5 %"));
        }

        // No customer lost: every customer answered each collector (or refused, counted).
        let subs_rows = snapshot
            .collector(CollectorKind::Subscriptions)
            .and_then(|c| c.data.as_ref().map(|d| d.rows))
            .unwrap_or(0);
        let expected_subs = state["subscriptionCounts"]["total"].as_u64().unwrap_or(0) as usize;
        let no_gdap = state["noGdapCustomers"].as_array().map_or(0, Vec::len);
        let sku_errors = snapshot
            .collector(CollectorKind::SubscribedSkus)
            .and_then(|c| c.last_run.as_ref().map(|r| r.customer_errors))
            .unwrap_or(usize::MAX);
        let sub_errors = snapshot
            .collector(CollectorKind::Subscriptions)
            .and_then(|c| c.last_run.as_ref().map(|r| r.customer_errors))
            .unwrap_or(usize::MAX);
        println!("subscriptions        {subs_rows} of the simulator's {expected_subs}");
        println!("refusals             {sku_errors} subscribed-SKU refusals, {no_gdap} customers without GDAP");
        if subs_rows != expected_subs || sub_errors != 0 {
            failures.push(format!("subscriptions: {subs_rows} rows of {expected_subs}, {sub_errors} customer errors"));
        }
        if sku_errors != no_gdap {
            failures.push(format!("subscribed SKUs: {sku_errors} customer errors, {no_gdap} expected refusals"));
        }
        if let Some(derived) = &snapshot.derived {
            println!("derived              {} series (unused licenses, customer names)", derived.data.series);
        }
        let metrics = String::from_utf8(scheduler.metrics().encode())?;
        let throttled: f64 = metrics
            .lines()
            .filter(|l| l.starts_with("partnercenter_api_requests_total{") && l.contains("code=\"429\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        println!("429 answers          {}", throttled as u64);
        if throttled > 0.0 {
            failures.push(format!("the simulator throttled {throttled} requests: the client sent faster than its limit"));
        }

        let _ = simulator.kill();
        let _ = simulator.wait();
        if failures.is_empty() {
            println!("fanout: PASS");
            Ok(())
        } else {
            for f in &failures {
                println!("fanout: FAIL {f}");
            }
            Err(failures.join("; ").into())
        }
    })
}
