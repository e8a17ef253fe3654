//! The Storage flag: where collected data is kept across restarts.

use std::path::PathBuf;

use clap::Args;

use super::parse::ConfigError;

/// Flags of the Storage group.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// Directory where each collector's last good data is kept, so a restart serves it at once (off when unset). One file per collector, written atomically; see the README.
    #[arg(
        long = "storage.path",
        env = "PARTNERCENTER_STORAGE_PATH",
        help_heading = "Storage"
    )]
    pub storage_path: Option<PathBuf>,
}

impl StorageArgs {
    /// The storage directory, or the flag that is wrong. A directory that does not exist yet is
    /// created at start; a path that names a file is a configuration error.
    pub fn storage_path(&self) -> Result<Option<PathBuf>, ConfigError> {
        let Some(path) = &self.storage_path else {
            return Ok(None);
        };
        if path.as_os_str().is_empty() {
            return Ok(None);
        }
        if path.exists() && !path.is_dir() {
            return Err(ConfigError::new(
                "--storage.path",
                format!("{} exists and is not a directory", path.display()),
            ));
        }
        Ok(Some(path.clone()))
    }
}
