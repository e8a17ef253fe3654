//! The web configuration file (`--web.config.file`) in exporter-toolkit's format: every key it
//! has, parsed strictly (an unknown or duplicate key is an error naming it), and validated into
//! [`TlsSettings`] and an [`HttpPolicy`]. Where exporter-toolkit silently does something insecure
//! or ineffective, this is an error instead (see each check).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::policy::{HttpPolicy, RateLimit};
use super::tls::{ClientAuth, Pem, PemSource, TlsSettings, TlsVersion, cipher_suite, curve};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    http_server_config: Option<RawHttp>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    rate_limit: Option<RawRateLimit>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<String>,
    cert: Option<String>,
    key_file: Option<String>,
    key: Option<String>,
    client_ca_file: Option<String>,
    client_ca: Option<String>,
    client_auth_type: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    interval: Option<GoDuration>,
    burst: Option<u32>,
}

/// A Go `time.Duration` in YAML: a string such as `1s` or `1m30s`, or an integer of nanoseconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum GoDuration {
    Nanos(u64),
    Text(String),
}

impl GoDuration {
    fn get(&self) -> Result<Duration, String> {
        match self {
            Self::Nanos(n) => Ok(Duration::from_nanos(*n)),
            Self::Text(t) if t.trim() == "0" => Ok(Duration::ZERO),
            Self::Text(t) => humantime::parse_duration(t.trim())
                .map_err(|e| format!("rate_limit.interval: \"{t}\" is not a duration like 1s ({e})")),
        }
    }
}

/// A validated web config file.
#[derive(Debug, Clone)]
pub struct WebFileSettings {
    /// `None`: plain HTTP.
    pub tls: Option<TlsSettings>,
    pub policy: HttpPolicy,
}

/// Parse and validate the YAML `bytes` of the file in `dir`. The error says which key is wrong
/// and how; the caller prefixes the file's path.
pub fn parse(bytes: &[u8], dir: &Path) -> Result<WebFileSettings, String> {
    let options = serde_saphyr::options! { with_snippet: false };
    let raw: RawFile = if bytes.iter().all(u8::is_ascii_whitespace) {
        // An empty file is valid (no TLS, no auth), as in exporter-toolkit.
        RawFile::default()
    } else {
        serde_saphyr::from_slice_with_options(bytes, options).map_err(|e| {
            let text = e.to_string();
            let text = text
                .replace(", set DuplicateKeyPolicy in Options if acceptable", "")
                .replace('\n', " ");
            format!("invalid YAML: {text}")
        })?
    };
    let http = raw.http_server_config.unwrap_or_default();
    if http.http2 == Some(true) {
        return Err(
            "http_server_config.http2: true is not supported (this exporter serves HTTP/1.1 only); remove it or set it to false"
                .into(),
        );
    }
    let rate_limit = match raw.rate_limit {
        None => None,
        Some(r) => {
            let interval = r
                .interval
                .as_ref()
                .map(GoDuration::get)
                .transpose()?
                .unwrap_or_default();
            match (interval.is_zero(), r.burst.unwrap_or(0)) {
                (true, _) => None,
                // exporter-toolkit would refuse every request.
                (false, 0) => {
                    return Err("rate_limit.burst must be at least 1 when rate_limit.interval is set".into());
                }
                (false, burst) => Some(RateLimit { interval, burst }),
            }
        }
    };
    let policy = HttpPolicy::new(
        raw.basic_auth_users.unwrap_or_default(),
        http.headers.unwrap_or_default(),
        rate_limit,
    )?;
    let tls = raw
        .tls_server_config
        .map(|t| tls_settings(t, dir))
        .transpose()?
        .flatten();
    Ok(WebFileSettings { tls, policy })
}

