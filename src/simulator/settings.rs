//! The simulator's settings by flag group — sign-in, paging, data, knobs — checked and turned
//! into the shared state ([`Sim`]). The flags themselves are `config::SimulateArgs`, which
//! sorts them into these groups; nothing here knows about flags but their names in messages.

use std::time::Duration;

use super::data::{DataConfig, DataStore};
use super::rng;
use super::state::{Clock, Counters, KnobValues, Knobs, NextLinkStyle, RateLimiter, Sim, SimConfig};
use super::tokens::TokenStore;

/// Salt of the hashes that derive the partner's own ids from the seed.
const SALT_PARTNER: u64 = u64::MAX;

/// Who the simulated partner is and how long its tokens live: `--tenant-id`, `--client-id`,
/// `--client-secret` (derived from the data's seed when absent), `--refresh-token`, `--token-ttl`,
/// `--refresh-token-ttl`, `--refresh-token-grace`.
#[derive(Debug)]
pub struct SignIn {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// An additional refresh token to accept.
    pub refresh_token: Option<String>,
    pub token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_token_grace: Duration,
}

/// How the Partner Center endpoints page: `--page-size-cap`, `--next-link`.
#[derive(Debug)]
pub struct Paging {
    pub page_size_cap: usize,
    pub next_link: NextLinkStyle,
}

/// Every setting of a simulator, by flag group.
#[derive(Debug)]
pub struct Settings {
    pub sign_in: SignIn,
    pub paging: Paging,
    /// `--seed`, `--customers`, `--drift`, `--processed-date` and the output spellings.
    pub data: DataConfig,
    /// The knobs to start with: `--fail-rate`, `--rate-limit`, `--latency`, `--latency-jitter`,
    /// `--bom`.
    pub knobs: KnobValues,
}

impl Settings {
    /// Check the settings and build the state; an error names the flags at fault.
    pub fn into_state(self) -> Result<Sim, String> {
        let Settings {
            sign_in,
            paging,
            data,
            knobs,
        } = self;
        let outside_unit = |x: Option<f64>| x.is_some_and(|x| !(0.0..=1.0).contains(&x));
        if outside_unit(knobs.fail_rate) || outside_unit(knobs.latency_jitter) {
            return Err("--fail-rate and --latency-jitter must be from 0 to 1".into());
        }
        if paging.page_size_cap == 0 {
            return Err("--page-size-cap must be at least 1".into());
        }
        if data.drift.is_some_and(|d| d < Duration::from_secs(1)) {
            return Err("--drift must be at least 1s".into());
        }
        let seed = data.seed;
        let config = SimConfig {
            tenant_id: sign_in
                .tenant_id
                .unwrap_or_else(|| rng::guid(seed, &[SALT_PARTNER, 1])),
            tenant_domain: format!("simulatedpartner{seed}.onmicrosoft.com"),
            client_id: sign_in
                .client_id
                .unwrap_or_else(|| rng::guid(seed, &[SALT_PARTNER, 2])),
            client_secret: sign_in.client_secret.unwrap_or_else(|| {
                format!(
                    "sim8Q~{:016x}{:016x}",
                    rng::hash(seed, &[SALT_PARTNER, 3]),
                    rng::hash(seed, &[SALT_PARTNER, 4])
                )
            }),
            token_ttl: sign_in.token_ttl,
            refresh_token_ttl: sign_in.refresh_token_ttl,
            refresh_token_grace: sign_in.refresh_token_grace,
            page_size_cap: paging.page_size_cap,
            next_link: paging.next_link,
            continuation_secret: rand::random(),
        };
        let sim = Sim {
            config,
            data: DataStore::new(data),
            tokens: TokenStore::default(),
            knobs: Knobs::default(),
            clock: Clock::default(),
            limiter: RateLimiter::default(),
            counters: Counters::default(),
        };
        sim.knobs.apply(&knobs)?;
        if let Some(token) = sign_in.refresh_token {
            sim.tokens.register_refresh(token, sim.clock.now());
        }
        Ok(sim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::render::{PercentScale, Style, UsageSpelling};

    fn settings(seed: u64) -> Settings {
        Settings {
            sign_in: SignIn {
                tenant_id: None,
                client_id: None,
                client_secret: None,
                refresh_token: Some("rt".into()),
                token_ttl: Duration::from_secs(3600),
                refresh_token_ttl: Duration::from_secs(86_400),
                refresh_token_grace: Duration::from_secs(600),
            },
            paging: Paging {
                page_size_cap: 10,
                next_link: NextLinkStyle::Relative,
            },
            data: DataConfig {
                seed,
                customers: 2,
                drift: None,
                processed_date: None,
                style: Style {
                    spelling: UsageSpelling::LicenseActive,
                    percent: PercentScale::Percent,
                },
            },
            knobs: KnobValues {
                fail_rate: Some(0.0),
                latency_jitter: Some(0.25),
                ..Default::default()
            },
        }
    }

    #[test]
    fn out_of_range_settings_name_the_flags_at_fault() {
        let mut s = settings(1);
        s.knobs.fail_rate = Some(f64::NAN);
        assert_eq!(
            s.into_state().err().as_deref(),
            Some("--fail-rate and --latency-jitter must be from 0 to 1")
        );
        let mut s = settings(1);
        s.paging.page_size_cap = 0;
        assert_eq!(
            s.into_state().err().as_deref(),
            Some("--page-size-cap must be at least 1")
        );
        let mut s = settings(1);
        s.data.drift = Some(Duration::from_millis(500));
        assert_eq!(
            s.into_state().err().as_deref(),
            Some("--drift must be at least 1s")
        );
    }

    #[test]
    fn the_partner_ids_follow_the_seed_unless_given() {
        let (a, b) = (
            settings(7).into_state().unwrap(),
            settings(7).into_state().unwrap(),
        );
        assert_eq!(a.config.tenant_id, b.config.tenant_id);
        assert_eq!(a.config.client_secret, b.config.client_secret);
        assert_eq!(a.config.tenant_domain, "simulatedpartner7.onmicrosoft.com");
        assert_ne!(
            a.config.client_id,
            settings(8).into_state().unwrap().config.client_id
        );
        let mut given = settings(7);
        given.sign_in.tenant_id = Some("tid".into());
        assert_eq!(given.into_state().unwrap().config.tenant_id, "tid");
        let now = a.clock.now();
        assert!(
            a.tokens
                .redeem_refresh("rt", now, Duration::from_secs(60), Duration::ZERO)
                .is_ok()
        );
    }
}
