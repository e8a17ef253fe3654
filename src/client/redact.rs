//! Redaction of secrets from text that leaves the client. Error bodies and sign-in messages are
//! quoted in errors, and errors reach the logs and the landing page; an upstream (or a proxy in
//! front of it) may echo what it was sent, `Authorization` header included.
//!
//! Two nets: the secrets the exporter holds (client secret, refresh tokens, access tokens) are
//! replaced wherever they appear, and anything shaped like a bearer token, a JWT or a
//! `…_token=` / `client_secret=` pair is replaced too, since a token the exporter never held (an
//! older one, another client's) is no less a secret.

use std::collections::VecDeque;
use std::sync::{LazyLock, Mutex, PoisonError};

use regex::Regex;
use secrecy::{ExposeSecret, SecretString};

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not searched for: replacing every occurrence of a two-letter
/// "secret" would mangle messages, and no real credential is that short.
const MIN_SECRET_LEN: usize = 6;
/// Secrets remembered: the client secret, and the most recent refresh and access tokens (an
/// error may quote a token that was replaced a moment ago).
const REMEMBERED: usize = 16;

// The patterns are constants, checked by the unit tests below, so compiling them cannot fail.
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*").expect("constant pattern"));
static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*").expect("constant pattern")
});
static PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b(access_token|refresh_token|id_token|client_secret|client_assertion)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+"#,
    )
    .expect("constant pattern")
});

/// Replaces anything shaped like a credential: `Bearer …`, a JWT, `access_token=…` and the like.
pub fn redact_patterns(text: &str) -> String {
    let text = BEARER.replace_all(text, format!("$1 {REDACTED}"));
    let text = JWT.replace_all(&text, REDACTED);
    PAIR.replace_all(&text, format!("$1$2{REDACTED}")).into_owned()
}

/// The secrets the exporter holds, remembered so they can be blanked out of any text.
#[derive(Default)]
pub struct Redactor {
    known: Mutex<VecDeque<SecretString>>,
}

impl Redactor {
    /// Remember `secret` (newest first); the oldest is forgotten beyond a small number.
    pub fn remember(&self, secret: &SecretString) {
        let value = secret.expose_secret();
        if value.len() < MIN_SECRET_LEN {
            return;
        }
        let mut known = self.lock();
        if known.iter().any(|s| s.expose_secret() == value) {
            return;
        }
        known.push_front(secret.clone());
        known.truncate(REMEMBERED);
    }

    /// `text` with every remembered secret and every credential-shaped string replaced.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in self.lock().iter() {
            let value = secret.expose_secret();
            if text.contains(value) {
                text = text.replace(value, REDACTED);
            }
        }
        redact_patterns(&text)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<SecretString>> {
        // Held only to read or push; a panic cannot leave the list half-changed.
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("known", &self.lock().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_jwts_and_token_pairs_are_replaced() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig-nature_1";
        let text = format!(
            "Authorization: Bearer abc.def-ghi~jk and bearer {jwt}; saw {jwt}; access_token=tok123&x=1 {{\"refresh_token\": \"rt-9\"}} client_secret: s3"
        );
        let out = redact_patterns(&text);
        for secret in ["abc.def-ghi~jk", jwt, "tok123", "rt-9", "s3"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("Authorization: Bearer [redacted]"), "{out}");
        assert!(out.contains("access_token=[redacted]&x=1"), "{out}");
        assert!(out.contains("\"refresh_token\": \"[redacted]\""), "{out}");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "code 400: The bearer of bad news; token expired at 2026-01-01T00:00:00Z",
            "no secrets here, eyJ alone",
            "refresh_token missing",
        ] {
            assert_eq!(redact_patterns(text), text);
        }
    }

    #[test]
    fn remembered_secrets_are_replaced_and_short_ones_ignored() {
        let redactor = Redactor::default();
        redactor.remember(&SecretString::from("opaque-secret-1"));
        redactor.remember(&SecretString::from("ab"));
        assert_eq!(
            redactor.redact("x opaque-secret-1 ab"),
            format!("x {REDACTED} ab")
        );
        assert_eq!(format!("{redactor:?}"), "Redactor { known: 1 }");
    }

    #[test]
    fn only_the_most_recent_secrets_are_remembered() {
        let redactor = Redactor::default();
        for i in 0..(REMEMBERED + 5) {
            redactor.remember(&SecretString::from(format!("secret-number-{i:03}")));
        }
        assert!(redactor.redact("secret-number-000").contains("000"));
        assert_eq!(
            redactor.redact(&format!("secret-number-{:03}", REMEMBERED + 4)),
            REDACTED
        );
    }
}
