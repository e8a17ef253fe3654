//! Rendering: the rows of one collector → Prometheus text exposition, encoded once per snapshot.
//!
//! The data series are written straight from the rows into one buffer (no intermediate metric
//! objects: at 10,000 customers this is a few hundred thousand series, rendered once per run and
//! then served as bytes). Exporter self-metrics are small and go through the `prometheus` crate in
//! [`crate::metrics`] instead.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::collector::Dataset;
use crate::model::{DeploymentRow, PartnerDeploymentRow, PartnerUsageRow, UsageRow};

mod commerce;

pub use commerce::Derived;

impl commerce::Out for Sink {
    fn header(&mut self, name: &str, help: &str) {
        let _ = writeln!(self.buf, "# HELP {name} {help} {CACHED_NOTE}");
        let _ = writeln!(self.buf, "# TYPE {name} gauge");
    }
    fn series(&mut self, name: &str, label_names: &[&str], label_values: &[&str], value: f64) {
        write_series(&mut self.buf, name, label_names, label_values, value);
        self.maybe_flush();
    }
}

/// Encode what the exporter derives from the commercial collectors (unused licences, prices,
/// customer names) once.
pub fn render_derived(derived: &Derived<'_>) -> RenderedData {
    let mut out = Sink::new();
    let series = commerce::derived(&mut out, derived);
    let (text_len, gzip) = out.finish();
    RenderedData {
        series,
        rows: derived.unused.len() + derived.prices.len(),
        processed_at: None,
        text_len,
        gzip,
    }
}

/// A collector's data, encoded once and kept compressed: the gzip member served as is to
/// scrapers that accept gzip (Prometheus always does), and inflated for the others.
///
/// Only the compressed form is kept because the text is large and repetitive (every series
/// repeats its customer and product labels): at 10,000 customers about 43 MiB of text against
/// 3.4 MiB of gzip, see `docs/benchmarks.md`.
#[derive(Debug, Clone)]
pub struct RenderedData {
    /// Series in the exposition (after removing duplicate label sets).
    pub series: usize,
    /// Rows Partner Center returned.
    pub rows: usize,
    /// Newest `processedDateTime` among the rows.
    pub processed_at: Option<DateTime<Utc>>,
    /// Length of the exposition text.
    pub text_len: usize,
    /// The exposition text as one gzip member; members concatenate into a valid gzip stream.
    pub gzip: Bytes,
}

impl RenderedData {
    /// The exposition text, inflated from the kept gzip member.
    pub fn text(&self) -> Vec<u8> {
        let mut text = Vec::with_capacity(self.text_len);
        // The member was written by `render` into memory, so it inflates without error; were it
        // ever cut, serving the intact prefix beats failing the scrape.
        let _ = flate2::read::GzDecoder::new(&self.gzip[..]).read_to_end(&mut text);
        text
    }
}

/// Where rendering writes: a small text buffer drained into a gzip encoder as it fills, so the
/// whole text never sits in memory at once.
struct Sink {
    buf: String,
    encoder: GzEncoder<Vec<u8>>,
    written: usize,
}

impl Sink {
    const FLUSH_AT: usize = 64 * 1024;

    fn new() -> Self {
        Self {
            buf: String::with_capacity(Self::FLUSH_AT + 4096),
            encoder: GzEncoder::new(Vec::new(), Compression::fast()),
            written: 0,
        }
    }

    fn maybe_flush(&mut self) {
        if self.buf.len() >= Self::FLUSH_AT {
            self.flush();
        }
    }

    fn flush(&mut self) {
        // Writing into a Vec cannot fail.
        let _ = self.encoder.write_all(self.buf.as_bytes());
        self.written += self.buf.len();
        self.buf.clear();
    }

    fn finish(mut self) -> (usize, Bytes) {
        self.flush();
        // Finishing an encoder that writes into a Vec cannot fail.
        (
            self.written,
            Bytes::from(self.encoder.finish().unwrap_or_default()),
        )
    }
}

