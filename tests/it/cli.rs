//! The binary's start-up contract: a configuration error is exit code 2 and exactly one line on
//! standard error; `--version` names the revision and the build date.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_partnercenter-exporter"))
        .args(args)
        .env_clear()
        .output()
        .expect("the binary runs")
}

fn assert_one_line_config_error(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "exactly one line: {stderr}");
    assert!(stderr.contains(needle), "{stderr}");
}

#[test]
fn a_log_level_that_is_not_a_level_is_refused_with_one_line() {
    let output = run(&[
        "--demo",
        "--log.level",
        "verbose",
        "--web.listen-address=127.0.0.1:0",
    ]);
    assert_one_line_config_error(&output, "'verbose' is not a level");
}

#[test]
fn a_bad_duration_is_one_line_with_exit_code_2() {
    let output = run(&["--collector.interval=soon"]);
    assert_one_line_config_error(&output, "--collector.interval");
}

#[test]
fn missing_credentials_are_one_line_with_exit_code_2() {
    let output = run(&["--web.listen-address=127.0.0.1:0"]);
    assert_one_line_config_error(&output, "--auth.tenant-id");
}

#[test]
fn a_busy_port_is_one_line_with_exit_code_2() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap();
    let output = run(&["--demo", &format!("--web.listen-address={addr}")]);
    assert_one_line_config_error(&output, "--web.listen-address");
}

#[test]
fn a_newline_in_the_locale_is_one_line_with_exit_code_2() {
    let output = run(&[
        "--demo",
        "--partnercenter.locale=en\nUS",
        "--web.listen-address=127.0.0.1:0",
    ]);
    assert_one_line_config_error(&output, "--partnercenter.locale");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("client: cannot set up the Partner Center client"),
        "{stderr}"
    );
}

#[test]
fn demo_refuses_upstream_flags_it_would_ignore() {
    let output = run(&[
        "--demo",
        "--partnercenter.url=https://proxy.example",
        "--web.listen-address=127.0.0.1:0",
    ]);
    assert_one_line_config_error(&output, "--partnercenter.url");
    let output = run(&[
        "--demo",
        "--auth.tenant-id=contoso",
        "--web.listen-address=127.0.0.1:0",
    ]);
    assert_one_line_config_error(&output, "--auth.tenant-id");
}

#[test]
fn a_storage_path_that_is_a_file_is_a_configuration_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let output = run(&[
        "--demo",
        &format!("--storage.path={}", file.path().display()),
        "--web.listen-address=127.0.0.1:0",
    ]);
    assert_one_line_config_error(&output, "--storage.path");
}

#[test]
fn version_names_the_revision_and_the_build_date() {
    let output = run(&["--version"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")), "{stdout}");
    assert!(
        stdout.contains("revision ") && stdout.contains("built "),
        "{stdout}"
    );
}
