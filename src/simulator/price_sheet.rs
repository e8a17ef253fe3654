//! A price sheet matching the simulated offers, in the layout of Partner Center's new-commerce
//! licence price sheet (the header and date formats of its documentation): `simulate
//! --write-price-sheet FILE` writes it, and `--demo` loads it, so that the demo shows money.
//!
//! Per offer: an annual term billed annually (12 × the monthly list price) and monthly (a cent a
//! month dearer, as the docs say plans differ by cents), a monthly term (20 % dearer) where
//! offered, three-year terms for Dynamics, a superseded annual row that ended last month (10 %
//! cheaper: the reader must take the row in force), and a free trial row for the suites.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::catalog::{Kind, PRODUCTS};
use super::offers::{self, CATALOG_SKU};

/// The header, as documented (with a straight closing quote on the last name).
const HEADER: &str = "\"ProductTitle\",\"ProductId\",\"SkuId\",\"SkuTitle\",\"Publisher\",\"SkuDescription\",\"UnitOfMeasure\",\"TermDuration\",\"BillingPlan\",\"Market\",\"Currency\",\"UnitPrice\",\"PricingTierRangeMin\",\"PricingTierRangeMax\",\"EffectiveStartDate\",\"EffectiveEndDate\",\"Tags\",\"ERP Price\"";

/// `2/1/2019 12:00:00 AM`.
fn us_date(d: NaiveDate) -> String {
    format!("{}/{}/{} 12:00:00 AM", d.month(), d.day(), d.year())
}

fn quoted(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(",")
}

/// The sheet in force at `now` (prices from the first of its month).
pub fn csv(now: DateTime<Utc>) -> String {
    let today = now.date_naive();
    let month_start = today.with_day(1).unwrap_or(today);
    let previous = month_start
        .pred_opt()
        .and_then(|d| d.with_day(1))
        .unwrap_or(month_start);
    let open_end = "11/30/9999 11:59:00 PM";
    let mut lines = vec![HEADER.to_owned()];
    for product in PRODUCTS {
        let offer = offers::of(product);
        let mut row = |term: &str, plan: &str, price: f64, start: &str, end: &str, tags: &str| {
            let price = format!("{price:.2}");
            let erp = format!("{:.2}", price.parse::<f64>().unwrap_or(0.0) * 1.2);
            lines.push(quoted(&[
                offer.title,
                offer.catalog_product,
                CATALOG_SKU,
                offer.title,
                "Microsoft Corporation",
                "Simulated offer, for demos and tests: not a real price.",
                "",
                term,
                plan,
                "US",
                "USD",
                &price,
                "",
                "",
                start,
                end,
                tags,
                &erp,
            ]));
        };
        let (current, old) = (us_date(month_start), us_date(previous));
        let monthly = offer.monthly_usd;
        row("P1Y", "Annual", 12.0 * monthly * 0.9, &old, &current, "License");
        row("P1Y", "Annual", 12.0 * monthly, &current, open_end, "License");
        row(
            "P1Y",
            "Monthly",
            12.0 * (monthly + 0.01),
            &current,
            open_end,
            "License",
        );
        if offer.monthly_term {
            row("P1M", "Monthly", 1.2 * monthly, &current, open_end, "License");
        }
        if offer.triennial {
            row("P3Y", "Annual", 36.0 * monthly, &current, open_end, "License");
            row("P3Y", "Triennial", 36.0 * monthly, &current, open_end, "License");
        }
        if product.kind == Kind::Suite {
            row("P1M", "None", 0.0, &current, open_end, "License; Trial");
        }
    }
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    text
}
