//! Certificates made in the tests (rcgen), a web config directory to write them into, and HTTPS
//! clients that trust a given CA and present a given client certificate.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

/// A certificate authority.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, PEM.
#[derive(Clone)]
pub struct Pair {
    pub cert: String,
    pub key: String,
}

impl Pair {
    /// For reqwest's `identity` (a client certificate).
    pub fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.cert, self.key).as_bytes()).expect("identity")
    }
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn leaf(&self, sans: Vec<SanType>, usage: ExtendedKeyUsagePurpose) -> Pair {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![usage];
        params.distinguished_name.push(DnType::CommonName, "test leaf");
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf certificate");
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// A server certificate for `localhost` and `127.0.0.1`.
    pub fn server(&self) -> Pair {
        self.leaf(
            vec![
                SanType::DnsName("localhost".try_into().expect("DNS name")),
                SanType::IpAddress("127.0.0.1".parse().expect("IP")),
            ],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate with these DNS names.
    pub fn client(&self, dns: &[&str]) -> Pair {
        let sans = dns
            .iter()
            .map(|d| SanType::DnsName((*d).try_into().expect("DNS name")))
            .collect();
        self.leaf(sans, ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// A directory holding a web config file and the PEM files it names (relative paths).
pub struct WebDir {
    dir: tempfile::TempDir,
}

impl WebDir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Write `name` atomically (rename over the old one), as cert-manager and editors do.
    pub fn write(&self, name: &str, content: &str) {
        let tmp = self.path(&format!(".{name}.tmp"));
        std::fs::write(&tmp, content).expect("write");
        std::fs::rename(&tmp, self.path(name)).expect("rename");
    }

    /// Write `server.crt` and `server.key`.
    pub fn server_pair(&self, pair: &Pair) {
        self.write("server.crt", &pair.cert);
        self.write("server.key", &pair.key);
    }

    /// Write `web.yml`; returns the `--web.config.file` flag.
    pub fn config(&self, yaml: &str) -> String {
        self.write("web.yml", yaml);
        format!("--web.config.file={}", self.path("web.yml").display())
    }
}

/// TLS with `server.crt`/`server.key` next to the file.
pub const TLS: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

/// An HTTPS client trusting only `ca`, presenting `identity`, one connection per request.
pub fn client(ca: &Ca, identity: Option<&Pair>) -> reqwest::Client {
    builder(ca, identity).build().expect("client")
}

/// The builder of [`client`], for further settings.
pub fn builder(ca: &Ca, identity: Option<&Pair>) -> reqwest::ClientBuilder {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("CA PEM"))
        // Each request on a new connection: what is checked per connection is checked each time.
        .pool_max_idle_per_host(0)
        .timeout(std::time::Duration::from_secs(20));
    if let Some(identity) = identity {
        builder = builder.identity(identity.identity());
    }
    builder
}
