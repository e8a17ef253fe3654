//! The two commercial collectors, both fanned out over the customer list: `subscriptions` (what
//! each customer pays for, with the Entra SKU of each subscription looked up, see `skus`) and
//! `subscribed-skus` (what each customer's tenant has assigned).
//!
//! Both take a customer's 401/403 as an answer, not a failure: the exporter's user may lack a
//! GDAP role in some customers (subscribed SKUs) or a reseller relationship may be gone
//! (subscriptions). Those customers are counted in `partnercenter_collector_customer_errors` and
//! named in one log line per run; the run goes on.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::error::CollectError;
use super::fanout::{self, Memory, Refusals};
use super::skus::{Lookups, SkuCache};
use crate::client::{Listing, PartnerCenterClient};
use crate::model::{Customer, SkuAccess, SubscribedSkuRow, SubscribedSkus, SubscriptionRow};

/// What to grant when customers refuse their subscribed SKUs.
const GDAP_HINT: &str = "the exporter's user needs one of the GDAP roles Directory Readers, Global Reader, \
    User Administrator or License Administrator in each of them (Directory Readers is enough); their \
    unused-licence figures are missing, and partnercenter_subscribed_skus_access == 0 lists them";
/// What it means when customers refuse their subscriptions.
const RELATIONSHIP_HINT: &str = "code 20002 means there is no reseller relationship with the customer; \
    otherwise the partner user needs the Admin agent or Sales agent role";

/// Items that could not be decoded, across the customers of one run: logged once.
#[derive(Default)]
struct Undecodable {
    count: AtomicUsize,
    first: Mutex<Option<String>>,
}

impl Undecodable {
    fn note<R>(&self, listing: Listing<R>) -> Vec<R> {
        if listing.undecodable > 0 {
            self.count.fetch_add(listing.undecodable, Ordering::Relaxed);
            let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
            if first.is_none() {
                *first = listing.first_problem;
            }
        }
        listing.rows
    }

    fn report(&self, collector: &'static str) {
        let count = self.count.load(Ordering::Relaxed);
        if count > 0 {
            let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).clone();
            tracing::warn!(
                collector,
                items = count,
                first = first.as_deref().unwrap_or(""),
                "skipped {count} items Partner Center sent in an unexpected shape; please report the first reason"
            );
        }
    }
}

fn label_subscription(mut row: SubscriptionRow, customer: &Customer) -> SubscriptionRow {
    row.customer_tenant_id = fanout::tenant_id(customer);
    row.customer_name = customer.company_name.clone();
    row
}

fn label_sku(mut row: SubscribedSkuRow, customer: &Customer) -> SubscribedSkuRow {
    row.customer_tenant_id = fanout::tenant_id(customer);
    row.customer_name = customer.company_name.clone();
    row
}

/// Every customer's licence subscriptions, with their Entra SKU ids where they can be found.
/// Returns the rows and the number of customers that failed or refused.
pub(super) async fn subscriptions(
    client: &PartnerCenterClient,
    customers: &[Customer],
    concurrency: usize,
    country: &str,
    memory: &Memory<SubscriptionRow>,
    skus: &SkuCache,
) -> Result<(Vec<SubscriptionRow>, usize), CollectError> {
    let undecodable = Undecodable::default();
    let lookups = Lookups::default();
    let fanout = fanout::collect(
        "subscriptions",
        customers,
        concurrency,
        Refusals::Expected {
            hint: RELATIONSHIP_HINT,
        },
        memory,
        |c: &Customer| {
            let (undecodable, lookups) = (&undecodable, &lookups);
            async move {
                let listing = client.customer_subscriptions(&c.id).await?;
                let mut rows = undecodable.note(listing);
                skus.resolve(client, &c.id, &mut rows, country, lookups).await;
                Ok(rows)
            }
        },
        label_subscription,
    )
    .await?;
    undecodable.report("subscriptions");
    let unresolved = fanout.rows.iter().filter(|r| r.sku_id.is_empty()).count();
    if unresolved > 0 {
        let errors = lookups.errors.load(Ordering::Relaxed);
        tracing::info!(
            collector = "subscriptions",
            unresolved,
            of = fanout.rows.len(),
            lookup_errors = errors,
            "{unresolved} of {} subscriptions have no Entra SKU id (software offers, no GDAP role for the \
             provisioning status, or look-ups that failed and are retried next run): they get no \
             unused-licence figure",
            fanout.rows.len()
        );
    }
    let errors = fanout.customer_errors();
    Ok((fanout.rows, errors))
}

/// Every customer's subscribed SKUs, and whether each customer let the exporter see them.
pub(super) async fn subscribed_skus(
    client: &PartnerCenterClient,
    customers: &[Customer],
    concurrency: usize,
    memory: &Memory<SubscribedSkuRow>,
) -> Result<(SubscribedSkus, usize), CollectError> {
    let undecodable = Undecodable::default();
    let fanout = fanout::collect(
        "subscribed-skus",
        customers,
        concurrency,
        Refusals::Expected { hint: GDAP_HINT },
        memory,
        |c: &Customer| {
            let undecodable = &undecodable;
            async move { Ok(undecodable.note(client.subscribed_skus(&c.id).await?)) }
        },
        label_sku,
    )
    .await?;
    undecodable.report("subscribed-skus");
    let refused: HashSet<&str> = fanout.refused.iter().map(|c| c.id.as_str()).collect();
    let failed: HashSet<&str> = fanout.failed.iter().map(|c| c.id.as_str()).collect();
    let with_rows: HashSet<&str> = fanout
        .rows
        .iter()
        .map(|r| r.customer_tenant_id.as_str())
        .collect();
    let access = customers
        .iter()
        .filter_map(|c| {
            let tenant = fanout::tenant_id(c);
            // A customer that failed this run is known only if it kept rows from an earlier one.
            let granted = if refused.contains(c.id.as_str()) {
                false
            } else if failed.contains(c.id.as_str()) && !with_rows.contains(tenant.as_str()) {
                return None;
            } else {
                true
            };
            Some(SkuAccess {
                customer_tenant_id: tenant,
                customer_name: c.company_name.clone(),
                granted,
            })
        })
        .collect();
    let errors = fanout.customer_errors();
    Ok((
        SubscribedSkus {
            rows: fanout.rows,
            access,
        },
        errors,
    ))
}
