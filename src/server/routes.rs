//! The routes: `/metrics` (or `--web.telemetry-path`), `/-/healthy`, `/-/ready` and the
//! landing page. A scrape serves the bytes encoded when the snapshot was built, plus the small
//! self-metrics part encoded now; it never waits for Partner Center in interval mode.
//!
//! A gzip scrape sends the kept gzip members as they are. A plain-text scrape inflates them on a
//! blocking thread, one bounded chunk at a time, into a channel the response body reads from: a
//! scrape holds a few chunks however large the exposition, so concurrent plain scrapes cost
//! little memory, and inflating the next chunk overlaps sending the previous one.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt as _;

mod html;
mod renewals;

use html::html_escape;

use crate::collector::CollectorMode;
use crate::render::{RenderedData, gzip_member};
use crate::scheduler::Scheduler;
use crate::snapshot::Snapshot;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub scheduler: Arc<Scheduler>,
    pub telemetry_path: String,
    /// The upstream is the built-in simulator (`--demo`): say so on the landing page.
    pub simulated: bool,
    /// The URLs the server can be opened at, for the landing page.
    pub urls: Arc<[String]>,
}

/// Content type of the text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Scrape budget when Prometheus does not send `X-Prometheus-Scrape-Timeout-Seconds`.
const DEFAULT_SCRAPE_BUDGET: Duration = Duration::from_secs(10);
/// Kept back from the scrape timeout for encoding and the network.
const SCRAPE_MARGIN: Duration = Duration::from_millis(500);

/// The router with every endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(&state.telemetry_path.clone(), get(metrics))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route("/", get(landing))
        .with_state(state)
}

/// How long a scrape may wait for a run in scrape mode.
fn scrape_budget(headers: &HeaderMap) -> Duration {
    headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)).saturating_sub(SCRAPE_MARGIN))
        .unwrap_or(DEFAULT_SCRAPE_BUDGET)
}

/// Whether the client accepts gzip (`Accept-Encoding: gzip`, not with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|value| {
            value.split(',').any(|part| {
                let mut pieces = part.split(';').map(str::trim);
                let coding = pieces.next().unwrap_or_default();
                let rejected = pieces.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !rejected
            })
        })
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let scheduler = &state.scheduler;
    if scheduler.config().mode == CollectorMode::Scrape {
        scheduler.refresh_for_scrape(scrape_budget(&headers)).await;
    }
    let snapshot = scheduler.snapshot();
    let health = scheduler.metrics().encode();
    let gzip = accepts_gzip(&headers);
    let parts = served_parts(&snapshot, scheduler.config().max_age);
    let (length, body) = if gzip {
        let mut chunks: Vec<Bytes> = Vec::with_capacity(parts.len() + 1);
        chunks.push(gzip_member(&health));
        chunks.extend(parts.iter().map(|d| d.gzip.clone()));
        let length = chunks.iter().map(Bytes::len).sum::<usize>();
        let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, std::convert::Infallible>));
        (length, Body::from_stream(stream))
    } else {
        let length = health.len() + parts.iter().map(|d| d.text_len).sum::<usize>();
        (length, plain_body(Bytes::from(health), parts))
    };
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

/// What a scrape serves after the self-metrics: the info series, then every collector's data
/// that is not older than `max_age`.
fn served_parts(snapshot: &Snapshot, max_age: Duration) -> Vec<Arc<RenderedData>> {
    let now = Utc::now();
    std::iter::once(snapshot.names.clone())
        .chain(
            snapshot
                .collectors
                .iter()
                .filter(|c| c.current_data(now, max_age).is_some())
                .filter_map(|c| c.data.clone()),
        )
        .chain(snapshot.current_derived(now, max_age).map(|d| d.data.clone()))
        .collect()
}

/// The plain-text body: `head`, then the text of `parts`, inflated on a blocking thread one chunk
/// at a time into a channel of one. Inflating is CPU work, so it stays off the threads that
/// answer other requests; the channel bounds what a scrape holds, and a client that goes away
/// closes it, which stops the inflating.
fn plain_body(head: Bytes, parts: Vec<Arc<RenderedData>>) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    tokio::task::spawn_blocking(move || {
        for part in &parts {
            for chunk in part.text_chunks() {
                if tx.blocking_send(chunk).is_err() {
                    return;
                }
            }
        }
    });
    let rest = futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) },
    );
    let stream = futures::stream::once(async move { head })
        .chain(rest)
        .map(Ok::<_, std::convert::Infallible>);
    Body::from_stream(stream)
}

async fn healthy() -> &'static str {
    "OK\n"
}

/// 200 once any collector has data, from a run or from `--storage.path`.
async fn ready(State(state): State<AppState>) -> Response {
    if state.scheduler.snapshot().has_data() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no collection has produced data yet\n",
        )
            .into_response()
    }
}

