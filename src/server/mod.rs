//! The HTTP server.
//!
//! - `routes`: `/metrics`, `/-/healthy`, `/-/ready` and the landing page;
//! - `listen`: the `--web.listen-address` forms, dual-stack binding, the URLs to open;
//! - `serve`: the accept loop with its limits (timeouts, connection cap, bounded shutdown), and
//!   `stall`, the write-stall guard under it;
//! - the web config file (`--web.config.file`, exporter-toolkit's format): `file` parses and
//!   validates it, `tls` and `verify` turn it into rustls' configuration, `policy` holds its
//!   per-request rules, `reload` re-reads it (and the certificates) while running, and `auth`
//!   enforces rate limit, basic auth and headers in front of every route.

mod auth;
mod file;
mod listen;
mod policy;
mod reload;
mod routes;
mod serve;
mod stall;
mod tls;
mod verify;

use std::sync::Arc;

use axum::Router;

pub use listen::{ListenAddress, bind, host_name, urls};
pub use reload::{WebFile, WebFileError};
pub use routes::AppState;
pub use serve::{Limits, serve};

/// Where and how the HTTP server listens.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Each `--web.listen-address` (port 0 picks a free port).
    pub listen_addresses: Vec<ListenAddress>,
    /// The path `/metrics` is served under.
    pub telemetry_path: String,
    /// `--web.config.file`, loaded and validated.
    pub config_file: Option<Arc<WebFile>>,
    pub limits: Limits,
}

/// Every route, behind the web config file's rate limit, basic auth and headers if there is one.
pub fn router(state: AppState, config_file: Option<Arc<WebFile>>) -> Router {
    let router = routes::router(state);
    match config_file {
        None => router,
        Some(file) => router.layer(axum::middleware::from_fn_with_state(
            Arc::new(auth::Guard::new(file)),
            auth::middleware,
        )),
    }
}
