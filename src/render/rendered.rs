//! What rendering produces and what it needs: [`RenderedData`] (a collector's series as kept
//! gzip, with the names they mention) and [`RenderContext`].

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::names::Names;
use super::sink::TextChunks;
use crate::collector::{NameFilter, RowFilter};
use crate::model::Customer;

/// A collector's data, encoded once and kept compressed: the gzip member served as is to
/// scrapers that accept gzip (Prometheus always does), and inflated chunk by chunk for the others.
///
/// Only the compressed form is kept because the text is large and repetitive (every series
/// repeats its label names): at 10,000 customers about 30 MB of text against 2.3 MB of gzip, see
/// `docs/benchmarks.md`.
#[derive(Debug, Clone)]
pub struct RenderedData {
    /// Series in the exposition (after removing duplicate label sets).
    pub series: usize,
    /// Rows Partner Center returned.
    pub rows: usize,
    /// Rows dropped by the customer and product filters.
    pub dropped: usize,
    /// Newest `processedDateTime` among the rows.
    pub processed_at: Option<DateTime<Utc>>,
    /// Length of the exposition text.
    pub text_len: usize,
    /// The exposition text as one gzip member; members concatenate into a valid gzip stream.
    pub gzip: Bytes,
    /// The names the kept rows mention, for the info series.
    pub names: Names,
}

impl RenderedData {
    /// The exposition text, inflated chunk by chunk.
    pub fn text_chunks(&self) -> TextChunks {
        TextChunks::new(self.gzip.clone())
    }
}

/// What rendering needs besides the rows.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    /// The customers and products to expose.
    pub filter: &'a RowFilter,
    /// The customer list the collector fanned out over, if it did: the names of record.
    pub directory: Option<&'a [Customer]>,
    /// When the rows were collected (the `as_of` of the customer list's names).
    pub collected_at: DateTime<Utc>,
}

impl Default for RenderContext<'_> {
    fn default() -> Self {
        static NO_FILTER: RowFilter = RowFilter {
            customers: NameFilter {
                include: None,
                exclude: None,
            },
            products: NameFilter {
                include: None,
                exclude: None,
            },
        };
        Self {
            filter: &NO_FILTER,
            directory: None,
            collected_at: DateTime::UNIX_EPOCH,
        }
    }
}
