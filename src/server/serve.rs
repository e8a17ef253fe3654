//! The accept loop: HTTP/1.1 over plain TCP or TLS on every listener, with the limits that keep
//! one client from holding the server (a deadline for the TLS handshake and for each request's
//! headers, which is also the keep-alive idle limit; a write-stall limit; a cap on connections),
//! and a shutdown that lets in-flight responses finish for at most a grace period, then closes
//! whatever is left.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::reload::WebFile;
use super::stall::WriteStall;

/// How much any one client may take. The defaults are documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// For the TLS handshake, and again for each request's headers; also how long an idle
    /// keep-alive connection stays open.
    pub header_timeout: Duration,
    /// How long writing a response may make no progress (a client that stopped reading).
    pub write_timeout: Duration,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long a shutdown waits for in-flight responses before closing them.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The largest request head, in bytes (Prometheus sends well under 1 KiB).
const MAX_HEAD: usize = 64 * 1024;

/// What every connection needs.
struct Context {
    router: Router,
    /// Set when the listeners speak TLS: the certificate in force is asked for per connection.
    tls: Option<Arc<WebFile>>,
    limits: Limits,
}

/// Serve `router` on `listeners` until `shutdown` is cancelled, then drain (at most
/// `limits.shutdown_grace`) and return.
pub async fn serve(
    listeners: Vec<TcpListener>,
    router: Router,
    tls: Option<Arc<WebFile>>,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let context = Arc::new(Context { router, tls, limits });
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let tracker = TaskTracker::new();
    let hard_stop = CancellationToken::new();
    let mut accepting = Vec::new();
    for listener in listeners {
        accepting.push(tokio::spawn(accept_loop(
            listener,
            context.clone(),
            permits.clone(),
            tracker.clone(),
            shutdown.clone(),
            hard_stop.clone(),
        )));
    }
    let mut drains = Vec::new();
    for task in accepting {
        if let Ok(graceful) = task.await {
            drains.push(graceful.shutdown());
        }
    }
    if tokio::time::timeout(limits.shutdown_grace, futures::future::join_all(drains))
        .await
        .is_err()
    {
        tracing::warn!(
            open = tracker.len(),
            grace = %humantime::format_duration(limits.shutdown_grace),
            "shutdown grace period over; closing the remaining connections"
        );
    }
    hard_stop.cancel();
    tracker.close();
    tracker.wait().await;
}

/// Accept until `shutdown`; returns the handle that drains this listener's connections.
async fn accept_loop(
    listener: TcpListener,
    context: Arc<Context>,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    hard_stop: CancellationToken,
) -> GracefulShutdown {
    let graceful = GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // closed: never happens, the semaphore is not closed
            },
            () = shutdown.cancelled() => break,
        };
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
                ) => continue,
                Err(e) => {
                    // EMFILE and the like: wait for connections to close rather than spin.
                    tracing::error!(error = %e, "cannot accept connections; retrying in 1 s");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        () = shutdown.cancelled() => break,
                    }
                }
            },
            () = shutdown.cancelled() => break,
        };
        // Scrape latency: the response's last segment is not held back.
        let _ = tcp.set_nodelay(true);
        // Subscribed now, so that a shutdown also waits for handshakes in progress.
        let watcher = graceful.watcher();
        let (context, hard_stop) = (context.clone(), hard_stop.clone());
        tracker.spawn(async move {
            let _permit = permit;
            tokio::select! {
                () = connection(tcp, &context, watcher) => {}
                // Dropping the connection closes the socket.
                () = hard_stop.cancelled() => {}
            }
        });
    }
    graceful
}

/// Serve one connection to its end.
async fn connection(mut tcp: TcpStream, context: &Context, watcher: Watcher) {
    let limits = context.limits;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_HEAD);
    let service = TowerToHyperService::new(context.router.clone());
    let Some(file) = &context.tls else {
        let io = WriteStall::new(tcp, limits.write_timeout);
        if let Err(e) = watcher
            .watch(http.serve_connection(TokioIo::new(io), service))
            .await
        {
            tracing::debug!(error = %e, "connection ended with an error");
        }
        return;
    };
    match tokio::time::timeout(limits.header_timeout, refuse_plain_http(&mut tcp)).await {
        Ok(Ok(false)) => {}
        Ok(Ok(true)) | Ok(Err(_)) | Err(_) => return,
    }
    let Some(config) = file.current().tls.as_ref().map(|t| t.config.clone()) else {
        return;
    };
    let io = WriteStall::new(tcp, limits.write_timeout);
    let stream = match tokio::time::timeout(
        limits.header_timeout,
        tokio_rustls::TlsAcceptor::from(config).accept(io),
    )
    .await
    {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            return;
        }
    };
    if let Err(e) = watcher
        .watch(http.serve_connection(TokioIo::new(stream), service))
        .await
    {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// On a TLS port: false when the first byte is a TLS handshake record; otherwise true, after
/// telling a plain-HTTP client what is wrong (as Go's servers do). The caller bounds the time.
async fn refuse_plain_http(tcp: &mut TcpStream) -> io::Result<bool> {
    let mut first = [0u8; 1];
    if tcp.peek(&mut first).await? == 0 {
        return Ok(true);
    }
    // 0x16: a TLS handshake record; anything else is not TLS.
    if first[0] == 0x16 {
        return Ok(false);
    }
    if first[0].is_ascii_uppercase() {
        // Drain what has arrived, so that closing does not reset the connection before the
        // client reads the answer.
        let mut sink = [0u8; 4096];
        let _ = tcp.try_read(&mut sink);
        let reply = b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
        let _ = tcp.write_all(reply).await;
        let _ = tcp.shutdown().await;
    }
    Ok(true)
}
