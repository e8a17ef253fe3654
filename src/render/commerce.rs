//! Rendering of the commercial data: subscriptions, subscribed SKUs, and what the exporter
//! derives from both (unused licences, prices).
//!
//! Values carry ids only; offer names, terms and statuses live in `partnercenter_subscription_info`
//! and SKU names in `partnercenter_sku_info` (value 1), which queries join in; the customers' names
//! go to the shared `partnercenter_customer_info` (`super::names`), from the customer list the
//! fan-out used. A family whose rows all lack a value (no subscription has a cancellation window,
//! say) is left out whole, header included. The customer and product filters apply as to every
//! collector: a subscription's product is its Entra SKU (`sku_id`, the analytics' `product_id`)
//! with its offer name, a tenant SKU's is its id with its name.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::names::{NameSource, Names, NamesBuilder, ObjectKind};
use super::rendered::{RenderContext, RenderedData};
use super::sink::Sink;
use super::text::{SeriesTemplate, write_header};
use super::write::CACHED_NOTE;
use crate::collector::RowFilter;
use crate::model::{PriceRow, SkuAccess, SubscribedSkuRow, SubscribedSkus, SubscriptionRow, UnusedRow};

/// Where the series go (the gzip sink; a plain list of lines in the tests). The note that the
/// values are cached ends every HELP text.
pub(super) trait Out {
    /// The `# HELP` and `# TYPE … gauge` lines of a family.
    fn header(&mut self, name: &str, help: &str);
    /// One series.
    fn series(&mut self, name: &str, label_names: &[&str], label_values: &[&str], value: f64);
}

