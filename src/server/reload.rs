//! The web config file while the exporter runs: loaded strictly at start (an error stops
//! start-up), then read again, with every file it names, whenever a connection or request needs
//! it. A change (compared by bytes, so a rotation within the same second is seen) is validated in
//! full and swapped in; a broken one keeps the previous configuration in use and is logged once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::file::{WebFileSettings, parse};
use super::tls::{BuiltTls, Material, build};

impl Active {
    /// Log what the operator should know about this configuration (at start and after a reload).
    pub fn warn(&self) {
        if let Some(warning) = self.tls.as_ref().and_then(|t| t.warning.as_deref()) {
            tracing::warn!("{warning}");
        }
    }
}

/// A web config file that cannot be used: the file and the problem, on one line.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct WebFileError {
    pub path: PathBuf,
    pub message: String,
}

/// The configuration in force.
#[derive(Debug)]
pub struct Active {
    /// `None`: plain HTTP.
    pub tls: Option<BuiltTls>,
    pub policy: super::policy::HttpPolicy,
}

struct State {
    yaml: Vec<u8>,
    settings: WebFileSettings,
    material: Option<Material>,
    active: Arc<Active>,
    /// The last reload error, logged once rather than on every request.
    last_error: Option<String>,
}

/// Called after every check with whether the file (and its certificates) are usable.
pub type ReloadObserver = Box<dyn Fn(bool) + Send + Sync>;

/// A loaded web config file, re-read on use.
pub struct WebFile {
    path: PathBuf,
    dir: PathBuf,
    tls: bool,
    state: Mutex<State>,
    observer: Mutex<Option<ReloadObserver>>,
}

impl std::fmt::Debug for WebFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebFile")
            .field("path", &self.path)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl WebFile {
    /// Read and validate the file and everything it names; relative paths in it are relative to
    /// its directory.
    pub fn load(path: &Path) -> Result<Self, WebFileError> {
        // Absolute but not canonical: symlinks are followed afresh on every read.
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let error = |message: String| WebFileError {
            path: path.clone(),
            message,
        };
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        let yaml = std::fs::read(&path).map_err(|e| error(format!("cannot read: {e}")))?;
        let settings = parse(&yaml, &dir).map_err(error)?;
        let material = settings
            .tls
            .as_ref()
            .map(Material::read)
            .transpose()
            .map_err(error)?;
        let tls = match (&settings.tls, &material) {
            (Some(t), Some(m)) => Some(build(t, m).map_err(error)?),
            _ => None,
        };
        let active = Arc::new(Active {
            tls,
            policy: settings.policy.clone(),
        });
        Ok(Self {
            tls: active.tls.is_some(),
            dir,
            state: Mutex::new(State {
                yaml,
                settings,
                material,
                active,
                last_error: None,
            }),
            observer: Mutex::new(None),
            path,
        })
    }

    /// The file, as an absolute path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the listeners speak TLS (fixed at start).
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// Report each check's outcome (for the exporter's own metrics).
    pub fn observe(&self, observer: ReloadObserver) {
        observer(self.lock().last_error.is_none());
        *self.observer.lock().unwrap_or_else(PoisonError::into_inner) = Some(observer);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configuration to use now: the file's current content if it changed and is valid,
    /// else the previous one.
    pub fn current(&self) -> Arc<Active> {
        let mut state = self.lock();
        let outcome = self.refresh(&mut state);
        let ok = match outcome {
            Ok(false) => true,
            Ok(true) => {
                tracing::info!(file = %self.path.display(), "web config file reloaded");
                state.active.warn();
                true
            }
            Err(message) => {
                if state.last_error.as_deref() != Some(message.as_str()) {
                    tracing::error!(
                        file = %self.path.display(),
                        error = %message,
                        "cannot reload the web config file; keeping the previous configuration and certificate"
                    );
                    state.last_error = Some(message);
                }
                false
            }
        };
        if ok && state.last_error.take().is_some() {
            tracing::info!(file = %self.path.display(), "web config file usable again");
        }
        let active = state.active.clone();
        drop(state);
        if let Some(observer) = &*self.observer.lock().unwrap_or_else(PoisonError::into_inner) {
            observer(ok);
        }
        active
    }

    /// Re-read; `Ok(true)` when a new configuration was swapped in.
    fn refresh(&self, state: &mut State) -> Result<bool, String> {
        let yaml = std::fs::read(&self.path).map_err(|e| format!("cannot read: {e}"))?;
        let parsed = if yaml == state.yaml {
            None
        } else {
            Some(parse(&yaml, &self.dir)?)
        };
        let settings = parsed.as_ref().unwrap_or(&state.settings);
        if settings.tls.is_some() != self.tls {
            return Err(format!(
                "TLS cannot be turned {} without a restart",
                if self.tls { "off" } else { "on" }
            ));
        }
        let material = settings.tls.as_ref().map(Material::read).transpose()?;
        if parsed.is_none() && material == state.material {
            return Ok(false);
        }
        let tls = match (&settings.tls, &material) {
            (Some(t), Some(m)) => Some(build(t, m)?),
            _ => None,
        };
        state.active = Arc::new(Active {
            tls,
            policy: settings.policy.clone(),
        });
        if let Some(settings) = parsed {
            state.settings = settings;
        }
        state.yaml = yaml;
        state.material = material;
        Ok(true)
    }
}
