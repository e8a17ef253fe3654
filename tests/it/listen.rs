//! Listening like the Go exporters: several `--web.listen-address`, dual-stack `:port`, and URLs a
//! person can open on the landing page.

use crate::support::*;

#[tokio::test]
async fn every_listen_address_serves_and_the_landing_page_names_them() {
    let server = upstream().await;
    let secrets = secrets();
    let ipv6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    let mut extra = vec!["--web.listen-address=127.0.0.1:0"];
    if ipv6 {
        extra.push("--web.listen-address=[::1]:0");
    }
    // config() passes one address already; the flag repeats.
    let config = config(&server, &secrets, &extra);
    let app = partnercenter_exporter::app::App::build(&config)
        .await
        .expect("builds");
    let addrs = app.local_addrs().expect("bound");
    let urls = app.urls().to_vec();
    assert_eq!(addrs.len(), extra.len() + 1);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    for (addr, url) in addrs.iter().zip(&urls) {
        assert_eq!(url, &format!("http://{addr}/"), "a URL per listener");
        let landing = reqwest::get(url).await.expect("served").text().await.unwrap();
        for u in &urls {
            assert!(
                landing.contains(u.as_str()),
                "the landing page lists {u}: {landing}"
            );
        }
    }
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_port_only_form_listens_on_ipv4_and_ipv6_and_names_urls_to_open() {
    let server = upstream().await;
    let secrets = secrets();
    let mut config = config(&server, &secrets, &[]);
    config.web.listen_addresses = vec![partnercenter_exporter::server::ListenAddress::AllInterfaces(0)];
    let app = partnercenter_exporter::app::App::build(&config)
        .await
        .expect("builds");
    let port = app.local_addr().unwrap().port();
    let urls = app.urls().to_vec();
    assert!(urls.contains(&format!("http://localhost:{port}/")), "{urls:?}");
    assert!(
        !urls.iter().any(|u| u.contains("0.0.0.0") || u.contains("[::]")),
        "{urls:?}"
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    let v4 = reqwest::get(format!("http://127.0.0.1:{port}/-/healthy"))
        .await
        .unwrap();
    assert_eq!(v4.status(), 200);
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        let v6 = reqwest::get(format!("http://[::1]:{port}/-/healthy"))
            .await
            .unwrap();
        assert_eq!(v6.status(), 200, "the same socket serves IPv6");
    }
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