/// Rows reduced to unique label sets (the later row wins) and sorted by them.
fn unique<'r, R, const N: usize>(
    rows: &'r [R],
    key: impl Fn(&'r R) -> [&'r str; N],
) -> Vec<([&'r str; N], &'r R)> {
    let mut by_key: BTreeMap<[&'r str; N], &'r R> = BTreeMap::new();
    for row in rows {
        by_key.insert(key(row), row);
    }
    by_key.into_iter().collect()
}

/// A family with a value per row that may be absent.
struct Family<R> {
    name: &'static str,
    help: &'static str,
    value: fn(&R) -> Option<f64>,
}

/// Write each family's series for `rows` (already unique and sorted), with their headers; a
/// family without any value writes nothing.
fn write_families<R, const N: usize>(
    out: &mut dyn Out,
    rows: &[([&str; N], &R)],
    label_names: &[&str; N],
    families: &[Family<R>],
) -> usize {
    let mut series = 0;
    for family in families {
        let mut header = false;
        for (labels, row) in rows {
            let Some(value) = (family.value)(row) else {
                continue;
            };
            if !header {
                header = true;
                out.header(family.name, family.help);
            }
            out.series(family.name, label_names, labels, value);
            series += 1;
        }
    }
    series
}

fn unix(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<f64> {
    t.map(|t| t.timestamp() as f64)
}

const SUBSCRIPTION_INFO_LABELS: [&str; 13] = [
    "customer_tenant_id",
    "subscription_id",
    "offer_id",
    "sku_id",
    "catalog_product_id",
    "catalog_sku_id",
    "offer_name",
    "friendly_name",
    "term_duration",
    "billing_cycle",
    "status",
    "commerce",
    "trial",
];
const LICENCE_LABELS: [&str; 4] = ["customer_tenant_id", "subscription_id", "offer_id", "sku_id"];
const SUBSCRIPTION_LABELS: [&str; 2] = ["customer_tenant_id", "subscription_id"];

/// The series of the `subscriptions` collector; returns the series written.
fn write_subscriptions(out: &mut dyn Out, rows: &[SubscriptionRow]) -> usize {
    let unique = unique(rows, |r| {
        [r.customer_tenant_id.as_str(), r.subscription_id.as_str()]
    });
    let info: Vec<([&str; 13], &SubscriptionRow)> = unique
        .iter()
        .map(|(_, r)| {
            let labels = [
                r.customer_tenant_id.as_str(),
                r.subscription_id.as_str(),
                r.offer_id.as_str(),
                r.sku_id.as_str(),
                r.catalog_product_id.as_str(),
                r.catalog_sku_id.as_str(),
                r.offer_name.as_str(),
                r.friendly_name.as_str(),
                r.term.as_ref().map_or("", |t| t.text.as_str()),
                r.billing_cycle.as_ref().map_or("", |b| b.label()),
                r.status.label(),
                r.commerce.label(),
                if r.is_trial { "true" } else { "false" },
            ];
            (labels, *r)
        })
        .collect();
    let licences: Vec<([&str; 4], &SubscriptionRow)> =
        info.iter().map(|(l, r)| ([l[0], l[1], l[2], l[3]], *r)).collect();
    let mut series = write_families(
        out,
        &info,
        &SUBSCRIPTION_INFO_LABELS,
        &[Family {
            name: "partnercenter_subscription_info",
            help: "A customer's licence subscription, always 1: offer_name, friendly_name, term_duration, billing_cycle, status (active, suspended, expired, ...), commerce (nce or legacy) and trial describe it; sku_id is the Entra SKU it provisions (empty when unknown), catalog_product_id and catalog_sku_id its new-commerce catalog ids (empty for legacy).",
            value: |_| Some(1.0),
        }],
    );
    series += write_families(
        out,
        &licences,
        &LICENCE_LABELS,
        &[Family {
            name: "partnercenter_subscription_licenses",
            help: "Licenses (seats) the partner pays for on the subscription (Partner Center quantity).",
            value: |r: &SubscriptionRow| Some(r.quantity),
        }],
    );
    series += write_families(
        out,
        &unique,
        &SUBSCRIPTION_LABELS,
        &[
            Family {
                name: "partnercenter_subscription_auto_renew",
                help: "1 if the subscription renews automatically at the end of its term (autoRenewEnabled), else 0.",
                value: |r: &SubscriptionRow| Some(if r.auto_renew { 1.0 } else { 0.0 }),
            },
            Family {
                name: "partnercenter_subscription_term_end_timestamp_seconds",
                help: "Unix time the subscription's current term ends (commitmentEndDateTime; a new-commerce commitmentEndDate counts its whole UTC day, a legacy one does not). Absent when the subscription has no end.",
                value: |r: &SubscriptionRow| unix(r.term_end),
            },
            Family {
                name: "partnercenter_subscription_cancellation_allowed_until_timestamp_seconds",
                help: "Unix time until which seats of the subscription can be removed for a refund (cancellationAllowedUntilDate, new commerce). Absent when Partner Center gives none.",
                value: |r: &SubscriptionRow| unix(r.cancellation_allowed_until),
            },
            Family {
                name: "partnercenter_subscription_scheduled_next_term_licenses",
                help: "Licenses scheduled for the subscription's next term (scheduledNextTermInstructions.quantity). Absent when nothing is scheduled.",
                value: |r: &SubscriptionRow| r.scheduled_next_term.as_ref().and_then(|n| n.quantity),
            },
            Family {
                name: "partnercenter_subscription_renewal_term_months",
                help: "Months of the term the subscription renews into: the scheduled next term, else renewalTermDuration, else its current term.",
                value: |r: &SubscriptionRow| r.renewal_term.as_ref().and_then(|t| t.months).map(f64::from),
            },
        ],
    );
    series
}

const SKU_UNIT_LABELS: [&str; 3] = ["customer_tenant_id", "sku_id", "state"];

/// Reads one of a SKU row's counts.
type Units = fn(&SubscribedSkuRow) -> f64;

/// The series of the `subscribed-skus` collector; returns the series written.
fn write_subscribed_skus(out: &mut dyn Out, data: &SubscribedSkus) -> usize {
    let skus = unique(&data.rows, |r| [r.customer_tenant_id.as_str(), r.sku_id.as_str()]);
    let states: [(&str, Units); 6] = [
        ("total", |r| r.total_units),
        ("active", |r| r.active_units),
        ("consumed", |r| r.consumed_units),
        ("available", |r| r.available_units),
        ("suspended", |r| r.suspended_units),
        ("warning", |r| r.warning_units),
    ];
    let mut series = 0;
    if !skus.is_empty() {
        let name = "partnercenter_subscribed_sku_units";
        out.header(
            name,
            "Licenses of the SKU in the customer's tenant, every channel together (not only this partner's): state total, active, consumed (assigned), available, suspended or warning (Partner Center subscribedskus).",
        );
        for (labels, row) in &skus {
            for (state, value) in &states {
                out.series(name, &SKU_UNIT_LABELS, &[labels[0], labels[1], state], value(row));
                series += 1;
            }
        }
    }
    let access = unique(&data.access, |a| [a.customer_tenant_id.as_str()]);
    series += write_families(
        out,
        &access,
        &["customer_tenant_id"],
        &[Family {
            name: "partnercenter_subscribed_skus_access",
            help: "1 if Partner Center gave the customer's subscribed SKUs, 0 if it refused (401/403: the exporter's user has no GDAP role such as Directory Readers in that customer, so its unused licenses cannot be known).",
            value: |a: &SkuAccess| Some(if a.granted { 1.0 } else { 0.0 }),
        }],
    );
    series += sku_info(out, &data.rows);
    series
}

/// `partnercenter_sku_info`: one series per SKU id. Customers may disagree on a SKU's names;
/// the pair most of them report wins (ties: the smaller), so the series is stable.
fn sku_info(out: &mut dyn Out, rows: &[SubscribedSkuRow]) -> usize {
    let mut votes: HashMap<&str, HashMap<(&str, &str), usize>> = HashMap::new();
    for r in rows {
        *votes
            .entry(r.sku_id.as_str())
            .or_default()
            .entry((r.sku_part_number.as_str(), r.sku_name.as_str()))
            .or_default() += 1;
    }
    let mut chosen: Vec<[&str; 3]> = votes
        .into_iter()
        .filter_map(|(sku, names)| {
            let ((part, name), _) = names
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))?;
            Some([sku, part, name])
        })
        .collect();
    chosen.sort_unstable();
    let rows: Vec<([&str; 3], &())> = chosen.into_iter().map(|l| (l, &())).collect();
    write_families(
        out,
        &rows,
        &["sku_id", "sku_part_number", "sku_name"],
        &[Family {
            name: "partnercenter_sku_info",
            help: "Names of an Entra SKU, always 1 (subscribedskus productSku.skuPartNumber and name).",
            value: |_| Some(1.0),
        }],
    )
}

/// What the exporter derives from the subscriptions, the subscribed SKUs and the price file.
#[derive(Debug, Clone, Default)]
pub struct Derived<'a> {
    pub unused: &'a [UnusedRow],
    pub prices: &'a [PriceRow],
}

