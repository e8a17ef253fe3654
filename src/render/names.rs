//! Names: the info series `partnercenter_customer_info`, `partnercenter_product_info`,
//! `partnercenter_workload_info` and `partnercenter_service_info`, rendered once per publication
//! from the names that every collector saw.
//!
//! Value series carry ids only (`customer_tenant_id`, `product_id`, `workload_code`,
//! `service_code`), so a rename in Partner Center changes one info series and no history. Several
//! collectors know the same customers and products (usage, deployment, their per-customer
//! variants, and the subscription collectors), but an info series must appear exactly once per
//! object in the whole exposition: no collector writes info series itself.
//!
//! # How a collector feeds it
//!
//! While its rows are rendered, every `(kind, id, name)` they mention is offered to a
//! [`NamesBuilder`] with where the name comes from ([`NameSource`]) and how current it is
//! (`as_of`). The resulting [`Names`] are kept with the collector's rendered data, so a failing
//! collector keeps offering the names of its last good run, and data dropped for its age takes
//! its names with it. At each publication the scheduler passes the [`Names`] of every collector
//! with current data to `render_info` (in `super::info`), which writes one series per object,
//! value 1. A new
//! collector does nothing more than offer its names while rendering (see `super::datasets`); a
//! new kind of object is a new [`ObjectKind`].
//!
//! # When two names disagree
//!
//! One id can arrive with several names: a rename that one endpoint reports before another, a
//! legacy row against the customer list, two spellings in one response. The name kept is, in
//! this order of precedence:
//!
//! 1. a non-empty name over an empty one;
//! 2. the higher [`NameSource`]: the customer list (`/v1/customers`, the live company profile)
//!    over analytics rows (daily aggregates, a day or two behind a rename);
//! 3. the newer `as_of` (an analytics row's `processedDateTime`, the run's time for the customer
//!    list); an unknown time is the oldest;
//! 4. the byte-wise smaller name, only so that the outcome never depends on which collector
//!    finished first.
//!
//! The rule is one total order, applied alike within a collector's rows and across collectors.
//! An object whose every name is empty still gets its info series (with an empty name), so that
//! joining names onto its values never drops them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Utc};

/// The kinds of object that have an info series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A customer tenant: `customer_tenant_id` → `customer_name`.
    Customer,
    /// A product (Partner Center's `productId`, the Entra SKU): `product_id` → `product_name`.
    Product,
    /// A workload of a product: `workload_code` → `workload_name`.
    Workload,
    /// A service (`o365`, `crm`): `service_code` → `service_name`.
    Service,
}

const KINDS: usize = 4;

impl ObjectKind {
    /// Every kind, in the order their families are written.
    pub const ALL: [ObjectKind; KINDS] = [
        ObjectKind::Customer,
        ObjectKind::Product,
        ObjectKind::Workload,
        ObjectKind::Service,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// The info metric's name.
    pub fn metric(self) -> &'static str {
        match self {
            ObjectKind::Customer => "partnercenter_customer_info",
            ObjectKind::Product => "partnercenter_product_info",
            ObjectKind::Workload => "partnercenter_workload_info",
            ObjectKind::Service => "partnercenter_service_info",
        }
    }

    /// The id label (the one on the value series) and the name label.
    pub fn labels(self) -> [&'static str; 2] {
        match self {
            ObjectKind::Customer => ["customer_tenant_id", "customer_name"],
            ObjectKind::Product => ["product_id", "product_name"],
            ObjectKind::Workload => ["workload_code", "workload_name"],
            ObjectKind::Service => ["service_code", "service_name"],
        }
    }

