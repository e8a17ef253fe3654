//! What Partner Center sends: serde DTOs for the response bodies (their fields read with the
//! tolerant decoders of `decode`), and the mapping from DTOs to the normalised
//! [`crate::model`] rows.
//!
//! Partner Center's documented examples disagree with themselves (reference §4.1, §9), so every
//! decoder here accepts the variants seen so far:
//! - a leading UTF-8 BOM (stripped before parsing, success and error bodies alike);
//! - the envelopes of `page`;
//! - `licensesActive` and the example's `licenseActive`;
//! - counts as JSON numbers or numeric strings (`"63"`);
//! - timestamps with an offset, with `Z`, or without any (then UTC, as the resource docs say);
//! - unknown fields (ignored) and `null` where a string is expected (empty string).
//!
//! A count that is `null`, absent or an empty string becomes 0 in the rows. Dropping the row
//! instead would also drop its other count and its labels; Partner Center omits or nulls values
//! it has no data for, which for a licence count means none.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::decode::{count, guid, guid_text, label, text, timestamp};
use crate::model::{
    Customer, DeploymentRow, PartnerDeploymentRow, PartnerUsageRow, Text, UsageRow, derived_id, id_or_derived,
};

// ----- rows -----

/// A usage row of the commercial endpoint or of the legacy per-customer endpoint.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageWire {
    #[serde(default, deserialize_with = "label")]
    customer_tenant_id: Text,
    #[serde(default, deserialize_with = "label")]
    customer_name: Text,
    #[serde(default, deserialize_with = "label")]
    product_id: Text,
    #[serde(default, deserialize_with = "label")]
    product_name: Text,
    #[serde(default, deserialize_with = "label")]
    workload_code: Text,
    #[serde(default, deserialize_with = "label")]
    workload_name: Text,
    #[serde(default, deserialize_with = "label")]
    service_code: Text,
    #[serde(default, deserialize_with = "label")]
    service_name: Text,
    #[serde(default, deserialize_with = "label")]
    channel: Text,
    /// The usage example spells it `licenseActive`; the field table `licensesActive`. Separate
    /// fields rather than a serde alias, so that a row carrying both is not a "duplicate field"
    /// error failing the whole page: the field table's spelling wins (see `active`).
    #[serde(default, deserialize_with = "count")]
    licenses_active: Option<f64>,
    #[serde(default, rename = "licenseActive", deserialize_with = "count")]
    license_active: Option<f64>,
    #[serde(default, deserialize_with = "count")]
    licenses_qualified: Option<f64>,
    #[serde(default, rename = "licenseQualified", deserialize_with = "count")]
    license_qualified: Option<f64>,
    #[serde(default, deserialize_with = "timestamp")]
    processed_date_time: Option<DateTime<Utc>>,
}

impl UsageWire {
    /// `licensesActive` (the documented field table's spelling) when present, else the usage
    /// example's `licenseActive`; absent or null → 0.
    fn active(&self) -> f64 {
        self.licenses_active.or(self.license_active).unwrap_or(0.0)
    }

    /// Like [`UsageWire::active`], for `licensesQualified` / `licenseQualified`.
    fn qualified(&self) -> f64 {
        self.licenses_qualified.or(self.license_qualified).unwrap_or(0.0)
    }

    /// A row of `GET {usage_path}`.
    pub(crate) fn into_commercial(self) -> UsageRow {
        let (licenses_active, licenses_qualified) = (self.active(), self.qualified());
        UsageRow {
            customer_tenant_id: id_or_derived(guid_text(self.customer_tenant_id), &self.customer_name),
            product_id: id_or_derived(guid_text(self.product_id), &self.product_name),
            workload_code: id_or_derived(self.workload_code, &self.workload_name),
            customer_name: self.customer_name,
            product_name: self.product_name,
            workload_name: self.workload_name,
            service_code: self.service_code,
            service_name: self.service_name,
            channel: self.channel,
            licenses_active,
            licenses_qualified,
            processed_at: self.processed_date_time,
        }
    }

    /// A row of `GET /v1/customers/{id}/analytics/licenses/usage`: the legacy rows carry no
    /// customer id or product id, and their `serviceName` holds a code (`o365`).
    pub(crate) fn into_legacy(self, customer_id: &str) -> UsageRow {
        let (licenses_active, licenses_qualified) = (self.active(), self.qualified());
        let (service_code, service_name) = code_or_name(self.service_code, self.service_name);
        UsageRow {
            customer_tenant_id: guid(customer_id).into(),
            customer_name: self.customer_name,
            product_id: derived_id(&self.product_name).into(),
            workload_code: id_or_derived(self.workload_code, &self.workload_name),
            product_name: self.product_name,
            workload_name: self.workload_name,
            service_code,
            service_name,
            channel: self.channel,
            licenses_active,
            licenses_qualified,
            processed_at: self.processed_date_time,
        }
    }
}

