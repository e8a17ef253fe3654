//! The Partner Center bodies, written by hand with the `json` writer: the rows of each endpoint,
//! their envelopes and links. Commercial rows are rendered once per [`super::data::View`] and a
//! page is then a copy of a contiguous slice, which keeps 10,000-row pages cheap.
//!
//! Spellings follow the documented examples: the commercial envelope is
//! `{"Value":[…],"@nextLink":…,"TotalCount":n}`, commercial timestamps carry no offset
//! (`2018-10-14T00:00:00`), legacy ones do (`…+00:00`), commercial GUIDs are upper-case.

use chrono::NaiveDate;

use super::customers::Customer;
use super::json::{Obj, Rendered, json_str};
use super::records::{CHANNEL, CustomerSet, DeploymentRec, PartnerDeployment, PartnerUsage, UsageRec};

/// The name of the active-licenses field of the commercial usage rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UsageSpelling {
    /// `licenseActive`, as the documented response example spells it.
    #[value(name = "licenseActive")]
    LicenseActive,
    /// `licensesActive`, as the documented field table and `groupby` text spell it.
    #[value(name = "licensesActive")]
    LicensesActive,
}

impl UsageSpelling {
    /// The JSON key.
    pub fn key(self) -> &'static str {
        match self {
            UsageSpelling::LicenseActive => "licenseActive",
            UsageSpelling::LicensesActive => "licensesActive",
        }
    }
}

/// Scale of the legacy `…Percent` fields: UNCONFIRMED, the documented examples show only 0.0 and
/// 1.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PercentScale {
    /// 0–100, rounded to two decimals. The default: the field names say "percent", and the
    /// partner example's `1.0` for 4464 sold licenses fits a demo partner that deployed ~1 %.
    Percent,
    /// 0–1, rounded to four decimals.
    Fraction,
}

/// Output choices fixed for the simulator's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub spelling: UsageSpelling,
    pub percent: PercentScale,
}

impl Style {
    /// `num / den` in the configured scale; 0 when `den` is 0.
    pub fn percent(&self, num: u64, den: u64) -> f64 {
        if den == 0 {
            return 0.0;
        }
        let ratio = num as f64 / den as f64;
        match self.percent {
            PercentScale::Percent => (ratio * 10_000.0).round() / 100.0,
            PercentScale::Fraction => (ratio * 10_000.0).round() / 10_000.0,
        }
    }
}

/// A commercial timestamp: midnight, no offset.
pub fn commercial_date(date: NaiveDate) -> String {
    format!("{}T00:00:00", date.format("%Y-%m-%d"))
}

/// A legacy timestamp: midnight with a `+00:00` offset.
pub fn legacy_date(date: NaiveDate) -> String {
    format!("{}T00:00:00+00:00", date.format("%Y-%m-%d"))
}

/// One commercial usage row.
pub fn usage_row(buf: &mut Vec<u8>, set: &CustomerSet, style: Style, r: &UsageRec, processed: &str) {
    let c = set.customer(r.customer);
    let p = set.sub(r.customer, r.sub).product;
    let w = set.workload(r);
    Obj::new(buf)
        .str("processedDateTime", processed)
        .str("workloadCode", w.code)
        .str("workloadName", w.name)
        .str("serviceCode", p.service.code())
        .str("serviceName", p.service.name())
        .str("channel", CHANNEL)
        .str("customerTenantId", &c.id_upper)
        .str("customerName", &c.name)
        .str("productId", p.id)
        .str("productName", p.name)
        .int(style.spelling.key(), r.active)
        .int("licensesQualified", r.qualified)
        .end();
}

/// One commercial deployment row.
pub fn deployment_row(buf: &mut Vec<u8>, set: &CustomerSet, r: &DeploymentRec, processed: &str) {
    let c = set.customer(r.customer);
    let p = set.sub(r.customer, r.sub).product;
    Obj::new(buf)
        .str("processedDateTime", processed)
        .str("serviceCode", p.service.code())
        .str("serviceName", p.service.name())
        .str("channel", CHANNEL)
        .str("customerTenantId", &c.id_upper)
        .str("customerName", &c.name)
        .str("productId", p.id)
        .str("productName", p.name)
        .int("licensesDeployed", r.deployed)
        .int("licensesSold", r.sold)
        .end();
}

