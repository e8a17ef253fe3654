//! The info series themselves: every object that the collectors' [`Names`] mention, written once,
//! by the rule of `super::names`.

use super::names::{Names, ObjectKind, Rank, beats};
use super::rendered::RenderedData;
use super::sink::Sink;
use super::text::{SeriesTemplate, write_header};

/// The info series of every object that `parts` name, one series per object, its name chosen by
/// the rule of `super::names`; written and compressed like a collector's data.
pub fn render_info<'a>(parts: impl IntoIterator<Item = &'a Names>) -> RenderedData {
    let parts: Vec<&Names> = parts.into_iter().filter(|n| !n.is_empty()).collect();
    let mut sink = Sink::new();
    let mut series = 0;
    for kind in ObjectKind::ALL {
        let mut entries: Vec<(&str, &str, Rank)> = parts.iter().flat_map(|p| p.entries(kind)).collect();
        if entries.is_empty() {
            continue;
        }
        if parts.len() > 1 {
            // Each table is sorted and unique; together they need sorting and the best of each id.
            entries.sort_by(|a, b| a.0.cmp(b.0));
            entries.dedup_by(|later, kept| {
                if later.0 != kept.0 {
                    return false;
                }
                if beats(later.1, later.2, kept.1, kept.2) {
                    std::mem::swap(later, kept);
                }
                true
            });
        }
        write_header(&mut sink.buf, kind.metric(), kind.help());
        let template = SeriesTemplate::new(kind.metric(), &kind.labels());
        for (id, name, _) in &entries {
            template.write(&mut sink.buf, &[id, name], 1.0);
            sink.maybe_flush();
        }
        series += entries.len();
    }
    let (text_len, gzip) = sink.finish();
    RenderedData {
        series,
        rows: 0,
        dropped: 0,
        processed_at: None,
        text_len,
        gzip,
        names: Names::default(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::render::{NameSource, NamesBuilder};

    fn at(secs: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(secs, 0)
    }

    fn text(data: &RenderedData) -> String {
        String::from_utf8(data.text_chunks().collect::<Vec<_>>().concat()).unwrap()
    }
    #[test]
    fn the_customer_list_wins_over_analytics_rows_whatever_their_age() {
        let mut analytics = NamesBuilder::default();
        analytics.offer(
            ObjectKind::Customer,
            "c1",
            "Contoso",
            NameSource::Analytics,
            at(900),
        );
        let analytics = analytics.finish();
        let mut directory = NamesBuilder::default();
        directory.offer(
            ObjectKind::Customer,
            "c1",
            "Contoso Ltd",
            NameSource::Directory,
            at(100),
        );
        let directory = directory.finish();
        for parts in [[&analytics, &directory], [&directory, &analytics]] {
            let info = text(&render_info(parts));
            assert!(
                info.contains(
                    "partnercenter_customer_info{customer_tenant_id=\"c1\",customer_name=\"Contoso Ltd\"} 1\n"
                ),
                "{info}"
            );
            assert_eq!(info.matches("partnercenter_customer_info{").count(), 1);
        }
    }

    #[test]
    fn two_collectors_naming_one_object_give_one_series_whatever_the_order() {
        let mut usage = NamesBuilder::default();
        usage.offer(ObjectKind::Product, "p1", "E3", NameSource::Analytics, at(100));
        usage.offer(ObjectKind::Product, "p2", "E5", NameSource::Analytics, at(100));
        let usage = usage.finish();
        let mut deployment = NamesBuilder::default();
        deployment.offer(
            ObjectKind::Product,
            "p1",
            "Office E3",
            NameSource::Analytics,
            at(100),
        );
        deployment.offer(
            ObjectKind::Workload,
            "EXO",
            "Exchange",
            NameSource::Analytics,
            None,
        );
        let deployment = deployment.finish();
        let a = text(&render_info([&usage, &deployment]));
        let b = text(&render_info([&deployment, &usage]));
        assert_eq!(a, b, "the order the collectors finished in does not matter");
        assert!(
            a.contains("{product_id=\"p1\",product_name=\"E3\"} 1"),
            "tie: smaller name: {a}"
        );
        assert!(a.contains("{product_id=\"p2\",product_name=\"E5\"} 1"));
        assert!(
            a.contains("partnercenter_workload_info{workload_code=\"EXO\",workload_name=\"Exchange\"} 1")
        );
        assert_eq!(render_info([&usage, &deployment]).series, 3);
    }

    #[test]
    fn an_object_known_only_without_a_name_keeps_an_info_series() {
        let mut b = NamesBuilder::default();
        b.offer(ObjectKind::Service, "o365", "", NameSource::Analytics, None);
        let info = text(&render_info([&b.finish()]));
        assert!(
            info.contains("partnercenter_service_info{service_code=\"o365\",service_name=\"\"} 1"),
            "{info}"
        );
        assert!(info.starts_with("# HELP partnercenter_service_info "), "{info}");
    }

    #[test]
    fn no_names_render_nothing() {
        let info = render_info([&Names::default()]);
        assert_eq!((info.series, info.text_len), (0, 0));
    }
}
