//! The price file (`--pricing.file`): a CSV in the layout of Partner Center's new-commerce
//! licence price sheet (reference `partner-center-subscriptions.md` §4.1), read into one
//! [`PriceRow`] per (product, SKU, term, billing plan, currency).
//!
//! Partner Center's price sheet API is on another host, needs another token audience and the
//! Admin or Sales agent role, and returns ~42 MB per market that change monthly (§4.3); partners
//! also tend to want their own (ERP) price. So the exporter reads a file the partner downloads or
//! writes, rather than fetching it.
//!
//! Rules, from the price sheet's documentation and its quirks:
//! - columns are found by name, in any order and case, with spaces, `_` and quotes (the docs
//!   print a curly `“` on the last header name) ignored; `ProductId`, `SkuId`, `TermDuration`,
//!   `BillingPlan`, `Currency` and the price column (`UnitPrice`, or `ERP Price` with
//!   `--pricing.price-column=erp`) are required, `Market`, `EffectiveStartDate`,
//!   `EffectiveEndDate` and `PricingTierRangeMin` used when present;
//! - `UnitPrice` is the price of one licence for the whole term (an annual term billed monthly is
//!   invoiced a twelfth of it a month, §2.5), so the row's monthly price is it divided by the
//!   term's months; terms in days are skipped;
//! - `SkuId` `1` and `0001` are one SKU (padded to four digits, as in a subscription's `offerId`);
//! - rows repeat across validity ranges: the one in force when the file is read wins (else the
//!   latest that has started; one that has not started yet is ignored), then the first pricing
//!   tier, then the market first in alphabetical order, then the later line;
//! - dates are US style without a time zone (`2/1/2019 12:00:00 AM`, `2/1/2023 0:00`), read as
//!   UTC; a start in year 1753 or before means "always", an end in 9000 or after "never";
//! - one currency only: a European sheet carries six, and the PromQL joins need one price per
//!   subscription, so several currencies are an error unless `--pricing.currency` picks one.

use std::collections::{BTreeSet, HashMap};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};

use crate::model::{BillingCycle, PriceRow, TermDuration, catalog_sku_id};

/// Which column holds the price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PriceColumn {
    /// `UnitPrice`: Microsoft's price to the partner.
    Unit,
    /// `ERP Price`: the estimated retail price.
    Erp,
}

/// How to read the price file.
#[derive(Debug, Clone, PartialEq)]
pub struct PricingConfig {
    pub path: PathBuf,
    /// Keep only rows of this `Market` (two-letter code), if set.
    pub market: Option<String>,
    /// Keep only rows of this currency, if set.
    pub currency: Option<String>,
    pub column: PriceColumn,
}

/// Why the price file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is a zip archive; unzip the price sheet first")]
    Zip { path: PathBuf },
    #[error("{path} has no column(s) {columns} (is it a new-commerce licence price sheet?)")]
    MissingColumns { path: PathBuf, columns: String },
    #[error("{path}: {detail}")]
    Csv { path: PathBuf, detail: String },
    #[error(
        "{path} has prices in {currencies}; set --pricing.currency to the one you are billed in (the joins need one price per subscription)"
    )]
    Currencies { path: PathBuf, currencies: String },
    #[error("{path} has no usable price row ({detail})")]
    Empty { path: PathBuf, detail: String },
}

/// What loading found, for the log line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadSummary {
    pub rows: usize,
    pub prices: usize,
    /// Rows whose term is not in whole months, or whose billing plan is empty.
    pub skipped_term: usize,
    /// Rows whose price is missing, negative or not a number.
    pub skipped_price: usize,
    /// Rows filtered out by market or currency, or not in force yet.
    pub filtered: usize,
    pub currency: String,
    /// Keys whose markets disagree on the price.
    pub market_conflicts: usize,
}

/// One candidate row for a key, with what decides between candidates.
struct Candidate {
    row: PriceRow,
    start: Option<DateTime<Utc>>,
    in_force: bool,
    tier: f64,
    market: String,
}

impl Candidate {
    /// Whether `self` should replace `other` (rows later in the file win ties).
    fn beats(&self, other: &Candidate) -> bool {
        (
            self.in_force,
            self.start,
            -self.tier,
            std::cmp::Reverse(&self.market),
        ) >= (
            other.in_force,
            other.start,
            -other.tier,
            std::cmp::Reverse(&other.market),
        )
    }
}

