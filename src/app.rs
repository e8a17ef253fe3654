//! Wiring: configuration → token source → client → collectors → scheduler → HTTP server, and the
//! three ways to run them (serve, `--once`, `--demo`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::client::{ApiObserver, AuthError, ClientError, PartnerCenterClient, TokenSource};
use crate::collector::{CollectorMode, Collectors};
use crate::config::{Cli, Config, ConfigError, ExporterArgs, SimulateArgs};
use crate::metrics::{ExporterMetrics, MetricsError};
use crate::scheduler::Scheduler;
use crate::server::{AppState, router};
use crate::simulator::RunningSimulator;

/// Why the exporter could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("cannot set up authentication: {0}")]
    Auth(#[from] AuthError),
    #[error("cannot set up the Partner Center client: {0}")]
    Client(#[from] ClientError),
    #[error(
        "cannot listen on {addr}: {source} (is another process using the port? change --web.listen-address)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
    #[error("cannot start the simulated Partner Center for --demo: {0}")]
    Simulator(std::io::Error),
}

/// Build the scheduler (and everything below it) from a configuration.
pub fn build_scheduler(config: &Config) -> Result<Arc<Scheduler>, AppError> {
    let metrics = Arc::new(ExporterMetrics::new(
        &config.collection.enabled,
        config.collection.interval,
    )?);
    let observer: Arc<dyn ApiObserver> = metrics.clone();
    let tokens = Arc::new(TokenSource::new(config.auth.clone(), observer.clone())?);
    let client = PartnerCenterClient::new(config.client.clone(), tokens, observer)?;
    let collectors = Collectors::new(client, config.collection.clone());
    Ok(Arc::new(Scheduler::new(collectors, metrics)))
}

/// A configured exporter with its listening socket bound.
pub struct App {
    listener: TcpListener,
    scheduler: Arc<Scheduler>,
    state: AppState,
}

impl App {
    /// Build everything and bind `config.web.listen_address` (port 0 picks a free port).
    pub async fn build(config: &Config) -> Result<Self, AppError> {
        let scheduler = build_scheduler(config)?;
        let listener = TcpListener::bind(config.web.listen_address)
            .await
            .map_err(|source| AppError::Bind {
                addr: config.web.listen_address,
                source,
            })?;
        let state = AppState {
            scheduler: scheduler.clone(),
            telemetry_path: config.web.telemetry_path.clone(),
            simulated: config.simulated,
        };
        Ok(Self {
            listener,
            scheduler,
            state,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, AppError> {
        self.listener.local_addr().map_err(AppError::Serve)
    }

    /// The scheduler, for tests that want to trigger or inspect runs.
    pub fn scheduler(&self) -> Arc<Scheduler> {
        self.scheduler.clone()
    }

    /// Serve and collect until `shutdown` is cancelled; in-flight scrapes finish first.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), AppError> {
        let addr = self.local_addr()?;
        tracing::info!(%addr, path = %self.state.telemetry_path, "serving metrics");
        let collection = match self.scheduler.config().mode {
            CollectorMode::Interval => Some(tokio::spawn(
                self.scheduler.clone().run_interval(shutdown.child_token()),
            )),
            CollectorMode::Scrape => {
                // Warm up: start the first run now rather than at the first scrape, so that
                // /-/ready (which Kubernetes may gate scraping on) can turn 200 without a scrape.
                self.scheduler.refresh_for_scrape(Duration::ZERO).await;
                None
            }
        };
        let server = axum::serve(self.listener, router(self.state))
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await;
        shutdown.cancel();
        if let Some(collection) = collection {
            let _ = collection.await;
        }
        server.map_err(AppError::Serve)
    }
}

/// `--once`: collect once and return the exposition and whether every collector succeeded.
pub async fn collect_once(config: &Config) -> Result<(Vec<u8>, bool), AppError> {
    let scheduler = build_scheduler(config)?;
    let snapshot = scheduler.run_once().await;
    let mut out = scheduler.metrics().encode();
    let data = snapshot.collectors.iter().filter_map(|c| c.data.as_deref());
    for part in std::iter::once(&*snapshot.names).chain(data) {
        for chunk in part.text_chunks() {
            out.extend_from_slice(&chunk);
        }
    }
    let ok = snapshot.collectors.iter().all(|c| c.healthy());
    Ok((out, ok))
}

/// What `--demo` runs on: the simulator and the files holding its (fake) credentials.
pub struct Demo {
    pub simulator: RunningSimulator,
    /// Holds the client secret and the rotating refresh token; removed on drop.
    pub dir: tempfile::TempDir,
}

/// Start the simulator on a free loopback port and configure the exporter against it with
/// App+User authentication, so the whole path (token rotation included) is the real one.
pub async fn demo_config(args: ExporterArgs) -> Result<(Config, Demo), AppError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(AppError::Simulator)?;
    let simulator = RunningSimulator::start(
        // Figures drift a little every minute, so that dashboards move.
        SimulateArgs {
            customers: args.run.demo_customers,
            drift: Some(std::time::Duration::from_secs(60)),
            ..SimulateArgs::default()
        },
        listener,
    )
    .await
    .map_err(AppError::Simulator)?;
    let dir = tempfile::Builder::new()
        .prefix("partnercenter-exporter-demo")
        .tempdir()
        .map_err(AppError::Simulator)?;
    let (client_id, client_secret) = simulator.client_credentials();
    let secret_file = dir.path().join("client-secret");
    let refresh_file = dir.path().join("refresh-token");
    std::fs::write(&secret_file, client_secret).map_err(AppError::Simulator)?;
    std::fs::write(&refresh_file, simulator.issue_refresh_token()).map_err(AppError::Simulator)?;
    let mut args = args;
    args.partner_center.partnercenter_url = Some(simulator.base_url().to_string());
    args.auth.auth_token_url = Some(simulator.token_url_template(false));
    args.auth.auth_tenant_id = Some(simulator.partner_tenant_id());
    args.auth.auth_client_id = Some(client_id);
    args.auth.auth_client_secret_file = Some(secret_file);
    args.auth.auth_refresh_token_file = Some(refresh_file);
    args.auth.auth_mode = crate::client::AuthMode::AppUser;
    args.auth.auth_resource = None;
    let mut config = args.into_config()?;
    config.simulated = true;
    Ok((config, Demo { simulator, dir }))
}

/// Parse flags the way the binary does (for tests): `Cli` → validated `Config`.
pub fn config_from_args<I, T>(args: I) -> Result<Config, AppError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::Parser;
    let cli = Cli::try_parse_from(args).map_err(|e| ConfigError {
        flag: "flags",
        message: e.to_string(),
    })?;
    Ok(cli.exporter.into_config()?)
}

/// The `simulate` subcommand: serve the simulated Partner Center until SIGINT/SIGTERM, after
/// logging the (fake) credentials it accepts.
pub async fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let addr = crate::config::parse_listen_address(&args.listen_address)
        .map_err(|e| anyhow::anyhow!("--listen-address: {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (change --listen-address)"))?;
    let customers = args.customers;
    let simulator = RunningSimulator::start(args, listener).await?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the simulator's admin endpoints have no authentication; keep it on a trusted network");
    }
    let (client_id, client_secret) = simulator.client_credentials();
    tracing::info!(
        base_url = %simulator.base_url(),
        token_url_v1 = %simulator.token_url_template(false),
        token_url_v2 = %simulator.token_url_template(true),
        tenant_id = %simulator.partner_tenant_id(),
        client_id = %client_id,
        client_secret = %client_secret,
        refresh_token = %simulator.issue_refresh_token(),
        customers,
        "simulated Partner Center listening; these are fake, simulated credentials, valid only against this simulator"
    );
    crate::shutdown::signal().await;
    tracing::info!("shutting down the simulated Partner Center");
    simulator
        .shutdown()
        .await
        .context("the simulator's server failed")
}
