//! `[storage]`, read: where the response database is, how large it may grow and how long
//! what was uploaded is kept. The store takes this section alone.

use std::path::PathBuf;
use std::time::Duration;

use super::{raw, state_dir};

/// `[storage]` as the response store uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// The response database, resolved against the state directory.
    pub path: PathBuf,
    /// Largest the database may grow; staff are alarmed as it nears this.
    pub max_db_bytes: u64,
    /// Acknowledged (uploaded) responses are purged after this long.
    pub retention: Duration,
    /// Used receipts are forgotten after this long (from `[receipt] max_age_days`).
    pub receipt_memory: Duration,
}

impl StorageConfig {
    pub(super) fn read(raw: raw::StorageConfig, receipt_memory: Duration) -> StorageConfig {
        StorageConfig {
            path: raw.path.unwrap_or_else(|| state_dir().join("responses.db")),
            max_db_bytes: raw.max_db_mb.saturating_mul(1024 * 1024),
            retention: Duration::from_secs(u64::from(raw.retention_days) * 24 * 3600),
            receipt_memory,
        }
    }

    /// The retention in whole days, for messages.
    pub fn retention_days(&self) -> u64 {
        self.retention.as_secs() / (24 * 3600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_bytes_and_days_durations() {
        let s = StorageConfig::read(
            raw::StorageConfig {
                path: Some("/data/r.db".into()),
                max_db_mb: 2,
                retention_days: 3,
            },
            Duration::from_secs(1),
        );
        assert_eq!(s.path, PathBuf::from("/data/r.db"));
        assert_eq!(s.max_db_bytes, 2 * 1024 * 1024);
        assert_eq!(s.retention, Duration::from_secs(3 * 86_400));
        assert_eq!(s.retention_days(), 3);
    }

    #[test]
    fn without_a_path_the_database_is_in_the_state_directory() {
        let s = StorageConfig::read(raw::StorageConfig::default(), Duration::ZERO);
        assert_eq!(s.path, state_dir().join("responses.db"));
    }
}