/// The rows, dropped rows, series, text and gzip sizes of some data, as table cells.
fn size_cells(data: Option<&RenderedData>) -> String {
    match data {
        None => "<td>0</td><td>0</td><td>0</td><td>0</td><td>0</td>".to_owned(),
        Some(d) => format!(
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            d.rows,
            d.dropped,
            d.series,
            d.text_len,
            d.gzip.len()
        ),
    }
}

async fn landing(State(state): State<AppState>) -> Html<String> {
    let snapshot = state.scheduler.snapshot();
    let config = state.scheduler.config();
    let path = html_escape(&state.telemetry_path);
    let mode = match config.mode {
        CollectorMode::Interval => {
            format!("interval (every {})", humantime::format_duration(config.interval))
        }
        CollectorMode::Scrape => {
            format!(
                "scrape (at most every {})",
                humantime::format_duration(config.min_interval)
            )
        }
    };
    let mut rows = String::new();
    for c in &snapshot.collectors {
        let (state_text, class) = match &c.last_run {
            None if c.restored => ("restored from --storage.path, first run pending", "pending"),
            None => ("not run yet", "pending"),
            Some(run) if run.error.is_none() => ("ok", "ok"),
            Some(_) => ("failing", "failing"),
        };
        let last_success = c
            .last_success
            .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339());
        let error = c.last_run.as_ref().and_then(|r| r.error.as_deref()).unwrap_or("");
        let duration = c
            .last_run
            .as_ref()
            .map_or_else(String::new, |r| format!("{:.1} s", r.duration.as_secs_f64()));
        let customer_errors = c.last_run.as_ref().map_or(0, |r| r.customer_errors);
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"{class}\">{state_text}</td><td>{}</td>{}<td>{customer_errors}</td><td>{duration}</td><td>{}</td></tr>",
            html_escape(c.kind.name()),
            html_escape(&last_success),
            size_cells(c.data.as_deref()),
            html_escape(error),
        );
    }
    let names = &snapshot.names;
    let _ = write!(
        rows,
        "<tr><td>names (info series, once for every collector)</td><td></td><td></td><td></td><td></td><td>{}</td><td>{}</td><td>{}</td><td></td><td></td><td></td></tr>",
        names.series,
        names.text_len,
        names.gzip.len(),
    );
    let renewals = renewals::section(
        snapshot
            .current_derived(Utc::now(), config.max_age)
            .map(|d| &*d.renewals),
        Utc::now(),
    );
    let banner = if state.simulated {
        "<p class=\"demo\"><strong>Demo mode:</strong> the data below comes from the built-in <em>simulated</em> Partner Center, not from Microsoft. Nothing here describes a real partner or customer.</p>"
    } else {
        ""
    };
    Html(format!(
        "<!DOCTYPE html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Partner Center exporter</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}.ok{{color:#080}}.failing{{color:#b00}}.pending{{color:#888}}.demo{{background:#fff3cd;padding:.6em;border:1px solid #e0c060}}</style>
</head><body>
<h1>Partner Center exporter</h1>
{banner}
<p>Version {version}. Collection mode: {mode}. Data older than {max_age} is dropped.</p>
<p>Listening on {urls}.</p>
<p><a href=\"{path}\">Metrics</a> · <a href=\"/-/healthy\">/-/healthy</a> · <a href=\"/-/ready\">/-/ready</a></p>
<h2>Collectors</h2>
<table><tr><th>collector</th><th>state</th><th>last success</th><th>rows</th><th>rows dropped by filters</th><th>series</th><th>exposition bytes</th><th>gzip bytes</th><th>customer errors</th><th>last duration</th><th>last error</th></tr>
{rows}</table>
<p>Series and bytes are those of the last good data as served; the filters are <code>--collector.customers.include</code>/<code>exclude</code> and <code>--collector.products.include</code>/<code>exclude</code>.</p>
{renewals}</body></html>
",
        version = crate::metrics::build::LONG_VERSION,
        mode = html_escape(&mode),
        urls = html_escape(&state.urls.join(", ")),
        max_age = humantime::format_duration(config.max_age),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(accepts_gzip(&headers(&[("accept-encoding", "gzip")])));
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "deflate, gzip;q=0.5"
        )])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "identity")])));
        assert!(!accepts_gzip(&headers(&[])));
    }

    #[test]
    fn scrape_budget_follows_the_prometheus_timeout_header() {
        assert_eq!(
            scrape_budget(&headers(&[("x-prometheus-scrape-timeout-seconds", "10")])),
            Duration::from_millis(9500)
        );
        assert_eq!(
            scrape_budget(&headers(&[("x-prometheus-scrape-timeout-seconds", "nonsense")])),
            DEFAULT_SCRAPE_BUDGET
        );
        assert_eq!(
            scrape_budget(&headers(&[("x-prometheus-scrape-timeout-seconds", "0.2")])),
            Duration::ZERO
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
