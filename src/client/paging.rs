//! Paging, as pure functions: building request URLs, resolving the two kinds of next links, and
//! the guard that keeps a listing from looping forever.
//!
//! - Commercial endpoints: `@nextLink` is followed as sent. Its real shape is undocumented
//!   (reference §4.3): an absolute URL, a root-relative path or a query-string-only link such as
//!   `license?top=10000&skip=10000` (the sister Store analytics API) all resolve against the URL
//!   of the page that carried it.
//! - Legacy collections (`/v1/customers`): `links.next.uri` is relative to `{base}/v1` and may
//!   or may not start with `/v1` (reference §5.1).
//!
//! Every resolved link must stay on the configured Partner Center origin: the bearer token goes
//! with each request, and a link elsewhere would hand it to another host.

use std::collections::HashSet;

use url::Url;

/// `{base}{path_and_query}`, keeping a path prefix of the base URL (e.g. a proxy's `/pc`).
pub(crate) fn api_url(base: &Url, path_and_query: &str) -> Url {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let prefix = base.path().trim_end_matches('/');
    let path = path.trim_start_matches('/');
    let mut url = base.clone();
    url.set_fragment(None);
    url.set_path(&format!("{prefix}/{path}"));
    url.set_query(query.filter(|q| !q.is_empty()));
    url
}

/// Adds `name=value` pairs to `url`'s query, percent-encoding spaces as `%20` as the docs do
/// (`filter=customerTenantId%20eq%20%27…%27`) rather than form-style `+`.
pub(crate) fn append_query(url: &mut Url, pairs: &[(&str, &str)]) {
    let mut query = url.query().unwrap_or_default().to_owned();
    for (name, value) in pairs {
        if !query.is_empty() {
            query.push('&');
        }
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair(name, value)
            .finish();
        // Form encoding turns spaces into `+` and a literal `+` into `%2B`, so every `+` left is
        // a space.
        query.push_str(&encoded.replace('+', "%20"));
    }
    url.set_query(Some(&query));
}

/// The URL of a commercial `@nextLink`.
pub(crate) fn resolve_next_link(current: &Url, base: &Url, link: &str) -> Result<Url, String> {
    let next = current
        .join(link.trim())
        .map_err(|e| format!("the next link {link:?} is not a URL ({e})"))?;
    same_origin(base, &next)?;
    Ok(next)
}

/// The URL of a legacy `links.next.uri`.
pub(crate) fn resolve_collection_link(base: &Url, uri: &str) -> Result<Url, String> {
    let uri = uri.trim();
    if uri.starts_with("http://") || uri.starts_with("https://") {
        let next = Url::parse(uri).map_err(|e| format!("the next link {uri:?} is not a URL ({e})"))?;
        same_origin(base, &next)?;
        return Ok(next);
    }
    let rooted = uri.trim_start_matches('/');
    let under_v1 = rooted == "v1" || rooted.starts_with("v1/") || rooted.starts_with("v1?");
    let path_and_query = if under_v1 {
        format!("/{rooted}")
    } else {
        format!("/v1/{rooted}")
    };
    Ok(api_url(base, &path_and_query))
}

fn same_origin(base: &Url, next: &Url) -> Result<(), String> {
    if next.origin() == base.origin() {
        Ok(())
    } else {
        Err(format!(
            "the next link points to {}, not to the configured Partner Center {}; not following it \
             (the access token would go with it)",
            next.origin().ascii_serialization(),
            base.origin().ascii_serialization()
        ))
    }
}

/// Remembers the pages of one listing and refuses a repeated page or one page too many.
pub(crate) struct PageGuard {
    max_pages: usize,
    seen: HashSet<String>,
}

impl PageGuard {
    pub(crate) fn new(max_pages: usize) -> Self {
        Self {
            max_pages,
            seen: HashSet::new(),
        }
    }