/// A deployment row of the commercial endpoint or of the legacy per-customer endpoint.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeploymentWire {
    #[serde(default, deserialize_with = "label")]
    customer_tenant_id: Text,
    #[serde(default, deserialize_with = "label")]
    customer_name: Text,
    #[serde(default, deserialize_with = "label")]
    product_id: Text,
    #[serde(default, deserialize_with = "label")]
    product_name: Text,
    #[serde(default, deserialize_with = "label")]
    service_code: Text,
    #[serde(default, deserialize_with = "label")]
    service_name: Text,
    #[serde(default, deserialize_with = "label")]
    channel: Text,
    /// Both spellings kept apart, as for usage: `licensesDeployed` wins over `licenseDeployed`.
    #[serde(default, deserialize_with = "count")]
    licenses_deployed: Option<f64>,
    #[serde(default, rename = "licenseDeployed", deserialize_with = "count")]
    license_deployed: Option<f64>,
    #[serde(default, deserialize_with = "count")]
    licenses_sold: Option<f64>,
    #[serde(default, rename = "licenseSold", deserialize_with = "count")]
    license_sold: Option<f64>,
    #[serde(default, deserialize_with = "timestamp")]
    processed_date_time: Option<DateTime<Utc>>,
}

impl DeploymentWire {
    /// A row of `GET {deployment_path}`.
    pub(crate) fn into_commercial(self) -> DeploymentRow {
        DeploymentRow {
            customer_tenant_id: id_or_derived(guid_text(self.customer_tenant_id), &self.customer_name),
            product_id: id_or_derived(guid_text(self.product_id), &self.product_name),
            customer_name: self.customer_name,
            product_name: self.product_name,
            service_code: self.service_code,
            service_name: self.service_name,
            channel: self.channel,
            licenses_deployed: self.licenses_deployed.or(self.license_deployed).unwrap_or(0.0),
            licenses_sold: self.licenses_sold.or(self.license_sold).unwrap_or(0.0),
            processed_at: self.processed_date_time,
        }
    }

    /// A row of `GET /v1/customers/{id}/analytics/licenses/deployment`.
    pub(crate) fn into_legacy(self, customer_id: &str) -> DeploymentRow {
        let (service_code, service_name) = code_or_name(self.service_code, self.service_name);
        DeploymentRow {
            customer_tenant_id: guid(customer_id).into(),
            customer_name: self.customer_name,
            product_id: derived_id(&self.product_name).into(),
            product_name: self.product_name,
            service_code,
            service_name,
            channel: self.channel,
            licenses_deployed: self.licenses_deployed.or(self.license_deployed).unwrap_or(0.0),
            licenses_sold: self.licenses_sold.or(self.license_sold).unwrap_or(0.0),
            processed_at: self.processed_date_time,
        }
    }
}

/// A row of `GET /v1/analytics/licenses/deployment`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartnerDeploymentWire {
    #[serde(default, deserialize_with = "label")]
    service_code: Text,
    #[serde(default, deserialize_with = "label")]
    service_name: Text,
    #[serde(default, deserialize_with = "label")]
    channel: Text,
    #[serde(default, deserialize_with = "count")]
    prorated_deployment_percent: Option<f64>,
    #[serde(default, deserialize_with = "count")]
    licenses_sold: Option<f64>,
    #[serde(default, deserialize_with = "timestamp")]
    processed_date_time: Option<DateTime<Utc>>,
}

impl From<PartnerDeploymentWire> for PartnerDeploymentRow {
    fn from(w: PartnerDeploymentWire) -> Self {
        PartnerDeploymentRow {
            service_code: code_or_name(w.service_code, w.service_name).0,
            channel: w.channel,
            prorated_deployment_percent: w.prorated_deployment_percent.unwrap_or(0.0),
            licenses_sold: w.licenses_sold.unwrap_or(0.0),
            processed_at: w.processed_date_time,
        }
    }
}

/// A row of `GET /v1/analytics/licenses/usage`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartnerUsageWire {
    #[serde(default, deserialize_with = "label")]
    service_code: Text,
    #[serde(default, deserialize_with = "label")]
    service_name: Text,
    #[serde(default, deserialize_with = "label")]
    workload_name: Text,
    #[serde(default, deserialize_with = "label")]
    channel: Text,
    #[serde(default, deserialize_with = "count")]
    prorated_licenses_usage_percent: Option<f64>,
    #[serde(default, deserialize_with = "timestamp")]
    processed_date_time: Option<DateTime<Utc>>,
}

