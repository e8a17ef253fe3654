//! The synthetic partner's rows as plain records: the customer set of one moment, and each usage
//! and deployment row as indices into it (customer, subscription, workload) plus its counts, so a
//! row is a few bytes and copies no strings; the set resolves the indices to the customer, product
//! and workload. `data` computes the records, `render` writes them, the handlers read them.

use std::collections::HashMap;
use std::sync::Arc;

use super::catalog::{Service, Workload};
use super::customers::{Customer, Subscription};

/// The `channel` of every row: the documented examples only show resellers.
pub const CHANNEL: &str = "reseller";

/// The customers at one moment; replaced as a whole when customers are added or removed.
#[derive(Debug)]
pub struct CustomerSet {
    /// Increases with every change.
    pub generation: u64,
    /// In ordinal order.
    pub customers: Vec<Arc<Customer>>,
    by_id: HashMap<String, usize>,
}

impl CustomerSet {
    /// A set of these customers, in this order.
    pub fn new(generation: u64, customers: Vec<Arc<Customer>>) -> Self {
        let by_id = customers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        Self {
            generation,
            customers,
            by_id,
        }
    }

    /// Index of a customer by id, in any letter case.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(&id.to_ascii_lowercase()).copied()
    }

    /// The customer of a row.
    pub fn customer(&self, index: u32) -> &Customer {
        &self.customers[index as usize]
    }

    /// The subscription of a row.
    pub fn sub(&self, customer: u32, sub: u16) -> &Subscription {
        &self.customer(customer).subscriptions[usize::from(sub)]
    }

    /// The workload of a usage row.
    pub fn workload(&self, r: &UsageRec) -> &'static Workload {
        self.sub(r.customer, r.sub).product.workloads[usize::from(r.workload)]
    }
}

/// Figures of one usage row (customer × product × workload), by index into a [`CustomerSet`].
#[derive(Debug, Clone, Copy)]
pub struct UsageRec {
    pub customer: u32,
    pub sub: u16,
    pub workload: u16,
    pub active: u64,
    pub qualified: u64,
}

/// Figures of one deployment row (customer × product), by index into a [`CustomerSet`].
#[derive(Debug, Clone, Copy)]
pub struct DeploymentRec {
    pub customer: u32,
    pub sub: u16,
    pub deployed: u64,
    pub sold: u64,
}

/// Partner-level deployment of one service.
#[derive(Debug, Clone)]
pub struct PartnerDeployment {
    pub service: Service,
    pub deployed: u64,
    pub sold: u64,
}

/// Partner-level usage of one service × workload.
#[derive(Debug, Clone)]
pub struct PartnerUsage {
    pub service: Service,
    pub workload: &'static Workload,
    pub active: u64,
    pub qualified: u64,
}