/// Write the derived series; returns the series written.
fn write_derived(out: &mut dyn Out, derived: &Derived<'_>) -> usize {
    let unused = unique(derived.unused, |u| {
        [
            u.customer_tenant_id.as_str(),
            u.subscription_id.as_str(),
            u.sku_id.as_str(),
        ]
    });
    let mut series = write_families(
        out,
        &unused,
        &["customer_tenant_id", "subscription_id", "sku_id"],
        &[Family {
            name: "partnercenter_subscription_unused_licenses",
            help: "Paid licenses of the subscription that nobody in the customer's tenant is assigned, attributed by the exporter from the subscribed-SKU counts: never more than the subscription's quantity, and seats bought through other channels are not counted (README \"Unused licenses\").",
            value: |u: &UnusedRow| Some(u.unused),
        }],
    );
    let prices = unique(derived.prices, |p| {
        [
            p.product_id.as_str(),
            p.sku_id.as_str(),
            p.term_duration.text.as_str(),
            p.billing_plan.label(),
            p.currency.as_str(),
        ]
    });
    series += write_families(
        out,
        &prices,
        &[
            "product_id",
            "sku_id",
            "term_duration",
            "billing_plan",
            "currency",
        ],
        &[Family {
            name: "partnercenter_license_unit_price",
            help: "Price of one license for one month of the term, from --pricing.file (the price sheet's price for the whole term divided by its months); product_id and sku_id are the price sheet's catalog ids (ProductId, SkuId), which partnercenter_subscription_info calls catalog_product_id and catalog_sku_id.",
            value: |p: &PriceRow| Some(p.monthly_price),
        }],
    );
    series
}

