//! Each kind of row as exposition: its identifying labels (ids only, in output order), its metric
//! families, and the names it offers to the info series; and the one routine that writes any of
//! them: filter, sort, deduplicate, offer names, write.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::names::{NameSource, NamesBuilder, ObjectKind};
use super::rendered::{RenderContext, RenderedData};
use super::sink::Sink;
use super::text::{SeriesTemplate, write_header};
use crate::collector::{Dataset, NameFilter};
use crate::model::{DeploymentRow, PartnerDeploymentRow, PartnerUsageRow, UsageRow};

const CACHED_NOTE: &str =
    "Cached: refreshed from Partner Center every collection interval, not at scrape time.";

/// A metric family to write: its name, its help, and how to read its value from a row.
struct Family<R> {
    name: &'static str,
    help: &'static str,
    value: fn(&R) -> f64,
}

/// How one kind of row becomes series.
struct Spec<R: 'static, const N: usize> {
    /// The identifying labels, in output order.
    labels: [&'static str; N],
    /// The row's values of those labels.
    key: for<'r> fn(&'r R) -> [&'r str; N],
    /// The row's customer and product as `(id, name)`, for the filters (`("", "")`: none).
    customer: for<'r> fn(&'r R) -> (&'r str, &'r str),
    product: for<'r> fn(&'r R) -> (&'r str, &'r str),
    /// Offer the names the row mentions.
    names: for<'r> fn(&'r R, &mut NamesBuilder<'r>),
    processed: fn(&R) -> Option<DateTime<Utc>>,
    families: &'static [Family<R>],
}

fn none<R>(_: &R) -> (&str, &str) {
    ("", "")
}

/// Labels of the usage metrics, in output order.
pub const USAGE_LABELS: [&str; 5] = [
    "customer_tenant_id",
    "product_id",
    "workload_code",
    "service_code",
    "channel",
];

static USAGE: Spec<UsageRow, 5> = Spec {
    labels: USAGE_LABELS,
    key: |r| {
        [
            &r.customer_tenant_id,
            &r.product_id,
            &r.workload_code,
            &r.service_code,
            &r.channel,
        ]
        .map(String::as_str)
    },
    customer: |r| (&r.customer_tenant_id, &r.customer_name),
    product: |r| (&r.product_id, &r.product_name),
    names: |r, names| {
        let at = r.processed_at;
        let a = NameSource::Analytics;
        names.offer(
            ObjectKind::Customer,
            &r.customer_tenant_id,
            &r.customer_name,
            a,
            at,
        );
        names.offer(ObjectKind::Product, &r.product_id, &r.product_name, a, at);
        names.offer(ObjectKind::Workload, &r.workload_code, &r.workload_name, a, at);
        names.offer(ObjectKind::Service, &r.service_code, &r.service_name, a, at);
    },
    processed: |r| r.processed_at,
    families: &[
        Family {
            name: "partnercenter_licenses_active",
            help: "Licenses of the workload used in the last 28 days (Partner Center licensesActive).",
            value: |r| r.licenses_active,
        },
        Family {
            name: "partnercenter_licenses_qualified",
            help: "Licenses entitled to use the workload (Partner Center licensesQualified).",
            value: |r| r.licenses_qualified,
        },
    ],
};

/// Labels of the deployment metrics, in output order.
pub const DEPLOYMENT_LABELS: [&str; 4] = ["customer_tenant_id", "product_id", "service_code", "channel"];

static DEPLOYMENT: Spec<DeploymentRow, 4> = Spec {
    labels: DEPLOYMENT_LABELS,
    key: |r| [&r.customer_tenant_id, &r.product_id, &r.service_code, &r.channel].map(String::as_str),
    customer: |r| (&r.customer_tenant_id, &r.customer_name),
    product: |r| (&r.product_id, &r.product_name),
    names: |r, names| {
        let at = r.processed_at;
        let a = NameSource::Analytics;
        names.offer(
            ObjectKind::Customer,
            &r.customer_tenant_id,
            &r.customer_name,
            a,
            at,
        );
        names.offer(ObjectKind::Product, &r.product_id, &r.product_name, a, at);
        names.offer(ObjectKind::Service, &r.service_code, &r.service_name, a, at);
    },
    processed: |r| r.processed_at,
    families: &[
        Family {
            name: "partnercenter_licenses_deployed",
            help: "Licenses assigned to users (Partner Center licensesDeployed).",
            value: |r| r.licenses_deployed,
        },
        Family {
            name: "partnercenter_licenses_sold",
            help: "Licenses sold (Partner Center licensesSold).",
            value: |r| r.licenses_sold,
        },
    ],
};

