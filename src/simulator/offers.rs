//! What the catalogue's products look like on the commercial side: the offer names subscriptions
//! carry, the new-commerce catalog ids (`offerId` = product:sku:availability), the legacy offer
//! ids, the Entra SKU part numbers subscribed SKUs carry, and list prices.
//!
//! Only Microsoft 365 Business Basic's catalog ids (`CFQ7TTC0LH18:0001:CFQ7TTC0K971`) and
//! Exchange Online Archiving's legacy offer (`2828BE95-…`) are documented; the other catalog ids
//! and legacy offers are synthetic, of the same shape; the simulator relies only on their being
//! stable and distinct. Part numbers are the well-known ones (believed, not verified). Prices are
//! synthetic, close to US list prices, and not authoritative.

use super::catalog::{PRODUCTS, Product};

/// The commercial side of one product of [`PRODUCTS`] (same order).
#[derive(Debug, PartialEq)]
pub struct Offer {
    /// Subscription `offerName` and subscribed SKU `productSku.name`.
    pub title: &'static str,
    /// subscribedskus `productSku.skuPartNumber`.
    pub part_number: &'static str,
    /// New-commerce catalog product id (the SKU is always `0001`).
    pub catalog_product: &'static str,
    /// New-commerce availability id.
    pub availability: &'static str,
    /// Legacy offer id, for products also sold under the legacy programme.
    pub legacy_offer: Option<&'static str>,
    /// List price of one licence for one month of an annual term, USD.
    pub monthly_usd: f64,
    /// Whether a monthly term (P1M) is offered.
    pub monthly_term: bool,
    /// Whether a three-year term (P3Y) is offered.
    pub triennial: bool,
}

/// The catalog SKU id of every simulated offer.
pub const CATALOG_SKU: &str = "0001";

// One positional argument per column keeps the table below one row per product.
#[allow(clippy::too_many_arguments)]
const fn offer(
    title: &'static str,
    part_number: &'static str,
    catalog_product: &'static str,
    availability: &'static str,
    legacy_offer: Option<&'static str>,
    monthly_usd: f64,
    monthly_term: bool,
    triennial: bool,
) -> Offer {
    Offer {
        title,
        part_number,
        catalog_product,
        availability,
        legacy_offer,
        monthly_usd,
        monthly_term,
        triennial,
    }
}