    /// Records the page identified by `key` (its URL plus anything else that selects it, such
    /// as a continuation token), or says why it must not be fetched.
    pub(crate) fn visit(&mut self, key: String) -> Result<(), String> {
        if self.seen.len() >= self.max_pages {
            return Err(format!(
                "the listing has more than {} pages; stopped there (raise --partnercenter.max-pages \
                 if the data really is that large)",
                self.max_pages
            ));
        }
        if !self.seen.insert(key) {
            return Err(format!(
                "Partner Center sent the same next page again after {} pages; stopped to avoid \
                 looping forever",
                self.seen.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    const BASE: &str = "https://api.partnercenter.microsoft.com";
    const USAGE: &str =
        "https://api.partnercenter.microsoft.com/partner/v1/analytics/commercial/usage/license?top=2&skip=0";

    #[test]
    fn api_urls_keep_a_base_path_prefix() {
        assert_eq!(
            api_url(&url("http://proxy:8080/pc/"), "/v1/customers?size=5").as_str(),
            "http://proxy:8080/pc/v1/customers?size=5"
        );
        assert_eq!(
            api_url(&url(BASE), "/v1/customers").as_str(),
            format!("{BASE}/v1/customers")
        );
    }

    #[test]
    fn query_values_are_percent_encoded_with_percent_20_for_spaces() {
        let mut u = url(&format!("{BASE}/x"));
        append_query(
            &mut u,
            &[("top", "10"), ("filter", "customerTenantId eq 'A+B' & x")],
        );
        assert_eq!(
            u.query(),
            Some("top=10&filter=customerTenantId%20eq%20%27A%2BB%27%20%26%20x")
        );
    }

    #[test]
    fn an_absolute_next_link_is_followed_as_is() {
        let next = format!("{BASE}/partner/v1/analytics/commercial/usage/license?top=2&skip=2");
        assert_eq!(
            resolve_next_link(&url(USAGE), &url(BASE), &next)
                .unwrap()
                .as_str(),
            next
        );
    }

    #[test]
    fn a_query_string_only_next_link_resolves_against_the_request_url() {
        let next = resolve_next_link(&url(USAGE), &url(BASE), "license?top=2&skip=2").unwrap();
        assert_eq!(
            next.as_str(),
            format!("{BASE}/partner/v1/analytics/commercial/usage/license?top=2&skip=2")
        );
        let next = resolve_next_link(&url(USAGE), &url(BASE), "?top=2&skip=4").unwrap();
        assert_eq!(next.query(), Some("top=2&skip=4"));
        assert_eq!(next.path(), "/partner/v1/analytics/commercial/usage/license");
    }

    #[test]
    fn a_root_relative_next_link_keeps_the_host() {
        let next = resolve_next_link(&url(USAGE), &url(BASE), "/partner/v1/x?skip=2").unwrap();
        assert_eq!(next.as_str(), format!("{BASE}/partner/v1/x?skip=2"));
    }

    #[test]
    fn a_next_link_to_another_host_is_refused() {
        let err = resolve_next_link(&url(USAGE), &url(BASE), "https://evil.example/steal").unwrap_err();
        assert!(err.contains("evil.example"), "{err}");
        assert!(resolve_collection_link(&url(BASE), "http://evil.example/v1/customers").is_err());
    }

    #[test]
    fn collection_links_are_relative_to_v1_with_or_without_the_prefix() {
        let base = url(BASE);
        for uri in [
            "/customers?size=2&seekOperation=Next",
            "customers?size=2&seekOperation=Next",
            "/v1/customers?size=2&seekOperation=Next",
        ] {
            assert_eq!(
                resolve_collection_link(&base, uri).unwrap().as_str(),
                format!("{BASE}/v1/customers?size=2&seekOperation=Next"),
                "{uri}"
            );
        }
    }

    #[test]
    fn the_page_guard_refuses_a_repeated_page() {
        let mut guard = PageGuard::new(10);
        guard.visit("a".into()).unwrap();
        guard.visit("b".into()).unwrap();
        let err = guard.visit("a".into()).unwrap_err();
        assert!(err.contains("same next page"), "{err}");
    }

    #[test]
    fn the_page_guard_refuses_one_page_too_many() {
        let mut guard = PageGuard::new(2);
        guard.visit("a".into()).unwrap();
        guard.visit("b".into()).unwrap();
        let err = guard.visit("c".into()).unwrap_err();
        assert!(err.contains("more than 2 pages"), "{err}");
    }
}
