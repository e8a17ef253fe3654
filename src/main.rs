//! The `partnercenter-exporter` binary: parse flags, set up logging, run. Everything else lives in
//! the library.
//!
//! Exit codes: 0 after SIGINT/SIGTERM or a good `--once`; 2 (and exactly one line on standard
//! error) when the configuration is wrong, a bad flag as much as a busy port; 1 for any other
//! failure, including a collection loop that stopped (so the supervisor restarts the exporter).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use partnercenter_exporter::app::{self, App};
use partnercenter_exporter::config::{Cli, Command};
use partnercenter_exporter::telemetry::print_line;
use partnercenter_exporter::{metrics, shutdown, telemetry};

/// Exit code for bad configuration, as for bad flags (clap uses 2 too).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    metrics::mark_start();
    partnercenter_exporter::memory::configure();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return flag_error(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            print_line(&format!(
                "partnercenter-exporter: cannot start the async runtime: {e}"
            ));
            return ExitCode::FAILURE;
        }
    };
    let _logs = telemetry::init(&cli.exporter.logging.log_level, cli.exporter.logging.log_format);
    let code = runtime.block_on(run(cli));
    // Whatever is still running on the blocking pool (a file write, an inflation for a client
    // that went away) gets a moment, not an unbounded wait: the shutdown grace period is over.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

/// `--help` and `--version` as clap prints them; any other flag error as one line, exit code 2.
fn flag_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Printing help to a closed pipe is not worth a panic either.
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("invalid flags");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            print_line(&format!(
                "partnercenter-exporter: bad configuration: {first} (see --help)"
            ));
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

async fn run(cli: Cli) -> ExitCode {
    if let Some(Command::Simulate(args)) = cli.command {
        return match app::simulate(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                print_line(&format!("partnercenter-exporter simulate: {e:#}"));
                ExitCode::FAILURE
            }
        };
    }
    let args = cli.exporter;
    let demo = args.run.demo;
    let (config, _demo) = if demo {
        match app::demo_config(args).await {
            Ok((config, demo)) => (config, Some(demo)),
            Err(e) => return fail(e),
        }
    } else {
        match args.into_config() {
            Ok(config) => (config, None),
            Err(e) => return fail(e.into()),
        }
    };

    // Said once the configuration is known to be good, so that an error stays the only line.
    let say_demo = || {
        if demo {
            tracing::warn!(
                upstream = %config.client.base_url,
                "DEMO MODE: serving data from the built-in SIMULATED Partner Center, not from Microsoft"
            );
        }
    };
    if config.once {
        say_demo();
        return match app::collect_once(&config).await {
            Ok((exposition, ok)) => {
                let mut stdout = std::io::stdout().lock();
                if let Err(e) = stdout.write_all(&exposition).and_then(|()| stdout.flush()) {
                    print_line(&format!("partnercenter-exporter: cannot write to stdout: {e}"));
                    return ExitCode::FAILURE;
                }
                if ok {
                    ExitCode::SUCCESS
                } else {
                    print_line(
                        "partnercenter-exporter: at least one collector failed (see partnercenter_collector_success)",
                    );
                    ExitCode::FAILURE
                }
            }
            Err(e) => fail(e),
        };
    }

    let app = match App::build(&config).await {
        Ok(app) => app,
        Err(e) => return fail(e),
    };
    say_demo();
    tracing::info!(
        urls = %app.urls().join(" "),
        mode = ?config.collection.mode,
        "partnercenter-exporter started; open {}",
        app.urls().first().map_or("", String::as_str)
    );
    match app.run(shutdown::on_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// One line on standard error. A configuration error (exit code 2) is printed only there; any
/// other failure is logged too, for log collectors that do not keep standard error's raw lines.
fn fail(e: app::AppError) -> ExitCode {
    if e.is_config() {
        print_line(&format!("partnercenter-exporter: bad configuration: {e}"));
        return ExitCode::from(EXIT_CONFIG);
    }
    tracing::error!(error = %e, "partnercenter-exporter failed");
    ExitCode::FAILURE
}
