//! Replacing a file in one step, for everything the kiosk writes outside its database (the
//! config, the device token, exports): a reader, a power cut or a pulled USB stick sees the
//! old contents or all of the new, never half a file.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
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
        file.set_permissions(std::fs::Permissions::from_mode(mode))
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

/// The user the kiosk's service runs as.
pub const SERVICE_USER: &str = "earshot";

/// Files written by root for the kiosk (`sudo earshot provision`) are handed to the service
/// user, who must read them; elsewhere (a desktop, a test, not root) nothing changes.
pub fn hand_to_service_user(paths: &[&Path]) -> Result<(), String> {
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
}