const CACHED_NOTE: &str =
    "Cached: refreshed from Partner Center every collection interval, not at scrape time.";

/// A metric family to write: its name, its help, and how to read its value from a row.
struct Family<R> {
    name: &'static str,
    help: &'static str,
    value: fn(&R) -> f64,
}

/// Escape a label value per the text exposition format: backslash, double quote and line feed.
fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Format a sample value the way Prometheus parses it (`+Inf`, `-Inf`, `NaN`, shortest float).
fn write_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        // Writing to a String cannot fail.
        let _ = write!(out, "{value}");
    }
}

fn write_header<R>(out: &mut String, family: &Family<R>) {
    let _ = writeln!(out, "# HELP {} {} {CACHED_NOTE}", family.name, family.help);
    let _ = writeln!(out, "# TYPE {} gauge", family.name);
}

fn write_series(out: &mut String, name: &str, label_names: &[&str], label_values: &[&str], value: f64) {
    out.push_str(name);
    out.push('{');
    for (i, (label, value)) in label_names.iter().zip(label_values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(label);
        out.push_str("=\"");
        escape_label_value(out, value);
        out.push('"');
    }
    out.push_str("} ");
    write_value(out, value);
    out.push('\n');
}

/// Rows reduced to unique label sets, sorted for a stable output. When Partner Center returns the
/// same label set twice (possible with `groupby`, or across data dates), the row with the newest
/// `processedDateTime` wins, and the later one on a tie: it is the more current figure, and adding
/// them up would double-count licenses.
fn dedup<'r, R, const N: usize>(
    rows: &'r [R],
    labels: impl Fn(&'r R) -> [&'r str; N],
    processed: impl Fn(&R) -> Option<DateTime<Utc>>,
) -> Vec<([&'r str; N], &'r R)> {
    let mut index: HashMap<[&'r str; N], usize> = HashMap::with_capacity(rows.len());
    let mut unique: Vec<([&'r str; N], &'r R)> = Vec::with_capacity(rows.len());
    for row in rows {
        let key = labels(row);
        match index.get(&key) {
            Some(&i) => {
                if processed(row) >= processed(unique[i].1) {
                    unique[i].1 = row;
                }
            }
            None => {
                index.insert(key, unique.len());
                unique.push((key, row));
            }
        }
    }
    unique.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    unique
}

/// Labels of the usage metrics, in output order.
pub const USAGE_LABELS: [&str; 8] = [
    "customer_tenant_id",
    "customer_name",
    "product_id",
    "product_name",
    "workload_code",
    "workload_name",
    "service_code",
    "channel",
];
/// Labels of the deployment metrics, in output order.
pub const DEPLOYMENT_LABELS: [&str; 6] = [
    "customer_tenant_id",
    "customer_name",
    "product_id",
    "product_name",
    "service_code",
    "channel",
];
const PARTNER_DEPLOYMENT_LABELS: [&str; 2] = ["service_code", "channel"];
const PARTNER_USAGE_LABELS: [&str; 3] = ["service_code", "workload_name", "channel"];

/// Write one dataset: its rows reduced to unique label sets, then each family's series. Returns
/// the rows received, the series written, and the newest `processedDateTime`.
fn write_dataset<'r, R, const N: usize>(
    out: &mut Sink,
    rows: &'r [R],
    label_names: &[&str; N],
    labels: impl Fn(&'r R) -> [&'r str; N],
    processed: fn(&R) -> Option<DateTime<Utc>>,
    families: &[Family<R>],
) -> (usize, usize, Option<DateTime<Utc>>) {
    let unique = dedup(rows, labels, processed);
    if !unique.is_empty() {
        for family in families {
            write_header(&mut out.buf, family);
            for (labels, row) in &unique {
                write_series(
                    &mut out.buf,
                    family.name,
                    label_names,
                    labels,
                    (family.value)(row),
                );
                out.maybe_flush();
            }
        }
    }
    (rows.len(), unique.len(), rows.iter().filter_map(processed).max())
}

/// Encode a dataset to exposition text, compressed, once.
pub fn render(dataset: &Dataset) -> RenderedData {
    let mut out = Sink::new();
    let (rows, series, processed_at) = match dataset {
        Dataset::Usage(rows) => write_dataset(
            &mut out,
            rows,
            &USAGE_LABELS,
            |r| {
                [
                    &r.customer_tenant_id,
                    &r.customer_name,
                    &r.product_id,
                    &r.product_name,
                    &r.workload_code,
                    &r.workload_name,
                    &r.service_code,
                    &r.channel,
                ]
                .map(String::as_str)
            },
            |r| r.processed_at,
            &[
                Family {
                    name: "partnercenter_licenses_active",
                    help: "Licenses of the workload used in the last 28 days (Partner Center licensesActive).",
                    value: |r: &UsageRow| r.licenses_active,
                },
                Family {
                    name: "partnercenter_licenses_qualified",
                    help: "Licenses entitled to use the workload (Partner Center licensesQualified).",
                    value: |r: &UsageRow| r.licenses_qualified,
                },
            ],
        ),
        Dataset::Deployment(rows) => write_dataset(
            &mut out,
            rows,
            &DEPLOYMENT_LABELS,
            |r| {
                [
                    &r.customer_tenant_id,
                    &r.customer_name,
                    &r.product_id,
                    &r.product_name,
                    &r.service_code,
                    &r.channel,
                ]
                .map(String::as_str)
            },
            |r| r.processed_at,
            &[
                Family {
                    name: "partnercenter_licenses_deployed",
                    help: "Licenses assigned to users (Partner Center licensesDeployed).",
                    value: |r: &DeploymentRow| r.licenses_deployed,
                },
                Family {
                    name: "partnercenter_licenses_sold",
                    help: "Licenses sold (Partner Center licensesSold).",
                    value: |r: &DeploymentRow| r.licenses_sold,
                },
            ],
        ),
        Dataset::PartnerDeployment(rows) => write_dataset(
            &mut out,
            rows,
            &PARTNER_DEPLOYMENT_LABELS,
            |r| [r.service_code.as_str(), r.channel.as_str()],
            |r| r.processed_at,
            &[
                Family {
                    name: "partnercenter_prorated_deployment_percent",
                    help: "Prorated share of sold licenses that are deployed, across all customers, as Partner Center reports it (proratedDeploymentPercent; its scale, 0-1 or 0-100, is not documented).",
                    value: |r: &PartnerDeploymentRow| r.prorated_deployment_percent,
                },
                Family {
                    name: "partnercenter_partner_licenses_sold",
                    help: "Licenses sold across all customers of the partner (Partner Center licensesSold).",
                    value: |r: &PartnerDeploymentRow| r.licenses_sold,
                },
            ],
        ),
        Dataset::PartnerUsage(rows) => write_dataset(
            &mut out,
            rows,
            &PARTNER_USAGE_LABELS,
            |r| {
                [
                    r.service_code.as_str(),
                    r.workload_name.as_str(),
                    r.channel.as_str(),
                ]
            },
            |r| r.processed_at,
            &[Family {
                name: "partnercenter_prorated_licenses_usage_percent",
                help: "Prorated share of qualified licenses that are active for the workload, across all customers, as Partner Center reports it (proratedLicensesUsagePercent; its scale, 0-1 or 0-100, is not documented).",
                value: |r: &PartnerUsageRow| r.prorated_licenses_usage_percent,
            }],
        ),
        Dataset::Subscriptions(rows) => (rows.len(), commerce::subscriptions(&mut out, rows), None),
        Dataset::SubscribedSkus(data) => (data.rows.len(), commerce::subscribed_skus(&mut out, data), None),
    };
    let (text_len, gzip) = out.finish();
    RenderedData {
        series,
        rows,
        processed_at,
        text_len,
        gzip,
    }
}

/// Compress `data` as one gzip member. Members can be concatenated: RFC 1952 §2.2 defines a gzip
/// file as a series of members, and Go's (Prometheus') reader reads them as one stream.
pub fn gzip_member(data: &[u8]) -> Bytes {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 4 + 64), Compression::fast());
    // Writing into a Vec cannot fail, so neither can these two calls.
    let _ = encoder.write_all(data);
    Bytes::from(encoder.finish().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn usage(customer: &str, name: &str, active: f64) -> UsageRow {
        UsageRow {
            customer_tenant_id: customer.into(),
            customer_name: name.into(),
            product_id: "p1".into(),
            product_name: "OFFICE 365 E3".into(),
            workload_code: "EXO".into(),
            workload_name: "Exchange".into(),
            service_code: "o365".into(),
            channel: "reseller".into(),
            licenses_active: active,
            licenses_qualified: 10.0,
            processed_at: None,
        }
    }

    #[test]
    fn label_values_with_quotes_backslashes_and_newlines_are_escaped() {
        let data = render(&Dataset::Usage(vec![usage(
            "c1",
            "A \"B\" \\ C\nD — Zürich",
            1.0,
        )]));
        let text = String::from_utf8(data.text()).unwrap();
        assert!(
            text.contains(r#"customer_name="A \"B\" \\ C\nD — Zürich""#),
            "{text}"
        );
    }

    #[test]
    fn duplicate_label_sets_keep_the_newest_row_only() {
        let mut old = usage("c1", "n", 1.0);
        old.processed_at = Some(DateTime::from_timestamp(1_000, 0).unwrap());
        let mut new = usage("c1", "n", 7.0);
        new.processed_at = Some(DateTime::from_timestamp(2_000, 0).unwrap());
        let data = render(&Dataset::Usage(vec![new, old]));
        let text = String::from_utf8(data.text()).unwrap();
        assert_eq!(text.matches("partnercenter_licenses_active{").count(), 1);
        assert!(text.contains("} 7\n"), "{text}");
        assert_eq!(data.rows, 2);
        assert_eq!(data.series, 1);
        assert_eq!(data.processed_at, DateTime::from_timestamp(2_000, 0));
    }

    #[test]
    fn an_empty_dataset_renders_no_families() {
        let data = render(&Dataset::Deployment(vec![]));
        assert_eq!(data.text_len, 0);
        assert!(data.text().is_empty());
    }

    #[test]
    fn special_float_values_use_the_exposition_spelling() {
        let mut s = String::new();
        write_value(&mut s, f64::INFINITY);
        s.push(' ');
        write_value(&mut s, f64::NAN);
        s.push(' ');
        write_value(&mut s, 0.25);
        s.push(' ');
        write_value(&mut s, 12.0);
        assert_eq!(s, "+Inf NaN 0.25 12");
    }

    #[test]
    fn large_datasets_are_compressed_in_pieces_and_inflate_to_the_whole_text() {
        let rows: Vec<UsageRow> = (0..5_000)
            .map(|i| usage(&format!("c{i:05}"), "name", i as f64))
            .collect();
        let data = render(&Dataset::Usage(rows));
        let text = String::from_utf8(data.text()).unwrap();
        assert_eq!(text.len(), data.text_len);
        assert!(data.text_len > 4 * Sink::FLUSH_AT, "several flushes happened");
        assert_eq!(text.matches("partnercenter_licenses_active{").count(), 5_000);
        assert!(text.ends_with("} 10\n"), "the last series is complete");
        assert!(data.gzip.len() < data.text_len / 5);
    }

    #[test]
    fn gzip_members_concatenate_into_one_readable_stream() {
        let mut both = gzip_member(b"first\n").to_vec();
        both.extend_from_slice(&gzip_member(b"second\n"));
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&both[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "first\nsecond\n");
    }
}