    pub(super) fn help(self) -> &'static str {
        match self {
            ObjectKind::Customer => {
                "The name of a customer, always 1: join it onto series by customer_tenant_id (* on (customer_tenant_id) group_left (customer_name) partnercenter_customer_info)."
            }
            ObjectKind::Product => {
                "The name of a product, always 1: join it onto series by product_id (* on (product_id) group_left (product_name) partnercenter_product_info)."
            }
            ObjectKind::Workload => {
                "The name of a workload, always 1: join it onto series by workload_code (* on (workload_code) group_left (workload_name) partnercenter_workload_info)."
            }
            ObjectKind::Service => {
                "The name of a service, always 1: join it onto series by service_code (* on (service_code) group_left (service_name) partnercenter_service_info)."
            }
        }
    }
}

/// Where a name comes from; a higher source wins over a lower one (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameSource {
    /// A name in an analytics row (`customerName`, `productName`, …).
    Analytics,
    /// The customer list, `/v1/customers` (`companyProfile.companyName`).
    Directory,
}

/// A name on offer, and what it is ranked by.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rank {
    source: NameSource,
    /// Unix milliseconds; `i64::MIN` when unknown.
    as_of: i64,
}

impl Rank {
    pub(super) fn new(source: NameSource, as_of: Option<DateTime<Utc>>) -> Self {
        Self {
            source,
            as_of: as_of.map_or(i64::MIN, |t| t.timestamp_millis()),
        }
    }
}

/// Whether `(name, rank)` wins over `(old_name, old_rank)` by the module's rule.
pub(super) fn beats(name: &str, rank: Rank, old_name: &str, old_rank: Rank) -> bool {
    let key = |name: &str, rank: Rank| (!name.is_empty(), rank.source, rank.as_of);
    match key(name, rank).cmp(&key(old_name, old_rank)) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => name < old_name,
    }
}

/// An offer as [`NamesBuilder::offer`] takes it: id, name, source, `as_of`.
type Offer<'r> = (&'r str, &'r str, NameSource, Option<DateTime<Utc>>);

/// Collects the names a collector's rows mention, borrowing them from the rows.
#[derive(Default)]
pub struct NamesBuilder<'r> {
    maps: [HashMap<&'r str, (&'r str, Rank), foldhash::fast::RandomState>; KINDS],
    /// The last offer per kind: rows come grouped by customer and product, so most offers repeat
    /// the previous one and need no look-up.
    last: [Option<Offer<'r>>; KINDS],
}

impl<'r> NamesBuilder<'r> {
    /// Offer `name` for the object `id` of `kind`. An empty id names no object and is ignored.
    pub fn offer(
        &mut self,
        kind: ObjectKind,
        id: &'r str,
        name: &'r str,
        source: NameSource,
        as_of: Option<DateTime<Utc>>,
    ) {
        let k = kind.index();
        if id.is_empty() || self.last[k] == Some((id, name, source, as_of)) {
            return;
        }
        self.last[k] = Some((id, name, source, as_of));
        let rank = Rank::new(source, as_of);
        match self.maps[k].entry(id) {
            Entry::Vacant(slot) => {
                slot.insert((name, rank));
            }
            Entry::Occupied(mut slot) => {
                let (old_name, old_rank) = *slot.get();
                if beats(name, rank, old_name, old_rank) {
                    slot.insert((name, rank));
                }
            }
        }
    }

    /// Whether an object of `kind` with this id was offered.
    pub fn contains(&self, kind: ObjectKind, id: &str) -> bool {
        self.maps[kind.index()].contains_key(id)
    }

    /// The names, copied out of the rows into a compact table per kind.
    pub fn finish(self) -> Names {
        let mut names = Names::default();
        for (table, map) in names.tables.iter_mut().zip(self.maps) {
            let mut entries: Vec<(&str, &str, Rank)> = map
                .into_iter()
                .map(|(id, (name, rank))| (id, name, rank))
                .collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            table
                .text
                .reserve_exact(entries.iter().map(|e| e.0.len() + e.1.len()).sum());
            table.slots.reserve_exact(entries.len());
            for (id, name, rank) in entries {
                table.push(id, name, rank);
            }
        }
        names
    }
}

/// One slot of a [`Table`]: where its id and name are in the table's text, and their rank.
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: u32,
    id_len: u32,
    name_len: u32,
    rank: Rank,
}

