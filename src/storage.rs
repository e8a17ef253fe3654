//! Collected data kept across restarts (`--storage.path`): after every good run each collector's
//! plain rows (its [`Dataset`]), when they were collected and their newest `processedDateTime` go
//! to `<dir>/<collector>.json.gz`, written atomically ([`crate::files`]). At start the files
//! younger than `--collector.max-age` are loaded and rendered like a fresh result, so `/metrics`
//! serves them at once with their true collection time, until the first run replaces them.
//!
//! Rows, not rendered text, are stored: the exposition format may change between versions, the
//! rows only when [`FORMAT`] is bumped. A file that is corrupt, truncated, of another format
//! version, for another collector or unreadable is skipped with one warning: it never stops the
//! start and never serves garbage.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::collector::{CollectorKind, Dataset};
use crate::files::write_private_file;

/// Version of the file layout and of the rows in it. Bump it when a row type or [`Dataset`]
/// changes shape; files of another version are skipped (and replaced after the first good run).
pub const FORMAT: u32 = 2;

/// Largest stored file read (compressed and inflated): far above 10,000 customers' data, and a
/// guard against a file that inflates without end.
const MAX_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// One collector's data as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub kind: CollectorKind,
    /// When the run that produced the data finished.
    pub collected_at: DateTime<Utc>,
    /// Newest `processedDateTime` in the rows.
    pub processed_at: Option<DateTime<Utc>>,
    pub dataset: Dataset,
}

#[derive(Serialize)]
struct FileOut<'a> {
    format: u32,
    exporter_version: &'static str,
    collector: &'static str,
    collected_at: DateTime<Utc>,
    processed_at: Option<DateTime<Utc>>,
    dataset: &'a Dataset,
}

/// Only the version, read first so that a file of another version is told apart from a corrupt one.
#[derive(Deserialize)]
struct Version {
    format: u32,
}

#[derive(Deserialize)]
struct FileIn {
    collector: String,
    collected_at: DateTime<Utc>,
    #[serde(default)]
    processed_at: Option<DateTime<Utc>>,
    dataset: Dataset,
}

/// Why a stored file was skipped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not a stored collection (corrupt or truncated: {detail})")]
    Corrupt { path: String, detail: String },
    #[error("{path} has format version {found}, this exporter reads version {FORMAT}")]
    Version { path: String, found: u32 },
    #[error("{path} holds the data of collector {found:?}")]
    Foreign { path: String, found: String },
}

/// Why a stored file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct SaveError {
    pub path: String,
    pub source: std::io::Error,
}

/// The storage directory.
#[derive(Debug, Clone)]
pub struct Storage {
    dir: PathBuf,
}

