//! The Collectors and Collection flags: which collectors run, what they ask for, and when.

use std::time::Duration;

use clap::{ArgAction, Args};

use regex::Regex;

use super::parse::{ConfigError, duration};
use crate::client::AnalyticsQuery;
use crate::collector::{CollectionConfig, CollectorKind, CollectorMode, NameFilter, RowFilter};

/// The default interval of the subscriptions and subscribed-skus collectors.
pub const COMMERCE_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// Flags of the Collectors and Collection groups.
#[derive(Debug, Args)]
pub struct CollectorArgs {
    /// Commercial license usage (customer × product × workload). Off: --no-collector.usage.
    #[arg(long = "collector.usage", env = "PARTNERCENTER_COLLECTOR_USAGE", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "true", value_name = "BOOL", overrides_with = "no_collector_usage", help_heading = "Collectors")]
    pub collector_usage: bool,
    #[arg(long = "no-collector.usage", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_usage: bool,
    /// Commercial license deployment (customer × product). Off: --no-collector.deployment.
    #[arg(long = "collector.deployment", env = "PARTNERCENTER_COLLECTOR_DEPLOYMENT", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "true", value_name = "BOOL", overrides_with = "no_collector_deployment", help_heading = "Collectors")]
    pub collector_deployment: bool,
    #[arg(long = "no-collector.deployment", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_deployment: bool,
    /// Partner-level deployment per service (legacy endpoint). Off: --no-collector.partner-deployment.
    #[arg(long = "collector.partner-deployment", env = "PARTNERCENTER_COLLECTOR_PARTNER_DEPLOYMENT", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "true", value_name = "BOOL", overrides_with = "no_collector_partner_deployment", help_heading = "Collectors")]
    pub collector_partner_deployment: bool,
    #[arg(long = "no-collector.partner-deployment", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_partner_deployment: bool,
    /// Partner-level usage per service and workload (legacy endpoint). Off: --no-collector.partner-usage.
    #[arg(long = "collector.partner-usage", env = "PARTNERCENTER_COLLECTOR_PARTNER_USAGE", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "false", value_name = "BOOL", overrides_with = "no_collector_partner_usage", help_heading = "Collectors")]
    pub collector_partner_usage: bool,
    #[arg(long = "no-collector.partner-usage", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_partner_usage: bool,
    /// Per-customer usage over /v1/customers (legacy alternative to --collector.usage). Off: --no-collector.customer-usage.
    #[arg(long = "collector.customer-usage", env = "PARTNERCENTER_COLLECTOR_CUSTOMER_USAGE", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "false", value_name = "BOOL", overrides_with = "no_collector_customer_usage", help_heading = "Collectors")]
    pub collector_customer_usage: bool,
    #[arg(long = "no-collector.customer-usage", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_customer_usage: bool,
    /// Per-customer deployment over /v1/customers (legacy alternative to --collector.deployment). Off: --no-collector.customer-deployment.
    #[arg(long = "collector.customer-deployment", env = "PARTNERCENTER_COLLECTOR_CUSTOMER_DEPLOYMENT", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "false", value_name = "BOOL", overrides_with = "no_collector_customer_deployment", help_heading = "Collectors")]
    pub collector_customer_deployment: bool,
    #[arg(long = "no-collector.customer-deployment", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_customer_deployment: bool,
    /// Every customer's subscriptions: seats paid for, terms, renewals (one request per customer). Off: --no-collector.subscriptions.
    #[arg(long = "collector.subscriptions", env = "PARTNERCENTER_COLLECTOR_SUBSCRIPTIONS", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "true", value_name = "BOOL", overrides_with = "no_collector_subscriptions", help_heading = "Collectors")]
    pub collector_subscriptions: bool,
    #[arg(long = "no-collector.subscriptions", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_subscriptions: bool,
    /// Every customer's tenant licence counts, seats assigned (App+User and a GDAP role in each customer; one request per customer). Off: --no-collector.subscribed-skus.
    #[arg(long = "collector.subscribed-skus", env = "PARTNERCENTER_COLLECTOR_SUBSCRIBED_SKUS", action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", default_value = "true", value_name = "BOOL", overrides_with = "no_collector_subscribed_skus", help_heading = "Collectors")]
    pub collector_subscribed_skus: bool,
    #[arg(long = "no-collector.subscribed-skus", action = ArgAction::SetTrue, hide = true)]
    pub no_collector_subscribed_skus: bool,
    /// `country` of the catalog look-ups that find a new-commerce subscription's Entra SKU, when the subscription's own links name none.
    #[arg(
        long = "collector.subscriptions.catalog-country",
        env = "PARTNERCENTER_COLLECTOR_SUBSCRIPTIONS_CATALOG_COUNTRY",
        default_value = "US",
        help_heading = "Collectors"
    )]
    pub collector_subscriptions_catalog_country: String,

    /// `filter` passed to the usage endpoint, e.g. "workloadCode eq 'EXO'".
    #[arg(
        long = "collector.usage.filter",
        env = "PARTNERCENTER_COLLECTOR_USAGE_FILTER",
        help_heading = "Collectors"
    )]
    pub collector_usage_filter: Option<String>,
    /// `groupby` passed to the usage endpoint.
    #[arg(
        long = "collector.usage.groupby",
        env = "PARTNERCENTER_COLLECTOR_USAGE_GROUPBY",
        help_heading = "Collectors"
    )]
    pub collector_usage_groupby: Option<String>,
    /// `processedDateTime` passed to the usage endpoint (default: the latest data).
    #[arg(
        long = "collector.usage.processed-date-time",
        env = "PARTNERCENTER_COLLECTOR_USAGE_PROCESSED_DATE_TIME",
        help_heading = "Collectors"
    )]
    pub collector_usage_processed_date_time: Option<String>,
    /// `filter` passed to the deployment endpoint, e.g. "serviceCode eq 'O365'".
    #[arg(
        long = "collector.deployment.filter",
        env = "PARTNERCENTER_COLLECTOR_DEPLOYMENT_FILTER",
        help_heading = "Collectors"
    )]
    pub collector_deployment_filter: Option<String>,
    /// `groupby` passed to the deployment endpoint.
    #[arg(
        long = "collector.deployment.groupby",
        env = "PARTNERCENTER_COLLECTOR_DEPLOYMENT_GROUPBY",
        help_heading = "Collectors"
    )]
    pub collector_deployment_groupby: Option<String>,
    /// `processedDateTime` passed to the deployment endpoint (default: the latest data).
    #[arg(
        long = "collector.deployment.processed-date-time",
        env = "PARTNERCENTER_COLLECTOR_DEPLOYMENT_PROCESSED_DATE_TIME",
        help_heading = "Collectors"
    )]
    pub collector_deployment_processed_date_time: Option<String>,
    /// Expose only the customers whose tenant id or name matches this regular expression (unanchored).
    #[arg(
        long = "collector.customers.include",
        env = "PARTNERCENTER_COLLECTOR_CUSTOMERS_INCLUDE",
        value_name = "REGEX",
        help_heading = "Collectors"
    )]
    pub collector_customers_include: Option<String>,
    /// Drop the customers whose tenant id or name matches this regular expression (wins over include).
    #[arg(
        long = "collector.customers.exclude",
        env = "PARTNERCENTER_COLLECTOR_CUSTOMERS_EXCLUDE",
        value_name = "REGEX",
        help_heading = "Collectors"
    )]
    pub collector_customers_exclude: Option<String>,
    /// Expose only the products whose id or name matches this regular expression (unanchored).
    #[arg(
        long = "collector.products.include",
        env = "PARTNERCENTER_COLLECTOR_PRODUCTS_INCLUDE",
        value_name = "REGEX",
        help_heading = "Collectors"
    )]
    pub collector_products_include: Option<String>,
    /// Drop the products whose id or name matches this regular expression (wins over include).
    #[arg(
        long = "collector.products.exclude",
        env = "PARTNERCENTER_COLLECTOR_PRODUCTS_EXCLUDE",
        value_name = "REGEX",
        help_heading = "Collectors"
    )]
    pub collector_products_exclude: Option<String>,

    // ----- Collection -----
    /// interval: refresh in the background; scrape: refresh when a scrape finds the data older than --collector.min-interval.
    #[arg(
        long = "collector.mode",
        env = "PARTNERCENTER_COLLECTOR_MODE",
        value_enum,
        default_value = "interval",
        help_heading = "Collection"
    )]
    pub collector_mode: CollectorMode,
    /// Time between the starts of two runs of a collector in interval mode (each collector runs on its own schedule; see --collector.NAME.interval).
    #[arg(long = "collector.interval", env = "PARTNERCENTER_COLLECTOR_INTERVAL", default_value = "1h", value_parser = duration, help_heading = "Collection")]
    pub collector_interval: Duration,
    /// Interval of the usage collector [default: --collector.interval; in scrape mode --collector.min-interval].
    #[arg(long = "collector.usage.interval", env = "PARTNERCENTER_COLLECTOR_USAGE_INTERVAL", value_parser = duration, help_heading = "Collection")]
    pub collector_usage_interval: Option<Duration>,
    /// Interval of the deployment collector [default: as --collector.usage.interval].
    #[arg(long = "collector.deployment.interval", env = "PARTNERCENTER_COLLECTOR_DEPLOYMENT_INTERVAL", value_parser = duration, help_heading = "Collection")]
    pub collector_deployment_interval: Option<Duration>,
    /// Interval of the partner-deployment collector [default: as --collector.usage.interval].
    #[arg(long = "collector.partner-deployment.interval", env = "PARTNERCENTER_COLLECTOR_PARTNER_DEPLOYMENT_INTERVAL", value_parser = duration, help_heading = "Collection")]
    pub collector_partner_deployment_interval: Option<Duration>,
    /// Interval of the partner-usage collector [default: as --collector.usage.interval].
    #[arg(long = "collector.partner-usage.interval", env = "PARTNERCENTER_COLLECTOR_PARTNER_USAGE_INTERVAL", value_parser = duration, help_heading = "Collection")]
    pub collector_partner_usage_interval: Option<Duration>,
    /// Interval of the customer-usage collector [default: as --collector.usage.interval].
    #[arg(long = "collector.customer-usage.interval", env = "PARTNERCENTER_COLLECTOR_CUSTOMER_USAGE_INTERVAL", value_parser = duration, help_heading = "Collection")]
    pub collector_customer_usage_interval: Option<Duration>,
    /// Interval of the customer-deployment collector [default: as --collector.usage.interval].
    #[arg(long = "collector.customer-deployment.interval", env = "PARTNERCENTER_COLLECTOR_CUSTOMER_DEPLOYMENT_INTERVAL", value_parser = duration, help_heading = "Collection")]
    pub collector_customer_deployment_interval: Option<Duration>,
    /// Interval of the subscriptions collector [default: 6h, or --collector.interval if longer; in scrape mode 6h, or --collector.min-interval if longer]: subscriptions change a few times a day, and the fan-out costs a request per customer.
    #[arg(long = "collector.subscriptions.interval", env = "PARTNERCENTER_COLLECTOR_SUBSCRIPTIONS_INTERVAL", value_parser = duration, help_heading = "Collection")]
    pub collector_subscriptions_interval: Option<Duration>,
    /// Interval of the subscribed-skus collector [default: as --collector.subscriptions.interval].
    #[arg(long = "collector.subscribed-skus.interval", env = "PARTNERCENTER_COLLECTOR_SUBSCRIBED_SKUS_INTERVAL", value_parser = duration, help_heading = "Collection")]
    pub collector_subscribed_skus_interval: Option<Duration>,
    /// Wait before retrying a failed collector; doubles with each further failure (with jitter), up to the collector's interval.
    #[arg(long = "collector.retry-backoff", env = "PARTNERCENTER_COLLECTOR_RETRY_BACKOFF", default_value = "30s", value_parser = duration, help_heading = "Collection")]
    pub collector_retry_backoff: Duration,
    /// In scrape mode, the youngest data that a scrape refreshes.
    #[arg(long = "collector.min-interval", env = "PARTNERCENTER_COLLECTOR_MIN_INTERVAL", default_value = "5m", value_parser = duration, help_heading = "Collection")]
    pub collector_min_interval: Duration,
    /// Data of a collector whose last success is older than this is dropped rather than shown as current.
    #[arg(long = "collector.max-age", env = "PARTNERCENTER_COLLECTOR_MAX_AGE", default_value = "25h", value_parser = duration, help_heading = "Collection")]
    pub collector_max_age: Duration,
    /// Deadline of one whole collection run.
    #[arg(long = "collector.timeout", env = "PARTNERCENTER_COLLECTOR_TIMEOUT", default_value = "30m", value_parser = duration, help_heading = "Collection")]
    pub collector_timeout: Duration,
}