/// The names of one kind: ids and names in one string, slots sorted by id. Two allocations
/// however many objects, since this is kept per collector until its next good run.
#[derive(Debug, Clone, Default)]
struct Table {
    text: String,
    slots: Vec<Slot>,
}

impl Table {
    fn push(&mut self, id: &str, name: &str, rank: Rank) {
        // An exposition over 4 GiB is far beyond anything this exporter serves; saturating keeps
        // the arithmetic total, and a slot past the end only reads as empty (see `get`).
        let start = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        self.text.push_str(id);
        self.text.push_str(name);
        self.slots.push(Slot {
            start,
            id_len: u32::try_from(id.len()).unwrap_or(u32::MAX),
            name_len: u32::try_from(name.len()).unwrap_or(u32::MAX),
            rank,
        });
    }

    fn get(&self, slot: &Slot) -> (&str, &str) {
        let start = slot.start as usize;
        let mid = start + slot.id_len as usize;
        let end = mid + slot.name_len as usize;
        (
            self.text.get(start..mid).unwrap_or_default(),
            self.text.get(mid..end).unwrap_or_default(),
        )
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &str, Rank)> {
        self.slots.iter().map(|s| {
            let (id, name) = self.get(s);
            (id, name, s.rank)
        })
    }
}

/// The names one collector's last good data mentions, per kind, each object once.
#[derive(Debug, Clone, Default)]
pub struct Names {
    tables: [Table; KINDS],
}

impl Names {
    /// How many objects of `kind` are named.
    pub fn len(&self, kind: ObjectKind) -> usize {
        self.tables[kind.index()].slots.len()
    }

    /// Whether no object is named at all.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(|t| t.slots.is_empty())
    }

    /// Every object of `kind`: id, name and rank, sorted by id.
    pub(super) fn entries(&self, kind: ObjectKind) -> impl Iterator<Item = (&str, &str, Rank)> {
        self.tables[kind.index()].iter()
    }

    /// The name kept for the object `id` of `kind`.
    pub fn get(&self, kind: ObjectKind, id: &str) -> Option<&str> {
        let table = &self.tables[kind.index()];
        let i = table.slots.binary_search_by(|s| table.get(s).0.cmp(id)).ok()?;
        Some(table.get(&table.slots[i]).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(secs, 0)
    }

    #[test]
    fn within_one_collector_the_newest_non_empty_name_wins() {
        let mut b = NamesBuilder::default();
        b.offer(
            ObjectKind::Customer,
            "c1",
            "Old Name",
            NameSource::Analytics,
            at(100),
        );
        b.offer(
            ObjectKind::Customer,
            "c1",
            "New Name",
            NameSource::Analytics,
            at(200),
        );
        b.offer(
            ObjectKind::Customer,
            "c1",
            "Older Name",
            NameSource::Analytics,
            at(50),
        );
        b.offer(ObjectKind::Customer, "c1", "", NameSource::Analytics, at(300));
        b.offer(ObjectKind::Customer, "", "No id", NameSource::Analytics, at(300));
        let names = b.finish();
        assert_eq!(names.get(ObjectKind::Customer, "c1"), Some("New Name"));
        assert_eq!(names.len(ObjectKind::Customer), 1, "an empty id is no object");
    }

    #[test]
    fn a_tie_goes_to_the_smaller_name_and_a_higher_source_beats_a_newer_one() {
        let analytics = Rank::new(NameSource::Analytics, at(900));
        let directory = Rank::new(NameSource::Directory, at(100));
        assert!(beats("Contoso Ltd", directory, "Contoso", analytics));
        assert!(!beats("Contoso", analytics, "Contoso Ltd", directory));
        assert!(beats("A", analytics, "B", analytics));
        assert!(!beats("B", analytics, "A", analytics));
        assert!(beats("x", Rank::new(NameSource::Analytics, None), "", directory));
    }
}
