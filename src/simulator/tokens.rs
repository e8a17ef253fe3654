//! Issued tokens, in memory, and nothing of HTTP beyond reading an `Authorization` header: the
//! token store, the JWT shape of access tokens, and who a token was issued to ([`Principal`]).
//! The sign-in endpoints that hand tokens out are in `signin`; the bearer check is used by the
//! Partner Center layer in `routes`.
//!
//! Refresh tokens rotate: every redemption returns a new one. The real platform does not revoke
//! the old one; the simulator is stricter so that a client which forgets to persist the rotated
//! token is caught: a used refresh token keeps working for a grace after its first use
//! (`--refresh-token-grace`), then is refused ([`RefreshError::Used`]). A refresh token unused for
//! its lifetime (`--refresh-token-ttl`, 90 days on the real platform) is refused too
//! ([`RefreshError::Inactive`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, header};
use rand::RngCore;
use serde_json::json;

use super::lock::{lock, read, write};

/// Who a valid access token was issued to.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Issued by the client-credentials grant (no user).
    pub app_only: bool,
    /// The partner tenant the token belongs to (the rate limit's key).
    pub tenant: Arc<str>,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    Missing,
    Invalid,
    Expired,
}

#[derive(Debug)]
struct AccessGrant {
    expires_at: SystemTime,
    principal: Principal,
}

#[derive(Debug)]
struct RefreshGrant {
    issued_at: SystemTime,
    used_at: Option<SystemTime>,
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshError {
    /// Never issued here.
    Unknown,
    /// Used before, and the grace after its first use is over.
    Used { used_at: SystemTime },
    /// Not used for longer than the refresh-token lifetime.
    Inactive { issued_at: SystemTime },
}

/// Issued tokens, in memory.
#[derive(Debug, Default)]
pub struct TokenStore {
    access: RwLock<HashMap<String, AccessGrant>>,
    refresh: Mutex<HashMap<String, RefreshGrant>>,
    /// Map sizes at which expired entries are next swept (keeps long benchmarks bounded).
    access_sweep_at: AtomicUsize,
    refresh_sweep_at: AtomicUsize,
}

const FIRST_SWEEP: usize = 4096;

impl TokenStore {
    /// Remember `token` as a valid, unused refresh token.
    pub fn register_refresh(&self, token: String, now: SystemTime) {
        lock(&self.refresh).insert(
            token,
            RefreshGrant {
                issued_at: now,
                used_at: None,
            },
        );
    }

    /// Issue a new refresh token, as a one-time interactive consent would.
    pub fn issue_refresh(&self, now: SystemTime, ttl: Duration, grace: Duration) -> String {
        let token = format!("0.ASIM{}", base64url(&random_bytes(96)));
        let mut map = lock(&self.refresh);
        if map.len() >= self.refresh_sweep_at.load(Ordering::Relaxed).max(FIRST_SWEEP) {
            // Keep used tokens a day past their grace so they still get the "used" error.
            let keep = grace + Duration::from_secs(86_400);
            map.retain(|_, g| {
                let fresh = elapsed(g.issued_at, now) < ttl;
                let used_recently = g.used_at.is_none_or(|u| elapsed(u, now) < keep);
                fresh && used_recently
            });
            self.refresh_sweep_at.store(map.len() * 2, Ordering::Relaxed);
        }
        map.insert(
            token.clone(),
            RefreshGrant {
                issued_at: now,
                used_at: None,
            },
        );
        token
    }

    /// Redeem `token`: on success it is marked used (its grace starts) and a new one is returned.
    pub fn redeem_refresh(
        &self,
        token: &str,
        now: SystemTime,
        ttl: Duration,
        grace: Duration,
    ) -> Result<String, RefreshError> {
        {
            let mut map = lock(&self.refresh);
            let grant = map.get_mut(token).ok_or(RefreshError::Unknown)?;
            if let Some(used_at) = grant.used_at.filter(|&u| elapsed(u, now) > grace) {
                return Err(RefreshError::Used { used_at });
            }
            if elapsed(grant.issued_at, now) > ttl {
                return Err(RefreshError::Inactive {
                    issued_at: grant.issued_at,
                });
            }
            grant.used_at.get_or_insert(now);
        }
        Ok(self.issue_refresh(now, ttl, grace))
    }

    /// Issue an access token valid for `ttl`.
    pub fn issue_access(&self, now: SystemTime, ttl: Duration, claims: &Claims<'_>) -> String {
        let token = jwt(now, ttl, claims);
        let grant = AccessGrant {
            expires_at: now + ttl,
            principal: Principal {
                app_only: claims.app_only,
                tenant: Arc::from(claims.tenant),
            },
        };
        let mut map = write(&self.access);
        if map.len() >= self.access_sweep_at.load(Ordering::Relaxed).max(FIRST_SWEEP) {
            map.retain(|_, g| g.expires_at > now);
            self.access_sweep_at.store(map.len() * 2, Ordering::Relaxed);
        }
        map.insert(token.clone(), grant);
        token
    }

