//! Plain rows of the commercial side: a customer's subscriptions, the licence counts of its tenant
//! (subscribed SKUs), the unused licences attributed to our subscriptions, and list prices.
//!
//! The enums are built from Partner Center's text with `from_wire`, which never fails: statuses
//! and billing cycles have gained values before and crashed strict SDKs (reference §6.2.1), so an
//! unknown value is kept as `Unknown(text)` and shown as it came.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Lower-case, trimmed, without `_`, `-` and spaces: how enum text is compared.
fn squash(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// An unknown value as a label: lower-case, trimmed, every character outside `[a-z0-9_]` as `_`.
fn unknown_label(text: &str) -> String {
    text.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A subscription's `status` (reference §1.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubscriptionStatus {
    None,
    Active,
    Pending,
    Suspended,
    Expired,
    Disabled,
    Deleted,
    /// A value Partner Center did not document (kept as sent, lower-cased).
    Unknown(String),
}

impl SubscriptionStatus {
    /// The status for Partner Center's text, any letter case.
    pub fn from_wire(text: &str) -> Self {
        match squash(text).as_str() {
            "none" => Self::None,
            "active" => Self::Active,
            "pending" => Self::Pending,
            "suspended" => Self::Suspended,
            "expired" => Self::Expired,
            "disabled" => Self::Disabled,
            "deleted" => Self::Deleted,
            _ => Self::Unknown(unknown_label(text)),
        }
    }

    /// The `status` label value.
    pub fn label(&self) -> &str {
        match self {
            Self::None => "none",
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Suspended => "suspended",
            Self::Expired => "expired",
            Self::Disabled => "disabled",
            Self::Deleted => "deleted",
            Self::Unknown(s) => s,
        }
    }
}

/// How often a subscription is invoiced (`billingCycle`), and the price sheet's `BillingPlan`: one
/// vocabulary, so that prices and subscriptions join in PromQL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BillingCycle {
    Monthly,
    Annual,
    Triennial,
    Biennial,
    OneTime,
    None,
    /// `unknown` (seen in a legacy capture) or a value not documented.
    Unknown(String),
}

impl BillingCycle {
    /// The cycle for Partner Center's or the price sheet's text (`annual`, `Annual`, `one_time`,
    /// `OneTime`, …). `None` for empty text.
    pub fn from_wire(text: &str) -> Option<Self> {
        let cycle = match squash(text).as_str() {
            "" => return None,
            "monthly" => Self::Monthly,
            "annual" => Self::Annual,
            "triennial" => Self::Triennial,
            "biennial" => Self::Biennial,
            "onetime" => Self::OneTime,
            "none" => Self::None,
            _ => Self::Unknown(unknown_label(text)),
        };
        Some(cycle)
    }

    /// The `billing_cycle` / `billing_plan` label value.
    pub fn label(&self) -> &str {
        match self {
            Self::Monthly => "monthly",
            Self::Annual => "annual",
            Self::Triennial => "triennial",
            Self::Biennial => "biennial",
            Self::OneTime => "one_time",
            Self::None => "none",
            Self::Unknown(s) => s,
        }
    }
}

/// New commerce or the legacy licence programme: decided from the `offerId` shape (§1.3 of the
/// design note: three `:`-separated parts) or `productType.id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Commerce {
    Nce,
    Legacy,
}

impl Commerce {
    /// The `commerce` label value.
    pub fn label(self) -> &'static str {
        match self {
            Commerce::Nce => "nce",
            Commerce::Legacy => "legacy",
        }
    }
}

/// An ISO 8601 duration used as a term (`P1M`, `P1Y`, `P3Y`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TermDuration {
    /// Trimmed and upper-cased, as the `term_duration` label shows it.
    pub text: String,
    /// Whole months, when the duration is made of years and months only (P1Y → 12, P1M → 1).
    pub months: Option<u32>,
}

impl TermDuration {
    /// The term for `text`; `None` for empty text. Durations with weeks or days, or that do not
    /// parse, keep their text and have no months.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_uppercase();
        if text.is_empty() {
            return None;
        }
        let months = whole_months(&text);
        Some(Self { text, months })
    }
}

