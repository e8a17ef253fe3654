//! Wiring: configuration → token source → client → collectors → scheduler → HTTP server, and the
//! three ways to run them (serve, `--once`, `--demo`). Serving also supervises the background
//! tasks: if the collection loop ever stops before a shutdown (a panic, a bug), the exporter
//! exits non-zero so that its supervisor (Kubernetes, systemd, Docker) restarts it, rather than
//! answering `/-/healthy` while collecting nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use tokio::task::JoinHandle;

use crate::client::{ApiObserver, AuthError, ClientError, PartnerCenterClient, TokenSource};
use crate::collector::{Collect, CollectorMode, Collectors};
use crate::config::{Cli, Config, ConfigError, ExporterArgs, SimulateArgs};
use crate::derived::Derived;
use crate::metrics::{ExporterMetrics, MetricsError};
use crate::scheduler::Scheduler;
use crate::server::{AppState, Limits, ListenAddress, WebFile};
use crate::simulator::RunningSimulator;
use crate::storage::Storage;

/// Why the exporter could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("cannot set up authentication: {0}")]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(
        "--web.listen-address: cannot listen on {addr}: {source} (is another process using the port? choose another address)"
    )]
    Bind {
        addr: ListenAddress,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
    #[error("cannot start the simulated Partner Center for --demo: {0}")]
    Simulator(std::io::Error),
    #[error("{task} stopped ({reason}); exiting so that the supervisor restarts the exporter")]
    TaskDied { task: &'static str, reason: String },
}

impl AppError {
    /// Whether the user's configuration caused it: exit code 2, like a bad flag.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            AppError::Config(_)
                | AppError::Bind { .. }
                | AppError::Auth(AuthError::Config(_))
                | AppError::Client(ClientError::Setup(_) | ClientError::Auth(AuthError::Config(_)))
        )
    }
}

/// Build the scheduler (and everything below it) from a configuration.
pub fn build_scheduler(config: &Config) -> Result<Arc<Scheduler>, AppError> {
    let collection = &config.collection;
    let periods: Vec<_> = collection
        .enabled
        .iter()
        .map(|&kind| (kind, collection.period_of(kind)))
        .collect();
    let metrics = Arc::new(ExporterMetrics::new(&periods)?);
    let observer: Arc<dyn ApiObserver> = metrics.clone();
    let tokens = Arc::new(TokenSource::new(config.auth.clone(), observer.clone())?);
    let client = PartnerCenterClient::new(config.client.clone(), tokens, observer)?;
    let collectors: Arc<dyn Collect> = Arc::new(Collectors::new(client, collection.clone()));
    let storage = config.storage_path.clone().map(Storage::open);
    let derived = Derived::new(config.pricing.clone(), collection.filter.clone());
    Ok(Arc::new(Scheduler::new(collectors, derived, metrics, storage)))
}

/// A configured exporter with its listening sockets bound.
pub struct App {
    listeners: Vec<TcpListener>,
    scheduler: Arc<Scheduler>,
    state: AppState,
    prices: Option<crate::pricing::LoadedPrices>,
    config_file: Option<Arc<WebFile>>,
    limits: Limits,
}

impl App {
    /// Build everything, bind every `config.web.listen_addresses` (port 0 picks a free port) and
    /// load the data kept in `--storage.path`, so that the first scrape already serves it.
    pub async fn build(config: &Config) -> Result<Self, AppError> {
        let scheduler = build_scheduler(config)?;
        let mut listeners = Vec::new();
        for &addr in &config.web.listen_addresses {
            listeners.push(crate::server::bind(addr).map_err(|source| AppError::Bind { addr, source })?);
        }
        let config_file = config.web.config_file.clone();
        let tls_names = config_file
            .as_ref()
            .and_then(|f| f.current().tls.as_ref().map(|t| t.dns_names.clone()))
            .unwrap_or_default();
        let hosts: Vec<String> = tls_names.into_iter().chain(crate::server::host_name()).collect();
        let mut urls = Vec::new();
        for listener in &listeners {
            let addr = listener.local_addr().map_err(AppError::Serve)?;
            let tls = config_file.as_ref().is_some_and(|f| f.tls());
            urls.extend(crate::server::urls(addr, tls, &hosts));
        }
        if let Some(file) = &config_file {
            let gauge = scheduler.metrics().web_config_gauge()?;
            file.observe(Box::new(move |ok| gauge.set(i64::from(ok))));
        }
        scheduler.restore().await;
        let state = AppState {
            scheduler: scheduler.clone(),
            telemetry_path: config.web.telemetry_path.clone(),
            simulated: config.simulated,
            urls: urls.into(),
        };
        Ok(Self {
            listeners,
            scheduler,
            state,
            prices: config.pricing.clone(),
            config_file,
            limits: config.web.limits,
        })
    }

