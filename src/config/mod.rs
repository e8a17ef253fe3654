//! Command line and environment: every flag, its default and its `PARTNERCENTER_…` variable, and
//! the validation that turns them into a [`Config`] or one clear line naming the bad flag.
//!
//! One file per flag group, as `--help` shows them: `web`, `partner_center`, `auth`,
//! `collectors` (Collectors and Collection), `storage`, `run` (`--once`, `--demo`), `logging`, and `simulate`
//! for the subcommand. Each is a
//! clap `Args` struct flattened into [`ExporterArgs`] and turns its own flags into the settings
//! type of the module that uses them ([`crate::server::WebConfig`],
//! [`crate::client::ClientConfig`], [`crate::client::AuthConfig`],
//! [`crate::collector::CollectionConfig`], [`crate::simulator::Settings`]). `parse` holds what they share. This module is the
//! only one that knows about flags; it depends on the modules below it, never the reverse.
//! Every field is named after its flag (`--auth.client-id` → `auth_client_id`).

mod auth;
mod collectors;
mod logging;
mod parse;
mod partner_center;
mod run;
mod simulate;
mod storage;
mod web;

use clap::{Args, Parser, Subcommand};

use crate::client::{AuthConfig, ClientConfig};
use crate::collector::CollectionConfig;
use crate::server::WebConfig;

pub use auth::{AuthArgs, ENV_ACCESS_TOKEN, ENV_CLIENT_SECRET, ENV_REFRESH_TOKEN};
pub use collectors::CollectorArgs;
pub use logging::LoggingArgs;
pub use parse::{ConfigError, env_name, parse_listen_address, read_secret_file};
pub use partner_center::{Cloud, PartnerCenterArgs};
pub use run::RunArgs;
pub use simulate::SimulateArgs;
pub use storage::StorageArgs;
pub use web::WebArgs;

/// Prometheus exporter for Microsoft Partner Center license analytics.
#[derive(Debug, Parser)]
#[command(name = "partnercenter-exporter", version = crate::metrics::build::LONG_VERSION, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub exporter: ExporterArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a simulated Partner Center (sign-in, customers, license analytics) for demos and tests.
    Simulate(SimulateArgs),
}

/// All flags of the exporter itself, by group. Every flag has an environment variable:
/// `PARTNERCENTER_` + the flag name upper-cased with `.` and `-` turned into `_`.
#[derive(Debug, Args)]
pub struct ExporterArgs {
    #[command(flatten)]
    pub web: WebArgs,
    #[command(flatten)]
    pub partner_center: PartnerCenterArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub collectors: CollectorArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub logging: LoggingArgs,
}

/// The validated configuration of the exporter.
#[derive(Debug, Clone)]
pub struct Config {
    pub web: WebConfig,
    pub client: ClientConfig,
    pub auth: AuthConfig,
    pub collection: CollectionConfig,
    /// `--storage.path`: where collected data is kept across restarts.
    pub storage_path: Option<std::path::PathBuf>,
    pub once: bool,
    /// Shown on the landing page and in logs when the upstream is the built-in simulator.
    pub simulated: bool,
}

impl ExporterArgs {
    /// Validate every group into a [`Config`].
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let web = self.web.web_config()?;
        let collection = self
            .collectors
            .collection_config(self.partner_center.partnercenter_concurrency)?;
        let client = self.partner_center.client_config()?;
        let auth = self.auth.auth_config(
            self.partner_center.cloud,
            &client,
            self.partner_center.partnercenter_timeout,
        )?;
        Ok(Config {
            web,
            client,
            auth,
            collection,
            storage_path: self.storage.storage_path()?,
            once: self.run.once,
            simulated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::CollectorKind;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut full = vec!["partnercenter-exporter"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full)
            .expect("flags parse")
            .exporter
            .into_config()
    }

    #[test]
    fn every_flag_has_the_environment_variable_derived_from_its_name() {
        use clap::CommandFactory;
        let command = Cli::command();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if long.starts_with("no-collector.") || matches!(long, "help" | "version") {
                continue;
            }
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            assert_eq!(env, Some(env_name(long)), "flag --{long}");
        }
    }

    #[test]
    fn the_readme_documents_every_flag_with_its_environment_variable() {
        use clap::CommandFactory;
        let readme = include_str!("../../README.md");
        let command = Cli::command();
        let simulate = command
            .find_subcommand("simulate")
            .expect("the simulate subcommand exists");
        for arg in command.get_arguments().chain(simulate.get_arguments()) {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            assert!(readme.contains(&format!("`--{long}`")), "README lacks --{long}");
            if let Some(env) = arg.get_env() {
                let env = env.to_string_lossy();
                assert!(readme.contains(&format!("`{env}`")), "README lacks {env}");
            }
        }
    }

    #[test]
    fn missing_credentials_name_the_flag() {
        let err = parse(&[]).unwrap_err();
        assert_eq!(err.flag, "--auth.tenant-id");
    }

    #[test]
    fn unreadable_secret_file_names_the_flag_and_the_path() {
        let err = parse(&[
            "--auth.tenant-id=t",
            "--auth.client-id=c",
            "--auth.client-secret-file=/nonexistent/secret",
        ])
        .unwrap_err();
        assert_eq!(err.flag, "--auth.client-secret-file");
        assert!(err.message.contains("/nonexistent/secret"), "{err}");
    }

    #[test]
    fn enabling_both_usage_collectors_is_an_error() {
        let err = parse(&["--collector.customer-usage"]).unwrap_err();
        assert_eq!(err.flag, "--collector.customer-usage");
        assert!(err.message.contains("--no-collector.usage"), "{err}");
    }

    #[test]
    fn no_collector_flags_switch_collectors_off() {
        let cli = Cli::try_parse_from(["x", "--no-collector.usage", "--collector.customer-usage"]).unwrap();
        let enabled = cli.exporter.collectors.enabled();
        assert!(!enabled.contains(&CollectorKind::Usage));
        assert!(enabled.contains(&CollectorKind::CustomerUsage));
        assert!(enabled.contains(&CollectorKind::Deployment));
    }

    #[test]
    fn bad_durations_are_rejected_by_the_parser() {
        let err = Cli::try_parse_from(["x", "--collector.interval=soon"]).unwrap_err();
        assert!(err.to_string().contains("--collector.interval"), "{err}");
    }

    #[test]
    fn valid_app_user_configuration_substitutes_the_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        let refresh = dir.path().join("refresh");
        std::fs::write(&secret, "s3cret\n").unwrap();
        std::fs::write(&refresh, "r3fresh\n").unwrap();
        let config = parse(&[
            "--auth.tenant-id=contoso.onmicrosoft.com",
            "--auth.client-id=app",
            &format!("--auth.client-secret-file={}", secret.display()),
            &format!("--auth.refresh-token-file={}", refresh.display()),
        ])
        .unwrap();
        assert_eq!(
            config.auth.token_url.as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token"
        );
        assert_eq!(config.auth.resource, "https://api.partnercenter.microsoft.com");
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(!format!("{config:?}").contains("r3fresh"));
    }
}