impl Storage {
    /// Storage in `dir`, created if missing. A directory that cannot be created is not fatal:
    /// it is logged, and every write is then logged and counted as it fails.
    pub fn open(dir: PathBuf) -> Self {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(path = %dir.display(), error = %e, "cannot create the --storage.path directory; collected data will not survive a restart");
        }
        Self { dir }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, kind: CollectorKind) -> PathBuf {
        self.dir.join(format!("{}.json.gz", kind.name()))
    }

    /// The stored data of `kind`: `Ok(None)` when there is no file.
    pub fn load(&self, kind: CollectorKind) -> Result<Option<Stored>, LoadError> {
        let path = self.path(kind);
        let shown = path.display().to_string();
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(LoadError::Read { path: shown, source }),
        };
        let mut bytes = Vec::new();
        let read = GzDecoder::new(file.take(MAX_BYTES))
            .take(MAX_BYTES)
            .read_to_end(&mut bytes);
        if let Err(e) = read {
            return Err(match e.kind() {
                std::io::ErrorKind::InvalidInput
                | std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::UnexpectedEof => LoadError::Corrupt {
                    path: shown,
                    detail: e.to_string(),
                },
                _ => LoadError::Read {
                    path: shown,
                    source: e,
                },
            });
        }
        let corrupt = |e: serde_json::Error| LoadError::Corrupt {
            path: shown.clone(),
            detail: e.to_string(),
        };
        let version: Version = serde_json::from_slice(&bytes).map_err(corrupt)?;
        if version.format != FORMAT {
            return Err(LoadError::Version {
                path: shown,
                found: version.format,
            });
        }
        let file: FileIn = serde_json::from_slice(&bytes).map_err(corrupt)?;
        if file.collector != kind.name() {
            return Err(LoadError::Foreign {
                path: shown,
                found: file.collector,
            });
        }
        Ok(Some(Stored {
            kind,
            collected_at: file.collected_at,
            processed_at: file.processed_at,
            dataset: file.dataset,
        }))
    }

    /// Every enabled collector's stored data collected within `max_age` of `now`. Files that
    /// cannot be used are skipped with one warning each.
    pub fn load_current(
        &self,
        enabled: &[CollectorKind],
        now: DateTime<Utc>,
        max_age: std::time::Duration,
    ) -> Vec<Stored> {
        let mut found = Vec::new();
        for &kind in enabled {
            match self.load(kind) {
                Ok(None) => {}
                Ok(Some(stored)) => {
                    let age = now.signed_duration_since(stored.collected_at);
                    if age.to_std().unwrap_or_default() > max_age {
                        tracing::info!(collector = kind.name(), collected_at = %stored.collected_at, "stored data is older than --collector.max-age; not serving it");
                    } else {
                        found.push(stored);
                    }
                }
                Err(error) => {
                    tracing::warn!(collector = kind.name(), %error, "skipping stored data; the first run will replace it")
                }
            }
        }
        found
    }

    /// Write `stored` atomically. Blocking: call it off the async threads.
    pub fn save(&self, stored: &Stored) -> Result<(), SaveError> {
        let path = self.path(stored.kind);
        let failed = |source: std::io::Error| SaveError {
            path: path.display().to_string(),
            source,
        };
        let out = FileOut {
            format: FORMAT,
            exporter_version: env!("CARGO_PKG_VERSION"),
            collector: stored.kind.name(),
            collected_at: stored.collected_at,
            processed_at: stored.processed_at,
            dataset: &stored.dataset,
        };
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        serde_json::to_writer(&mut encoder, &out).map_err(|e| failed(std::io::Error::other(e)))?;
        let bytes = encoder.finish().map_err(failed)?;
        write_private_file(&path, &bytes).map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::model::UsageRow;

    fn stored(kind: CollectorKind) -> Stored {
        Stored {
            kind,
            collected_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            processed_at: DateTime::from_timestamp(1_799_900_000, 0),
            dataset: Dataset::Usage(vec![UsageRow {
                customer_tenant_id: "c1".into(),
                customer_name: "A \"quoted\" name".into(),
                licenses_active: 3.5,
                ..Default::default()
            }]),
        }
    }

    fn write_raw(storage: &Storage, kind: CollectorKind, json: &str) {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(json.as_bytes()).unwrap();
        std::fs::write(storage.path(kind), encoder.finish().unwrap()).unwrap();
    }

    #[test]
    fn stored_data_reads_back_as_it_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path().join("state"));
        let data = stored(CollectorKind::Usage);
        storage.save(&data).unwrap();
        assert_eq!(storage.load(CollectorKind::Usage).unwrap(), Some(data));
        assert_eq!(storage.load(CollectorKind::Deployment).unwrap(), None);
    }

    #[test]
    fn a_truncated_file_is_skipped_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path().to_owned());
        storage.save(&stored(CollectorKind::Usage)).unwrap();
        let path = storage.path(CollectorKind::Usage);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = storage.load(CollectorKind::Usage).unwrap_err();
        assert!(matches!(err, LoadError::Corrupt { .. }), "{err}");
        let now = DateTime::from_timestamp(1_800_000_100, 0).unwrap();
        let loaded = storage.load_current(&[CollectorKind::Usage], now, std::time::Duration::from_secs(3600));
        assert!(loaded.is_empty());
    }

    #[test]
    fn garbage_that_is_not_gzip_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path().to_owned());
        std::fs::write(storage.path(CollectorKind::Usage), b"not gzip at all").unwrap();
        assert!(matches!(
            storage.load(CollectorKind::Usage).unwrap_err(),
            LoadError::Corrupt { .. }
        ));
    }

    #[test]
    fn a_file_of_another_format_version_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path().to_owned());
        write_raw(
            &storage,
            CollectorKind::Usage,
            r#"{"format": 999, "collector": "usage", "whatever": []}"#,
        );
        let err = storage.load(CollectorKind::Usage).unwrap_err();
        assert!(matches!(err, LoadError::Version { found: 999, .. }), "{err}");
    }

    #[test]
    fn a_file_of_another_collector_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path().to_owned());
        storage.save(&stored(CollectorKind::CustomerUsage)).unwrap();
        std::fs::rename(
            storage.path(CollectorKind::CustomerUsage),
            storage.path(CollectorKind::Usage),
        )
        .unwrap();
        assert!(matches!(
            storage.load(CollectorKind::Usage).unwrap_err(),
            LoadError::Foreign { .. }
        ));
    }

    #[test]
    fn an_unreadable_file_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path().to_owned());
        // A directory where the file should be: reading it fails, for root too.
        std::fs::create_dir(storage.path(CollectorKind::Usage)).unwrap();
        assert!(storage.load(CollectorKind::Usage).is_err());
    }

    #[test]
    fn data_older_than_max_age_is_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path().to_owned());
        let data = stored(CollectorKind::Usage);
        storage.save(&data).unwrap();
        let max_age = std::time::Duration::from_secs(3600);
        let young = data.collected_at + chrono::Duration::seconds(3599);
        let old = data.collected_at + chrono::Duration::seconds(3601);
        assert_eq!(
            storage
                .load_current(&[CollectorKind::Usage], young, max_age)
                .len(),
            1
        );
        assert!(
            storage
                .load_current(&[CollectorKind::Usage], old, max_age)
                .is_empty()
        );
    }

    #[test]
    fn a_write_into_an_unusable_directory_fails_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let storage = Storage::open(file.clone());
        let err = storage.save(&stored(CollectorKind::Usage)).unwrap_err();
        assert!(err.to_string().contains("usage.json.gz"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    }
}
