//! The device token: a secret, kept in its own file in the state directory, readable by the
//! kiosk's user alone, never in the config file and never logged.

use crate::core::problem::Problem;
use std::path::Path;

/// The token, or `None` when the device has not been provisioned.
pub fn read(path: &Path) -> Result<Option<String>, Problem> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim().to_string();
            Ok((!token.is_empty()).then_some(token))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Problem::new(format!(
            "cannot read the device token {}: {e}; check that the earshot user owns it",
            path.display()
        ))),
    }
}

/// Writes the token with mode 0600: a temporary file beside it, flushed, renamed over.
pub fn write(path: &Path, token: &str) -> Result<(), Problem> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    crate::files::create_private_dir_all(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut text = token.as_bytes().to_vec();
    text.push(b'\n');
    crate::files::replace_atomically(path, &text, Some(0o600)).map_err(|e| {
        Problem::new(format!(
            "cannot write the device token {} ({}): {}",
            path.display(),
            e.step,
            e.error
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_token_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/device-token");
        assert_eq!(read(&path).unwrap(), None);
        write(&path, "abc123").unwrap();
        assert_eq!(read(&path).unwrap().as_deref(), Some("abc123"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        write(&path, "def456").unwrap();
        assert_eq!(read(&path).unwrap().as_deref(), Some("def456"));
    }
}