    /// Check the `Authorization` header of a Partner Center request.
    pub fn check_bearer(&self, headers: &HeaderMap, now: SystemTime) -> Result<Principal, BearerError> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(BearerError::Missing)?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(BearerError::Invalid),
        };
        let map = read(&self.access);
        let grant = map.get(token).ok_or(BearerError::Invalid)?;
        if grant.expires_at <= now {
            return Err(BearerError::Expired);
        }
        Ok(grant.principal.clone())
    }
}

fn elapsed(since: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(since).unwrap_or_default()
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// Base64url without padding (the JWT alphabet).
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize]));
        }
    }
    out
}

/// What goes into an access token.
#[derive(Debug)]
pub struct Claims<'a> {
    pub app_only: bool,
    pub tenant: &'a str,
    pub tenant_domain: &'a str,
    pub client_id: &'a str,
    pub audience: &'a str,
}

/// A JWT-shaped access token (unsigned: nothing verifies it but the simulator's own map), so
/// clients that peek at `exp` or log the shape see what they would see in production.
fn jwt(now: SystemTime, ttl: Duration, c: &Claims<'_>) -> String {
    let iat = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let mut claims = json!({
        "aud": c.audience,
        "iss": format!("https://sts.windows.net/{}/", c.tenant),
        "iat": iat,
        "nbf": iat.saturating_sub(300),
        "exp": iat + ttl.as_secs(),
        "appid": c.client_id,
        "tid": c.tenant,
        "idtyp": if c.app_only { "app" } else { "user" },
        "uti": base64url(&random_bytes(16)),
        "ver": "1.0",
    });
    if !c.app_only {
        claims["scp"] = json!("user_impersonation");
        claims["amr"] = json!(["pwd", "mfa"]);
        claims["upn"] = json!(format!("admin@{}", c.tenant_domain));
    }
    format!(
        "{}.{}.{}",
        base64url(br#"{"typ":"JWT","alg":"RS256","kid":"simulated"}"#),
        base64url(claims.to_string().as_bytes()),
        base64url(&random_bytes(64))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(90 * 86_400);
    const G: Duration = Duration::from_secs(60);

    #[test]
    fn base64url_matches_the_rfc_test_vectors_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn a_redeemed_refresh_token_works_during_the_grace_then_fails() {
        let store = TokenStore::default();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let first = store.issue_refresh(t0, T, G);
        let second = store.redeem_refresh(&first, t0, T, G).unwrap();
        assert_ne!(first, second);
        assert!(
            store
                .redeem_refresh(&first, t0 + Duration::from_secs(30), T, G)
                .is_ok()
        );
        assert_eq!(
            store.redeem_refresh(&first, t0 + Duration::from_secs(61), T, G),
            Err(RefreshError::Used { used_at: t0 })
        );
        assert!(
            store
                .redeem_refresh(&second, t0 + Duration::from_secs(61), T, G)
                .is_ok()
        );
        assert_eq!(store.redeem_refresh("nope", t0, T, G), Err(RefreshError::Unknown));
    }

    #[test]
    fn an_unused_refresh_token_expires_after_its_lifetime() {
        let store = TokenStore::default();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let rt = store.issue_refresh(t0, T, G);
        assert_eq!(
            store.redeem_refresh(&rt, t0 + T + Duration::from_secs(1), T, G),
            Err(RefreshError::Inactive { issued_at: t0 })
        );
    }

    #[test]
    fn access_tokens_are_jwt_shaped_and_expire() {
        let store = TokenStore::default();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let claims = Claims {
            app_only: true,
            tenant: "t",
            tenant_domain: "d",
            client_id: "c",
            audience: "a",
        };
        let token = store.issue_access(t0, Duration::from_secs(10), &claims);
        assert_eq!(token.split('.').count(), 3);
        let mut headers = HeaderMap::new();
        assert_eq!(
            store.check_bearer(&headers, t0).unwrap_err(),
            BearerError::Missing
        );
        headers.insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        assert!(store.check_bearer(&headers, t0).unwrap().app_only);
        assert_eq!(
            store
                .check_bearer(&headers, t0 + Duration::from_secs(10))
                .unwrap_err(),
            BearerError::Expired
        );
        headers.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(
            store.check_bearer(&headers, t0).unwrap_err(),
            BearerError::Invalid
        );
    }
}