impl CollectorArgs {
    /// The enabled collectors, after `--collector.X` / `--no-collector.X`.
    pub fn enabled(&self) -> Vec<CollectorKind> {
        let pairs = [
            (
                CollectorKind::Usage,
                self.collector_usage && !self.no_collector_usage,
            ),
            (
                CollectorKind::Deployment,
                self.collector_deployment && !self.no_collector_deployment,
            ),
            (
                CollectorKind::PartnerDeployment,
                self.collector_partner_deployment && !self.no_collector_partner_deployment,
            ),
            (
                CollectorKind::PartnerUsage,
                self.collector_partner_usage && !self.no_collector_partner_usage,
            ),
            (
                CollectorKind::CustomerUsage,
                self.collector_customer_usage && !self.no_collector_customer_usage,
            ),
            (
                CollectorKind::CustomerDeployment,
                self.collector_customer_deployment && !self.no_collector_customer_deployment,
            ),
            (
                CollectorKind::Subscriptions,
                self.collector_subscriptions && !self.no_collector_subscriptions,
            ),
            (
                CollectorKind::SubscribedSkus,
                self.collector_subscribed_skus && !self.no_collector_subscribed_skus,
            ),
        ];
        pairs
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(kind, _)| kind)
            .collect()
    }

    /// `--collector.NAME.interval` of each collector, with its flag, when given. Adding a
    /// collector: add its flag above and its line here.
    fn own_intervals(&self) -> [(CollectorKind, &'static str, Option<Duration>); 8] {
        use CollectorKind::*;
        [
            (Usage, "--collector.usage.interval", self.collector_usage_interval),
            (
                Deployment,
                "--collector.deployment.interval",
                self.collector_deployment_interval,
            ),
            (
                PartnerDeployment,
                "--collector.partner-deployment.interval",
                self.collector_partner_deployment_interval,
            ),
            (
                PartnerUsage,
                "--collector.partner-usage.interval",
                self.collector_partner_usage_interval,
            ),
            (
                CustomerUsage,
                "--collector.customer-usage.interval",
                self.collector_customer_usage_interval,
            ),
            (
                CustomerDeployment,
                "--collector.customer-deployment.interval",
                self.collector_customer_deployment_interval,
            ),
            (
                Subscriptions,
                "--collector.subscriptions.interval",
                self.collector_subscriptions_interval,
            ),
            (
                SubscribedSkus,
                "--collector.subscribed-skus.interval",
                self.collector_subscribed_skus_interval,
            ),
        ]
    }

    /// The collectors' settings, or the flag that is wrong. `fanout_concurrency` bounds the
    /// per-customer fan-out (it follows `--partnercenter.concurrency`).
    pub fn collection_config(&self, fanout_concurrency: usize) -> Result<CollectionConfig, ConfigError> {
        let enabled = self.enabled();
        if enabled.is_empty() {
            return Err(ConfigError::new(
                "--collector.*",
                "every collector is disabled; enable at least one",
            ));
        }
        for (a, b, flag) in [
            (
                CollectorKind::Usage,
                CollectorKind::CustomerUsage,
                "--collector.customer-usage",
            ),
            (
                CollectorKind::Deployment,
                CollectorKind::CustomerDeployment,
                "--collector.customer-deployment",
            ),
        ] {
            if enabled.contains(&a) && enabled.contains(&b) {
                return Err(ConfigError::new(
                    flag,
                    format!(
                        "feeds the same metrics as --collector.{}; enable one of the two (add --no-collector.{})",
                        a.name(),
                        a.name()
                    ),
                ));
            }
        }
        let durations = [
            ("--collector.interval", self.collector_interval),
            ("--collector.min-interval", self.collector_min_interval),
            ("--collector.max-age", self.collector_max_age),
            ("--collector.timeout", self.collector_timeout),
            ("--collector.retry-backoff", self.collector_retry_backoff),
        ];
        for (flag, d) in durations {
            if d.is_zero() {
                return Err(ConfigError::new(flag, "must be greater than 0"));
            }
        }
        let mut intervals = std::collections::BTreeMap::new();
        for (kind, flag, interval) in self.own_intervals() {
            let Some(interval) = interval else { continue };
            if interval.is_zero() {
                return Err(ConfigError::new(flag, "must be greater than 0"));
            }
            if interval >= self.collector_max_age {
                return Err(ConfigError::new(
                    flag,
                    format!(
                        "{} must be shorter than --collector.max-age ({}), or the collector's data would be dropped between runs",
                        humantime::format_duration(interval),
                        humantime::format_duration(self.collector_max_age)
                    ),
                ));
            }
            intervals.insert(kind, interval);
        }
        // The commercial fan-outs cost a request per customer each (about 45 minutes for both at
        // 10,000 customers and the default rate limit), and subscriptions change a few times a
        // day: by default they run every six hours, so that the cheap collectors stay fresh.
        let base = match self.collector_mode {
            CollectorMode::Interval => self.collector_interval,
            CollectorMode::Scrape => self.collector_min_interval,
        };
        for kind in [CollectorKind::Subscriptions, CollectorKind::SubscribedSkus] {
            intervals
                .entry(kind)
                .or_insert_with(|| base.max(COMMERCE_INTERVAL).min(self.collector_max_age / 2));
        }
        let country = self.collector_subscriptions_catalog_country.trim();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ConfigError::new(
                "--collector.subscriptions.catalog-country",
                format!("'{country}' is not a two-letter country code (for example US)"),
            ));
        }
        let query =
            |filter: &Option<String>, groupby: &Option<String>, processed: &Option<String>| AnalyticsQuery {
                filter: filter.clone().filter(|s| !s.is_empty()),
                groupby: groupby.clone().filter(|s| !s.is_empty()),
                processed_date_time: processed.clone().filter(|s| !s.is_empty()),
            };
        Ok(CollectionConfig {
            enabled,
            mode: self.collector_mode,
            interval: self.collector_interval,
            intervals,
            retry_backoff: self.collector_retry_backoff,
            min_interval: self.collector_min_interval,
            max_age: self.collector_max_age,
            timeout: self.collector_timeout,
            usage_query: query(
                &self.collector_usage_filter,
                &self.collector_usage_groupby,
                &self.collector_usage_processed_date_time,
            ),
            deployment_query: query(
                &self.collector_deployment_filter,
                &self.collector_deployment_groupby,
                &self.collector_deployment_processed_date_time,
            ),
            fanout_concurrency,
            catalog_country: country.to_ascii_uppercase(),
            filter: RowFilter {
                customers: NameFilter {
                    include: pattern("--collector.customers.include", &self.collector_customers_include)?,
                    exclude: pattern("--collector.customers.exclude", &self.collector_customers_exclude)?,
                },
                products: NameFilter {
                    include: pattern("--collector.products.include", &self.collector_products_include)?,
                    exclude: pattern("--collector.products.exclude", &self.collector_products_exclude)?,
                },
            },
        })
    }
}

