//! Where the server listens: the forms of `--web.listen-address`, binding them (`:9847` on IPv6
//! and IPv4 both, as Go exporters do), and the URLs a person can open for each listener.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

/// One `--web.listen-address`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenAddress {
    /// `:port`: every interface, IPv6 and IPv4 on one socket; IPv4 alone where the host has no
    /// IPv6.
    AllInterfaces(u16),
    /// A literal address, bound as given. `[::]:port` is dual-stack too (without the fallback);
    /// `0.0.0.0:port` is IPv4 only.
    Socket(SocketAddr),
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AllInterfaces(port) => write!(f, ":{port}"),
            Self::Socket(addr) => write!(f, "{addr}"),
        }
    }
}

impl ListenAddress {
    /// Parse `:9847`, `0.0.0.0:9847`, `[::]:9847`, `[::1]:9847` or `localhost:9847`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not an address like :9847, 127.0.0.1:9847 or [::1]:9847");
        if let Some(port) = s.strip_prefix(':') {
            return port.parse().map(Self::AllInterfaces).map_err(|_| bad());
        }
        if let Some(port) = s.strip_prefix("localhost:") {
            let port = port.parse().map_err(|_| bad())?;
            return Ok(Self::Socket(SocketAddr::from((Ipv4Addr::LOCALHOST, port))));
        }
        s.parse().map(Self::Socket).map_err(|_| bad())
    }
}

/// Bind one listen address. Port 0 picks a free port.
pub fn bind(address: ListenAddress) -> io::Result<TcpListener> {
    let listener = match address {
        ListenAddress::AllInterfaces(port) => match socket(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port))) {
            Err(e) if no_ipv6(&e) => {
                tracing::info!(port, error = %e, "no IPv6 on this host; listening on IPv4 only");
                socket(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))?
            }
            other => other?,
        },
        ListenAddress::Socket(addr) => socket(addr)?,
    };
    TcpListener::from_std(listener.into())
}

/// A listening socket, dual-stack when `addr` is `[::]`.
fn socket(addr: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED) {
        // Linux defaults to dual-stack, BSDs and sysctl net.ipv6.bindv6only=1 to IPv6 only.
        socket.set_only_v6(false)?;
    }
    // As tokio's TcpListener::bind and Go: a restart does not wait for TIME_WAIT to pass.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket)
}

/// Whether a failure to open an IPv6 socket means that the host has no IPv6 (rather than, say,
/// the port being in use, which IPv4 would not cure).
fn no_ipv6(e: &io::Error) -> bool {
    // EAFNOSUPPORT (ipv6.disable=1), EPROTONOSUPPORT, EADDRNOTAVAIL; ENOPROTOOPT where
    // IPV6_V6ONLY cannot be cleared. Linux numbers: only Linux is supported.
    matches!(e.raw_os_error(), Some(97 | 93 | 99 | 92))
}

/// The URLs a person can open for a listener bound at `bound`: for a wildcard address the
/// `extra_hosts` (the certificate's names, then the host name) and `localhost`; otherwise the
/// address itself.
pub fn urls(bound: SocketAddr, tls: bool, extra_hosts: &[String]) -> Vec<String> {
    let scheme = if tls { "https" } else { "http" };
    let port = bound.port();
    if !bound.ip().is_unspecified() {
        return vec![format!("{scheme}://{bound}/")];
    }
    let mut hosts: Vec<&str> = Vec::new();
    for host in extra_hosts.iter().map(String::as_str).chain(["localhost"]) {
        if !host.is_empty() && !host.starts_with('*') && !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    hosts
        .into_iter()
        .map(|host| format!("{scheme}://{host}:{port}/"))
        .collect()
}

/// This machine's host name, if it has a useful one.
pub fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())?;
    let name = name.trim();
    (!name.is_empty()
        && name != "localhost"
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.')))
    .then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_only_form_means_every_interface() {
        assert_eq!(
            ListenAddress::parse(":9847"),
            Ok(ListenAddress::AllInterfaces(9847))
        );
        assert_eq!(
            ListenAddress::parse("localhost:1"),
            Ok(ListenAddress::Socket("127.0.0.1:1".parse().unwrap()))
        );
        assert_eq!(
            ListenAddress::parse("[::1]:9848"),
            Ok(ListenAddress::Socket("[::1]:9848".parse().unwrap()))
        );
        for bad in ["", "nonsense", ":", ":99999", "0.0.0.0", "host.example:80"] {
            let err = ListenAddress::parse(bad).unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }

    #[test]
    fn only_a_missing_ipv6_falls_back_to_ipv4() {
        assert!(no_ipv6(&io::Error::from_raw_os_error(97)));
        assert!(
            !no_ipv6(&io::Error::from_raw_os_error(98)),
            "EADDRINUSE is not cured by IPv4"
        );
        assert!(!no_ipv6(&io::Error::from(io::ErrorKind::PermissionDenied)));
    }

    #[test]
    fn urls_name_hosts_a_person_can_open() {
        let any: SocketAddr = "[::]:9847".parse().unwrap();
        assert_eq!(
            urls(
                any,
                true,
                &["exporter.example".into(), "*.example".into(), "localhost".into()]
            ),
            ["https://exporter.example:9847/", "https://localhost:9847/"]
        );
        assert_eq!(
            urls("0.0.0.0:1".parse().unwrap(), false, &[]),
            ["http://localhost:1/"]
        );
        assert_eq!(urls("[::1]:2".parse().unwrap(), false, &[]), ["http://[::1]:2/"]);
    }

    #[tokio::test]
    async fn all_interfaces_accepts_ipv4_and_ipv6_clients() {
        let listener = bind(ListenAddress::AllInterfaces(0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("IPv4 client");
        if listener.local_addr().unwrap().is_ipv6() && std::net::TcpListener::bind("[::1]:0").is_ok() {
            tokio::net::TcpStream::connect(("::1", port))
                .await
                .expect("IPv6 client");
        }
    }
}
