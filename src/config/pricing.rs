//! The Pricing flags: the price file, and which of its rows to use.

use std::path::PathBuf;

use clap::Args;

use super::parse::ConfigError;
use crate::pricing::{LoadedPrices, PriceColumn, PricingConfig};

/// Flags of the Pricing group.
#[derive(Debug, Args)]
pub struct PricingArgs {
    /// A CSV in the layout of Partner Center's new-commerce license price sheet: list prices for the money panels and alerts (without it everything else works, and the money panels say that no prices are loaded). Read at start and again when it changes.
    #[arg(
        long = "pricing.file",
        env = "PARTNERCENTER_PRICING_FILE",
        help_heading = "Pricing"
    )]
    pub pricing_file: Option<PathBuf>,
    /// Use only the price file's rows of this Market (two-letter code, e.g. US).
    #[arg(
        long = "pricing.market",
        env = "PARTNERCENTER_PRICING_MARKET",
        help_heading = "Pricing"
    )]
    pub pricing_market: Option<String>,
    /// Use only the price file's rows in this currency (needed when the file has several, as European sheets do).
    #[arg(
        long = "pricing.currency",
        env = "PARTNERCENTER_PRICING_CURRENCY",
        help_heading = "Pricing"
    )]
    pub pricing_currency: Option<String>,
    /// The price column: unit (UnitPrice, the partner's price) or erp (ERP Price, the estimated retail price).
    #[arg(
        long = "pricing.price-column",
        env = "PARTNERCENTER_PRICING_PRICE_COLUMN",
        value_enum,
        default_value = "unit",
        help_heading = "Pricing"
    )]
    pub pricing_price_column: PriceColumn,
}

impl PricingArgs {
    /// The prices, read now so that a bad file stops the start with one line; `None` without a file.
    pub fn prices(&self) -> Result<Option<LoadedPrices>, ConfigError> {
        let Some(path) = &self.pricing_file else {
            for (flag, set) in [
                ("--pricing.market", self.pricing_market.is_some()),
                ("--pricing.currency", self.pricing_currency.is_some()),
            ] {
                if set {
                    return Err(ConfigError::new(flag, "has no effect without --pricing.file"));
                }
            }
            return Ok(None);
        };
        let clean = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_ascii_uppercase)
        };
        let config = PricingConfig {
            path: path.clone(),
            market: clean(&self.pricing_market),
            currency: clean(&self.pricing_currency),
            column: self.pricing_price_column,
        };
        let loaded = LoadedPrices::read(config, chrono::Utc::now())
            .map_err(|e| ConfigError::new("--pricing.file", e.to_string()))?;
        Ok(Some(loaded))
    }
}