    /// The address of the first listener (the one tests bind on port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, AppError> {
        self.local_addrs()?
            .first()
            .copied()
            .ok_or_else(|| AppError::Serve(std::io::Error::other("no listener")))
    }

    /// The address of every listener.
    pub fn local_addrs(&self) -> Result<Vec<SocketAddr>, AppError> {
        self.listeners
            .iter()
            .map(|l| l.local_addr().map_err(AppError::Serve))
            .collect()
    }

    /// The URLs a person can open, one or more per listener.
    pub fn urls(&self) -> &[String] {
        &self.state.urls
    }

    /// The scheduler, for tests that want to trigger or inspect runs.
    pub fn scheduler(&self) -> Arc<Scheduler> {
        self.scheduler.clone()
    }

    /// Serve and collect until `shutdown` is cancelled; in-flight scrapes get the shutdown grace
    /// period, runs in progress are aborted. If the collection loop stops before that, the server
    /// stops too and this returns [`AppError::TaskDied`].
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), AppError> {
        let tls = self.config_file.as_ref().is_some_and(|f| f.tls());
        if let Some(file) = &self.config_file {
            file.current().warn();
        }
        for listener in &self.listeners {
            let addr = listener.local_addr().map_err(AppError::Serve)?;
            tracing::info!(%addr, tls, path = %self.state.telemetry_path, "serving metrics");
        }
        if let Some(prices) = &self.prices {
            crate::derived::log_prices(prices);
        }
        let mut tasks = Vec::new();
        match self.scheduler.config().mode {
            CollectorMode::Interval => tasks.push((
                "the collection loop",
                tokio::spawn(self.scheduler.clone().run_interval(shutdown.child_token())),
            )),
            CollectorMode::Scrape => {
                // Warm up: start the first runs now rather than at the first scrape, so that
                // /-/ready (which Kubernetes may gate scraping on) can turn 200 without a scrape.
                self.scheduler.refresh_for_scrape(Duration::ZERO).await;
            }
        }
        // At shutdown, a scrape waiting for a run in scrape mode must not hold the exit up.
        let scheduler = self.scheduler.clone();
        let stopping = shutdown.clone();
        tokio::spawn(async move {
            stopping.cancelled().await;
            scheduler.abort_all();
        });
        let router = crate::server::router(self.state, self.config_file.clone());
        let tls_file = self.config_file.filter(|f| f.tls());
        let server = {
            let (listeners, limits, stop) = (self.listeners, self.limits, shutdown.clone());
            async move {
                crate::server::serve(listeners, router, tls_file, limits, stop).await;
                Ok(())
            }
        };
        supervise(server, tasks, shutdown).await
    }
}

/// How long a shutdown waits for the background tasks to notice it.
const TASK_STOP_GRACE: Duration = Duration::from_secs(5);

