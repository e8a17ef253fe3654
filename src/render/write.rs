//! The one routine that writes any kind of row ([`write_dataset`]): filter the rows, index the
//! values of each label, sort and deduplicate by those indexes, collect the names, write every
//! family's series.
//!
//! It runs once per run over a few hundred thousand rows, so it works on small integers rather
//! than strings: each label's distinct values are collected once (rows come grouped by customer
//! and product, so most rows repeat the previous row's value and need no look-up), sorted once,
//! and every row is then a short array of ranks. Sorting, deduplicating and naming compare and
//! index those arrays; escaping is done once per distinct value.

use std::borrow::Cow;
use std::collections::HashMap;

use foldhash::fast::RandomState;

use chrono::{DateTime, Utc};

use super::names::{NameSource, Names, NamesBuilder, ObjectKind, Rank, beats};
use super::rendered::{RenderContext, RenderedData};
use super::sink::Sink;
use super::text::{SeriesTemplate, escape_label_value, write_header};
use crate::collector::NameFilter;

pub(super) const CACHED_NOTE: &str =
    "Cached: refreshed from Partner Center every collection interval, not at scrape time.";

/// A metric family to write: its name, its help, and how to read its value from a row.
pub(super) struct Family<R> {
    pub(super) name: &'static str,
    pub(super) help: &'static str,
    pub(super) value: fn(&R) -> f64,
}

/// A name a row mentions: of which kind of object, whose id is the row's `label`-th label.
pub(super) struct NameField<R> {
    pub(super) kind: ObjectKind,
    pub(super) label: usize,
    pub(super) name: for<'r> fn(&'r R) -> &'r str,
}

/// How one kind of row becomes series.
pub(super) struct Spec<R: 'static, const N: usize> {
    /// The identifying labels, in output order.
    pub(super) labels: [&'static str; N],
    /// The row's values of those labels.
    pub(super) key: for<'r> fn(&'r R) -> [&'r str; N],
    /// The row's customer and product as `(id, name)`, for the filters (`("", "")`: none).
    pub(super) customer: for<'r> fn(&'r R) -> (&'r str, &'r str),
    pub(super) product: for<'r> fn(&'r R) -> (&'r str, &'r str),
    /// The names the row mentions.
    pub(super) names: &'static [NameField<R>],
    pub(super) processed: fn(&R) -> Option<DateTime<Utc>>,
    pub(super) families: &'static [Family<R>],
}

/// For rows without a customer or a product.
pub(super) fn none<R>(_: &R) -> (&str, &str) {
    ("", "")
}

/// Whether a `(id, name)` passes `filter`, remembered per pair: a customer has a row per product
/// and workload, and a regular expression costs more than a look-up.
struct Verdicts<'r> {
    filter: &'r NameFilter,
    seen: HashMap<(&'r str, &'r str), bool, RandomState>,
}

impl<'r> Verdicts<'r> {
    fn new(filter: &'r NameFilter) -> Self {
        Self {
            filter,
            seen: HashMap::default(),
        }
    }

    fn keeps(&mut self, (id, name): (&'r str, &'r str)) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        *self
            .seen
            .entry((id, name))
            .or_insert_with(|| self.filter.keeps(id, name))
    }
}

/// One label's distinct values among the rows, and each row's index into them.
struct Column<'r> {
    values: Vec<&'r str>,
    of_row: Vec<u32>,
    index: HashMap<&'r str, u32, RandomState>,
    /// The previous row's value and its index: rows come grouped, so most rows repeat it.
    last: Option<(&'r str, u32)>,
}

impl<'r> Column<'r> {
    fn with_capacity(rows: usize) -> Self {
        Self {
            values: Vec::new(),
            of_row: Vec::with_capacity(rows),
            index: HashMap::default(),
            last: None,
        }
    }

    /// Add the next row's value; returns its index.
    fn push(&mut self, v: &'r str) -> u32 {
        let i = match self.last {
            Some((previous, i)) if previous == v => i,
            _ => {
                let values = &mut self.values;
                let i = *self.index.entry(v).or_insert_with(|| {
                    values.push(v);
                    // Fewer distinct values than rows, and rows fit a Vec: no overflow.
                    u32::try_from(values.len() - 1).unwrap_or(u32::MAX)
                });
                self.last = Some((v, i));
                i
            }
        };
        self.of_row.push(i);
        i
    }

    /// The rank of each distinct value in byte order, by value index.
    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.values.len() as u32).collect();
        order.sort_unstable_by_key(|&i| self.values[i as usize]);
        let mut rank = vec![0u32; self.values.len()];
        for (position, &i) in order.iter().enumerate() {
            rank[i as usize] = position as u32;
        }
        rank
    }
}

