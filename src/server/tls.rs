//! The `tls_server_config` of a web config file as rustls sees it: the settings, the bytes of the
//! PEM files they name (compared to notice a rotation), and the `ServerConfig` built from both.
//! rustls with the ring provider only; TLS 1.2 and 1.3.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::ring::{cipher_suite as suites, kx_group};
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};

use super::verify::{AnyClientCert, SanCheck, dns_names};

/// A PEM given as a file (`cert_file`) or inline in the YAML (`cert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pem {
    File(PathBuf),
    Inline(String),
}

/// A PEM and the YAML key it came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemSource {
    /// `cert_file`, `cert`, `key_file`, `key`, `client_ca_file` or `client_ca`.
    pub key: &'static str,
    pub pem: Pem,
}

impl PemSource {
    /// `tls_server_config.cert_file /etc/x/server.crt` or `tls_server_config.cert`.
    fn describe(&self) -> String {
        match &self.pem {
            Pem::File(path) => format!("tls_server_config.{} {}", self.key, path.display()),
            Pem::Inline(_) => format!("tls_server_config.{}", self.key),
        }
    }

    fn read(&self) -> Result<Vec<u8>, String> {
        match &self.pem {
            Pem::File(path) => {
                std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", self.describe()))
            }
            Pem::Inline(text) => Ok(text.as_bytes().to_vec()),
        }
    }
}

/// exporter-toolkit's `client_auth_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    /// Go's names; `RequireClientCert` is its older alias of `RequireAnyClientCert`.
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "" | "NoClientCert" => Self::NoClientCert,
            "RequestClientCert" => Self::RequestClientCert,
            "RequireAnyClientCert" | "RequireClientCert" => Self::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => Self::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => Self::RequireAndVerifyClientCert,
            other => {
                return Err(format!(
                    "invalid value \"{other}\" (expected NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
                ));
            }
        })
    }

    /// Whether the client's certificate is checked against `client_ca_file`.
    pub fn verifies(self) -> bool {
        matches!(
            self,
            Self::VerifyClientCertIfGiven | Self::RequireAndVerifyClientCert
        )
    }
}

/// A TLS version of `min_version`/`max_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

impl TlsVersion {
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "TLS12" => Ok(Self::Tls12),
            "TLS13" => Ok(Self::Tls13),
            "TLS10" | "TLS11" => Err(format!("{name} is not supported (TLS 1.2 and 1.3 only)")),
            other => Err(format!(
                "unknown TLS version \"{other}\" (expected TLS12 or TLS13)"
            )),
        }
    }
}

/// A `cipher_suites` entry: a TLS 1.2 suite, or `None` for a TLS 1.3 name, which Go accepts and
/// ignores (TLS 1.3 suites are not configurable there either).
pub fn cipher_suite(name: &str) -> Result<Option<SupportedCipherSuite>, String> {
    Ok(Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => suites::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => suites::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => suites::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => suites::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
            suites::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => {
            suites::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            return Ok(None);
        }
        other => {
            return Err(format!(
                "{other} is not supported (supported: the ECDHE_ECDSA and ECDHE_RSA suites with AES_128_GCM_SHA256, AES_256_GCM_SHA384 or CHACHA20_POLY1305_SHA256)"
            ));
        }
    }))
}

/// A `curve_preferences` entry.
pub fn curve(name: &str) -> Result<&'static dyn SupportedKxGroup, String> {
    match name {
        "X25519" => Ok(kx_group::X25519),
        "CurveP256" => Ok(kx_group::SECP256R1),
        "CurveP384" => Ok(kx_group::SECP384R1),
        other => Err(format!(
            "{other} is not supported (supported: X25519, CurveP256, CurveP384)"
        )),
    }
}

/// A validated `tls_server_config`.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub cert: PemSource,
    pub key: PemSource,
    pub client_ca: Option<PemSource>,
    pub client_auth: ClientAuth,
    pub allowed_sans: Option<Vec<String>>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// TLS 1.2 suites in the configured order; `None` = rustls' defaults.
    pub cipher_suites: Option<Vec<SupportedCipherSuite>>,
    pub curves: Option<Vec<&'static dyn SupportedKxGroup>>,
    /// Go's `prefer_server_cipher_suites` (default true).
    pub prefer_server_order: bool,
}

/// The bytes of every PEM the settings name, read once per check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl Material {
    /// Read the files (never kept open: a Kubernetes Secret volume swaps them by symlink).
    pub fn read(settings: &TlsSettings) -> Result<Self, String> {
        Ok(Self {
            cert: settings.cert.read()?,
            key: settings.key.read()?,
            client_ca: settings.client_ca.as_ref().map(PemSource::read).transpose()?,
        })
    }
}