impl From<PartnerUsageWire> for PartnerUsageRow {
    fn from(w: PartnerUsageWire) -> Self {
        PartnerUsageRow {
            service_code: code_or_name(w.service_code, w.service_name).0,
            workload_code: derived_id(&w.workload_name).into(),
            workload_name: w.workload_name,
            channel: w.channel,
            prorated_licenses_usage_percent: w.prorated_licenses_usage_percent.unwrap_or(0.0),
            processed_at: w.processed_date_time,
        }
    }
}

/// An item of `GET /v1/customers`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomerWire {
    #[serde(default, deserialize_with = "text")]
    id: String,
    #[serde(default)]
    company_profile: Option<CompanyProfileWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompanyProfileWire {
    #[serde(default, deserialize_with = "text")]
    tenant_id: String,
    #[serde(default, deserialize_with = "text")]
    domain: String,
    #[serde(default, deserialize_with = "text")]
    company_name: String,
}

impl CustomerWire {
    /// The customer, or `None` for an item without an id (unusable in `/v1/customers/{id}/…`).
    /// A missing `companyProfile.tenantId` falls back to the id, which equals it in every
    /// documented example.
    pub(crate) fn into_customer(self) -> Option<Customer> {
        let id = guid(&self.id);
        if id.is_empty() {
            return None;
        }
        let profile = self.company_profile;
        let tenant_id = profile
            .as_ref()
            .map(|p| guid(&p.tenant_id))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| id.clone());
        let (company_name, domain) = profile.map(|p| (p.company_name, p.domain)).unwrap_or_default();
        Some(Customer {
            id,
            tenant_id,
            company_name,
            domain,
        })
    }
}

