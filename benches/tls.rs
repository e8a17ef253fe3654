//! TLS benchmark: the cost of a scrape over HTTPS against plain HTTP, side by side in one run.
//!
//! `cargo bench --bench tls` (optionally `-- 10000` for the customer count). Like `scale`, it runs
//! `partnercenter-exporter simulate` as a separate process; then two exporters in this process
//! collect from it, one serving plain HTTP and one HTTPS (`--web.config.file` with a certificate
//! made here, and a second file with basic auth on top). The scrapes alternate between them, round
//! after round, so that both see the same machine load. Printed per kind of scrape: the mean and
//! the median; last, the plain-HTTP scrape again while 200 slowloris clients hold connections. Results go to `docs/benchmarks.md`; not part of `cargo test`.

use std::time::{Duration, Instant};

use partnercenter_exporter::app::App;
use partnercenter_exporter::config::Cli;

const ROUNDS: usize = 30;

struct Series {
    label: &'static str,
    times: Vec<Duration>,
    bytes: usize,
}

impl Series {
    fn report(&mut self) {
        self.times.sort();
        let mean = self.times.iter().sum::<Duration>() / self.times.len() as u32;
        let median = self.times[self.times.len() / 2];
        println!(
            "{:<44} mean {:>7.2} ms  median {:>7.2} ms  ({:.1} MiB)",
            self.label,
            mean.as_secs_f64() * 1000.0,
            median.as_secs_f64() * 1000.0,
            self.bytes as f64 / 1048576.0
        );
    }
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
                "--tenant-id=bench-partner",
                "--client-id=bench-app",
                "--client-secret=bench-secret",
                "--refresh-token=bench-refresh-token",
            ])
            .spawn()?;
        let dir = tempfile::tempdir()?;
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if reqwest::get(format!("{base}/admin/state")).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // A CA and a server certificate for 127.0.0.1; two web config files.
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate()?)?;
        let mut leaf = rcgen::CertificateParams::new(Vec::<String>::new())?;
        leaf.subject_alt_names = vec![rcgen::SanType::IpAddress("127.0.0.1".parse()?)];
        let key = rcgen::KeyPair::generate()?;
        let cert = leaf.signed_by(&key, &ca)?;
        std::fs::write(dir.path().join("server.crt"), cert.pem())?;
        std::fs::write(dir.path().join("server.key"), key.serialize_pem())?;
        let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
        std::fs::write(dir.path().join("tls.yml"), tls)?;
        let hash = bcrypt::hash("bench-password", 10)?;
        std::fs::write(
            dir.path().join("auth.yml"),
            format!("{tls}basic_auth_users:\n  prometheus: {hash}\n"),
        )?;

        let mut apps = Vec::new();
        for (i, web) in [None, Some("tls.yml"), Some("auth.yml")].into_iter().enumerate() {
            // Each exporter keeps its own refresh token: the simulator rotates it.
            let refresh = dir.path().join(format!("refresh-{i}"));
            std::fs::write(&refresh, "bench-refresh-token")?;
            std::fs::write(dir.path().join("secret"), "bench-secret")?;
            let mut args = vec![
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
                format!("--auth.refresh-token-file={}", refresh.display()),
                "--collector.interval=24h".to_owned(),
            ];
            if let Some(web) = web {
                args.push(format!("--web.config.file={}", dir.path().join(web).display()));
            }
            let config = Cli::try_parse_from(args)?.exporter.into_config()?;
            let app = App::build(&config).await?;
            let started = Instant::now();
            app.scheduler().run_once().await;
            println!(
                "exporter {i}: collected in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            apps.push(app);
        }
        let urls: Vec<String> = apps.iter().map(|a| format!("{}metrics", a.urls()[0])).collect();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let servers: Vec<_> = apps
            .into_iter()
            .map(|a| tokio::spawn(a.run(shutdown.clone())))
            .collect();

        let root = reqwest::Certificate::from_pem(ca.pem().as_bytes())?;
        let tls_client = |reuse: bool| {
            let builder = reqwest::Client::builder()
                .use_rustls_tls()
                .tls_built_in_root_certs(false)
                .add_root_certificate(root.clone());
            let builder = if reuse {
                builder
            } else {
                builder.pool_max_idle_per_host(0)
            };
            builder.build()
        };
        let plain_new = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
        let plain_reused = reqwest::Client::new();
        let (tls_new, tls_reused) = (tls_client(false)?, tls_client(true)?);
        let kinds: Vec<(&'static str, &reqwest::Client, &str, &str, bool)> = vec![
            ("gzip  HTTP,  new connection", &plain_new, &urls[0], "gzip", false),
            (
                "gzip  HTTPS, new connection (TLS handshake)",
                &tls_new,
                &urls[1],
                "gzip",
                false,
            ),
            (
                "gzip  HTTPS + basic auth, new connection",
                &tls_new,
                &urls[2],
                "gzip",
                true,
            ),
            ("gzip  HTTP,  keep-alive", &plain_reused, &urls[0], "gzip", false),
            ("gzip  HTTPS, keep-alive", &tls_reused, &urls[1], "gzip", false),
            (
                "plain HTTP,  keep-alive",
                &plain_reused,
                &urls[0],
                "identity",
                false,
            ),
            (
                "plain HTTPS, keep-alive",
                &tls_reused,
                &urls[1],
                "identity",
                false,
            ),
        ];
        let mut series: Vec<Series> = kinds
            .iter()
            .map(|k| Series {
                label: k.0,
                times: Vec::new(),
                bytes: 0,
            })
            .collect();
        // Round 0 warms up (connections, the auth cache's one bcrypt) and is not counted.
        for round in 0..=ROUNDS {
            for (i, (_, client, url, encoding, auth)) in kinds.iter().enumerate() {
                let mut request = client.get(*url).header("Accept-Encoding", *encoding);
                if *auth {
                    request = request.basic_auth("prometheus", Some("bench-password"));
                }
                let started = Instant::now();
                let response = request.send().await?;
                assert_eq!(response.status(), 200, "{url}");
                let body = response.bytes().await?;
                let took = started.elapsed();
                if round > 0 {
                    series[i].times.push(took);
                    series[i].bytes = body.len();
                }
            }
        }
        println!("customers {customers}, {ROUNDS} rounds, kinds alternating within each round");
        for s in &mut series {
            s.report();
        }

        // The same gzip scrape while 200 slowloris clients trickle request heads at the exporter
        // (one byte every 100 ms each), until the header timeout closes them.
        let target = urls[0]
            .trim_start_matches("http://")
            .trim_end_matches("/metrics")
            .to_owned();
        let stop = tokio_util::sync::CancellationToken::new();
        let mut slow = Vec::new();
        for _ in 0..200 {
            let (target, stop) = (target.clone(), stop.clone());
            slow.push(tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let Ok(mut tcp) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                for byte in b"GET /metrics HTTP/1.1\r\nHost: x\r\n".iter().cycle() {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_millis(100)) => {}
                    }
                    if tcp.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut under_abuse = Series {
            label: "gzip  HTTP,  new connection, 200 slowloris",
            times: Vec::new(),
            bytes: 0,
        };
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let body = plain_new
                .get(&urls[0])
                .header("Accept-Encoding", "gzip")
                .send()
                .await?
                .bytes()
                .await?;
            under_abuse.times.push(started.elapsed());
            under_abuse.bytes = body.len();
        }
        stop.cancel();
        for task in slow {
            let _ = task.await;
        }
        under_abuse.report();

        shutdown.cancel();
        let _ = simulator.kill();
        let _ = simulator.wait();
        for server in servers {
            let _ = tokio::time::timeout(Duration::from_secs(15), server).await;
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