/// `P{y}Y{m}M` → `12·y + m`; anything else (days, weeks, times, garbage) → `None`.
fn whole_months(text: &str) -> Option<u32> {
    let mut rest = text.strip_prefix('P')?;
    let (mut months, mut any) = (0u32, false);
    for (unit, factor) in [('Y', 12u32), ('M', 1)] {
        if let Some(end) = rest.find(unit) {
            let n: u32 = rest[..end].parse().ok()?;
            months = months.checked_add(n.checked_mul(factor)?)?;
            rest = &rest[end + 1..];
            any = true;
        }
    }
    (any && rest.is_empty() && months > 0).then_some(months)
}

/// What `scheduledNextTermInstructions` books for the next term.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NextTerm {
    /// Seats of the next term, when given.
    pub quantity: Option<f64>,
    pub term_duration: Option<TermDuration>,
    pub billing_cycle: Option<BillingCycle>,
}

/// One licence-billed subscription of a customer (`GET /v1/customers/{id}/subscriptions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRow {
    /// The customer's tenant id, lower-case (from the customer list).
    pub customer_tenant_id: String,
    /// The customer's name (from the customer list); goes into the customer info series only.
    pub customer_name: String,
    /// Lower-case.
    pub subscription_id: String,
    /// NCE `{product}:{sku}:{availability}` as sent; a legacy offer GUID lower-cased.
    pub offer_id: String,
    pub offer_name: String,
    pub friendly_name: String,
    pub commerce: Commerce,
    /// New-commerce catalog product id (`CFQ7TTC0LH18`), upper-case; empty for legacy.
    pub catalog_product_id: String,
    /// New-commerce catalog SKU id, zero-padded to four digits (`0001`); empty for legacy.
    pub catalog_sku_id: String,
    /// `country` of the subscription's `links.product.uri`, upper-case, for the catalog look-up.
    pub catalog_country: Option<String>,
    /// `productType.id` (`OnlineServicesNCE`, `Software`, …); empty when not sent (legacy).
    pub product_type: String,
    /// The Entra (AAD) SKU GUID the subscription provisions, lower-case; empty until resolved,
    /// and when it could not be.
    pub sku_id: String,
    pub quantity: f64,
    pub status: SubscriptionStatus,
    pub auto_renew: bool,
    pub is_trial: bool,
    pub billing_cycle: Option<BillingCycle>,
    pub term: Option<TermDuration>,
    /// The term it renews into: the scheduled one, else `renewalTermDuration`, else the current.
    pub renewal_term: Option<TermDuration>,
    /// End of the current term; `None` when not sent, unparseable, or "no end" (year ≥ 9000).
    pub term_end: Option<DateTime<Utc>>,
    /// Until when seats can be removed for a refund (new commerce); `None` when not sent.
    pub cancellation_allowed_until: Option<DateTime<Utc>>,
    pub scheduled_next_term: Option<NextTerm>,
}

impl SubscriptionRow {
    /// Billed to the partner (reference §1.9): new commerce active or suspended, legacy active;
    /// never a trial.
    pub fn is_billed(&self) -> bool {
        if self.is_trial {
            return false;
        }
        matches!(
            (&self.status, self.commerce),
            (SubscriptionStatus::Active, _) | (SubscriptionStatus::Suspended, Commerce::Nce)
        )
    }

    /// Billed and usable by the customer: billed, and not a suspended new-commerce subscription.
    pub fn is_billed_usable(&self) -> bool {
        self.is_billed() && self.status == SubscriptionStatus::Active
    }

    /// Seats a scheduled next term removes (`quantity − scheduled`), 0 when nothing is scheduled.
    pub fn scheduled_reduction(&self) -> f64 {
        self.scheduled_next_term
            .as_ref()
            .and_then(|n| n.quantity)
            .map_or(0.0, |next| (self.quantity - next).max(0.0))
    }
}