static PARTNER_DEPLOYMENT: Spec<PartnerDeploymentRow, 2> = Spec {
    labels: ["service_code", "channel"],
    key: |r| [r.service_code.as_str(), r.channel.as_str()],
    customer: none,
    product: none,
    names: |r, names| {
        names.offer(
            ObjectKind::Service,
            &r.service_code,
            "",
            NameSource::Analytics,
            r.processed_at,
        );
    },
    processed: |r| r.processed_at,
    families: &[
        Family {
            name: "partnercenter_prorated_deployment_percent",
            help: "Prorated share of sold licenses that are deployed, across all customers, as Partner Center reports it (proratedDeploymentPercent; its scale, 0-1 or 0-100, is not documented).",
            value: |r| r.prorated_deployment_percent,
        },
        Family {
            name: "partnercenter_partner_licenses_sold",
            help: "Licenses sold across all customers of the partner (Partner Center licensesSold).",
            value: |r| r.licenses_sold,
        },
    ],
};

static PARTNER_USAGE: Spec<PartnerUsageRow, 3> = Spec {
    labels: ["service_code", "workload_code", "channel"],
    key: |r| {
        [
            r.service_code.as_str(),
            r.workload_code.as_str(),
            r.channel.as_str(),
        ]
    },
    customer: none,
    product: none,
    names: |r, names| {
        let at = r.processed_at;
        let a = NameSource::Analytics;
        names.offer(ObjectKind::Workload, &r.workload_code, &r.workload_name, a, at);
        names.offer(ObjectKind::Service, &r.service_code, "", a, at);
    },
    processed: |r| r.processed_at,
    families: &[Family {
        name: "partnercenter_prorated_licenses_usage_percent",
        help: "Prorated share of qualified licenses that are active for the workload, across all customers, as Partner Center reports it (proratedLicensesUsagePercent; its scale, 0-1 or 0-100, is not documented).",
        value: |r| r.prorated_licenses_usage_percent,
    }],
};

pub(super) fn render(dataset: &Dataset, ctx: &RenderContext<'_>) -> RenderedData {
    match dataset {
        Dataset::Usage(rows) => write_dataset(rows, ctx, &USAGE),
        Dataset::Deployment(rows) => write_dataset(rows, ctx, &DEPLOYMENT),
        Dataset::PartnerDeployment(rows) => write_dataset(rows, ctx, &PARTNER_DEPLOYMENT),
        Dataset::PartnerUsage(rows) => write_dataset(rows, ctx, &PARTNER_USAGE),
    }
}

/// Whether a `(id, name)` passes `filter`, remembered per pair: a customer has a row per product
/// and workload, and a regular expression costs more than a look-up.
struct Verdicts<'r> {
    filter: &'r NameFilter,
    seen: HashMap<(&'r str, &'r str), bool>,
}

impl<'r> Verdicts<'r> {
    fn new(filter: &'r NameFilter) -> Self {
        Self {
            filter,
            seen: HashMap::new(),
        }
    }

    fn keeps(&mut self, (id, name): (&'r str, &'r str)) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        *self
            .seen
            .entry((id, name))
            .or_insert_with(|| self.filter.keeps(id, name))
    }
}