/// A server configuration and the DNS names of its certificate.
#[derive(Debug)]
pub struct BuiltTls {
    pub config: Arc<ServerConfig>,
    pub dns_names: Vec<String>,
    /// Something the operator should know about this configuration, logged when it takes effect.
    pub warning: Option<String>,
}

fn certificates(source: &PemSource, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: invalid PEM: {e}", source.describe()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM CERTIFICATE block found", source.describe()));
    }
    Ok(certs)
}

/// Build the rustls configuration: checks that the key matches the certificate, and that every
/// file parses.
pub fn build(settings: &TlsSettings, material: &Material) -> Result<BuiltTls, String> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(tls12) = &settings.cipher_suites {
        let tls13 = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied();
        provider.cipher_suites = tls13.chain(tls12.iter().copied()).collect();
    }
    if let Some(curves) = &settings.curves {
        provider.kx_groups = curves.clone();
    }
    let provider = Arc::new(provider);

    let chain = certificates(&settings.cert, &material.cert)?;
    let key = PrivateKeyDer::from_pem_slice(&material.key).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => format!(
            "{}: no unencrypted PEM private key found (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)",
            settings.key.describe()
        ),
        e => format!("{}: invalid PEM: {e}", settings.key.describe()),
    })?;
    let dns = dns_names(&chain[0]);
    let certified = CertifiedKey::from_der(chain, key, &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => format!(
            "{} does not match the certificate in {}",
            settings.key.describe(),
            settings.cert.describe()
        ),
        rustls::Error::General(_) => format!(
            "{}: unsupported private key (RSA of at least 2048 bits, ECDSA P-256/P-384 or Ed25519 needed)",
            settings.key.describe()
        ),
        e => format!("{}: {e}", settings.key.describe()),
    })?;

    let verifier = client_verifier(settings, material, &provider)?;
    let versions: &[&'static SupportedProtocolVersion] = match (settings.min_version, settings.max_version) {
        (TlsVersion::Tls13, _) => &[&rustls::version::TLS13],
        (TlsVersion::Tls12, TlsVersion::Tls12) => &[&rustls::version::TLS12],
        (TlsVersion::Tls12, TlsVersion::Tls13) => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| format!("tls_server_config: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.ignore_client_order = settings.prefer_server_order;
    let warning = (settings.client_auth.verifies() && settings.client_ca.is_none()).then(|| {
        format!(
            "client_auth_type {:?} without client_ca_file: client certificates are verified against the public CAs (Mozilla's roots), so any publicly issued client certificate passes; set client_ca_file to allow only your own",
            settings.client_auth
        )
    });
    Ok(BuiltTls {
        config: Arc::new(config),
        dns_names: dns,
        warning,
    })
}

fn client_verifier(
    settings: &TlsSettings,
    material: &Material,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let mut roots = RootCertStore::empty();
    if let (Some(source), Some(bytes)) = (&settings.client_ca, &material.client_ca) {
        for cert in certificates(source, bytes)? {
            roots
                .add(cert)
                .map_err(|e| format!("{}: not a CA certificate: {e}", source.describe()))?;
        }
    } else if settings.client_auth.verifies() {
        // As Go, which verifies against the system's roots when no CA is configured; the warning
        // is `BuiltTls::warning`.
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    let verifier: Arc<dyn ClientCertVerifier> = match settings.client_auth {
        ClientAuth::NoClientCert => WebPkiClientVerifier::no_client_auth(),
        mode @ (ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert) => {
            Arc::new(AnyClientCert {
                mandatory: mode == ClientAuth::RequireAnyClientCert,
                hints: roots.subjects(),
                algorithms: provider.signature_verification_algorithms,
            })
        }
        mode => {
            let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let builder = if mode == ClientAuth::VerifyClientCertIfGiven {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder
                .build()
                .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?
        }
    };
    Ok(match &settings.allowed_sans {
        Some(allowed) => Arc::new(SanCheck {
            inner: verifier,
            allowed: allowed.clone(),
        }),
        None => verifier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_names_map_to_rustls() {
        assert_eq!(
            ClientAuth::parse("RequireClientCert"),
            Ok(ClientAuth::RequireAnyClientCert)
        );
        assert!(
            ClientAuth::parse("requireandverifyclientcert")
                .unwrap_err()
                .contains("invalid value")
        );
        assert_eq!(TlsVersion::parse("TLS13"), Ok(TlsVersion::Tls13));
        assert!(TlsVersion::parse("TLS10").unwrap_err().contains("not supported"));
        assert!(
            TlsVersion::parse("TLS111")
                .unwrap_err()
                .contains("unknown TLS version")
        );
        assert!(cipher_suite("TLS_AES_128_GCM_SHA256").unwrap().is_none());
        assert!(
            cipher_suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
                .unwrap()
                .is_some()
        );
        assert!(cipher_suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA").is_err());
        assert!(
            curve("CurveP521")
                .unwrap_err()
                .contains("CurveP521 is not supported")
        );
    }
}
