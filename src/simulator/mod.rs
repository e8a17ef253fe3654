//! A simulated Partner Center: sign-in endpoints, `/v1/customers` and the six license analytics
//! endpoints, with deterministic synthetic data. Used by `--demo`, `simulate`, tests and benchmarks.
//!
//! INTERFACE STUB: the bodies are being written; the signatures are the contract.

use std::net::SocketAddr;
use std::time::Duration;

/// Flags of `partnercenter-exporter simulate` (also the simulator's configuration).
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Address to listen on.
    #[arg(
        long = "listen-address",
        env = "PARTNERCENTER_SIMULATOR_LISTEN_ADDRESS",
        default_value = "127.0.0.1:9848"
    )]
    pub listen_address: String,
    /// Seed of the synthetic partner.
    #[arg(long, env = "PARTNERCENTER_SIMULATOR_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Number of customers.
    #[arg(long, env = "PARTNERCENTER_SIMULATOR_CUSTOMERS", default_value_t = 25)]
    pub customers: usize,
    /// Lifetime of issued access tokens.
    #[arg(long = "token-ttl", env = "PARTNERCENTER_SIMULATOR_TOKEN_TTL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,
}

impl Default for SimulateArgs {
    fn default() -> Self {
        Self {
            listen_address: "127.0.0.1:0".into(),
            seed: 1,
            customers: 25,
            token_ttl: Duration::from_secs(3600),
        }
    }
}

/// A simulator serving on a loopback port.
pub struct RunningSimulator {
    pub addr: SocketAddr,
}

impl RunningSimulator {
    /// Serve on `listener` until [`RunningSimulator::shutdown`] or drop.
    pub async fn start(_args: SimulateArgs, _listener: tokio::net::TcpListener) -> std::io::Result<Self> {
        unimplemented!("stub")
    }
    /// `http://127.0.0.1:PORT` — the Partner Center base URL.
    pub fn base_url(&self) -> url::Url {
        unimplemented!("stub")
    }
    /// Token URL template with `{tenant}` left in, v1 or v2 flavour.
    pub fn token_url_template(&self, _v2: bool) -> String {
        unimplemented!("stub")
    }
    /// The simulated partner's tenant id.
    pub fn partner_tenant_id(&self) -> String {
        unimplemented!("stub")
    }
    /// The application (client) id and secret the simulator accepts.
    pub fn client_credentials(&self) -> (String, String) {
        unimplemented!("stub")
    }
    /// A fresh, valid refresh token (as the one-time consent would give).
    pub fn issue_refresh_token(&self) -> String {
        unimplemented!("stub")
    }
}

/// The `simulate` subcommand: serve until SIGINT/SIGTERM.
pub async fn run(_args: SimulateArgs) -> anyhow::Result<()> {
    unimplemented!("stub")
}