/// The commercial envelope around already rendered rows.
pub fn commercial_page(rows: &[u8], next_link: Option<&str>, total: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(rows.len() + 128);
    buf.extend_from_slice(b"{\"Value\":[");
    buf.extend_from_slice(rows);
    buf.extend_from_slice(b"],\"@nextLink\":");
    match next_link {
        Some(link) => json_str(&mut buf, link),
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(format!(",\"TotalCount\":{total}}}").as_bytes());
    buf
}

/// The legacy collection envelope: `{"totalCount":n,"items":[…],"attributes":{…}}`.
pub fn legacy_collection(items: &Rendered) -> Vec<u8> {
    let mut buf = Vec::with_capacity(items.rows(0..items.len()).len() + 96);
    let mut items_json = Vec::with_capacity(items.rows(0..items.len()).len() + 2);
    items_json.push(b'[');
    items_json.extend_from_slice(items.rows(0..items.len()));
    items_json.push(b']');
    Obj::new(&mut buf)
        .int("totalCount", items.len() as u64)
        .raw("items", &items_json)
        .object_type("Collection")
        .end();
    buf
}

/// Legacy partner deployment rows (`PartnerLicensesDeploymentInsights`).
pub fn partner_deployment(style: Style, processed: NaiveDate, rows: &[PartnerDeployment]) -> Vec<u8> {
    let date = legacy_date(processed);
    legacy_collection(&Rendered::build(rows.iter(), |buf, d| {
        Obj::new(buf)
            .float("proratedDeploymentPercent", style.percent(d.deployed, d.sold))
            .int("licensesSold", d.sold)
            .str("processedDateTime", &date)
            .str("serviceName", d.service.code())
            .str("channel", CHANNEL)
            .object_type("PartnerLicensesDeploymentInsights")
            .end();
    }))
}

/// Legacy partner usage rows (`PartnerLicensesUsageInsights`).
pub fn partner_usage(style: Style, processed: NaiveDate, rows: &[PartnerUsage]) -> Vec<u8> {
    let date = legacy_date(processed);
    legacy_collection(&Rendered::build(rows.iter(), |buf, u| {
        Obj::new(buf)
            .float(
                "proratedLicensesUsagePercent",
                style.percent(u.active, u.qualified),
            )
            .str("workloadName", u.workload.name)
            .str("processedDateTime", &date)
            .str("serviceName", u.service.code())
            .str("channel", CHANNEL)
            .object_type("PartnerLicensesUsageInsights")
            .end();
    }))
}

/// Legacy per-customer deployment rows, shaped like the documented example (no customer id,
/// service code or product id, although the resource table lists some of them).
pub fn customer_deployment(
    set: &CustomerSet,
    style: Style,
    processed: NaiveDate,
    rows: &[DeploymentRec],
) -> Vec<u8> {
    let date = legacy_date(processed);
    legacy_collection(&Rendered::build(rows.iter(), |buf, r| {
        let c = set.customer(r.customer);
        let p = set.sub(r.customer, r.sub).product;
        Obj::new(buf)
            .str("customerName", &c.name)
            .str("productName", p.name)
            .int("licensesDeployed", r.deployed)
            .float("deploymentPercent", style.percent(r.deployed, r.sold))
            .int("licensesSold", r.sold)
            .str("processedDateTime", &date)
            .str("serviceName", p.service.code())
            .str("channel", CHANNEL)
            .object_type("CustomerLicensesDeploymentInsights")
            .end();
    }))
}

/// Legacy per-customer usage rows, shaped like the documented example (no workload code).
pub fn customer_usage(set: &CustomerSet, style: Style, processed: NaiveDate, rows: &[UsageRec]) -> Vec<u8> {
    let date = legacy_date(processed);
    legacy_collection(&Rendered::build(rows.iter(), |buf, r| {
        let c = set.customer(r.customer);
        let p = set.sub(r.customer, r.sub).product;
        Obj::new(buf)
            .str("customerName", &c.name)
            .str("productName", p.name)
            .int("licensesActive", r.active)
            .int("licensesQualified", r.qualified)
            .float("usagePercent", style.percent(r.active, r.qualified))
            .str("workloadName", set.workload(r).name)
            .str("processedDateTime", &date)
            .str("serviceName", p.service.code())
            .str("channel", CHANNEL)
            .object_type("CustomerLicensesUsageInsights")
            .end();
    }))
}

/// A `links` entry: `{"uri":…,"method":"GET","headers":[…]}`.
pub fn link(uri: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut h = Vec::from(&b"["[..]);
    for (i, (k, v)) in headers.iter().enumerate() {
        if i > 0 {
            h.push(b',');
        }
        Obj::new(&mut h).str("key", k).str("value", v).end();
    }
    h.push(b']');
    Obj::new(&mut buf)
        .str("uri", uri)
        .str("method", "GET")
        .raw("headers", &h)
        .end();
    buf
}

/// One `/v1/customers` item.
pub fn customer_item(buf: &mut Vec<u8>, c: &Customer) {
    let mut profile = Vec::new();
    Obj::new(&mut profile)
        .str("tenantId", &c.id)
        .str("domain", &c.domain)
        .str("companyName", &c.name)
        .raw(
            "links",
            &self_links(&link(&format!("/customers/{}/profiles/company", c.id), &[])),
        )
        .object_type("CustomerCompanyProfile")
        .end();
    Obj::new(buf)
        .str("id", &c.id)
        .raw("companyProfile", &profile)
        .str("relationshipToPartner", "reseller")
        .raw("links", &self_links(&link(&format!("/customers/{}", c.id), &[])))
        .object_type("Customer")
        .end();
}

fn self_links(self_link: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    Obj::new(&mut buf).raw("self", self_link).end();
    buf
}

/// A `/v1/customers` page; `next` is the continuation link, if more customers follow.
pub fn customers_page(items: &[u8], count: usize, self_link: &[u8], next: Option<&[u8]>) -> Vec<u8> {
    let mut links = Vec::new();
    let mut l = Obj::new(&mut links);
    l.raw("self", self_link);
    if let Some(next) = next {
        l.raw("next", next);
    }
    l.end();
    let mut items_json = Vec::with_capacity(items.len() + 2);
    items_json.push(b'[');
    items_json.extend_from_slice(items);
    items_json.push(b']');
    let mut buf = Vec::with_capacity(items_json.len() + links.len() + 96);
    Obj::new(&mut buf)
        .int("totalCount", count as u64)
        .raw("items", &items_json)
        .raw("links", &links)
        .object_type("Collection")
        .end();
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_scales_round_as_documented() {
        let p = Style {
            spelling: UsageSpelling::LicenseActive,
            percent: PercentScale::Percent,
        };
        assert_eq!(p.percent(1, 3), 33.33);
        assert_eq!(p.percent(1, 0), 0.0);
        let f = Style {
            percent: PercentScale::Fraction,
            ..p
        };
        assert_eq!(f.percent(1, 3), 0.3333);
    }
}