/// Legacy rows put the code (`o365`) into `serviceName`; prefer a real `serviceCode` when sent,
/// and then `serviceName` is the name. Returns the code and the name (empty when unknown).
fn code_or_name(code: Text, name: Text) -> (Text, Text) {
    if code.trim().is_empty() {
        (name, Text::default())
    } else {
        (code, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::decode::from_body;
    use crate::client::page::Page;

    fn usage_page(json: &str) -> Page<UsageWire> {
        from_body(json.as_bytes()).expect("page decodes")
    }

    #[test]
    fn a_row_with_both_spellings_of_a_count_takes_the_field_tables_spelling() {
        let page =
            usage_page(r#"{"Value": [{"licenseActive": 3, "licensesActive": 5, "licenseQualified": 9}]}"#);
        let row = page.rows().unwrap().remove(0).into_commercial();
        assert_eq!((row.licenses_active, row.licenses_qualified), (5.0, 9.0));
        let page: Page<DeploymentWire> =
            from_body(br#"{"Value": [{"licenseSold": 1, "licensesSold": 2, "licenseDeployed": 1}]}"#)
                .unwrap();
        let row = page.rows().unwrap().remove(0).into_commercial();
        assert_eq!((row.licenses_sold, row.licenses_deployed), (2.0, 1.0));
    }

    #[test]
    fn a_row_with_a_repeated_key_takes_its_last_value() {
        let page = usage_page(
            r#"{"Value": [{"customerName": "first", "customerName": "last", "licensesActive": 1}]}"#,
        );
        let row = page.rows().unwrap().remove(0).into_commercial();
        assert_eq!(row.customer_name, "last");
    }

    #[test]
    fn license_active_without_s_is_read_as_licenses_active() {
        let page = usage_page(r#"{"Value": [{"licenseActive": 4, "licensesQualified": 5}]}"#);
        let row = page.rows().unwrap().remove(0).into_commercial();
        assert_eq!((row.licenses_active, row.licenses_qualified), (4.0, 5.0));
    }

    #[test]
    fn counts_sent_as_strings_are_numbers() {
        let page = usage_page(r#"{"Value": [{"licensesActive": "63", "licensesQualified": " 7.5 "}]}"#);
        let row = page.rows().unwrap().remove(0).into_commercial();
        assert_eq!((row.licenses_active, row.licenses_qualified), (63.0, 7.5));
    }

    #[test]
    fn null_absent_and_empty_counts_become_zero() {
        let page = usage_page(r#"{"Value": [{"licensesActive": null, "licensesQualified": ""}, {}]}"#);
        for wire in page.rows().unwrap() {
            let row = wire.into_commercial();
            assert_eq!((row.licenses_active, row.licenses_qualified), (0.0, 0.0));
        }
    }

    #[test]
    fn a_non_numeric_count_is_a_decode_error() {
        let err = from_body::<Page<UsageWire>>(br#"{"Value": [{"licensesActive": "many"}]}"#)
            .err()
            .expect("rejected");
        assert!(err.to_string().contains("many"), "{err}");
    }

    #[test]
    fn null_strings_and_numeric_names_and_unknown_fields_are_tolerated() {
        let page =
            usage_page(r#"{"Value": [{"customerName": null, "workloadName": 12, "newField": {"a": [1]}}]}"#);
        let row = page.rows().unwrap().remove(0).into_commercial();
        assert_eq!(row.customer_name, "");
        assert_eq!(row.workload_name, "12");
    }

    #[test]
    fn guids_are_lower_cased() {
        let page = usage_page(
            r#"{"Value": [{"customerTenantId": "0112A436-B14E-4888-967B-CA4BB2CF1234", "productId": "6FD2C87F-B296-42F0-B197-1E91E994B900"}]}"#,
        );
        let row = page.rows().unwrap().remove(0).into_commercial();
        assert_eq!(row.customer_tenant_id, "0112a436-b14e-4888-967b-ca4bb2cf1234");
        assert_eq!(row.product_id, "6fd2c87f-b296-42f0-b197-1e91e994b900");
    }

    #[test]
    fn an_unparseable_timestamp_leaves_processed_at_empty_instead_of_failing() {
        let page = usage_page(r#"{"Value": [{"processedDateTime": "14/10/2018"}]}"#);
        assert_eq!(
            page.rows().unwrap().remove(0).into_commercial().processed_at,
            None
        );
    }

    #[test]
    fn legacy_rows_take_the_requested_customer_id_and_the_service_name_as_code() {
        let page = usage_page(r#"{"items": [{"serviceName": "o365", "workloadName": "Exchange"}]}"#);
        let row = page
            .rows()
            .unwrap()
            .remove(0)
            .into_legacy("4D3CF487-70F4-4E1E-9FF1-B2BFCE8D9F04");
        assert_eq!(row.customer_tenant_id, "4d3cf487-70f4-4e1e-9ff1-b2bfce8d9f04");
        assert_eq!(row.service_code, "o365");
        assert_eq!(
            row.service_name, "",
            "the legacy serviceName is a code, not a name"
        );
        assert_eq!(row.product_id, "", "no product name, so no derived id either");
        assert_eq!(row.workload_code, derived_id("Exchange"));
    }

    #[test]
    fn legacy_rows_prefer_a_service_code_when_one_is_sent() {
        let page = usage_page(
            r#"{"items": [{"serviceCode": "O365", "serviceName": "Microsoft 365", "workloadCode": "EXO"}]}"#,
        );
        let row = page.rows().unwrap().remove(0).into_legacy("x");
        assert_eq!(
            (row.service_code.as_str(), row.workload_code.as_str()),
            ("O365", "EXO")
        );
        assert_eq!(row.service_name, "Microsoft 365");
    }

    #[test]
    fn rows_that_name_an_object_without_its_id_get_the_derived_id() {
        // A legacy per-customer row names its product only; a commercial row grouped without
        // productId likewise.
        let page = usage_page(r#"{"items": [{"productName": "OFFICE 365 E3", "workloadName": "Exchange"}]}"#);
        let legacy = page.rows().unwrap().remove(0).into_legacy("c");
        assert_eq!(legacy.product_id, derived_id("OFFICE 365 E3"));
        let page = usage_page(
            r#"{"Value": [{"customerName": "Contoso", "productName": "OFFICE 365 E3", "serviceCode": "o365", "serviceName": "Microsoft Office 365"}]}"#,
        );
        let commercial = page.rows().unwrap().remove(0).into_commercial();
        assert_eq!(
            commercial.product_id, legacy.product_id,
            "the same name, the same id"
        );
        assert_eq!(commercial.customer_tenant_id, derived_id("Contoso"));
        assert_eq!(commercial.workload_code, "", "no workload at all: no id");
        assert_eq!(commercial.service_name, "Microsoft Office 365");
    }

    #[test]
    fn customers_fall_back_to_the_id_when_the_profile_has_no_tenant_id() {
        let page: Page<CustomerWire> = from_body(
            br#"{"items": [{"id": "AB"}, {"id": "", "companyProfile": {}}, {"id": "c", "companyProfile": {"tenantId": "D", "domain": "d.example", "companyName": "D Ltd"}}]}"#,
        )
        .unwrap();
        let customers: Vec<_> = page
            .rows()
            .unwrap()
            .into_iter()
            .filter_map(CustomerWire::into_customer)
            .collect();
        assert_eq!(customers.len(), 2, "the id-less item is skipped");
        assert_eq!(customers[0].tenant_id, "ab");
        assert_eq!(customers[1].tenant_id, "d");
        assert_eq!(customers[1].company_name, "D Ltd");
    }
}
