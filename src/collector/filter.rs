//! Which customers and products the exporter exposes: `--collector.customers.include` /
//! `--collector.customers.exclude` and the same for products, as a [`RowFilter`] that rendering
//! applies to every collector's rows before anything is written.
//!
//! Each pattern is a regular expression (Rust `regex` syntax, unanchored like node_exporter's
//! include/exclude flags: add `^…$` to match a whole value) tested against both the id and the
//! name of the object. An object is kept when it matches the include pattern (if there is one) and
//! does not match the exclude pattern: exclude wins. Rows without a customer (the partner-level
//! collectors) are never dropped by the customer patterns, nor rows without a product by the
//! product patterns.

use regex::Regex;

/// An include and an exclude pattern for one kind of object.
#[derive(Debug, Clone, Default)]
pub struct NameFilter {
    pub include: Option<Regex>,
    pub exclude: Option<Regex>,
}

impl NameFilter {
    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    /// Whether the object with this id and name is kept. An object with neither (a row that does
    /// not concern this kind of object) always is.
    pub fn keeps(&self, id: &str, name: &str) -> bool {
        if id.is_empty() && name.is_empty() {
            return true;
        }
        let matches = |re: &Regex| re.is_match(id) || re.is_match(name);
        self.include.as_ref().is_none_or(matches) && !self.exclude.as_ref().is_some_and(matches)
    }
}

/// The customer and product patterns, applied to every collector's rows.
#[derive(Debug, Clone, Default)]
pub struct RowFilter {
    pub customers: NameFilter,
    pub products: NameFilter,
}

impl RowFilter {
    /// Whether the filter keeps every row (the default), so rendering can skip it.
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty() && self.products.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: Option<&str>, exclude: Option<&str>) -> NameFilter {
        NameFilter {
            include: include.map(|p| Regex::new(p).unwrap()),
            exclude: exclude.map(|p| Regex::new(p).unwrap()),
        }
    }

    #[test]
    fn include_matches_the_id_or_the_name_and_exclude_wins() {
        let f = filter(Some("(?i)contoso|^7d3c"), Some("(?i)test"));
        assert!(f.keeps("0112a436", "Contoso Ltd"), "name matches include");
        assert!(f.keeps("7d3c1f0e", "Fabrikam"), "id matches include");
        assert!(!f.keeps("0112a436", "Fabrikam"), "neither matches include");
        assert!(!f.keeps("7d3c1f0e", "Contoso Test"), "exclude wins");
    }

    #[test]
    fn an_empty_filter_keeps_everything_and_rows_without_the_object_are_kept() {
        assert!(NameFilter::default().keeps("a", "b"));
        assert!(
            filter(Some("x"), None).keeps("", ""),
            "a partner-level row has no customer"
        );
        assert!(RowFilter::default().is_empty());
    }
}