/// Filter the rows, sort them by their labels, keep one row per label set, collect their names,
/// and write each family's series.
///
/// When Partner Center returns the same label set twice (possible with `groupby`, or across data
/// dates), the row with the newest `processedDateTime` wins, and the later one on a tie: it is
/// the more current figure, and adding them up would double-count licenses.
pub(super) fn write_dataset<'r, R, const N: usize>(
    rows: &'r [R],
    ctx: &RenderContext<'r>,
    spec: &Spec<R, N>,
) -> RenderedData {
    let kept: Vec<&'r R> = if ctx.filter.is_empty() {
        rows.iter().collect()
    } else {
        let mut customers = Verdicts::new(&ctx.filter.customers);
        let mut products = Verdicts::new(&ctx.filter.products);
        rows.iter()
            .filter(|r| customers.keeps((spec.customer)(r)) && products.keeps((spec.product)(r)))
            .collect()
    };
    let dropped = rows.len() - kept.len();
    // One pass over the rows: each label's index, and each named id's best name so far (rows and
    // their strings are read once, while they are in the cache).
    let mut columns: [Column<'r>; N] = std::array::from_fn(|_| Column::with_capacity(kept.len()));
    let mut best: Vec<Vec<Option<Best<'r>>>> = spec.names.iter().map(|_| Vec::new()).collect();
    for row in &kept {
        let key = (spec.key)(row);
        let index: [u32; N] = std::array::from_fn(|i| columns[i].push(key[i]));
        let at = (spec.processed)(row);
        for (field, slots) in spec.names.iter().zip(&mut best) {
            let i = index[field.label] as usize;
            if slots.len() <= i {
                slots.resize(i + 1, None);
            }
            let name = (field.name)(row);
            let rank = Rank::new(NameSource::Analytics, at);
            match &slots[i] {
                Some((old, _, old_rank)) if !beats(name, rank, old, *old_rank) => {}
                _ => slots[i] = Some((name, at, rank)),
            }
        }
    }
    let names = collect_names(&columns, best, ctx, spec);

    // Each row as the ranks of its label values, then its position: sorting these is sorting by
    // the labels, and the position keeps rows with equal labels in the order they came.
    let ranks: [Vec<u32>; N] = std::array::from_fn(|i| columns[i].ranks());
    let mut order: Vec<([u32; N], u32)> = (0..kept.len())
        .map(|r| {
            let key = std::array::from_fn(|i| ranks[i][columns[i].of_row[r] as usize]);
            (key, r as u32)
        })
        .collect();
    order.sort_unstable();
    let mut unique: Vec<u32> = Vec::with_capacity(order.len());
    let mut previous: Option<[u32; N]> = None;
    for (key, r) in order {
        if previous == Some(key)
            && let Some(last) = unique.last_mut()
        {
            if (spec.processed)(kept[r as usize]) >= (spec.processed)(kept[*last as usize]) {
                *last = r;
            }
            continue;
        }
        previous = Some(key);
        unique.push(r);
    }

    let escaped: [Vec<Cow<'r, str>>; N] = std::array::from_fn(|i| {
        columns[i]
            .values
            .iter()
            .map(|v| {
                let mut e = String::new();
                escape_label_value(&mut e, v);
                if e.len() == v.len() {
                    Cow::Borrowed(*v)
                } else {
                    Cow::Owned(e)
                }
            })
            .collect()
    });
    let mut sink = Sink::new();
    if !unique.is_empty() {
        for family in spec.families {
            let help = format!("{} {CACHED_NOTE}", family.help);
            write_header(&mut sink.buf, family.name, &help);
            let template = SeriesTemplate::new(family.name, &spec.labels);
            for &r in &unique {
                let values: [&str; N] =
                    std::array::from_fn(|i| escaped[i][columns[i].of_row[r as usize] as usize].as_ref());
                template.write_escaped(&mut sink.buf, &values, (family.value)(kept[r as usize]));
                sink.maybe_flush();
            }
        }
    }
    let (text_len, gzip) = sink.finish();
    RenderedData {
        series: unique.len() * spec.families.len(),
        rows: rows.len(),
        dropped,
        processed_at: rows.iter().filter_map(spec.processed).max(),
        text_len,
        gzip,
        names,
    }
}

/// The best name of an id so far: the name, its `as_of`, and its rank.
type Best<'r> = (&'r str, Option<DateTime<Utc>>, Rank);

/// The names the kept rows mention (for each named id the best name by the rule of
/// `super::names`, found while indexing the rows), then the customer list's names for the
/// customers that have rows.
fn collect_names<'r, R, const N: usize>(
    columns: &[Column<'r>; N],
    best: Vec<Vec<Option<Best<'r>>>>,
    ctx: &RenderContext<'r>,
    spec: &Spec<R, N>,
) -> Names {
    let mut names = NamesBuilder::default();
    for (field, slots) in spec.names.iter().zip(best) {
        for (id, best) in columns[field.label].values.iter().zip(slots) {
            if let Some((name, at, _)) = best {
                names.offer(field.kind, id, name, NameSource::Analytics, at);
            }
        }
    }
    for customer in ctx.directory.unwrap_or_default() {
        let id = if customer.tenant_id.is_empty() {
            &customer.id
        } else {
            &customer.tenant_id
        };
        // Only customers with rows here: the others are not part of this collector's data.
        if names.contains(ObjectKind::Customer, id) {
            names.offer(
                ObjectKind::Customer,
                id,
                &customer.company_name,
                NameSource::Directory,
                Some(ctx.collected_at),
            );
        }
    }
    names.finish()
}
