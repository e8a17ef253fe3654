//! `--web.config.file`: TLS, client certificates, basic auth, headers and reloading, against an
//! exporter in-process with certificates made by the test.

use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::certs::*;
use crate::support::*;

/// An exporter against a wiremock upstream with `web_flag` (from [`WebDir::config`]).
async fn start(web_flag: &str) -> (Running, wiremock::MockServer, Secrets) {
    let server = upstream().await;
    let secrets = secrets();
    let config = config(&server, &secrets, &[web_flag]);
    (Running::start(&config).await, server, secrets)
}

fn healthy(base: &str) -> String {
    format!("{base}/-/healthy")
}

#[tokio::test]
async fn a_tls_scrape_succeeds_with_the_right_ca_and_plain_http_to_the_tls_port_fails() {
    let ca = Ca::new("test CA");
    let web = WebDir::new();
    web.server_pair(&ca.server());
    let (running, _server, _secrets) = start(&web.config(TLS)).await;
    assert!(running.base.starts_with("https://127.0.0.1:"), "{}", running.base);

    let response = client(&ca, None)
        .get(format!("{}/metrics", running.base))
        .send()
        .await
        .expect("TLS scrape");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("partnercenter_build_info")
    );

    let other = Ca::new("another CA");
    assert!(
        client(&other, None)
            .get(healthy(&running.base))
            .send()
            .await
            .is_err(),
        "untrusted certificate"
    );

    let port = running.port();
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/-/healthy")).await;
    assert!(
        plain.is_err() || plain.is_ok_and(|r| r.status() == 400),
        "plain HTTP is not served"
    );
    // A person with curl learns what is wrong.
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    let read = tokio::time::timeout(Duration::from_secs(20), tcp.read_to_string(&mut answer)).await;
    assert!(read.is_ok(), "the connection is closed after the answer");
    assert!(answer.starts_with("HTTP/1.0 400 Bad Request"), "{answer}");
    assert!(
        answer.contains("Client sent an HTTP request to an HTTPS server."),
        "{answer}"
    );
    running.stop().await;
}

#[tokio::test]
async fn mtls_refuses_no_certificate_another_ca_and_a_san_not_allowed() {
    let ca = Ca::new("server and client CA");
    let web = WebDir::new();
    web.server_pair(&ca.server());
    web.write("ca.crt", &ca.pem());
    let flag = web.config(&format!(
        "{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus.monitoring.svc]\n"
    ));
    let (running, _server, _secrets) = start(&flag).await;
    let url = healthy(&running.base);

    let good = ca.client(&["prometheus.monitoring.svc"]);
    let response = client(&ca, Some(&good))
        .get(&url)
        .send()
        .await
        .expect("allowed client");
    assert_eq!(response.status(), 200);

    assert!(
        client(&ca, None).get(&url).send().await.is_err(),
        "no client certificate"
    );
    let stranger = Ca::new("another CA").client(&["prometheus.monitoring.svc"]);
    assert!(
        client(&ca, Some(&stranger)).get(&url).send().await.is_err(),
        "another CA"
    );
    let wrong_san = ca.client(&["grafana.monitoring.svc"]);
    assert!(
        client(&ca, Some(&wrong_san)).get(&url).send().await.is_err(),
        "SAN not allowed"
    );
    running.stop().await;
}

