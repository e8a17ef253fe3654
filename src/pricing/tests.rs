//! Tests of `pricing`.

use chrono::TimeZone;

use super::*;

const HEADER: &str = "\"ProductTitle\",\"ProductId\",\"SkuId\",\"SkuTitle\",\"Publisher\",\"SkuDescription\",\"UnitOfMeasure\",\"TermDuration\",\"BillingPlan\",\"Market\",\"Currency\",\"UnitPrice\",\"PricingTierRangeMin\",\"PricingTierRangeMax\",\"EffectiveStartDate\",\"EffectiveEndDate\",\"Tags\",\"ERP Price“";
/// Verbatim from the price sheet documentation (note the comma inside SkuDescription).
const DOC_ROW: &str = "\"Advanced Communications\",\"CFQ7TTC0HDK0\",\"0001\",\"Advanced Communications\",\"Microsoft Corporation\",\"Advanced meetings, calling, workflow integration, and management tools for IT.\",\"\",\"P1Y\",\"Annual\",\"US\",\"USD\",\"115.2\",\"\",\"\",\"2/1/2019 12:00:00 AM\",\"2/4/2021 8:35:31 PM\",\"License\",\"144\"";
const BASIC_ROW: &str = "\"Microsoft 365 Business Basic\",\"CFQ7TTC0LH18\",\"1\",\"Microsoft 365 Business Basic\",\"Microsoft Corporation\",\"Best for businesses\",\"\",\"P1Y\",\"Annual\",\"US\",\"USD\",\"48\",\"\",\"\",\"2/1/2023 0:00\",\"11/30/9999 23:59\",\"License; Trial\",\"60\"";

