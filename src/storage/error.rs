//! Store failures, each with a message a facilities person can act on: what is wrong, that
//! what was already saved is kept, and what to do.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The configured size limit or the storage card itself has no room left.
    #[error(
        "the response store {path} is full{sizes}: new responses cannot be saved; everything \
         already saved is kept. Fix: free space on the storage card or raise the store size \
         limit (max_db_bytes); saving resumes without a restart",
        path = .path.display(),
        sizes = sizes(*.used_bytes, *.limit_bytes)
    )]
    Full {
        path: PathBuf,
        /// The store's size when it filled up, if it could be read.
        used_bytes: Option<u64>,
        /// The configured limit, if it could be read.
        limit_bytes: Option<u64>,
    },

    /// The folder or file cannot be written (permissions, a read-only mount, or the store was
    /// opened for reading only).
    #[error(
        "the response store {path} cannot be written (it is read-only: {detail}); everything \
         already saved is kept. Fix: check that the folder and file belong to the kiosk user \
         and are writable, and that the storage card is not mounted read-only or write-locked",
        path = .path.display()
    )]
    ReadOnly { path: PathBuf, detail: String },

    /// The file was written by a newer release, whose layout this one does not know.
    #[error(
        "the response store {path} was written by a newer version of the kiosk software \
         (store version {found}; this software knows versions up to {known}). It was left \
         untouched. Fix: update the kiosk software to the latest release",
        path = .path.display()
    )]
    NewerVersion {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    /// The file became damaged while the kiosk was running.
    #[error(
        "the response store {path} is damaged ({detail}). Fix: restart the kiosk; the damaged \
         file is then moved to the quarantine folder beside it, kept, and a new store started",
        path = .path.display()
    )]
    Corrupt { path: PathBuf, detail: String },

    /// A damaged file could not be moved aside, so no fresh store was started over it.
    #[error(
        "the response store {path} is damaged and could not be moved to {quarantine} \
         ({detail}). Nothing was deleted. Fix: check free space and permissions in that \
         folder, or move the file away by hand, then restart the kiosk",
        path = .path.display(),
        quarantine = .quarantine.display()
    )]
    QuarantineFailed {
        path: PathBuf,
        quarantine: PathBuf,
        detail: String,
    },

    /// Another program holds the store locked for longer than the wait allows.
    #[error(
        "the response store {path} is busy (another program is using it: {detail}). Fix: \
         close other tools that have the store open; the kiosk retries",
        path = .path.display()
    )]
    Busy { path: PathBuf, detail: String },

    /// A file-system operation failed for another reason.
    #[error("cannot {what} {path}: {source}. Fix: check the storage card and its free space", path = .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Anything else SQLite reports.
    #[error(
        "the response store {path} failed: {detail}. Fix: restart the kiosk; if it persists, \
         report this message",
        path = .path.display()
    )]
    Database { path: PathBuf, detail: String },
}

/// Megabytes with one decimal, for messages.
fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1_000_000.0)
}

fn sizes(used: Option<u64>, limit: Option<u64>) -> String {
    match (used, limit) {
        (Some(used), Some(limit)) => format!(
            " ({} MB used of {} MB allowed, or the storage card has no space left)",
            mb(used),
            mb(limit)
        ),
        (Some(used), None) => format!(
            " ({} MB used; the storage card has no space left)",
            mb(used)
        ),
        _ => " (the storage card has no space left)".to_string(),
    }
}

impl StorageError {
    /// Sorts an SQLite failure into the variants above. `Full` needs the sizes, which only
    /// the caller holding the connection knows, so it is built there; here it is recognised.
    pub(crate) fn from_sqlite(path: &Path, e: &rusqlite::Error) -> StorageError {
        let path = path.to_path_buf();
        let detail = e.to_string();
        match e.sqlite_error_code() {
            Some(ErrorCode::ReadOnly) => StorageError::ReadOnly { path, detail },
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                StorageError::Corrupt { path, detail }
            }
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StorageError::Busy { path, detail }
            }
            Some(ErrorCode::DiskFull) => StorageError::Full {
                path,
                used_bytes: None,
                limit_bytes: None,
            },
            _ => StorageError::Database { path, detail },
        }
    }

    pub(crate) fn from_io(what: &'static str, path: &Path, e: std::io::Error) -> StorageError {
        match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                StorageError::ReadOnly {
                    path: path.to_path_buf(),
                    detail: format!("cannot {what}: {e}"),
                }
            }
            std::io::ErrorKind::StorageFull => StorageError::Full {
                path: path.to_path_buf(),
                used_bytes: None,
                limit_bytes: None,
            },
            _ => StorageError::Io {
                what,
                path: path.to_path_buf(),
                source: e,
            },
        }
    }

    /// Whether this is a full store (configured limit or no space on the card).
    pub fn is_full(&self) -> bool {
        matches!(self, StorageError::Full { .. })
    }

    /// Whether this is a store that cannot be written.
    pub fn is_read_only(&self) -> bool {
        matches!(self, StorageError::ReadOnly { .. })
    }
}

/// Shown to a person as it reads.
impl From<StorageError> for crate::core::problem::Problem {
    fn from(e: StorageError) -> crate::core::problem::Problem {
        crate::core::problem::Problem::new(e.to_string())
    }
}
