//! The `partnercenter-exporter` binary: parse flags, set up logging, run. Everything else lives in
//! the library.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use partnercenter_exporter::app::{self, App};
use partnercenter_exporter::config::{Cli, Command};
use partnercenter_exporter::{shutdown, telemetry};

/// Exit code for bad configuration, as for bad flags (clap uses 2 too).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("partnercenter-exporter: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = telemetry::init(&cli.exporter.logging.log_level, cli.exporter.logging.log_format) {
        eprintln!("partnercenter-exporter: bad configuration: --log.level: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let code = runtime.block_on(run(cli));
    // Whatever is still running on the blocking pool (a file write, an inflation for a client
    // that went away) gets a moment, not an unbounded wait: the shutdown grace period is over.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

async fn run(cli: Cli) -> ExitCode {
    if let Some(Command::Simulate(args)) = cli.command {
        return match app::simulate(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("partnercenter-exporter simulate: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let args = cli.exporter;
    let demo = args.run.demo;
    let (config, _demo) = if demo {
        match app::demo_config(args).await {
            Ok((config, demo)) => {
                tracing::warn!(
                    upstream = %config.client.base_url,
                    "DEMO MODE: serving data from the built-in SIMULATED Partner Center, not from Microsoft"
                );
                (config, Some(demo))
            }
            Err(e) => return fail(e),
        }
    } else {
        match args.into_config() {
            Ok(config) => (config, None),
            Err(e) => {
                eprintln!("partnercenter-exporter: bad configuration: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    };

    if config.once {
        return match app::collect_once(&config).await {
            Ok((exposition, ok)) => {
                let mut stdout = std::io::stdout().lock();
                if let Err(e) = stdout.write_all(&exposition).and_then(|()| stdout.flush()) {
                    eprintln!("partnercenter-exporter: cannot write to stdout: {e}");
                    return ExitCode::FAILURE;
                }
                if ok {
                    ExitCode::SUCCESS
                } else {
                    eprintln!(
                        "partnercenter-exporter: at least one collector failed (see partnercenter_collector_success)"
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

fn fail(e: app::AppError) -> ExitCode {
    if let app::AppError::Config(e) = &e {
        // One line, as without --demo.
        eprintln!("partnercenter-exporter: bad configuration: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    tracing::error!(error = %e, "partnercenter-exporter failed");
    eprintln!("partnercenter-exporter: {e}");
    match e {
        app::AppError::Config(_) => ExitCode::from(EXIT_CONFIG),
        _ => ExitCode::FAILURE,
    }
}