/// A regular-expression flag: absent or empty means none; invalid is an error on one line.
fn pattern(flag: &'static str, value: &Option<String>) -> Result<Option<Regex>, ConfigError> {
    let Some(value) = value.as_deref().filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    Regex::new(value).map(Some).map_err(|e| {
        // The regex crate explains a syntax error over several lines, a caret under the culprit;
        // its last line ("error: unclosed group") says it in words.
        let text = e.to_string();
        let reason = text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .map_or_else(
                || text.split_whitespace().collect::<Vec<_>>().join(" "),
                str::to_owned,
            );
        ConfigError::new(flag, format!("'{value}' is not a regular expression: {reason}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_pattern_is_one_line_naming_the_flag_and_the_problem() {
        let err = pattern("--collector.customers.include", &Some("(contoso".into())).unwrap_err();
        assert_eq!(err.flag, "--collector.customers.include");
        assert!(!err.to_string().contains('\n'), "{err}");
        assert!(err.to_string().contains("'(contoso'"), "{err}");
        assert!(err.to_string().contains("unclosed group"), "{err}");
    }

    #[test]
    fn an_empty_pattern_is_no_pattern() {
        assert!(
            pattern("--collector.products.exclude", &Some(String::new()))
                .unwrap()
                .is_none()
        );
        assert!(pattern("--collector.products.exclude", &None).unwrap().is_none());
        assert!(
            pattern("--collector.products.exclude", &Some("^E3$".into()))
                .unwrap()
                .is_some()
        );
    }
}