/// The gzip sink as an [`Out`].
struct Exposition {
    sink: Sink,
}

impl Out for Exposition {
    fn header(&mut self, name: &str, help: &str) {
        write_header(&mut self.sink.buf, name, &format!("{help} {CACHED_NOTE}"));
    }
    fn series(&mut self, name: &str, label_names: &[&str], label_values: &[&str], value: f64) {
        // A template per series: these families are small next to the analytics ones.
        SeriesTemplate::new(name, label_names).write(&mut self.sink.buf, label_values, value);
        self.sink.maybe_flush();
    }
}

/// Write with `write` into a fresh sink and wrap the result.
fn encode(
    rows: usize,
    dropped: usize,
    names: Names,
    write: impl FnOnce(&mut dyn Out) -> usize,
) -> RenderedData {
    let mut out = Exposition { sink: Sink::new() };
    let series = write(&mut out);
    let (text_len, gzip) = out.sink.finish();
    RenderedData {
        series,
        rows,
        dropped,
        processed_at: None,
        text_len,
        gzip,
        names,
    }
}

/// Whether the filters keep a row of this customer and product.
fn kept(filter: &RowFilter, customer: (&str, &str), product: (&str, &str)) -> bool {
    filter.is_empty()
        || (filter.customers.keeps(customer.0, customer.1) && filter.products.keeps(product.0, product.1))
}

/// The customers' names: from the customer list the fan-out used (names of record), which the
/// rows carry, and the list itself when given, for the customers that have rows.
fn customer_names<'r>(ids: impl Iterator<Item = (&'r str, &'r str)>, ctx: &RenderContext<'r>) -> Names {
    let mut names = NamesBuilder::default();
    let at: Option<DateTime<Utc>> = Some(ctx.collected_at);
    for (id, name) in ids {
        names.offer(ObjectKind::Customer, id, name, NameSource::Directory, at);
    }
    for customer in ctx.directory.unwrap_or_default() {
        let id = if customer.tenant_id.is_empty() {
            &customer.id
        } else {
            &customer.tenant_id
        };
        if names.contains(ObjectKind::Customer, id) {
            names.offer(
                ObjectKind::Customer,
                id,
                &customer.company_name,
                NameSource::Directory,
                at,
            );
        }
    }
    names.finish()
}

/// The `subscriptions` collector's data as exposition.
pub(super) fn subscriptions(rows: &[SubscriptionRow], ctx: &RenderContext<'_>) -> RenderedData {
    let kept: Vec<SubscriptionRow> = rows
        .iter()
        .filter(|r| {
            kept(
                ctx.filter,
                (&r.customer_tenant_id, &r.customer_name),
                (&r.sku_id, &r.offer_name),
            )
        })
        .cloned()
        .collect();
    let names = customer_names(
        kept.iter()
            .map(|r| (r.customer_tenant_id.as_str(), r.customer_name.as_str())),
        ctx,
    );
    encode(rows.len(), rows.len() - kept.len(), names, |out| {
        write_subscriptions(out, &kept)
    })
}