/// Normalised header name: no whitespace, quotes (straight or curly), `_` or spaces; lower-case.
fn header_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '“' | '”' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A price sheet date (US style, no time zone, or ISO), as UTC.
fn sheet_date(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    for format in [
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(t.and_utc());
        }
    }
    for format in ["%m/%d/%Y", "%Y-%m-%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(raw, format) {
            return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A price: `.` as the decimal point, or `,` when there is no `.`; finite and not negative.
fn price(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    let text = if raw.contains('.') {
        raw.to_owned()
    } else {
        raw.replace(',', ".")
    };
    text.parse::<f64>().ok().filter(|p| p.is_finite() && *p >= 0.0)
}

/// The prices of the file, and how to tell that it changed.
#[derive(Clone)]
pub struct LoadedPrices {
    pub config: PricingConfig,
    pub rows: std::sync::Arc<Vec<PriceRow>>,
    pub summary: LoadSummary,
    /// The file's modification time when it was read.
    modified: Option<std::time::SystemTime>,
}

impl std::fmt::Debug for LoadedPrices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPrices")
            .field("config", &self.config)
            .field("prices", &self.rows.len())
            .finish_non_exhaustive()
    }
}

impl LoadedPrices {
    /// Read the file (see [`load`]).
    pub fn read(config: PricingConfig, now: DateTime<Utc>) -> Result<Self, PricingError> {
        let modified = modified(&config.path);
        let (rows, summary) = load(&config, now)?;
        Ok(Self {
            config,
            rows: std::sync::Arc::new(rows),
            summary,
            modified,
        })
    }

