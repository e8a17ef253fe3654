//! The server under abuse: slow (slowloris) and idle connections, a client that stops reading,
//! the connection cap, and SIGTERM while clients hold connections. The limits are shortened by
//! flags; the checks are that a connection is cut after its limit (never before) and that the
//! exporter keeps answering, not how fast (timings belong in benchmarks).

use std::time::{Duration, Instant};

use clap::Parser as _;
use partnercenter_exporter::app;
use partnercenter_exporter::config::Cli;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Generous bound for "closed after the limit": only a very slow machine gets near it.
const SLACK: Duration = Duration::from_secs(15);

/// Read until the server closes the connection; the bytes read.
async fn until_closed(tcp: &mut TcpStream) -> usize {
    let mut buf = vec![0; 64 * 1024];
    let mut total = 0;
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_after_the_header_timeout_while_scrapes_go_on() {
    let server = upstream().await;
    let secrets = secrets();
    let limit = Duration::from_secs(2);
    let running = Running::start(&config(&server, &secrets, &["--web.read-header-timeout=2s"])).await;
    let port = running.port();

    // 200 clients sending their request head one byte every 300 ms (slowloris).
    let mut slow = Vec::new();
    for _ in 0..200 {
        slow.push(tokio::spawn(async move {
            let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.expect("connects");
            let opened = Instant::now();
            let head =
                b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
            for byte in head {
                if tcp.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let answered = until_closed(&mut tcp).await;
            (opened.elapsed(), answered)
        }));
    }
    // An idle keep-alive connection: one request, then silence.
    let idle = tokio::spawn(async move {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.expect("connects");
        tcp.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0; 4096];
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        let answered = Instant::now();
        until_closed(&mut tcp).await;
        answered.elapsed()
    });
    // Meanwhile, scrapes are answered.
    for _ in 0..20 {
        let response = running.get("/metrics").await;
        assert_eq!(response.status(), 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for task in slow {
        let (open_for, answered) = tokio::time::timeout(limit + SLACK, task)
            .await
            .expect("a slow client is cut")
            .unwrap();
        assert!(
            open_for >= limit,
            "cut after {open_for:?}, before the {limit:?} limit"
        );
        assert_eq!(answered, 0, "a slow client gets no answer");
    }
    let idle_for = tokio::time::timeout(limit + SLACK, idle)
        .await
        .expect("idle is cut")
        .unwrap();
    // The server's clock starts as it finishes the response, a moment before the client has
    // read it: allow that moment.
    assert!(
        idle_for >= limit - Duration::from_millis(500),
        "idle connection closed after {idle_for:?}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_beyond_the_connection_cap_wait_until_a_connection_closes() {
    let server = upstream().await;
    let secrets = secrets();
    let flags = ["--web.max-connections=4", "--web.read-header-timeout=3s"];
    let running = Running::start(&config(&server, &secrets, &flags)).await;
    let port = running.port();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(800))
        .build()
        .unwrap();
    assert!(
        quick
            .get(format!("{}/-/healthy", running.base))
            .send()
            .await
            .is_err(),
        "a fifth connection is not served while four are open"
    );
    // The held connections send nothing: the header timeout frees their places.
    let patient = reqwest::Client::builder().timeout(SLACK).build().unwrap();
    let response = patient
        .get(format!("{}/-/healthy", running.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for mut tcp in held {
        assert_eq!(until_closed(&mut tcp).await, 0);
    }
    running.stop().await;
}

/// A connection asking for the whole plain-text exposition that never reads it: a receive buffer
/// of a few KiB, so that the server's writes stall.
async fn stalled_reader(port: u16) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n")
        .await
        .unwrap();
    tcp
}

/// Demo flags with enough customers for a plain exposition of several MiB (more than the
/// socket buffers hold; 3,000 customers are about 9.5 MB since the value series carry ids only).
fn demo_flags(port: u16) -> Vec<String> {
    vec![
        "--demo".into(),
        "--demo.customers=3000".into(),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--log.level=warn".into(),
    ]
}

/// Wait until every default collector has succeeded once (each is published as it finishes, so
/// readiness alone may come with part of the data).
async fn wait_ready_at(port: u16) {
    let url = format!("http://127.0.0.1:{port}/metrics");
    for _ in 0..600 {
        if let Ok(response) = reqwest::Client::new()
            .get(&url)
            .header("Accept-Encoding", "identity")
            .send()
            .await
            && let Ok(text) = response.text().await
            && ["usage", "deployment", "partner-deployment"]
                .iter()
                .all(|c| text.contains(&format!("partnercenter_collector_success{{collector=\"{c}\"}} 1")))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never collected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_after_the_write_stall_timeout() {
    let mut args = vec!["partnercenter-exporter".to_owned()];
    args.extend(demo_flags(0));
    args.push("--web.write-stall-timeout=1s".into());
    let cli = Cli::try_parse_from(args).unwrap();
    let (config, _demo) = app::demo_config(cli.exporter).await.unwrap();
    let running = Running::start(&config).await;
    wait_ready_at(running.port()).await;
    let full = running.get("/metrics").await.bytes().await.unwrap().len();
    assert!(
        full > 8 << 20,
        "the exposition ({full} bytes) outgrows the socket buffers"
    );

    let mut tcp = stalled_reader(running.port()).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let received = tokio::time::timeout(SLACK, until_closed(&mut tcp))
        .await
        .expect("the connection is closed");
    assert!(received < full, "cut: {received} of {full} bytes");
    // Others are still served.
    assert_eq!(running.get("/-/healthy").await.status(), 200);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_half_sent_request_and_a_stalled_reader_exits_0_within_the_grace_period() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let grace = Duration::from_secs(2);
    let mut child = binary()
        .args(demo_flags(port))
        // The stall limit is longer than the grace: only the grace period ends these.
        .args([
            "--web.shutdown-grace-period=2s",
            "--web.write-stall-timeout=5m",
            "--web.read-header-timeout=5m",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    wait_ready_at(port).await;
    let mut half_sent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    half_sent
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let _stalled = stalled_reader(port).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let signalled = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let waited = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + grace + SLACK;
        loop {
            if let Some(status) = child.try_wait().expect("waits") {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    let status = waited.expect("the exporter exits despite the clients");
    assert_eq!(status.code(), Some(0));
    assert!(
        signalled.elapsed() >= grace,
        "the in-flight response had its grace period"
    );
    assert_eq!(
        until_closed(&mut half_sent).await,
        0,
        "the half-sent request got no answer"
    );
}
