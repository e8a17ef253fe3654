//! The envelope of every Partner Center listing: the commercial `{"Value", "@nextLink",
//! "TotalCount"}` shape and the legacy `{"totalCount", "items", "links"}` shape alike, with the
//! variants seen so far (`Value`/`value`/`items`, `@nextLink`/`nextLink`, counts as numbers or
//! strings), and a `null` list told apart from an empty one.

use serde::{Deserialize, Deserializer};

use super::decode::{count, opt_text, text};

/// A list key that is present: its rows, or `null`. Absence is told apart by
/// `#[serde(default)]` giving `None`.
fn present_list<'de, D, T>(d: D) -> Result<Option<Listed<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(match Option::<Vec<T>>::deserialize(d)? {
        Some(rows) => Listed::Rows(rows),
        None => Listed::Null,
    }))
}

/// What the item key of a page held.
pub(crate) enum Listed<T> {
    /// `"Value": null`: not an empty listing. Partner Center sends `[]` when there are no rows,
    /// so a null is a fault, and taking it for "no rows" would make every series vanish.
    Null,
    Rows(Vec<T>),
}

// ----- envelopes -----

/// One page of any Partner Center collection: the commercial `{"Value", "@nextLink",
/// "TotalCount"}` shape and the legacy `{"totalCount", "items", "links"}` shape alike.
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct Page<T> {
    /// `None` when the body has none of the item keys: a 200 without rows in a known place is
    /// an error, not an empty listing.
    #[serde(
        rename = "Value",
        alias = "value",
        alias = "items",
        alias = "Items",
        default,
        deserialize_with = "present_list"
    )]
    pub items: Option<Listed<T>>,
    #[serde(
        rename = "@nextLink",
        alias = "nextLink",
        alias = "@odata.nextLink",
        default,
        deserialize_with = "opt_text"
    )]
    pub next_link: Option<String>,
    #[serde(
        rename = "TotalCount",
        alias = "totalCount",
        default,
        deserialize_with = "count"
    )]
    pub total_count: Option<f64>,
    #[serde(default, alias = "Links")]
    pub links: Option<Links>,
}

impl<T> Page<T> {
    /// The rows, or `None` when the body has no item key or its value is `null`.
    pub(crate) fn rows(self) -> Option<Vec<T>> {
        match self.items {
            Some(Listed::Rows(rows)) => Some(rows),
            _ => None,
        }
    }
}

/// `links` of a legacy collection; only `next` matters for paging.
#[derive(Deserialize, Default)]
pub(crate) struct Links {
    #[serde(default, alias = "Next")]
    pub next: Option<Link>,
}

/// A link of a legacy collection: a URI relative to `{base}/v1` plus headers to send with it.
#[derive(Deserialize)]
pub(crate) struct Link {
    #[serde(default, alias = "URI", alias = "Uri", deserialize_with = "text")]
    pub uri: String,
    #[serde(default, alias = "Headers")]
    pub headers: Option<Vec<KeyValue>>,
}

/// A header of a [`Link`] (carries `MS-ContinuationToken`).
#[derive(Deserialize)]
pub(crate) struct KeyValue {
    #[serde(default, alias = "Key", deserialize_with = "text")]
    pub key: String,
    #[serde(default, alias = "Value", deserialize_with = "text")]
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::decode::from_body;
    use crate::client::wire::{CustomerWire, UsageWire};

    fn usage_page(json: &str) -> Page<UsageWire> {
        from_body(json.as_bytes()).expect("page decodes")
    }

    #[test]
    fn a_leading_bom_is_stripped_before_parsing() {
        let body = b"\xEF\xBB\xBF{\"value\": [], \"@nextLink\": null}";
        let page: Page<UsageWire> = from_body(body).unwrap();
        assert!(page.next_link.is_none());
        assert_eq!(page.rows().map(|i| i.len()), Some(0));
    }

    #[test]
    fn value_lower_and_upper_case_and_legacy_items_are_all_envelopes() {
        for key in ["Value", "value", "items"] {
            let page = usage_page(&format!(r#"{{"{key}": [{{"licensesActive": 1}}]}}"#));
            assert_eq!(page.rows().unwrap().len(), 1, "{key}");
        }
    }

    #[test]
    fn next_link_total_count_spellings_are_accepted() {
        let a = usage_page(r#"{"Value": [], "@nextLink": "license?top=1&skip=1", "TotalCount": 3}"#);
        let b = usage_page(r#"{"value": [], "nextLink": "x", "totalCount": "3"}"#);
        assert_eq!(a.next_link.as_deref(), Some("license?top=1&skip=1"));
        assert_eq!(b.next_link.as_deref(), Some("x"));
        assert_eq!(a.total_count, Some(3.0));
        assert_eq!(b.total_count, Some(3.0));
    }

    #[test]
    fn an_empty_next_link_means_no_next_page() {
        assert!(
            usage_page(r#"{"Value": [], "@nextLink": ""}"#)
                .next_link
                .is_none()
        );
    }

    #[test]
    fn a_body_without_any_item_key_is_told_apart_from_an_empty_list() {
        assert!(usage_page(r#"{"TotalCount": 0}"#).rows().is_none());
        assert!(matches!(
            usage_page(r#"{"Value": null}"#).items,
            Some(Listed::Null)
        ));
        assert!(matches!(
            usage_page(r#"{"items": null}"#).items,
            Some(Listed::Null)
        ));
    }

    #[test]
    fn customer_links_carry_the_continuation_headers() {
        let page: Page<CustomerWire> = from_body(
            br#"{"items": [], "links": {"next": {"uri": "/customers?size=2&seekOperation=Next", "method": "GET", "headers": [{"key": "MS-ContinuationToken", "value": "AQAAAA=="}]}}}"#,
        )
        .unwrap();
        let next = page.links.unwrap().next.unwrap();
        assert_eq!(next.uri, "/customers?size=2&seekOperation=Next");
        let headers = next.headers.unwrap();
        assert_eq!(
            (headers[0].key.as_str(), headers[0].value.as_str()),
            ("MS-ContinuationToken", "AQAAAA==")
        );
    }
}