#[tokio::test]
async fn every_client_auth_type_behaves_as_in_exporter_toolkit() {
    let ca = Ca::new("client CA");
    let other = Ca::new("other CA");
    let web = WebDir::new();
    web.server_pair(&ca.server());
    web.write("ca.crt", &ca.pem());
    let (running, _server, _secrets) = start(&web.config(TLS)).await;
    let url = healthy(&running.base);
    // (mode, no certificate, another CA's certificate, the configured CA's certificate)
    let table = [
        ("RequestClientCert", true, true, true),
        ("RequireAnyClientCert", false, true, true),
        ("RequireClientCert", false, true, true),
        ("VerifyClientCertIfGiven", true, false, true),
        ("RequireAndVerifyClientCert", false, false, true),
    ];
    for (mode, none, foreign, own) in table {
        // The file is re-read per connection: no restart between modes.
        web.config(&format!(
            "{TLS}  client_auth_type: {mode}\n  client_ca_file: ca.crt\n"
        ));
        let ok = |c: reqwest::Client| {
            let url = url.clone();
            async move { c.get(url).send().await.is_ok_and(|r| r.status() == 200) }
        };
        assert_eq!(ok(client(&ca, None)).await, none, "{mode} without a certificate");
        assert_eq!(
            ok(client(&ca, Some(&other.client(&["x"])))).await,
            foreign,
            "{mode}, another CA"
        );
        assert_eq!(
            ok(client(&ca, Some(&ca.client(&["x"])))).await,
            own,
            "{mode}, the configured CA"
        );
    }
    running.stop().await;
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[tokio::test]
async fn basic_auth_answers_401_for_missing_wrong_and_unknown_credentials_and_200_for_the_right_ones() {
    let ca = Ca::new("test CA");
    let web = WebDir::new();
    web.server_pair(&ca.server());
    // htpasswd writes $2y$; cost 4 keeps the test quick.
    let hash = bcrypt::hash("s3cret-scrape", 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    let flag = web.config(&format!(
        "{TLS}basic_auth_users:\n  prometheus: {hash}\nhttp_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n"
    ));
    let (running, _server, _secrets) = start(&flag).await;
    let http = client(&ca, None);
    for path in ["/metrics", "/", "/-/healthy", "/-/ready", "/no-such-page"] {
        let url = format!("{}{path}", running.base);
        for authorization in [
            None,
            Some(basic("prometheus", "wrong")),
            Some(basic("nobody", "s3cret-scrape")),
        ] {
            let mut request = http.get(&url);
            if let Some(value) = &authorization {
                request = request.header("Authorization", value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{path} with {authorization:?}");
            assert_eq!(response.headers()["www-authenticate"], "Basic");
            assert_eq!(
                response.headers()["strict-transport-security"],
                "max-age=31536000"
            );
            assert!(
                !response.text().await.unwrap().contains("partnercenter"),
                "{path}: nothing leaks"
            );
        }
    }
    for _ in 0..3 {
        // The second and third are answered from the cache of verified credentials.
        let response = http
            .get(format!("{}/metrics", running.base))
            .header("Authorization", basic("prometheus", "s3cret-scrape"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000"
        );
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("partnercenter_web_config_last_reload_successful 1")
        );
    }
    running.stop().await;
}

#[tokio::test]
async fn basic_auth_and_the_rate_limit_work_without_tls_too() {
    let web = WebDir::new();
    let hash = bcrypt::hash("pw", 4).unwrap();
    let flag = web.config(&format!(
        "basic_auth_users:\n  ops: {hash}\nrate_limit:\n  interval: 1h\n  burst: 3\n"
    ));
    let (running, _server, _secrets) = start(&flag).await;
    assert!(running.base.starts_with("http://"));
    let http = reqwest::Client::new();
    let get = || {
        http.get(format!("{}/-/healthy", running.base))
            .header("Authorization", basic("ops", "pw"))
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    assert_eq!(running.get("/-/healthy").await.status(), 401);
    assert_eq!(get().await.unwrap().status(), 200);
    // The bucket of 3 is empty and refills once an hour.
    let refused = get().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.text().await.unwrap(), "Too Many Requests\n");
    running.stop().await;
}

#[tokio::test]
async fn a_rotated_certificate_is_served_on_the_next_connection_without_a_restart() {
    let (ca_a, ca_b) = (Ca::new("CA A"), Ca::new("CA B"));
    let web = WebDir::new();
    web.server_pair(&ca_a.server());
    let (running, _server, _secrets) = start(&web.config(TLS)).await;
    let url = healthy(&running.base);
    let trusts_a = client(&ca_a, None);
    let trusts_b = client(&ca_b, None);
    // A keep-alive connection opened before the rotation.
    let kept = builder(&ca_a, None).pool_max_idle_per_host(1).build().unwrap();
    assert_eq!(kept.get(&url).send().await.unwrap().status(), 200);
    assert!(trusts_b.get(&url).send().await.is_err());

    // Half a rotation (the certificate written, the key not yet): the old pair stays in use.
    let pair_b = ca_b.server();
    web.write("server.crt", &pair_b.cert);
    assert_eq!(
        trusts_a.get(&url).send().await.unwrap().status(),
        200,
        "old pair kept"
    );
    web.write("server.key", &pair_b.key);
    assert_eq!(
        trusts_b.get(&url).send().await.unwrap().status(),
        200,
        "new pair served"
    );
    assert!(trusts_a.get(&url).send().await.is_err(), "old certificate gone");
    assert_eq!(
        kept.get(&url).send().await.unwrap().status(),
        200,
        "no connection dropped"
    );

    // A broken certificate keeps the good one, and the gauge says so.
    web.write(
        "server.crt",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    );
    let metrics = trusts_b
        .get(format!("{}/metrics", running.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("partnercenter_web_config_last_reload_successful 0"),
        "{metrics}"
    );
    web.write("server.crt", &pair_b.cert);
    let metrics = trusts_b
        .get(format!("{}/metrics", running.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("partnercenter_web_config_last_reload_successful 1"),
        "{metrics}"
    );
    running.stop().await;
}

#[tokio::test]
async fn the_yaml_is_reloaded_and_a_broken_one_keeps_the_previous_rules() {
    let ca = Ca::new("test CA");
    let web = WebDir::new();
    web.server_pair(&ca.server());
    let (running, _server, _secrets) = start(&web.config(TLS)).await;
    let http = client(&ca, None);
    let url = healthy(&running.base);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);

    let hash = bcrypt::hash("pw", 4).unwrap();
    web.config(&format!("{TLS}basic_auth_users:\n  ops: {hash}\n"));
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        401,
        "users added without a restart"
    );

    web.config(&format!("{TLS}basic_auth_users:\n  ops: not-a-hash\n"));
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        401,
        "a broken file keeps the users"
    );
    let authorized = http
        .get(&url)
        .header("Authorization", basic("ops", "pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(authorized.status(), 200);

    // Turning TLS off would need plain listeners: refused until a restart.
    web.config("basic_auth_users: {}\n");
    let authorized = http
        .get(&url)
        .header("Authorization", basic("ops", "pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(authorized.status(), 200, "still TLS, still the old users");
    running.stop().await;
}

#[tokio::test]
async fn tls12_is_refused_when_min_version_is_tls13() {
    let ca = Ca::new("test CA");
    let web = WebDir::new();
    web.server_pair(&ca.server());
    let (running, _server, _secrets) = start(&web.config(&format!("{TLS}  min_version: TLS13\n"))).await;
    let url = healthy(&running.base);
    let tls12 = builder(&ca, None)
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert!(tls12.get(&url).send().await.is_err(), "TLS 1.2 refused");
    assert_eq!(
        client(&ca, None).get(&url).send().await.unwrap().status(),
        200,
        "TLS 1.3 served"
    );

    web.config(TLS);
    assert_eq!(
        tls12.get(&url).send().await.unwrap().status(),
        200,
        "TLS 1.2 by default"
    );
    running.stop().await;
}
