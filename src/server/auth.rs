//! The web config file's per-request rules, as the outermost layer of the router (so they cover
//! every path, 404s included): `rate_limit` (429), basic auth (401 with `WWW-Authenticate: Basic`)
//! and the configured response headers.
//!
//! Basic auth is exporter-toolkit's: a bcrypt check per credential, one at a time, off the async
//! threads. An unknown user is checked against the most expensive configured hash, so neither the
//! time nor the answer tells which users exist. Verified credentials are remembered (an HMAC of
//! user, hash and password under a key made at start, never the password itself), so a scrape does
//! not pay bcrypt each time; failures are not remembered, so wrong passwords cannot push the
//! scraper's entry out.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use ring::hmac;
use tokio::sync::Semaphore;

use super::policy::{HttpPolicy, RateLimit};
use super::reload::WebFile;

/// Remembered successful logins, at most.
const CACHE_SIZE: usize = 100;

/// What the middleware keeps between requests (and across reloads of the file).
pub struct Guard {
    file: Arc<WebFile>,
    key: hmac::Key,
    verified: Mutex<HashSet<[u8; 32]>>,
    /// One bcrypt at a time, as exporter-toolkit: a flood of guesses costs one core, not all.
    bcrypt: Semaphore,
    bucket: Mutex<Bucket>,
}

struct Bucket {
    limit: Option<RateLimit>,
    tokens: f64,
    refilled: Instant,
}

impl Guard {
    pub fn new(file: Arc<WebFile>) -> Self {
        let rng = ring::rand::SystemRandom::new();
        // ring's generate only fails without an OS random source; a fixed key would still keep
        // passwords out of memory, so fall back to one rather than refuse to start.
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .unwrap_or_else(|_| hmac::Key::new(hmac::HMAC_SHA256, &std::process::id().to_le_bytes()));
        Self {
            file,
            key,
            verified: Mutex::new(HashSet::new()),
            bcrypt: Semaphore::new(1),
            bucket: Mutex::new(Bucket {
                limit: None,
                tokens: 0.0,
                refilled: Instant::now(),
            }),
        }
    }

    /// Take a token from the bucket; false when the rate limit is exceeded.
    fn admit(&self, limit: Option<RateLimit>) -> bool {
        let Some(limit) = limit else { return true };
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if bucket.limit != Some(limit) {
            // New or changed limit: start full, as golang.org/x/time/rate does.
            *bucket = Bucket {
                limit: Some(limit),
                tokens: f64::from(limit.burst),
                refilled: now,
            };
        }
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed / limit.interval.as_secs_f64()).min(f64::from(limit.burst));
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn cache_key(&self, user: &str, hash: &str, password: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in [user.as_bytes(), hash.as_bytes(), password] {
            ctx.update(&(part.len() as u64).to_le_bytes());
            ctx.update(part);
        }
        let mut out = [0; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Whether `user` / `password` are valid under `policy`.
    async fn check(&self, policy: &HttpPolicy, user: &str, password: Vec<u8>) -> bool {
        let Some((hash, known)) = policy.hash_for(user) else {
            return false;
        };
        let key = self.cache_key(user, hash, &password);
        if known
            && self
                .verified
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(&key)
        {
            return true;
        }
        let Ok(_permit) = self.bcrypt.acquire().await else {
            return false;
        };
        let hash = hash.to_owned();
        // bcrypt::verify truncates at 72 bytes, as Go's CompareHashAndPassword does.
        let matches = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .unwrap_or(false);
        let ok = matches && known;
        if ok {
            let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            if verified.len() >= CACHE_SIZE {
                // HashSet order depends on a random seed: this drops arbitrary entries.
                let drop: Vec<[u8; 32]> = verified.iter().take(CACHE_SIZE / 10).copied().collect();
                for k in drop {
                    verified.remove(&k);
                }
            }
            verified.insert(key);
        }
        ok
    }
}

/// `Authorization: Basic base64(user:password)`, as Go's `Request.BasicAuth` reads it.
fn basic_credentials(value: &HeaderValue) -> Option<(String, Vec<u8>)> {
    let value = value.as_bytes();
    let (scheme, encoded) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"Basic ") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8_lossy(&decoded[..colon]).into_owned();
    Some((user, decoded[colon + 1..].to_vec()))
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The layer: rate limit, then basic auth, then the configured headers on whatever the answer is.
pub async fn middleware(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let active = guard.file.current();
    let policy = &active.policy;
    let mut response = if !guard.admit(policy.rate_limit()) {
        plain(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n")
    } else if !policy.requires_auth() {
        next.run(request).await
    } else {
        let credentials = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(basic_credentials);
        let ok = match credentials {
            Some((user, password)) => guard.check(policy, &user, password).await,
            // Nothing to check: no bcrypt, and nothing learnt by the client either.
            None => false,
        };
        if ok {
            next.run(request).await
        } else {
            let mut response = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
            response
        }
    };
    for (name, value) in policy.headers() {
        response
            .headers_mut()
            .entry(name)
            .or_insert_with(|| value.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_read_as_go_reads_them() {
        let header = |s: &str| HeaderValue::from_str(s).unwrap();
        // "user:pa:ss" — the split is at the first colon.
        assert_eq!(
            basic_credentials(&header("basic dXNlcjpwYTpzcw==")),
            Some(("user".to_owned(), b"pa:ss".to_vec()))
        );
        assert_eq!(basic_credentials(&header("Bearer dXNlcjpwYTpzcw==")), None);
        assert_eq!(basic_credentials(&header("Basic !!!")), None);
        assert_eq!(basic_credentials(&header("Basic dXNlcg==")), None, "no colon");
        assert_eq!(basic_credentials(&header("Basic")), None);
    }
}