    /// Read the file again if its modification time changed. `Ok(false)`: unchanged. On an
    /// error the prices read before are kept.
    pub fn reload_if_changed(&mut self, now: DateTime<Utc>) -> Result<bool, PricingError> {
        let modified = modified(&self.config.path);
        if modified == self.modified {
            return Ok(false);
        }
        // Remembered first: a broken file is reported once, not at every check.
        self.modified = modified;
        let (rows, summary) = load(&self.config, now)?;
        self.rows = std::sync::Arc::new(rows);
        self.summary = summary;
        Ok(true)
    }
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Read the price file as of `now`.
pub fn load(
    config: &PricingConfig,
    now: DateTime<Utc>,
) -> Result<(Vec<PriceRow>, LoadSummary), PricingError> {
    let path = &config.path;
    let bytes = std::fs::read(path).map_err(|source| PricingError::Io {
        path: path.clone(),
        source,
    })?;
    parse(&bytes, path, config, now)
}

/// Parse price sheet bytes (see [`load`]).
pub fn parse(
    bytes: &[u8],
    path: &Path,
    config: &PricingConfig,
    now: DateTime<Utc>,
) -> Result<(Vec<PriceRow>, LoadSummary), PricingError> {
    let path = path.to_path_buf();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(PricingError::Zip { path });
    }
    // The header as documented ends in a curly closing quote, which would leave the quoted
    // field open for the rest of the file: straighten the header line's quotes first.
    let header_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| i + 1);
    let header = String::from_utf8_lossy(&bytes[..header_end]).replace(['“', '”'], "\"");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(header.as_bytes().chain(&bytes[header_end..]));
    let headers = reader.headers().map_err(|e| PricingError::Csv {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    let index: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (header_key(h), i))
        .collect();
    let price_key = match config.column {
        PriceColumn::Unit => ("unitprice", "UnitPrice"),
        PriceColumn::Erp => ("erpprice", "ERP Price"),
    };
    let required = [
        ("productid", "ProductId"),
        ("skuid", "SkuId"),
        ("termduration", "TermDuration"),
        ("billingplan", "BillingPlan"),
        ("currency", "Currency"),
        price_key,
    ];
    let missing: Vec<&str> = required
        .iter()
        .filter(|(k, _)| !index.contains_key(*k))
        .map(|(_, name)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(PricingError::MissingColumns {
            path,
            columns: missing.join(", "),
        });
    }
    let col = |key: &str| index.get(key).copied();
    let (product, sku, term, plan, currency, price_col) = (
        col("productid"),
        col("skuid"),
        col("termduration"),
        col("billingplan"),
        col("currency"),
        col(price_key.0),
    );
    let (market_col, start_col, end_col, tier_col) = (
        col("market"),
        col("effectivestartdate"),
        col("effectiveenddate"),
        col("pricingtierrangemin"),
    );

    let mut summary = LoadSummary::default();
    let mut best: HashMap<(String, String, String, BillingCycle, String), Candidate> = HashMap::new();
    let mut markets_by_key: HashMap<(String, String, String, BillingCycle, String), BTreeSet<String>> =
        HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(PricingError::Csv {
                    path,
                    detail: e.to_string(),
                });
            }
        }
        summary.rows += 1;
        let field = |c: Option<usize>| c.and_then(|i| record.get(i)).unwrap_or("").trim();
        let (Some(term), Some(plan)) = (
            TermDuration::parse(field(term)),
            BillingCycle::from_wire(field(plan)),
        ) else {
            summary.skipped_term += 1;
            continue;
        };
        let Some(months) = term.months else {
            summary.skipped_term += 1;
            continue;
        };
        let Some(amount) = price(field(price_col)) else {
            summary.skipped_price += 1;
            continue;
        };
        let currency = field(currency).to_ascii_uppercase();
        let market = field(market_col).to_ascii_uppercase();
        let unwanted_market = config
            .market
            .as_ref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(&market));
        let unwanted_currency = config
            .currency
            .as_ref()
            .is_some_and(|c| !c.eq_ignore_ascii_case(&currency));
        let start = sheet_date(field(start_col)).filter(|t| t.year() > 1753);
        let end = sheet_date(field(end_col)).filter(|t| t.year() < 9000);
        let started = start.is_none_or(|s| s <= now);
        if currency.is_empty()
            || field(product).is_empty()
            || unwanted_market
            || unwanted_currency
            || !started
        {
            summary.filtered += 1;
            continue;
        }
        let row = PriceRow {
            product_id: field(product).to_ascii_uppercase(),
            sku_id: catalog_sku_id(field(sku)),
            term_duration: term,
            billing_plan: plan,
            currency,
            monthly_price: amount / f64::from(months),
        };
        let key = (
            row.product_id.clone(),
            row.sku_id.clone(),
            row.term_duration.text.clone(),
            row.billing_plan.clone(),
            row.currency.clone(),
        );
        let candidate = Candidate {
            in_force: end.is_none_or(|e| now < e),
            start,
            tier: field(tier_col).parse::<f64>().unwrap_or(0.0),
            market: market.clone(),
            row,
        };
        if !market.is_empty() {
            markets_by_key.entry(key.clone()).or_default().insert(market);
        }
        match best.get(&key) {
            Some(current) if !candidate.beats(current) => {}
            _ => {
                best.insert(key, candidate);
            }
        }
    }
    let currencies: BTreeSet<&str> = best.values().map(|c| c.row.currency.as_str()).collect();
    if currencies.len() > 1 {
        return Err(PricingError::Currencies {
            path,
            currencies: currencies.into_iter().collect::<Vec<_>>().join(", "),
        });
    }
    summary.market_conflicts = markets_by_key.values().filter(|m| m.len() > 1).count();
    summary.currency = currencies.into_iter().next().unwrap_or_default().to_owned();
    let mut prices: Vec<PriceRow> = best.into_values().map(|c| c.row).collect();
    if prices.is_empty() {
        return Err(PricingError::Empty {
            path,
            detail: format!(
                "{} rows: {} with a term that is not whole months, {} without a valid price, {} filtered out or not in force yet",
                summary.rows, summary.skipped_term, summary.skipped_price, summary.filtered
            ),
        });
    }
    prices.sort_by(|a, b| {
        (&a.product_id, &a.sku_id, &a.term_duration.text, &a.billing_plan).cmp(&(
            &b.product_id,
            &b.sku_id,
            &b.term_duration.text,
            &b.billing_plan,
        ))
    });
    summary.prices = prices.len();
    Ok((prices, summary))
}

#[cfg(test)]
mod tests;
