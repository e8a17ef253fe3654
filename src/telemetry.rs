//! Logging: tracing events to standard error as logfmt (the default) or JSON, with promslog's
//! field names (`time`, `level`, `source`, `msg`, then the event's fields), filtered by
//! `--log.level`.
//!
//! A log line must never stop the exporter: lines go through a bounded queue to a writer thread
//! (`tracing_appender::non_blocking`, lossy). When standard error is a broken pipe the writer's
//! errors are swallowed; when it blocks (a FIFO nobody reads) the queue fills and further lines
//! are dropped. Either way the caller neither panics nor waits, and lost lines are counted
//! ([`lost_lines`], served as `partnercenter_log_lines_lost_total`). tracing-subscriber's own
//! `eprintln!` on a failed write, which panics on a broken pipe, is switched off.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{SecondsFormat, Utc};
use clap::ValueEnum;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `time=… level=INFO source=file.rs:12 msg="…" key=value`, as Prometheus' promslog writes it.
    #[value(alias = "text")]
    Logfmt,
    /// One JSON object per line with the same keys.
    Json,
}

/// Lines queued for standard error before further lines are dropped.
const BUFFERED_LINES: usize = 10_000;

/// The level names `--log.level` accepts alone.
const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];

/// Lines the channel dropped because the writer was too slow or blocked.
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();
/// Lines the writer could not write (a broken pipe, a closed descriptor).
static FAILED: AtomicU64 = AtomicU64::new(0);

/// Log lines lost since start: dropped because standard error blocked, or failed to write.
pub fn lost_lines() -> u64 {
    let dropped = DROPPED.get().map_or(0, |c| c.dropped_lines() as u64);
    dropped + FAILED.load(Ordering::Relaxed)
}

/// Check a `--log.level` value: a level name, or a comma-separated filter in which every part
/// is a level or `target=level` (`info,partnercenter_exporter::client=debug`). A bare word
/// that is not a level (`verbose`) would be read by tracing as a target name and switch every
/// other log off, so it is refused.
pub fn parse_level(value: &str) -> Result<String, String> {
    let value = value.trim();
    let explain = || {
        format!(
            "'{value}' is not a level (error, warn, info, debug, trace, off) or a filter like info,partnercenter_exporter::client=debug"
        )
    };
    if value.is_empty() {
        return Err(explain());
    }
    for part in value.split(',').map(str::trim) {
        let level = match part.rsplit_once('=') {
            Some((target, level)) if !target.trim().is_empty() => level,
            Some(_) => return Err(explain()),
            None => part,
        };
        if !LEVELS.contains(&level.trim().to_ascii_lowercase().as_str()) {
            return Err(explain());
        }
    }
    EnvFilter::try_new(value).map_err(|e| format!("{}: {e}", explain()))?;
    Ok(value.to_owned())
}

/// Keeps the log writer thread alive; dropping it flushes the queue (waiting at most about a
/// second if standard error blocks).
pub struct LogGuard {
    _worker: Option<WorkerGuard>,
}

/// Standard error that never fails: a write error is counted and the line dropped.
struct Stderr;

impl std::io::Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::io::stderr().write_all(buf).is_err() {
            FAILED.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Install the global subscriber. `level` must have passed [`parse_level`]. A second call
/// (tests) keeps the first subscriber.
pub fn init(level: &str, format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, worker) = NonBlockingBuilder::default()
        .lossy(true)
        // About 2 MiB of lines at most while standard error blocks; then lines are dropped.
        .buffered_lines_limit(BUFFERED_LINES)
        .thread_name("log-writer")
        .finish(Stderr);
    let _ = DROPPED.set(writer.error_counter());
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .log_internal_errors(false)
        .event_format(Promslog {
            json: format == LogFormat::Json,
        })
        .try_init()
        .is_ok();
    LogGuard {
        _worker: installed.then_some(worker),
    }
}