/// Run `server` until it ends, watching `tasks`: a task that ends before `shutdown` is cancelled
/// (it returned or panicked) cancels it, lets the server finish its in-flight requests, and is
/// returned as [`AppError::TaskDied`].
pub async fn supervise<S>(
    server: S,
    mut tasks: Vec<(&'static str, JoinHandle<()>)>,
    shutdown: CancellationToken,
) -> Result<(), AppError>
where
    S: std::future::Future<Output = std::io::Result<()>>,
{
    tokio::pin!(server);
    let died = {
        let watch = async {
            if tasks.is_empty() {
                return std::future::pending().await;
            }
            let (result, index, _) =
                futures::future::select_all(tasks.iter_mut().map(|(_, handle)| handle)).await;
            (index, result)
        };
        tokio::select! {
            served = &mut server => Err(served),
            (index, result) = watch => Ok((index, result)),
        }
    };
    match died {
        Err(served) => {
            shutdown.cancel();
            for (_, handle) in tasks {
                let _ = tokio::time::timeout(TASK_STOP_GRACE, handle).await;
            }
            served.map_err(AppError::Serve)
        }
        Ok((index, result)) => {
            let task = tasks[index].0;
            if shutdown.is_cancelled() && result.is_ok() {
                // It stopped because of the shutdown: finish serving as usual.
                shutdown.cancel();
                return server.await.map_err(AppError::Serve);
            }
            let reason = match result {
                Ok(()) => "it returned".to_owned(),
                Err(e) if e.is_panic() => format!("it panicked: {}", panic_text(e.into_panic())),
                Err(e) => e.to_string(),
            };
            tracing::error!(task, %reason, "a background task stopped; exiting so that the supervisor restarts the exporter");
            shutdown.cancel();
            let _ = server.await;
            Err(AppError::TaskDied { task, reason })
        }
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

/// `--once`: collect once and return the exposition and whether every collector succeeded.
pub async fn collect_once(config: &Config) -> Result<(Vec<u8>, bool), AppError> {
    let scheduler = build_scheduler(config)?;
    let snapshot = scheduler.run_once().await;
    let mut out = scheduler.metrics().encode();
    let data = snapshot.collectors.iter().filter_map(|c| c.data.as_deref());
    let derived = snapshot.derived.as_ref().map(|d| &*d.data);
    for part in std::iter::once(&*snapshot.names).chain(data).chain(derived) {
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
pub async fn demo_config(mut args: ExporterArgs) -> Result<(Config, Demo), AppError> {
    refuse_upstream_flags(&args)?;
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
    // The demo shows money: the simulator's price sheet, unless the user gave a price file.
    if args.pricing.pricing_file.is_none() {
        let prices = dir.path().join("price-sheet.csv");
        std::fs::write(&prices, simulator.price_sheet_csv()).map_err(AppError::Simulator)?;
        args.pricing.pricing_file = Some(prices);
    }
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

/// `--demo` points the exporter at its own simulator, so flags that choose another upstream or
/// credentials would be silently ignored: refuse them with one clear line instead.
fn refuse_upstream_flags(args: &ExporterArgs) -> Result<(), ConfigError> {
    let auth = &args.auth;
    let given = [
        (
            "--partnercenter.url",
            args.partner_center.partnercenter_url.is_some(),
        ),
        ("--auth.tenant-id", auth.auth_tenant_id.is_some()),
        ("--auth.client-id", auth.auth_client_id.is_some()),
        (
            "--auth.client-secret-file",
            auth.auth_client_secret_file.is_some(),
        ),
        (
            "--auth.refresh-token-file",
            auth.auth_refresh_token_file.is_some(),
        ),
        ("--auth.access-token-file", auth.auth_access_token_file.is_some()),
        ("--auth.token-url", auth.auth_token_url.is_some()),
        ("--auth.resource", auth.auth_resource.is_some()),
        ("--auth.scope", auth.auth_scope.is_some()),
        ("--auth.mode", auth.auth_mode != crate::client::AuthMode::AppUser),
    ];
    match given.iter().find(|(_, set)| *set) {
        Some((flag, _)) => Err(ConfigError {
            flag,
            message: format!(
                "--demo uses the built-in simulated Partner Center and its own credentials, and would ignore {flag} \
                 (or its PARTNERCENTER_ environment variable); remove one of the two"
            ),
        }),
        None => Ok(()),
    }
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
    if let Some(path) = &args.write_price_sheet {
        let sheet = crate::simulator::price_sheet(chrono::Utc::now());
        std::fs::write(path, sheet)
            .with_context(|| format!("cannot write the price sheet to {}", path.display()))?;
        tracing::info!(file = %path.display(), "wrote the simulated price sheet (use it with --pricing.file)");
        return Ok(());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_background_task_that_panics_stops_the_exporter_with_an_error() {
        let shutdown = CancellationToken::new();
        let server = {
            let shutdown = shutdown.clone();
            async move {
                shutdown.cancelled().await;
                Ok(())
            }
        };
        let task = tokio::spawn(async { panic!("the loop broke") });
        let result = supervise(server, vec![("the collection loop", task)], shutdown.clone()).await;
        match result {
            Err(AppError::TaskDied { task, reason }) => {
                assert_eq!(task, "the collection loop");
                assert!(reason.contains("the loop broke"), "{reason}");
            }
            other => panic!("expected TaskDied, got {other:?}"),
        }
        assert!(shutdown.is_cancelled(), "the server was told to stop");
    }

    #[tokio::test]
    async fn a_background_task_that_returns_early_stops_the_exporter_too() {
        let shutdown = CancellationToken::new();
        let server = {
            let shutdown = shutdown.clone();
            async move {
                shutdown.cancelled().await;
                Ok(())
            }
        };
        let task = tokio::spawn(async {});
        let result = supervise(server, vec![("the collection loop", task)], shutdown).await;
        assert!(matches!(result, Err(AppError::TaskDied { .. })), "{result:?}");
    }

    #[tokio::test]
    async fn a_shutdown_is_a_clean_exit() {
        let shutdown = CancellationToken::new();
        let server = {
            let shutdown = shutdown.clone();
            async move {
                shutdown.cancelled().await;
                Ok(())
            }
        };
        let loop_token = shutdown.child_token();
        let task = tokio::spawn(async move { loop_token.cancelled().await });
        shutdown.cancel();
        assert!(
            supervise(server, vec![("the collection loop", task)], shutdown)
                .await
                .is_ok()
        );
    }
}
