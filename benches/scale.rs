//! Scale benchmark: the exporter against the simulator with many customers.
//!
//! `cargo bench --bench scale` (optionally `-- 10000` for the customer count). The simulator runs
//! as a separate process (`partnercenter-exporter simulate`), so the memory figures are the
//! exporter's alone. It measures one full collection run (paging, decoding, rendering), the size
//! of the exposition, the cost of a scrape (plain and gzip) and the exporter's memory, and prints
//! them. Results are written down in `docs/benchmarks.md`; this is not part of `cargo test`
//! (timings flake on busy machines).

use std::time::{Duration, Instant};

use partnercenter_exporter::app::App;
use partnercenter_exporter::config::Cli;

fn memory_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let customers: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        use clap::Parser;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut simulator = std::process::Command::new(env!("CARGO_BIN_EXE_partnercenter-exporter"))
            .args([
                "simulate",
                &format!("--listen-address=127.0.0.1:{port}"),
                &format!("--customers={customers}"),
            ])
            .args([
                "--tenant-id=bench-partner",
                "--client-id=bench-app",
                "--client-secret=bench-secret",
            ])
            .arg("--refresh-token=bench-refresh-token")
            .spawn()?;
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("secret"), "bench-secret")?;
        std::fs::write(dir.path().join("refresh"), "bench-refresh-token")?;
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if reqwest::get(format!("{base}/admin/state")).await.is_ok() {
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
            format!(
                "--auth.client-secret-file={}",
                dir.path().join("secret").display()
            ),
            format!(
                "--auth.refresh-token-file={}",
                dir.path().join("refresh").display()
            ),
            "--collector.interval=24h".to_owned(),
            // The commercial fan-outs are paced by the rate limit: benches/fanout.rs measures them.
            "--no-collector.subscriptions".to_owned(),
            "--no-collector.subscribed-skus".to_owned(),
        ])?;
        let config = cli.exporter.into_config()?;
        let app = App::build(&config).await?;
        let addr = app.local_addr()?;
        let scheduler = app.scheduler();

        let started = Instant::now();
        let snapshot = scheduler.run_once().await;
        let run = started.elapsed();
        let (mut rows, mut bytes, mut gzip) = (0, 0, 0);
        for c in &snapshot.collectors {
            if let Some(d) = &c.data {
                rows += d.rows;
                bytes += d.text_len;
                gzip += d.gzip.len();
            }
            if let Some(run) = &c.last_run {
                println!(
                    "collector {:<20} {:>8.3} s  error: {:?}",
                    c.kind.name(),
                    run.duration.as_secs_f64(),
                    run.error
                );
            }
        }
        println!("customers            {customers}");
        println!("full run             {:.3} s", run.as_secs_f64());
        println!("rows                 {rows}");
        println!(
            "exposition           {:.1} MiB ({:.1} MiB gzip)",
            bytes as f64 / 1048576.0,
            gzip as f64 / 1048576.0
        );

        let shutdown = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(app.run(shutdown.clone()));
        let client = reqwest::Client::new();
        for (label, encoding) in [("plain", "identity"), ("gzip", "gzip")] {
            let n = 20;
            let started = Instant::now();
            let mut size = 0;
            for _ in 0..n {
                let body = client
                    .get(format!("http://{addr}/metrics"))
                    .header("Accept-Encoding", encoding)
                    .send()
                    .await?
                    .bytes()
                    .await?;
                size = body.len();
            }
            let per = started.elapsed() / n;
            println!(
                "scrape {label:<6}        {:.1} ms per scrape, {:.1} MiB on the wire",
                per.as_secs_f64() * 1000.0,
                size as f64 / 1048576.0
            );
        }
        if let (Some(now), Some(peak)) = (memory_mib("VmRSS:"), memory_mib("VmHWM:")) {
            println!("exporter memory      {now:.0} MiB resident after the scrapes, {peak:.0} MiB peak");
        }

        // The simulator's own throughput, so that it is known not to be a benchmark's bottleneck:
        // per-customer usage requests from 32 concurrent clients for three seconds.
        let token: serde_json::Value = client
            .post(format!("{base}/bench-partner/oauth2/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "bench-app"),
                ("client_secret", "bench-secret"),
                (
                    "refresh_token",
                    std::fs::read_to_string(dir.path().join("refresh"))?.trim(),
                ),
                ("resource", base.as_str()),
            ])
            .send()
            .await?
            .json()
            .await?;
        let bearer = token["access_token"].as_str().unwrap_or_default().to_owned();
        let customers_page: serde_json::Value = client
            .get(format!("{base}/v1/customers?size=500"))
            .bearer_auth(&bearer)
            .send()
            .await?
            .json()
            .await?;
        let ids: Vec<String> = customers_page["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|c| c["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if !ids.is_empty() {
            let deadline = Instant::now() + Duration::from_secs(3);
            let workers = (0..32).map(|w| {
                let (client, base, bearer, ids) = (client.clone(), base.clone(), bearer.clone(), ids.clone());
                tokio::spawn(async move {
                    let mut done = 0u64;
                    let mut i = w;
                    while Instant::now() < deadline {
                        let id = &ids[i % ids.len()];
                        let ok = client
                            .get(format!("{base}/v1/customers/{id}/analytics/licenses/usage"))
                            .bearer_auth(&bearer)
                            .send()
                            .await
                            .is_ok_and(|r| r.status().is_success());
                        done += u64::from(ok);
                        i += 32;
                    }
                    done
                })
            });
            let mut total = 0;
            for worker in workers {
                total += worker.await.unwrap_or(0);
            }
            println!(
                "simulator            {:.0} per-customer requests/s (32 concurrent clients, same 2 cores)",
                total as f64 / 3.0
            );
        }

        shutdown.cancel();
        let _ = simulator.kill();
        let _ = simulator.wait();
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
