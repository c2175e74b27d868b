//! The files the device keeps outside its database: the configuration (`config`), the
//! survey files and the last good survey (`survey`), the receipt secret (`receipt_secret`);
//! the device token (`upload::token`), provisioning's writes and exports are written here too.
//!
//! Every one of them is written by [`replace_atomically`], the one writer: a reader, a power
//! cut or a pulled USB stick sees the old contents or all of the new, never half a file, and
//! the folder is synced so the rename lasts. And private files and folders for visitors'
//! responses and the device's secrets.
//!
//! Invariants:
//! - A file made private is mode 0600 and a folder the kiosk creates for private files 0700,
//!   whatever the umask of the shell or service that runs it: the mode given to open() and
//!   mkdir() is masked by the umask, so it is always set again exactly. (A file system with
//!   no Unix modes, FAT on a USB stick, keeps none; there the mount decides.)
//! - A folder that already existed is never changed: it may be a shared one the kiosk does
//!   not own (/tmp, a home folder, a USB stick's root).

pub mod config;
pub mod receipt_secret;
pub mod survey;

use crate::core::problem::Problem;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Which step failed, so callers can name it to the person who can fix it.
#[derive(Debug)]
pub struct WriteError {
    pub step: &'static str,
    pub error: std::io::Error,
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, renames it over `path`, then
/// syncs the folder so the rename lasts. The file gets `mode` if given, else keeps the mode of
/// the file it replaces (0644 for a new one).
pub fn replace_atomically(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), WriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(path.file_name().unwrap_or_default());
    temp_name.push(format!(".tmp-{}", std::process::id()));
    let temp = dir.join(temp_name);
    let mode = mode.unwrap_or_else(|| {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644)
    });
    let written = (|| -> Result<(), WriteError> {
        let step = |step: &'static str| move |error| WriteError { step, error };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temp)
            .map_err(step("create a temporary file beside"))?;
        // The mode given to open() is masked by the umask; set it exactly.
        set_mode_of_new(path, mode, |m| file.set_permissions(m))
            .map_err(step("set the permissions of"))?;
        file.write_all(bytes).map_err(step("write"))?;
        file.sync_all().map_err(step("save (sync)"))?;
        drop(file);
        std::fs::rename(&temp, path).map_err(step("move the finished file to"))
    })();
    if let Err(e) = written {
        // Only the temporary file this call made; the error above is the one that matters.
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    // Some file systems (FAT on USB sticks) cannot sync a folder; the file is in place anyway.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Sets the mode of a file or folder this process has just made. Only a file system without
/// Unix modes (FAT or exFAT on a USB stick) refuses that, since the process owns what it
/// made: there the mount alone decides who may read, so it is logged and not an error.
fn set_mode_of_new(
    path: &Path,
    mode: u32,
    set: impl FnOnce(std::fs::Permissions) -> std::io::Result<()>,
) -> std::io::Result<()> {
    match set(std::fs::Permissions::from_mode(mode)) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "the file system does not keep permissions; who may read this depends on how it is mounted");
            Ok(())
        }
        other => other,
    }
}

/// The mode of files holding visitors' responses or the device's secrets.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// The mode of folders the kiosk creates for them.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// Creates `dir` and whichever of its parents are missing, each with mode 0700. Folders that
/// already exist, `dir` included, are left as they are.
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    // The missing part of the path, innermost first.
    let mut missing = Vec::new();
    let mut next = Some(dir);
    while let Some(d) = next.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d);
        next = d.parent();
    }
    for d in missing.iter().rev() {
        match std::fs::DirBuilder::new().mode(PRIVATE_DIR_MODE).create(d) {
            // Before anything is made inside: a umask of 0777 would leave even the owner out.
            Ok(()) => set_mode_of_new(d, PRIVATE_DIR_MODE, |m| std::fs::set_permissions(d, m))?,
            // Made meanwhile by another process: not this call's to change.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    if dir.is_dir() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} exists and is not a folder", dir.display()),
        ))
    }
}

/// Creates `path` empty with mode 0600 if it does not exist, so that what is written into it
/// later (SQLite's database, which gives its -wal and -shm files the same mode) is private
/// from the first byte. An existing file is left alone here; see [`make_private`].
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .open(path)
    {
        Ok(file) => set_mode_of_new(path, PRIVATE_FILE_MODE, |m| file.set_permissions(m)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes an existing file 0600 if anyone but its owner may use it, or it is executable (a
/// file made before the kiosk made its files private, or copied in by hand). `Ok(None)` when
/// there is no such file or it was private already; else the mode it had.
pub fn make_private(path: &Path) -> std::io::Result<Option<u32>> {
    let mode = match std::fs::metadata(path) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // Anything beyond the owner's reading and writing goes; a read-only file stays so.
    if mode & !PRIVATE_FILE_MODE == 0 {
        return Ok(None);
    }
    std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode(mode & PRIVATE_FILE_MODE),
    )?;
    Ok(Some(mode))
}

/// The user the kiosk's service runs as.
pub const SERVICE_USER: &str = "earshot";

/// Files written by root for the kiosk (`sudo earshot provision`) are handed to the service
/// user, who must read them; elsewhere (a desktop, a test, not root) nothing changes.
pub fn hand_to_service_user(paths: &[&Path]) -> Result<(), Problem> {
    use std::os::unix::fs::MetadataExt;
    let Some((uid, gid)) = service_user_ids() else {
        return Ok(());
    };
    for path in paths {
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        // Owned by root: this process is root, and the kiosk could not read the file.
        if meta.uid() == 0 {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| {
                format!(
                    "cannot give {} to the {SERVICE_USER} user: {e}",
                    path.display()
                )
            })?;
        }
    }
    Ok(())
}

/// The service user's ids from /etc/passwd, if it exists.
fn service_user_ids() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == SERVICE_USER).then_some(())?;
        let _password = fields.next()?;
        Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_keeps_or_sets_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("earshot.toml");
        replace_atomically(&path, b"one", None).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace_atomically(&path, b"two", None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        replace_atomically(&path, b"secret", Some(0o600)).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Nothing else is left in the folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let e = replace_atomically(&dir.path().join("missing/x"), b"", None).unwrap_err();
        assert_eq!(e.step, "create a temporary file beside");
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn private_folders_are_0700_and_folders_that_were_there_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let inner = dir.path().join("a/b/c");
        create_private_dir_all(&inner).unwrap();
        for made in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&dir.path().join(made)), 0o700, "{made}");
        }
        assert_eq!(mode(dir.path()), 0o755, "not made by the call, not changed");
        // Again: nothing to make, nothing changed.
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o750)).unwrap();
        create_private_dir_all(&inner).unwrap();
        assert_eq!(mode(&inner), 0o750);
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(create_private_dir_all(&file).is_err());
        assert!(create_private_dir_all(&file.join("below")).is_err());
    }

    #[test]
    fn private_files_are_made_0600_and_open_ones_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("responses.db");
        create_private_file(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        // An existing file is not emptied.
        std::fs::write(&path, "kept").unwrap();
        create_private_file(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"kept");
        assert_eq!(make_private(&path).unwrap(), None, "private already");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert_eq!(make_private(&path).unwrap(), Some(0o664));
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(
            make_private(&path).unwrap(),
            None,
            "read-only for its owner is private"
        );
        assert_eq!(mode(&path), 0o400);
        assert_eq!(make_private(&dir.path().join("missing")).unwrap(), None);
    }
}