/// An empty string counts as unset, as in exporter-toolkit.
fn set(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// `file_key` (a path, relative to the config file's directory) or `inline_key`; never both.
fn pem(
    dir: &Path,
    file_key: &'static str,
    file: Option<String>,
    inline_key: &'static str,
    inline: Option<String>,
) -> Result<Option<PemSource>, String> {
    match (set(file), set(inline)) {
        (Some(_), Some(_)) => Err(format!(
            "tls_server_config: set only one of {file_key} and {inline_key}"
        )),
        // Joined, never canonicalized: a Kubernetes volume swaps its files by symlink.
        (Some(path), None) => Ok(Some(PemSource {
            key: file_key,
            pem: Pem::File(dir.join(path)),
        })),
        (None, Some(text)) => Ok(Some(PemSource {
            key: inline_key,
            pem: Pem::Inline(text),
        })),
        (None, None) => Ok(None),
    }
}

fn tls_settings(raw: RawTls, dir: &Path) -> Result<Option<TlsSettings>, String> {
    let cert = pem(dir, "cert_file", raw.cert_file, "cert", raw.cert)?;
    let key = pem(dir, "key_file", raw.key_file, "key", raw.key)?;
    let client_ca = pem(
        dir,
        "client_ca_file",
        raw.client_ca_file,
        "client_ca",
        raw.client_ca,
    )?;
    let auth_type = set(raw.client_auth_type);
    let enabled = cert.is_some() || key.is_some() || client_ca.is_some() || auth_type.is_some();
    if !enabled {
        // exporter-toolkit would serve plain HTTP and only log "TLS is disabled".
        let keys = [
            ("min_version", raw.min_version.is_some()),
            ("max_version", raw.max_version.is_some()),
            ("cipher_suites", raw.cipher_suites.is_some()),
            ("curve_preferences", raw.curve_preferences.is_some()),
            (
                "prefer_server_cipher_suites",
                raw.prefer_server_cipher_suites.is_some(),
            ),
            ("client_allowed_sans", raw.client_allowed_sans.is_some()),
        ];
        return match keys.iter().find(|(_, present)| *present) {
            Some((name, _)) => Err(format!(
                "tls_server_config: {name} is set but there is no cert_file or cert (TLS would be off)"
            )),
            None => Ok(None),
        };
    }
    let cert = cert.ok_or("tls_server_config: missing one of cert or cert_file")?;
    let key = key.ok_or("tls_server_config: missing one of key or key_file")?;
    let client_auth = ClientAuth::parse(auth_type.as_deref().unwrap_or_default())
        .map_err(|e| format!("tls_server_config.client_auth_type: {e}"))?;
    if client_ca.is_some() && client_auth == ClientAuth::NoClientCert {
        return Err("tls_server_config: client_ca_file is set but client_auth_type is NoClientCert".into());
    }
    let allowed_sans = match raw.client_allowed_sans {
        None => None,
        Some(sans) if sans.is_empty() => {
            return Err("tls_server_config.client_allowed_sans is empty: no client could connect".into());
        }
        Some(_) if client_auth == ClientAuth::NoClientCert => {
            return Err(
                "tls_server_config.client_allowed_sans needs a client_auth_type other than NoClientCert"
                    .into(),
            );
        }
        Some(sans) => Some(sans),
    };
    let version = |key: &str, value: Option<String>, default| match set(value) {
        None => Ok(default),
        Some(v) => TlsVersion::parse(&v).map_err(|e| format!("tls_server_config.{key}: {e}")),
    };
    let min_version = version("min_version", raw.min_version, TlsVersion::Tls12)?;
    let max_version = version("max_version", raw.max_version, TlsVersion::Tls13)?;
    if min_version > max_version {
        return Err("tls_server_config: min_version TLS13 is above max_version TLS12".into());
    }
    let cipher_suites = match raw.cipher_suites.filter(|c| !c.is_empty()) {
        None => None,
        Some(names) => {
            let mut suites = Vec::new();
            for name in &names {
                if let Some(suite) =
                    cipher_suite(name).map_err(|e| format!("tls_server_config.cipher_suites: {e}"))?
                {
                    suites.push(suite);
                }
            }
            if suites.is_empty() && min_version == TlsVersion::Tls12 && max_version == TlsVersion::Tls12 {
                return Err("tls_server_config.cipher_suites: no TLS 1.2 suite for max_version TLS12".into());
            }
            Some(suites)
        }
    };
    let curves = match raw.curve_preferences.filter(|c| !c.is_empty()) {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| curve(n).map_err(|e| format!("tls_server_config.curve_preferences: {e}")))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(Some(TlsSettings {
        cert,
        key,
        client_ca,
        client_auth,
        allowed_sans,
        min_version,
        max_version,
        cipher_suites,
        curves,
        prefer_server_order: raw.prefer_server_cipher_suites.unwrap_or(true),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(yaml: &str) -> String {
        parse(yaml.as_bytes(), Path::new("/etc/pce")).unwrap_err()
    }

    #[test]
    fn an_empty_file_means_plain_http_without_auth() {
        let settings = parse(b"# nothing\n", Path::new("/")).unwrap();
        assert!(settings.tls.is_none());
        assert!(!settings.policy.requires_auth());
        assert!(parse(b"", Path::new("/")).unwrap().tls.is_none());
        assert!(
            parse(b"tls_server_config:\n", Path::new("/"))
                .unwrap()
                .tls
                .is_none()
        );
    }

    #[test]
    fn unknown_and_duplicate_keys_are_errors_naming_the_key() {
        let e = err("tls_server_config:\n  cert_filse: a\n");
        assert!(e.contains("cert_filse") && e.contains("line 2"), "{e}");
        let e = err("basic_auth_users:\n  a: x\n  a: y\n");
        assert!(
            e.contains("duplicate") && !e.contains("DuplicateKeyPolicy"),
            "{e}"
        );
        assert!(!err("a: [").contains('\n'));
        let e = err("- just\n- a list\n");
        assert!(e.starts_with("invalid YAML"), "{e}");
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let s = parse(
            b"tls_server_config:\n  cert_file: tls/server.crt\n  key_file: /abs/server.key\n",
            Path::new("/etc/pce"),
        )
        .unwrap()
        .tls
        .unwrap();
        assert_eq!(s.cert.pem, Pem::File("/etc/pce/tls/server.crt".into()));
        assert_eq!(s.key.pem, Pem::File("/abs/server.key".into()));
        assert_eq!(s.min_version, TlsVersion::Tls12);
        assert_eq!(s.client_auth, ClientAuth::NoClientCert);
    }

    #[test]
    fn incomplete_or_ineffective_tls_sections_are_errors() {
        let tls = |body: &str| err(&format!("tls_server_config:\n{body}"));
        assert!(tls("  key_file: k\n").contains("missing one of cert or cert_file"));
        assert!(tls("  cert_file: c\n").contains("missing one of key or key_file"));
        assert!(tls("  cert_file: c\n  cert: x\n  key_file: k\n").contains("only one of cert_file and cert"));
        assert!(tls("  min_version: TLS13\n").contains("min_version is set but there is no cert_file"));
        let base = "  cert_file: c\n  key_file: k\n";
        assert!(tls(&format!("{base}  client_ca_file: ca\n")).contains("client_auth_type is NoClientCert"));
        assert!(
            tls(&format!("{base}  client_auth_type: Sometimes\n"))
                .contains("client_auth_type: invalid value \"Sometimes\"")
        );
        assert!(tls(&format!("{base}  client_allowed_sans: [a]\n")).contains("needs a client_auth_type"));
        assert!(
            tls(&format!(
                "{base}  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: []\n"
            ))
            .contains("is empty")
        );
        assert!(
            tls(&format!("{base}  min_version: TLS10\n")).contains("min_version: TLS10 is not supported")
        );
        assert!(
            tls(&format!("{base}  min_version: TLS13\n  max_version: TLS12\n")).contains("above max_version")
        );
        assert!(
            tls(&format!("{base}  curve_preferences: [CurveP521]\n"))
                .contains("curve_preferences: CurveP521")
        );
    }

    #[test]
    fn verifying_client_certificates_without_a_ca_uses_the_public_roots_as_go_does() {
        let s = parse(
            b"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: VerifyClientCertIfGiven\n",
            Path::new("/"),
        )
        .unwrap()
        .tls
        .unwrap();
        assert_eq!(s.client_auth, ClientAuth::VerifyClientCertIfGiven);
        assert!(s.client_ca.is_none());
    }

    #[test]
    fn http2_and_rate_limit_follow_their_rules() {
        assert!(err("http_server_config:\n  http2: true\n").contains("http2: true is not supported"));
        assert!(parse(b"http_server_config:\n  http2: false\n", Path::new("/")).is_ok());
        let s = parse(b"rate_limit:\n  interval: 1s\n  burst: 20\n", Path::new("/")).unwrap();
        assert_eq!(
            s.policy.rate_limit(),
            Some(RateLimit {
                interval: Duration::from_secs(1),
                burst: 20
            })
        );
        let s = parse(
            b"rate_limit:\n  interval: 500000000\n  burst: 2\n",
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(
            s.policy.rate_limit().unwrap().interval,
            Duration::from_millis(500)
        );
        assert!(
            parse(b"rate_limit:\n  interval: 0\n", Path::new("/"))
                .unwrap()
                .policy
                .rate_limit()
                .is_none()
        );
        assert!(err("rate_limit:\n  interval: 1s\n").contains("burst must be at least 1"));
        assert!(err("rate_limit:\n  interval: often\n  burst: 1\n").contains("rate_limit.interval"));
    }

    #[test]
    fn yaml_scalars_are_read_as_go_reads_them() {
        let s = parse(
            b"http_server_config:\n  headers:\n    X-XSS-Protection: 1\n",
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(s.policy.headers()[0].1, "1");
    }
}