/// The `subscribed-skus` collector's data as exposition.
pub(super) fn subscribed_skus(data: &SubscribedSkus, ctx: &RenderContext<'_>) -> RenderedData {
    let filter = ctx.filter;
    let kept = SubscribedSkus {
        rows: data
            .rows
            .iter()
            .filter(|r| {
                kept(
                    filter,
                    (&r.customer_tenant_id, &r.customer_name),
                    (&r.sku_id, &r.sku_name),
                )
            })
            .cloned()
            .collect(),
        access: data
            .access
            .iter()
            .filter(|a| filter.customers.keeps(&a.customer_tenant_id, &a.customer_name))
            .cloned()
            .collect(),
    };
    let names = customer_names(
        kept.access
            .iter()
            .map(|a| (a.customer_tenant_id.as_str(), a.customer_name.as_str()))
            .chain(
                kept.rows
                    .iter()
                    .map(|r| (r.customer_tenant_id.as_str(), r.customer_name.as_str())),
            ),
        ctx,
    );
    encode(data.rows.len(), data.rows.len() - kept.rows.len(), names, |out| {
        write_subscribed_skus(out, &kept)
    })
}

/// Encode what the exporter derives from the commercial collectors (unused licences, prices)
/// once. Its customers are named by the collectors' data.
pub fn render_derived(derived: &Derived<'_>) -> RenderedData {
    encode(
        derived.unused.len() + derived.prices.len(),
        0,
        Names::default(),
        |out| write_derived(out, derived),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Commerce, SubscriptionStatus};

    /// Collects lines as the exposition would hold them.
    #[derive(Default)]
    struct Lines(Vec<String>);

    impl Out for Lines {
        fn header(&mut self, name: &str, _help: &str) {
            self.0.push(format!("# {name}"));
        }
        fn series(&mut self, name: &str, label_names: &[&str], label_values: &[&str], value: f64) {
            let labels: Vec<String> = label_names
                .iter()
                .zip(label_values)
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            self.0.push(format!("{name}{{{}}} {value}", labels.join(",")));
        }
    }

    fn sub(id: &str) -> SubscriptionRow {
        SubscriptionRow {
            customer_tenant_id: "c1".into(),
            customer_name: "Contoso".into(),
            subscription_id: id.into(),
            offer_id: "o".into(),
            offer_name: "E3".into(),
            friendly_name: "E3".into(),
            commerce: Commerce::Legacy,
            catalog_product_id: String::new(),
            catalog_sku_id: String::new(),
            catalog_country: None,
            product_type: String::new(),
            sku_id: String::new(),
            quantity: 3.0,
            status: SubscriptionStatus::Active,
            auto_renew: true,
            is_trial: false,
            billing_cycle: None,
            term: None,
            renewal_term: None,
            term_end: None,
            cancellation_allowed_until: None,
            scheduled_next_term: None,
        }
    }

    #[test]
    fn families_without_any_value_write_no_header_and_duplicates_keep_the_last_row() {
        let mut later = sub("s1");
        later.quantity = 5.0;
        let mut out = Lines::default();
        let series = write_subscriptions(&mut out, &[sub("s1"), later]);
        assert_eq!(series, 3, "info, licenses and auto-renew only: {:?}", out.0);
        assert!(
            out.0
                .iter()
                .any(|l| l.starts_with("partnercenter_subscription_licenses{") && l.ends_with(" 5"))
        );
        for absent in ["term_end", "cancellation", "scheduled", "renewal_term"] {
            assert!(!out.0.iter().any(|l| l.contains(absent)), "{absent}: {:?}", out.0);
        }
    }

    #[test]
    fn the_customer_filter_drops_subscriptions_and_their_names_and_the_rest_are_named_once() {
        use crate::collector::NameFilter;
        let mut other = sub("s2");
        other.customer_tenant_id = "c2".into();
        other.customer_name = "Test tenant".into();
        let filter = RowFilter {
            customers: NameFilter {
                include: None,
                exclude: Some(regex::Regex::new("(?i)test").unwrap()),
            },
            products: NameFilter::default(),
        };
        let ctx = RenderContext {
            filter: &filter,
            ..RenderContext::default()
        };
        let data = subscriptions(&[sub("s1"), sub("s3"), other], &ctx);
        assert_eq!((data.rows, data.dropped), (3, 1));
        assert_eq!(data.names.get(ObjectKind::Customer, "c1"), Some("Contoso"));
        assert_eq!(data.names.get(ObjectKind::Customer, "c2"), None);
        assert_eq!(data.names.len(ObjectKind::Customer), 1);
    }
}
