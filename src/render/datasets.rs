//! Each kind of row as exposition: its identifying labels (ids only, in output order), its metric
//! families, and the names it mentions, for the info series. `super::write` turns any of them into
//! text.

use super::commerce;
use super::names::ObjectKind;
use super::rendered::{RenderContext, RenderedData};
use super::write::{Family, NameField, Spec, none, write_dataset};
use crate::collector::Dataset;
use crate::model::{DeploymentRow, PartnerDeploymentRow, PartnerUsageRow, Text, UsageRow};

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
        .map(Text::as_str)
    },
    customer: |r| (&r.customer_tenant_id, &r.customer_name),
    product: |r| (&r.product_id, &r.product_name),
    names: &[
        NameField {
            kind: ObjectKind::Customer,
            label: 0,
            name: |r| &r.customer_name,
        },
        NameField {
            kind: ObjectKind::Product,
            label: 1,
            name: |r| &r.product_name,
        },
        NameField {
            kind: ObjectKind::Workload,
            label: 2,
            name: |r| &r.workload_name,
        },
        NameField {
            kind: ObjectKind::Service,
            label: 3,
            name: |r| &r.service_name,
        },
    ],
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
    key: |r| [&r.customer_tenant_id, &r.product_id, &r.service_code, &r.channel].map(Text::as_str),
    customer: |r| (&r.customer_tenant_id, &r.customer_name),
    product: |r| (&r.product_id, &r.product_name),
    names: &[
        NameField {
            kind: ObjectKind::Customer,
            label: 0,
            name: |r| &r.customer_name,
        },
        NameField {
            kind: ObjectKind::Product,
            label: 1,
            name: |r| &r.product_name,
        },
        NameField {
            kind: ObjectKind::Service,
            label: 2,
            name: |r| &r.service_name,
        },
    ],
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
    // The partner-level endpoints send the service code alone (in serviceName).
    names: &[NameField {
        kind: ObjectKind::Service,
        label: 0,
        name: |_| "",
    }],
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
    names: &[
        NameField {
            kind: ObjectKind::Service,
            label: 0,
            name: |_| "",
        },
        NameField {
            kind: ObjectKind::Workload,
            label: 1,
            name: |r| &r.workload_name,
        },
    ],
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
        Dataset::Subscriptions(rows) => commerce::subscriptions(rows, ctx),
        Dataset::SubscribedSkus(data) => commerce::subscribed_skus(data, ctx),
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use regex::Regex;

    use super::*;
    use crate::collector::{NameFilter, RowFilter};
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
            workload_code: crate::model::derived_id("Exchange").into(),
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