/// Print one line to standard error without ever panicking (`eprintln!` panics on a broken
/// pipe): for the messages printed before or instead of logging.
pub fn print_line(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// The event formatter: promslog's keys, logfmt or JSON.
struct Promslog {
    json: bool,
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// The event's fields, in order; `message` apart.
#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, Value)>,
}

enum Value {
    Text(String),
    Number(String),
    Bool(bool),
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.fields.push((field.name(), Value::Text(value.to_owned())));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.fields.push((field.name(), Value::Text(text)));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.push((field.name(), Value::Number(value.to_string())));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.push((field.name(), Value::Number(value.to_string())));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        let text = if value.is_finite() {
            value.to_string()
        } else {
            format!("\"{value}\"")
        };
        self.fields.push((field.name(), Value::Number(text)));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.push((field.name(), Value::Bool(value)));
    }
}

/// A logfmt value: bare when it is a plain word, else quoted with `\`, `"` and control
/// characters escaped, so one event is always one line.
fn logfmt_value(out: &mut String, value: &str) {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '=' && c != '\\');
    if bare {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The event's source: the file below `src/` and the line.
fn source(event: &Event<'_>) -> String {
    let meta = event.metadata();
    let file = meta.file().unwrap_or_else(|| meta.target());
    let file = file.rsplit_once("src/").map_or(file, |(_, rest)| rest);
    match meta.line() {
        Some(line) => format!("{file}:{line}"),
        None => file.to_owned(),
    }
}

impl Promslog {
    fn line(&self, event: &Event<'_>) -> String {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let time = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let level = level_name(event.metadata().level());
        let source = source(event);
        let mut out = String::with_capacity(160);
        if self.json {
            let mut map = serde_json::Map::new();
            map.insert("time".into(), time.into());
            map.insert("level".into(), level.into());
            map.insert("source".into(), source.into());
            map.insert("msg".into(), fields.message.into());
            for (name, value) in fields.fields {
                let value = match value {
                    Value::Text(t) => serde_json::Value::String(t),
                    Value::Bool(b) => serde_json::Value::Bool(b),
                    Value::Number(n) => serde_json::from_str(&n).unwrap_or(serde_json::Value::String(n)),
                };
                map.insert(name.to_owned(), value);
            }
            out.push_str(&serde_json::Value::Object(map).to_string());
        } else {
            let _ = write!(out, "time={time} level={level} source=");
            logfmt_value(&mut out, &source);
            out.push_str(" msg=");
            logfmt_value(&mut out, &fields.message);
            for (name, value) in fields.fields {
                let _ = write!(out, " {name}=");
                match value {
                    Value::Text(t) => logfmt_value(&mut out, &t),
                    Value::Number(n) => out.push_str(&n),
                    Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                }
            }
        }
        out.push('\n');
        out
    }
}

impl<S, N> FormatEvent<S, N> for Promslog
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        writer.write_str(&self.line(event))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Capture what the formatter writes for the events emitted inside `f`.
    fn capture(json: bool, f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .event_format(Promslog { json })
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn logfmt_lines_use_the_promslog_keys_and_quote_what_needs_it() {
        let line = capture(false, || {
            tracing::warn!(
                collector = "usage",
                rows = 3,
                error = "a \"bad\"\nthing",
                "collector failed"
            );
        });
        assert!(line.starts_with("time="), "{line}");
        assert!(line.contains(" level=WARN source=telemetry.rs:"), "{line}");
        assert!(
            line.contains(r#" msg="collector failed" collector=usage rows=3 error="a \"bad\"\nthing""#),
            "{line}"
        );
        assert_eq!(line.matches('\n').count(), 1, "one event, one line");
    }

    #[test]
    fn json_lines_have_the_same_keys() {
        let line = capture(true, || {
            tracing::info!(rows = 3, ok = true, "collector succeeded");
        });
        let value: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["msg"], "collector succeeded");
        assert_eq!(value["rows"], 3);
        assert_eq!(value["ok"], true);
        assert!(value["time"].as_str().unwrap().ends_with('Z'));
        assert!(value["source"].as_str().unwrap().starts_with("telemetry.rs:"));
    }

    #[test]
    fn a_level_or_a_filter_of_levels_is_accepted() {
        for ok in [
            "info",
            "DEBUG",
            "warn,partnercenter_exporter::client=debug",
            "off",
        ] {
            assert!(parse_level(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn a_word_that_is_not_a_level_is_refused() {
        for bad in ["verbose", "", "info,verbose", "=debug", "client=loud"] {
            let err = parse_level(bad).unwrap_err();
            assert!(err.contains("is not a level"), "{bad}: {err}");
        }
    }
}
