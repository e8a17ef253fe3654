//! What a web config file says about every HTTP request, validated: the basic-auth users and their
//! bcrypt hashes, the headers added to every response (`http_server_config.headers`), and the
//! `rate_limit`. Enforced by `auth`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};

/// The `rate_limit` section: one global token bucket, as exporter-toolkit's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// One request's worth of tokens comes back every `interval`.
    pub interval: Duration,
    /// The bucket's size, and how full it starts.
    pub burst: u32,
}

/// The per-request part of a web config file.
#[derive(Clone, Default)]
pub struct HttpPolicy {
    /// User name → bcrypt hash.
    users: HashMap<String, String>,
    /// The most expensive configured hash: an unknown user is checked against it, so that it
    /// costs what a known one does.
    dummy_hash: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    rate_limit: Option<RateLimit>,
}

impl fmt::Debug for HttpPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&String> = self.users.keys().collect();
        users.sort();
        f.debug_struct("HttpPolicy")
            .field("users", &users)
            .field("headers", &self.headers)
            .field("rate_limit", &self.rate_limit)
            .finish_non_exhaustive()
    }
}

/// The response headers an operator may set (exporter-toolkit's list, exact case), and the
/// values allowed for the two that take a fixed set.
const HEADERS: &[(&str, &[&str])] = &[
    ("Content-Security-Policy", &[]),
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
];

impl HttpPolicy {
    /// Validate the three sections; each error names its key.
    pub fn new(
        users: BTreeMap<String, Option<String>>,
        headers: BTreeMap<String, Option<String>>,
        rate_limit: Option<RateLimit>,
    ) -> Result<Self, String> {
        let mut checked = HashMap::new();
        let mut dummy: Option<(u32, String)> = None;
        for (user, hash) in users {
            let hash = hash.unwrap_or_default();
            let cost = bcrypt_cost(&hash).map_err(|e| format!("basic_auth_users.{user}: {e}"))?;
            if dummy.as_ref().is_none_or(|(c, _)| cost > *c) {
                dummy = Some((cost, hash.clone()));
            }
            checked.insert(user, hash);
        }
        Ok(Self {
            users: checked,
            dummy_hash: dummy.map(|(_, h)| h),
            headers: response_headers(headers)?,
            rate_limit,
        })
    }

    /// Whether requests need basic auth.
    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// The hash to check `user`'s password against, and whether the user exists (if not, the hash
    /// is the dummy one, so that the answer takes as long).
    pub fn hash_for(&self, user: &str) -> Option<(&str, bool)> {
        match self.users.get(user) {
            Some(hash) => Some((hash, true)),
            None => self.dummy_hash.as_deref().map(|h| (h, false)),
        }
    }

    /// The headers added to every response.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }
}

/// The cost of a bcrypt hash (`$2a$`, `$2b$`, `$2x$` or `$2y$`), or why it is not one.
fn bcrypt_cost(hash: &str) -> Result<u32, String> {
    let parts: bcrypt::HashParts = hash.parse().map_err(|e| {
        format!(
            "not a bcrypt hash ({e}); make one with `htpasswd -nBC 10 USER` and keep the part after the colon"
        )
    })?;
    let cost = parts.get_cost();
    if !(4..=31).contains(&cost) {
        return Err(format!("bcrypt cost {cost} is outside 4..31"));
    }
    Ok(cost)
}

fn response_headers(
    headers: BTreeMap<String, Option<String>>,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = Vec::new();
    for (name, value) in headers {
        let Some((_, allowed)) = HEADERS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = HEADERS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "http_server_config.headers: HTTP header \"{name}\" can not be configured (allowed: {})",
                names.join(", ")
            ));
        };
        let value = value.unwrap_or_default();
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            let expected: Vec<String> = allowed.iter().map(|v| format!("\"{v}\"")).collect();
            return Err(format!(
                "http_server_config.headers: invalid value for {name}: expected one of {}, got \"{value}\"",
                expected.join(", ")
            ));
        }
        // exporter-toolkit documents a blank value as "unset".
        if value.is_empty() {
            continue;
        }
        let header_value = HeaderValue::from_str(&value).map_err(|_| {
            format!("http_server_config.headers: {name}: \"{value}\" is not a valid header value")
        })?;
        // Infallible: every name in HEADERS is a valid header name.
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("http_server_config.headers: \"{name}\" is not a header name"))?;
        out.push((header_name, header_value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(pairs: &[(&str, &str)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(u, h)| ((*u).to_owned(), Some((*h).to_owned())))
            .collect()
    }

    #[test]
    fn a_hash_that_is_not_bcrypt_is_refused_naming_the_user() {
        let err = HttpPolicy::new(users(&[("john", "doe")]), BTreeMap::new(), None).unwrap_err();
        assert!(
            err.starts_with("basic_auth_users.john: not a bcrypt hash"),
            "{err}"
        );
        // htpasswd writes `$2y$`; the bcrypt crate `$2b$`: both are the same algorithm.
        let dave = bcrypt::hash("dave123", 4).unwrap().replacen("$2b$", "$2y$", 1);
        let ok = HttpPolicy::new(users(&[("dave", &dave)]), BTreeMap::new(), None).unwrap();
        assert_eq!(ok.hash_for("dave"), Some((dave.as_str(), true)));
        assert_eq!(ok.hash_for("mallory"), Some((dave.as_str(), false)));
        assert!(!format!("{ok:?}").contains(&dave), "hashes stay out of Debug");
        let err = HttpPolicy::new(
            users(&[("low", &dave.replacen("$04$", "$03$", 1))]),
            BTreeMap::new(),
            None,
        )
        .unwrap_err();
        assert!(err.contains("basic_auth_users.low:"), "{err}");
    }

    #[test]
    fn unknown_users_are_checked_against_the_most_expensive_hash() {
        let cheap = bcrypt::hash("a", 4).unwrap();
        let dear = bcrypt::hash("b", 5).unwrap();
        let policy = HttpPolicy::new(users(&[("a", &cheap), ("b", &dear)]), BTreeMap::new(), None).unwrap();
        assert_eq!(policy.hash_for("nobody"), Some((dear.as_str(), false)));
    }

    #[test]
    fn only_exporter_toolkit_headers_and_values_are_accepted() {
        let headers = |name: &str, value: &str| BTreeMap::from([(name.to_owned(), Some(value.to_owned()))]);
        let err = HttpPolicy::new(BTreeMap::new(), headers("Content-Type", "x"), None).unwrap_err();
        assert!(
            err.contains("HTTP header \"Content-Type\" can not be configured"),
            "{err}"
        );
        let err = HttpPolicy::new(BTreeMap::new(), headers("x-frame-options", "deny"), None).unwrap_err();
        assert!(err.contains("\"x-frame-options\""), "names are exact-case: {err}");
        let err = HttpPolicy::new(BTreeMap::new(), headers("X-Frame-Options", "foo"), None).unwrap_err();
        assert!(err.contains("invalid value for X-Frame-Options"), "{err}");
        let ok = HttpPolicy::new(
            BTreeMap::new(),
            headers("Strict-Transport-Security", "max-age=1"),
            None,
        )
        .unwrap();
        assert_eq!(ok.headers().len(), 1);
        let blank = HttpPolicy::new(BTreeMap::new(), headers("X-XSS-Protection", ""), None).unwrap();
        assert!(blank.headers().is_empty());
    }
}
