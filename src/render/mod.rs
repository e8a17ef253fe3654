//! Rendering: the rows of one collector → Prometheus text exposition, encoded once per run.
//!
//! The data series are written straight from the rows into one buffer (no intermediate metric
//! objects: at 10,000 customers this is a few hundred thousand series, rendered once per run and
//! then served as bytes). Value series carry ids only; the names the rows mention are collected
//! while rendering and written once per publication as info series (`names`). Exporter
//! self-metrics are small and go through the `prometheus` crate in [`crate::metrics`] instead.
//!
//! Layout: `rendered` is what rendering produces; `datasets` says which labels, families and
//! names each kind of row has, and `write` writes any of them; `names` is the catalogue of names
//! behind the info series, and `info` writes them; `text` is the exposition format; `sink` the
//! gzip that is kept, and how it is inflated again for plain-text scrapes. `commerce` writes the
//! subscriptions, the subscribed SKUs and what is derived from them (unused licences, prices).

mod commerce;
mod datasets;
mod info;
mod names;
mod rendered;
mod sink;
mod text;
mod write;

use crate::collector::Dataset;

pub use commerce::{Derived, render_derived};
pub use info::render_info;
pub use names::{NameSource, Names, NamesBuilder, ObjectKind};
pub use rendered::{RenderContext, RenderedData};
pub use sink::{TextChunks, gzip_member};

/// Encode a dataset to exposition text, compressed, once; and collect the names it mentions.
pub fn render(dataset: &Dataset, ctx: &RenderContext<'_>) -> RenderedData {
    datasets::render(dataset, ctx)
}
