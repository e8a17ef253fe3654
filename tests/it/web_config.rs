//! Every broken web config file stops the binary at start with exit code 2 and one line naming
//! the file and the problem.

use crate::certs::*;
use crate::support::binary;

/// Run the binary with `web.yml` of `web` (the web flags are validated first: no credentials
/// needed) and return its one line of stderr after checking the exit code.
fn refused(web: &WebDir, yaml: &str) -> String {
    let flag = web.config(yaml);
    let output = binary().arg(flag).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{yaml}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    let file = web.path("web.yml").display().to_string();
    assert!(
        stderr.starts_with(&format!(
            "partnercenter-exporter: bad configuration: --web.config.file: {file}: "
        )),
        "names the flag and the file: {stderr}"
    );
    stderr
}

#[test]
fn every_bad_web_config_file_gets_exit_code_2_and_one_line_naming_it_and_the_problem() {
    let ca = Ca::new("test CA");
    let web = WebDir::new();
    let pair = ca.server();
    web.server_pair(&pair);
    web.write("other.key", &ca.server().key);
    web.write(
        "garbage.crt",
        "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n",
    );
    web.write("empty-ca.crt", "no certificates here\n");
    let cert_path = |name: &str| web.path(name).display().to_string();
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            "tls_server_config: [unclosed\n".into(),
            vec!["invalid YAML".into()],
        ),
        (
            "tls_server_config:\n  cert_flie: server.crt\n".into(),
            vec!["unknown field `cert_flie`".into()],
        ),
        (
            "http_server_config:\n  http2: true\n".into(),
            vec!["http_server_config.http2".into(), "not supported".into()],
        ),
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n".into(),
            vec![format!(
                "tls_server_config.cert_file {}: cannot read",
                cert_path("missing.crt")
            )],
        ),
        (
            "tls_server_config:\n  cert_file: garbage.crt\n  key_file: server.key\n".into(),
            vec![format!(
                "tls_server_config.cert_file {}: invalid PEM",
                cert_path("garbage.crt")
            )],
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n".into(),
            vec![
                "tls_server_config.key_file".into(),
                "no unencrypted PEM private key".into(),
            ],
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n".into(),
            vec![format!(
                "tls_server_config.key_file {} does not match the certificate in tls_server_config.cert_file {}",
                cert_path("other.key"),
                cert_path("server.crt")
            )],
        ),
        (
            format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: empty-ca.crt\n"),
            vec![
                "tls_server_config.client_ca_file".into(),
                "no PEM CERTIFICATE block found".into(),
            ],
        ),
        (
            "basic_auth_users:\n  john: doe\n".into(),
            vec!["basic_auth_users.john: not a bcrypt hash".into()],
        ),
        (
            "tls_server_config:\n  min_version: TLS13\n".into(),
            vec!["min_version is set but there is no cert_file".into()],
        ),
    ];
    for (yaml, expected) in cases {
        let line = refused(&web, &yaml);
        for part in expected {
            assert!(line.contains(&part), "{yaml}: {line} lacks {part}");
        }
        assert!(
            !line.contains("PRIVATE KEY-----"),
            "no key material in the error: {line}"
        );
    }

    let output = binary()
        .arg("--web.config.file=/nonexistent/web.yml")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/web.yml: cannot read"), "{stderr}");
}

#[test]
fn a_bad_listen_address_in_the_environment_list_is_named() {
    let output = binary()
        .env("PARTNERCENTER_WEB_LISTEN_ADDRESS", ":9847,nonsense")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--web.listen-address: 'nonsense' is not an address"),
        "{stderr}"
    );
}

#[test]
fn exporter_toolkit_example_files_load_unchanged() {
    let ca = Ca::new("test CA");
    let web = WebDir::new();
    web.server_pair(&ca.server());
    // docs/web-config.yml of prometheus/exporter-toolkit, and the shapes of its valid test data.
    let examples = [
        "# TLS and basic authentication configuration example.\ntls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\nbasic_auth_users:\n  alice: $2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze\n  bob: $2y$10$hLqFl9jSjoAAy95Z/zw8Ye8wkdMBM8c5Bn1ptYqP/AXyV0.oy0S8m\n\nrate_limit:\n  interval: \"1s\"\n  burst: 20\n",
        "tls_server_config:\n  cert_file: \"server.crt\"\n  key_file: \"server.key\"\n  client_auth_type: \"VerifyClientCertIfGiven\"\n",
        "tls_server_config:\n  cert_file: \"server.crt\"\n  key_file: \"server.key\"\n  client_auth_type: \"VerifyClientCertIfGiven\"\n  cipher_suites:\n  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n  - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n  prefer_server_cipher_suites: false\n  curve_preferences:\n  - X25519\n  - CurveP256\n",
        "http_server_config:\n  http2: false\n  headers:\n    Content-Security-Policy: default-src 'self'\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000; includeSubDomains\n    X-XSS-Protection: 1; mode=block\n",
        "",
    ];
    for yaml in examples {
        let output = binary().arg(web.config(yaml)).output().expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        // The web flags are checked first: the next complaint is the missing credentials.
        assert!(!stderr.contains("--web.config.file"), "{yaml}\n{stderr}");
        assert!(stderr.contains("--auth.tenant-id"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}