fn config(column: PriceColumn) -> PricingConfig {
    PricingConfig {
        path: PathBuf::from("prices.csv"),
        market: None,
        currency: None,
        column,
    }
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn parse_lines(
    lines: &[&str],
    column: PriceColumn,
    now: DateTime<Utc>,
) -> Result<Vec<PriceRow>, PricingError> {
    let text = lines.join("\r\n");
    parse(text.as_bytes(), Path::new("prices.csv"), &config(column), now).map(|(p, _)| p)
}

#[test]
fn the_documented_header_and_row_give_a_monthly_price() {
    let prices = parse_lines(&[HEADER, DOC_ROW], PriceColumn::Unit, at(2020, 6, 1)).unwrap();
    assert_eq!(prices.len(), 1);
    let p = &prices[0];
    assert_eq!(
        (p.product_id.as_str(), p.sku_id.as_str()),
        ("CFQ7TTC0HDK0", "0001")
    );
    assert_eq!(
        (p.term_duration.text.as_str(), p.billing_plan.label()),
        ("P1Y", "annual")
    );
    assert_eq!(p.currency, "USD");
    assert!((p.monthly_price - 9.6).abs() < 1e-9, "{}", p.monthly_price);
    let erp = parse_lines(&[HEADER, DOC_ROW], PriceColumn::Erp, at(2020, 6, 1)).unwrap();
    assert!((erp[0].monthly_price - 12.0).abs() < 1e-9);
}

#[test]
fn a_short_sku_id_is_padded_and_a_far_end_date_means_open_ended() {
    let prices = parse_lines(&[HEADER, BASIC_ROW], PriceColumn::Unit, at(2026, 12, 1)).unwrap();
    assert_eq!(prices[0].sku_id, "0001");
    assert!((prices[0].monthly_price - 4.0).abs() < 1e-9);
}

#[test]
fn the_row_in_force_wins_over_an_older_and_a_future_one() {
    let row = |price: &str, start: &str, end: &str| {
        format!(
            "\"E3\",\"CFQ7TTC0LF8Q\",\"0001\",\"E3\",\"M\",\"\",\"\",\"P1Y\",\"Annual\",\"US\",\"USD\",\"{price}\",\"\",\"\",\"{start}\",\"{end}\",\"\",\"\""
        )
    };
    let old = row("240", "1/1/2025 12:00:00 AM", "1/1/2026 12:00:00 AM");
    let current = row("276", "1/1/2026 12:00:00 AM", "11/30/9999 11:59:00 PM");
    let future = row("300", "1/1/2027 12:00:00 AM", "11/30/9999 11:59:00 PM");
    let prices = parse_lines(
        &[HEADER, &current, &old, &future],
        PriceColumn::Unit,
        at(2026, 6, 1),
    )
    .unwrap();
    assert_eq!(prices.len(), 1);
    assert!(
        (prices[0].monthly_price - 23.0).abs() < 1e-9,
        "{}",
        prices[0].monthly_price
    );
}

#[test]
fn several_currencies_are_an_error_unless_one_is_chosen() {
    let eur = DOC_ROW.replace("\"US\",\"USD\"", "\"DE\",\"EUR\"");
    let err = parse_lines(&[HEADER, DOC_ROW, &eur], PriceColumn::Unit, at(2020, 6, 1)).unwrap_err();
    assert!(err.to_string().contains("EUR, USD"), "{err}");
    let mut chosen = config(PriceColumn::Unit);
    chosen.currency = Some("eur".into());
    let text = [HEADER, DOC_ROW, &eur].join("\n");
    let (prices, summary) = parse(text.as_bytes(), Path::new("p"), &chosen, at(2020, 6, 1)).unwrap();
    assert_eq!(
        (prices.len(), summary.currency.as_str(), summary.filtered),
        (1, "EUR", 1)
    );
}

#[test]
fn rows_with_day_terms_or_bad_prices_are_skipped_and_counted() {
    let days = DOC_ROW.replace("\"P1Y\"", "\"P30D\"");
    let bad = DOC_ROW
        .replace("\"115.2\"", "\"n/a\"")
        .replace("CFQ7TTC0HDK0", "OTHER");
    let text = [HEADER, DOC_ROW, &days, &bad].join("\n");
    let (prices, summary) = parse(
        text.as_bytes(),
        Path::new("p"),
        &config(PriceColumn::Unit),
        at(2020, 6, 1),
    )
    .unwrap();
    assert_eq!(prices.len(), 1);
    assert_eq!(
        (summary.rows, summary.skipped_term, summary.skipped_price),
        (3, 1, 1)
    );
}

#[test]
fn missing_columns_are_named_and_zips_and_empty_files_refused() {
    let err = parse_lines(
        &["\"ProductId\",\"Currency\"", "\"A\",\"USD\""],
        PriceColumn::Unit,
        at(2020, 1, 1),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "prices.csv has no column(s) SkuId, TermDuration, BillingPlan, UnitPrice (is it a new-commerce licence price sheet?)"
    );
    let zip = parse(
        b"PK\x03\x04rest",
        Path::new("p.zip"),
        &config(PriceColumn::Unit),
        at(2020, 1, 1),
    )
    .unwrap_err();
    assert!(matches!(zip, PricingError::Zip { .. }));
    let empty = parse_lines(&[HEADER], PriceColumn::Unit, at(2020, 1, 1)).unwrap_err();
    assert!(matches!(empty, PricingError::Empty { .. }), "{empty}");
}

#[test]
fn a_bom_and_lf_line_ends_are_fine() {
    let text = format!("\u{FEFF}{HEADER}\n{DOC_ROW}\n");
    let (prices, _) = parse(
        text.as_bytes(),
        Path::new("p"),
        &config(PriceColumn::Unit),
        at(2020, 6, 1),
    )
    .unwrap();
    assert_eq!(prices.len(), 1);
}

#[test]
fn price_sheet_dates_are_read_in_their_us_formats() {
    assert_eq!(sheet_date("2/1/2019 12:00:00 AM"), Some(at(2019, 2, 1)));
    assert_eq!(
        sheet_date("2/4/2021 8:35:31 PM").unwrap().timestamp(),
        1_612_470_931
    );
    assert_eq!(sheet_date("2/1/2023 0:00"), Some(at(2023, 2, 1)));
    assert_eq!(sheet_date("2023-02-01T00:00:00"), Some(at(2023, 2, 1)));
    assert_eq!(sheet_date("soon"), None);
    assert_eq!(price("1,5"), Some(1.5));
    assert_eq!(price("-1"), None);
}