/// Filter the rows, sort them by their labels, keep one row per label set, offer their names,
/// and write each family's series.
///
/// When Partner Center returns the same label set twice (possible with `groupby`, or across data
/// dates), the row with the newest `processedDateTime` wins, and the later one on a tie: it is
/// the more current figure, and adding them up would double-count licenses.
fn write_dataset<'r, R, const N: usize>(
    rows: &'r [R],
    ctx: &RenderContext<'r>,
    spec: &Spec<R, N>,
) -> RenderedData {
    let mut kept: Vec<&'r R> = if ctx.filter.is_empty() {
        rows.iter().collect()
    } else {
        let mut customers = Verdicts::new(&ctx.filter.customers);
        let mut products = Verdicts::new(&ctx.filter.products);
        rows.iter()
            .filter(|r| customers.keeps((spec.customer)(r)) && products.keeps((spec.product)(r)))
            .collect()
    };
    let dropped = rows.len() - kept.len();
    // Stable, so rows with equal labels stay in the order Partner Center sent them; and fast on
    // the runs of sorted rows that Partner Center's pages mostly are.
    kept.sort_by(|a, b| (spec.key)(a).cmp(&(spec.key)(b)));

    let mut names = NamesBuilder::default();
    for row in &kept {
        (spec.names)(row, &mut names);
    }
    for customer in ctx.directory.unwrap_or_default() {
        let id = if customer.tenant_id.is_empty() {
            &customer.id
        } else {
            &customer.tenant_id
        };
        // Only customers with rows here: the others are not part of this collector's data.
        if names.contains(ObjectKind::Customer, id) {
            names.offer(
                ObjectKind::Customer,
                id,
                &customer.company_name,
                NameSource::Directory,
                Some(ctx.collected_at),
            );
        }
    }

    let mut unique: Vec<&'r R> = Vec::with_capacity(kept.len());
    for row in kept {
        match unique.last_mut() {
            Some(last) if (spec.key)(last) == (spec.key)(row) => {
                if (spec.processed)(row) >= (spec.processed)(last) {
                    *last = row;
                }
            }
            _ => unique.push(row),
        }
    }

    let mut sink = Sink::new();
    if !unique.is_empty() {
        for family in spec.families {
            let help = format!("{} {CACHED_NOTE}", family.help);
            write_header(&mut sink.buf, family.name, &help);
            let template = SeriesTemplate::new(family.name, &spec.labels);
            for row in &unique {
                template.write(&mut sink.buf, &(spec.key)(row), (family.value)(row));
                sink.maybe_flush();
            }
        }
    }
    let (text_len, gzip) = sink.finish();
    RenderedData {
        series: unique.len() * spec.families.len(),
        rows: rows.len(),
        dropped,
        processed_at: rows.iter().filter_map(spec.processed).max(),
        text_len,
        gzip,
        names: names.finish(),
    }
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;
    use crate::collector::RowFilter;
    use crate::model::Customer;

    fn usage(customer: &str, name: &str, active: f64) -> UsageRow {
        UsageRow {
            customer_tenant_id: customer.into(),
            customer_name: name.into(),
            product_id: "p1".into(),
            product_name: "OFFICE 365 E3".into(),
            workload_code: "EXO".into(),
            workload_name: "Exchange".into(),
            service_code: "o365".into(),
            service_name: "Microsoft Office 365".into(),
            channel: "reseller".into(),
            licenses_active: active,
            licenses_qualified: 10.0,
            processed_at: None,
        }
    }

    fn text(data: &RenderedData) -> String {
        String::from_utf8(data.text_chunks().collect::<Vec<_>>().concat()).unwrap()
    }

    fn render_plain(dataset: &Dataset) -> RenderedData {
        render(dataset, &RenderContext::default())
    }

    #[test]
    fn value_series_carry_ids_only_and_names_go_to_the_catalogue() {
        let data = render_plain(&Dataset::Usage(vec![usage(
            "c1",
            "A \"B\" \\ C\nD — Zürich",
            1.0,
        )]));
        let text = text(&data);
        assert_eq!(
            text.lines()
                .find(|l| l.starts_with("partnercenter_licenses_active{")),
            Some(
                "partnercenter_licenses_active{customer_tenant_id=\"c1\",product_id=\"p1\",workload_code=\"EXO\",service_code=\"o365\",channel=\"reseller\"} 1"
            )
        );
        assert!(!text.contains("Zürich") && !text.contains("Exchange"), "{text}");
        assert_eq!(
            data.names.get(ObjectKind::Customer, "c1"),
            Some("A \"B\" \\ C\nD — Zürich")
        );
        assert_eq!(data.names.get(ObjectKind::Product, "p1"), Some("OFFICE 365 E3"));
        assert_eq!(data.names.get(ObjectKind::Workload, "EXO"), Some("Exchange"));
        assert_eq!(
            data.names.get(ObjectKind::Service, "o365"),
            Some("Microsoft Office 365")
        );
    }

    #[test]
    fn duplicate_label_sets_keep_the_newest_row_only() {
        let mut old = usage("c1", "n", 1.0);
        old.processed_at = Some(DateTime::from_timestamp(1_000, 0).unwrap());
        let mut new = usage("c1", "n", 7.0);
        new.processed_at = Some(DateTime::from_timestamp(2_000, 0).unwrap());
        let mut tie = usage("c1", "n", 9.0);
        tie.processed_at = new.processed_at;
        let data = render_plain(&Dataset::Usage(vec![new, old, usage("c0", "m", 3.0)]));
        let text = text(&data);
        assert_eq!(text.matches("partnercenter_licenses_active{").count(), 2);
        assert!(text.contains("customer_tenant_id=\"c1\",product_id=\"p1\",workload_code=\"EXO\",service_code=\"o365\",channel=\"reseller\"} 7\n"), "{text}");
        assert!(
            text.find("\"c0\"") < text.find("\"c1\""),
            "sorted by labels: {text}"
        );
        assert_eq!((data.rows, data.series), (3, 4));
        assert_eq!(data.processed_at, DateTime::from_timestamp(2_000, 0));

        let mut first = usage("c1", "n", 1.0);
        first.processed_at = tie.processed_at;
        let data = render_plain(&Dataset::Usage(vec![first, tie]));
        assert!(text_of_active(&data).ends_with("} 9"), "the later row wins a tie");
    }

    fn text_of_active(data: &RenderedData) -> String {
        text(data)
            .lines()
            .find(|l| l.starts_with("partnercenter_licenses_active{"))
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn an_empty_dataset_renders_no_families() {
        let data = render_plain(&Dataset::Deployment(vec![]));
        assert_eq!(data.text_len, 0);
        assert_eq!(data.text_chunks().count(), 0);
        assert!(data.names.is_empty());
    }

    #[test]
    fn large_datasets_are_compressed_in_pieces_and_inflate_to_the_whole_text() {
        let rows: Vec<UsageRow> = (0..5_000)
            .map(|i| usage(&format!("c{i:05}"), "name", i as f64))
            .collect();
        let data = render_plain(&Dataset::Usage(rows));
        let text = text(&data);
        assert_eq!(text.len(), data.text_len);
        assert!(data.text_len > 4 * 64 * 1024, "several flushes happened");
        assert_eq!(text.matches("partnercenter_licenses_active{").count(), 5_000);
        assert!(text.ends_with("} 10\n"), "the last series is complete");
        assert!(data.gzip.len() < data.text_len / 5);
        assert_eq!(data.names.len(ObjectKind::Customer), 5_000);
    }

    #[test]
    fn the_filters_drop_rows_before_rendering_and_their_names_with_them() {
        let mut test = usage("c2", "Contoso Test", 2.0);
        test.product_id = "p2".into();
        let rows = vec![usage("c1", "Contoso", 1.0), test, usage("c3", "Fabrikam", 3.0)];
        let filter = RowFilter {
            customers: NameFilter {
                include: Some(Regex::new("(?i)contoso").unwrap()),
                exclude: Some(Regex::new("Test").unwrap()),
            },
            products: NameFilter::default(),
        };
        let ctx = RenderContext {
            filter: &filter,
            ..RenderContext::default()
        };
        let data = render(&Dataset::Usage(rows.clone()), &ctx);
        assert_eq!((data.rows, data.dropped, data.series), (3, 2, 2));
        assert!(data.names.get(ObjectKind::Customer, "c3").is_none());
        assert!(data.names.get(ObjectKind::Product, "p2").is_none());

        let filter = RowFilter {
            customers: NameFilter::default(),
            products: NameFilter {
                include: None,
                exclude: Some(Regex::new("^p2$").unwrap()),
            },
        };
        let data = render(
            &Dataset::Usage(rows),
            &RenderContext {
                filter: &filter,
                ..RenderContext::default()
            },
        );
        assert_eq!(data.dropped, 1);
        assert!(!text(&data).contains("\"p2\""));
    }

    #[test]
    fn the_customer_list_names_the_customers_of_a_fan_out() {
        let rows = vec![usage("c1", "Contoso (from the row)", 1.0)];
        let directory = vec![
            Customer {
                id: "c1".into(),
                tenant_id: "c1".into(),
                company_name: "Contoso Ltd".into(),
                domain: String::new(),
            },
            Customer {
                id: "c9".into(),
                tenant_id: "c9".into(),
                company_name: "No rows".into(),
                domain: String::new(),
            },
        ];
        let ctx = RenderContext {
            directory: Some(&directory),
            ..RenderContext::default()
        };
        let data = render(&Dataset::Usage(rows), &ctx);
        assert_eq!(data.names.get(ObjectKind::Customer, "c1"), Some("Contoso Ltd"));
        assert!(
            data.names.get(ObjectKind::Customer, "c9").is_none(),
            "no rows, not named"
        );
    }

    #[test]
    fn partner_level_rows_name_their_workloads_by_the_derived_id() {
        let row = PartnerUsageRow {
            service_code: "o365".into(),
            workload_code: crate::model::derived_id("Exchange"),
            workload_name: "Exchange".into(),
            channel: "reseller".into(),
            prorated_licenses_usage_percent: 50.0,
            processed_at: None,
        };
        let id = row.workload_code.clone();
        let data = render_plain(&Dataset::PartnerUsage(vec![row]));
        assert!(text(&data).contains(&format!(
            "partnercenter_prorated_licenses_usage_percent{{service_code=\"o365\",workload_code=\"{id}\",channel=\"reseller\"}} 50\n"
        )));
        assert_eq!(data.names.get(ObjectKind::Workload, &id), Some("Exchange"));
        assert_eq!(data.names.get(ObjectKind::Service, "o365"), Some(""));
    }
}