/// One SKU of a customer's tenant (`GET /v1/customers/{id}/subscribedskus`): every channel's
/// licences together, not only ours.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SubscribedSkuRow {
    pub customer_tenant_id: String,
    /// From the customer list; goes into the customer info series only.
    pub customer_name: String,
    /// Entra SKU GUID, lower-case.
    pub sku_id: String,
    pub sku_part_number: String,
    pub sku_name: String,
    /// `capabilityStatus`, lower-cased (`enabled`, …; the Partner Center set is undocumented).
    pub capability_status: String,
    pub total_units: f64,
    pub active_units: f64,
    pub consumed_units: f64,
    pub available_units: f64,
    pub suspended_units: f64,
    pub warning_units: f64,
}

/// Whether Partner Center gave a customer's subscribed SKUs in the last run, by tenant id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkuAccess {
    pub customer_tenant_id: String,
    pub customer_name: String,
    /// False when Partner Center refused (401/403: no GDAP role in that customer).
    pub granted: bool,
}

/// What the subscribed-SKUs collector returns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SubscribedSkus {
    pub rows: Vec<SubscribedSkuRow>,
    /// Every customer asked whose answer is known (refused, or given now or in an earlier run).
    pub access: Vec<SkuAccess>,
}

/// Paid licences of one of our subscriptions that nobody in the tenant is assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnusedRow {
    pub customer_tenant_id: String,
    pub subscription_id: String,
    pub sku_id: String,
    pub unused: f64,
}

/// One list price of `--pricing.file`, reduced to one row per key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceRow {
    /// The price sheet's `ProductId`, upper-case (the subscription's catalog product id).
    pub product_id: String,
    /// The price sheet's `SkuId`, zero-padded to four digits (the subscription's catalog SKU id).
    pub sku_id: String,
    pub term_duration: TermDuration,
    pub billing_plan: BillingCycle,
    /// ISO code, upper-case.
    pub currency: String,
    /// One licence for one month of the term: the sheet's price for the whole term ÷ its months.
    pub monthly_price: f64,
}

/// The catalog SKU id as the price sheet and `offerId` agree on it: trimmed, and zero-padded to
/// four digits when it is all digits (`1` → `0001`; the price list docs show both forms).
pub fn catalog_sku_id(raw: &str) -> String {
    let raw = raw.trim();
    if !raw.is_empty() && raw.len() < 4 && raw.bytes().all(|b| b.is_ascii_digit()) {
        format!("{raw:0>4}")
    } else {
        raw.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_statuses_are_kept_as_label_safe_text() {
        assert_eq!(
            SubscriptionStatus::from_wire(" Expired "),
            SubscriptionStatus::Expired
        );
        assert_eq!(
            SubscriptionStatus::from_wire("DISABLED"),
            SubscriptionStatus::Disabled
        );
        let odd = SubscriptionStatus::from_wire("Transferring Out");
        assert_eq!(odd.label(), "transferring_out");
    }

    #[test]
    fn billing_cycles_match_in_any_spelling() {
        for text in ["annual", "Annual", " ANNUAL "] {
            assert_eq!(BillingCycle::from_wire(text), Some(BillingCycle::Annual));
        }
        for text in ["one_time", "OneTime", "One Time"] {
            assert_eq!(BillingCycle::from_wire(text), Some(BillingCycle::OneTime));
        }
        assert_eq!(BillingCycle::from_wire(""), None);
        assert_eq!(BillingCycle::from_wire("unknown").unwrap().label(), "unknown");
    }

    #[test]
    fn terms_count_whole_months_only() {
        let months = |t: &str| TermDuration::parse(t).and_then(|d| d.months);
        assert_eq!(months("P1M"), Some(1));
        assert_eq!(months("p1y"), Some(12));
        assert_eq!(months("P3Y"), Some(36));
        assert_eq!(months("P1Y6M"), Some(18));
        assert_eq!(months("P30D"), None);
        assert_eq!(months("P"), None);
        assert_eq!(months("1Y"), None);
        assert_eq!(TermDuration::parse("  "), None);
        assert_eq!(TermDuration::parse("p30d").unwrap().text, "P30D");
    }

    #[test]
    fn numeric_catalog_sku_ids_are_padded_to_four_digits() {
        assert_eq!(catalog_sku_id("1"), "0001");
        assert_eq!(catalog_sku_id(" 0003 "), "0003");
        assert_eq!(catalog_sku_id("S1A"), "S1A");
        assert_eq!(catalog_sku_id(""), "");
    }
}