/// The offers, in the order of [`PRODUCTS`].
#[rustfmt::skip]
static OFFERS: &[Offer] = &[
    offer("Office 365 E1", "STANDARDPACK", "CFQ7TTC0S001", "CFQ7TTC0A001", Some("91FD106F-4B2C-4938-95AC-F54F74E9A239"), 10.0, true, false),
    offer("Office 365 E3", "ENTERPRISEPACK", "CFQ7TTC0S002", "CFQ7TTC0A002", Some("796B6B5F-613C-4E24-A17C-EBA730D49C02"), 23.0, true, false),
    offer("Office 365 E5", "ENTERPRISEPREMIUM", "CFQ7TTC0S003", "CFQ7TTC0A003", Some("031C9E47-4802-4248-838E-778FB1D2CC05"), 38.0, true, false),
    offer("Microsoft 365 E3", "SPE_E3", "CFQ7TTC0S004", "CFQ7TTC0A004", Some("4B69A6A0-F4B7-4B6F-8B0F-6A9A5D5C1B10"), 36.0, true, false),
    offer("Microsoft 365 E5", "SPE_E5", "CFQ7TTC0S005", "CFQ7TTC0A005", None, 57.0, true, false),
    offer("Microsoft 365 Business Basic", "O365_BUSINESS_ESSENTIALS", "CFQ7TTC0LH18", "CFQ7TTC0K971", Some("BD938F12-058F-4927-BBA3-AE36B1D2501C"), 6.0, true, false),
    offer("Microsoft 365 Business Standard", "O365_BUSINESS_PREMIUM", "CFQ7TTC0S007", "CFQ7TTC0A007", Some("5C9FD4CC-EDCE-44A8-8E91-07DF09744609"), 12.5, true, false),
    offer("Microsoft 365 Business Premium", "SPB", "CFQ7TTC0S008", "CFQ7TTC0A008", None, 22.0, true, false),
    offer("Exchange Online (Plan 1)", "EXCHANGESTANDARD", "CFQ7TTC0S009", "CFQ7TTC0A009", Some("195416C1-3447-423A-B37B-EE59A99A19C4"), 4.0, true, false),
    offer("Exchange Online (Plan 2)", "EXCHANGEENTERPRISE", "CFQ7TTC0S010", "CFQ7TTC0A010", None, 8.0, true, false),
    offer("Exchange Online Archiving for Exchange Online", "EXCHANGEARCHIVE_ADDON", "CFQ7TTC0S011", "CFQ7TTC0A011", Some("2828BE95-46BA-4F91-B2FD-0BEF192ECF60"), 3.0, false, false),
    offer("Exchange Online Protection", "EOP_ENTERPRISE", "CFQ7TTC0S012", "CFQ7TTC0A012", None, 2.0, false, false),
    offer("Domestic and International Calling Plan", "MCOPSTN2", "CFQ7TTC0S013", "CFQ7TTC0A013", None, 24.0, false, false),
    offer("Microsoft Teams Phone Standard", "MCOEV", "CFQ7TTC0S014", "CFQ7TTC0A014", None, 8.0, true, false),
    offer("Power BI Pro", "POWER_BI_PRO", "CFQ7TTC0S015", "CFQ7TTC0A015", Some("F8A1DB68-0000-4000-8000-00000000B115"), 10.0, true, false),
    offer("Project Plan 3", "PROJECTPROFESSIONAL", "CFQ7TTC0S016", "CFQ7TTC0A016", None, 30.0, true, false),
    offer("Visio Plan 2", "VISIOCLIENT", "CFQ7TTC0S017", "CFQ7TTC0A017", None, 15.0, true, false),
    offer("Dynamics 365 Sales Enterprise", "DYN365_ENTERPRISE_SALES", "CFQ7TTC0S018", "CFQ7TTC0A018", None, 95.0, false, true),
    offer("Dynamics 365 Customer Service Enterprise", "DYN365_ENTERPRISE_CUSTOMER_SERVICE", "CFQ7TTC0S019", "CFQ7TTC0A019", None, 95.0, false, true),
    offer("Dynamics 365 Team Members", "DYN365_TEAM_MEMBERS", "CFQ7TTC0S020", "CFQ7TTC0A020", None, 8.0, true, true),
    offer("Dynamics 365 Business Central Essentials", "DYN365_BUSCENTRAL_ESSENTIAL", "CFQ7TTC0S021", "CFQ7TTC0A021", None, 70.0, false, true),
    offer("Dynamics AX Task", "DYN365_AX_TASK", "CFQ7TTC0S022", "CFQ7TTC0A022", None, 50.0, false, false),
];

/// A free SKU every fifth tenant or so has and nobody sells: it has subscribed-SKU counts and no
/// subscription, so it must never get an unused-licence figure.
pub const FREE_SKU: (&str, &str, &str) = (
    "f30db892-07e9-47e9-837c-80727f46fd3d",
    "FLOW_FREE",
    "Microsoft Power Automate Free",
);

/// The offer of a product of the catalogue.
pub fn of(product: &Product) -> &'static Offer {
    let index = PRODUCTS
        .iter()
        .position(|p| std::ptr::eq(p, product))
        .unwrap_or(0);
    &OFFERS[index.min(OFFERS.len() - 1)]
}

/// The product (and its offer) of a new-commerce catalog product id, any case.
pub fn by_catalog_product(id: &str) -> Option<(&'static Product, &'static Offer)> {
    OFFERS
        .iter()
        .position(|o| o.catalog_product.eq_ignore_ascii_case(id))
        .map(|i| (&PRODUCTS[i], &OFFERS[i]))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_product_has_one_offer_with_distinct_ids() {
        assert_eq!(OFFERS.len(), PRODUCTS.len());
        let catalog: HashSet<&str> = OFFERS.iter().map(|o| o.catalog_product).collect();
        assert_eq!(catalog.len(), OFFERS.len());
        let legacy: Vec<&str> = OFFERS.iter().filter_map(|o| o.legacy_offer).collect();
        assert_eq!(legacy.iter().collect::<HashSet<_>>().len(), legacy.len());
        for id in legacy {
            assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        }
        for p in PRODUCTS {
            assert!(std::ptr::eq(
                by_catalog_product(of(p).catalog_product).unwrap().0,
                p
            ));
        }
    }
}
