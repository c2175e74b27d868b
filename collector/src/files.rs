//! The collector's files hold visitors' phone numbers, e-mail addresses, free text and the
//! deployment's receipt secret. Invariant: whatever the umask, every file the collector
//! creates is 0600 (owner only) and every folder it creates is 0700; an existing database
//! found with wider modes is narrowed at open.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const PRIVATE_FILE: u32 = 0o600;
pub const PRIVATE_DIR: u32 = 0o700;

/// Creates `dir` and any missing parents as 0700. Folders that already exist are left as
/// they are: they may be shared ones such as `/var/lib`, which are not the collector's.
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_private_dir_all(parent)?;
    }
    match DirBuilder::new().mode(PRIVATE_DIR).create(dir) {
        // The mode given to mkdir() is masked by the umask; set it exactly.
        Ok(()) => std::fs::set_permissions(dir, Permissions::from_mode(PRIVATE_DIR)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes sure `path` exists as a 0600 file before a library (SQLite) opens it: SQLite creates
/// a new database with the umask's mode and gives its -wal and -shm files the main file's
/// mode, so the main file's mode decides all three. Narrows an existing file, and any -wal
/// and -shm beside it, to 0600.
pub fn prepare_private_database(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        create_private_dir_all(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(PRIVATE_FILE)
        .open(path)?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        match std::fs::metadata(file) {
            Ok(meta) if meta.permissions().mode() & 0o777 != PRIVATE_FILE => {
                std::fs::set_permissions(file, Permissions::from_mode(PRIVATE_FILE))?
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_folders_are_0700_and_old_ones_are_left_alone() {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), Permissions::from_mode(0o755)).unwrap();
        let deep = root.path().join("a/b");
        create_private_dir_all(&deep).unwrap();
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&deep), 0o700);
        assert_eq!(mode(root.path()), 0o755);
    }

    #[test]
    fn a_database_file_is_made_or_narrowed_to_0600() {
        let root = tempfile::tempdir().unwrap();
        let db = root.path().join("state/c.db");
        prepare_private_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        let wal = root.path().join("state/c.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&db, Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&wal, Permissions::from_mode(0o666)).unwrap();
        prepare_private_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
    }
}
