//! The deployment's receipt secret: the key of the HMAC that stands in for a receipt's
//! transaction number. It lives in its own file in the state directory, readable by the
//! kiosk's user alone, never in the config and never logged. Provisioning writes the one the
//! collector hands out (the same on every kiosk of a deployment, so the service team can join
//! with their till data); a kiosk that has none makes its own, so receipts are never kept in
//! the clear for want of a key.

use crate::core::problem::Problem;
use std::path::{Path, PathBuf};

/// Fewer bytes than this is not a secret worth the name.
const MIN_SECRET_BYTES: usize = 16;
/// What a new secret has.
const NEW_SECRET_BYTES: usize = 32;

#[derive(Debug)]
pub struct Loaded {
    pub secret: Vec<u8>,
    /// There was none: a new one was made (receipts will not join with till data until the
    /// deployment's secret is provisioned).
    pub created: bool,
    /// The file was unusable and moved here (kept, never deleted); a new secret was made.
    pub quarantined: Option<PathBuf>,
}

/// The secret as written in the file: hex, at least 16 bytes.
pub fn parse(text: &str) -> Result<Vec<u8>, Problem> {
    let bytes = hex::decode(text.trim()).map_err(|e| format!("it is not hexadecimal ({e})"))?;
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(Problem::new(format!(
            "it holds {} bytes; a receipt secret has at least {MIN_SECRET_BYTES}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// What a collector hands out at provisioning.
const PROVISIONED_SECRET_BYTES: usize = 32;

/// A secret from a collector's enrolment reply, as it will be written: exactly 64 hex digits
/// (lowercased). The reason never contains the text itself, which is a secret.
pub fn check_provisioned(text: &str) -> Result<String, Problem> {
    let digits = PROVISIONED_SECRET_BYTES * 2;
    if text.len() != digits || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Problem::new(format!(
            "it must be {digits} hexadecimal digits, and is {} characters{}",
            text.chars().count(),
            if text.chars().all(|c| c.is_ascii_hexdigit()) {
                ""
            } else {
                " with some that are not hexadecimal digits"
            }
        )));
    }
    Ok(text.to_ascii_lowercase())
}

/// Writes the secret (hex) with mode 0600, replacing the file atomically.
pub fn write(path: &Path, secret_hex: &str) -> Result<(), Problem> {
    parse(secret_hex).map_err(|e| format!("the receipt secret cannot be used: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::files::create_private_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let text = format!("{}\n", secret_hex.trim().to_ascii_lowercase());
    crate::files::replace_atomically(path, text.as_bytes(), Some(0o600)).map_err(|e| {
        Problem::new(format!(
            "cannot write the receipt secret {} ({}): {}",
            path.display(),
            e.step,
            e.error
        ))
    })
}

fn fresh_hex() -> Result<String, Problem> {
    earshot_protocol::random::random_hex(NEW_SECRET_BYTES).map_err(Problem::new)
}

/// Reads the secret, making one if there is none. An unusable file is moved aside (kept
/// for whoever can restore it) and replaced, so that the kiosk keeps working.
pub fn load_or_create(path: &Path) -> Result<Loaded, Problem> {
    let mut quarantined = None;
    match std::fs::read_to_string(path) {
        Ok(text) => match parse(&text) {
            Ok(secret) => {
                tighten_permissions(path);
                return Ok(Loaded {
                    secret,
                    created: false,
                    quarantined: None,
                });
            }
            Err(problem) => {
                let moved = quarantine_path(path);
                std::fs::rename(path, &moved).map_err(|e| {
                    format!(
                        "the receipt secret {} cannot be used ({problem}) and cannot be moved aside: {e}",
                        path.display()
                    )
                })?;
                tracing::warn!(file = %path.display(), moved_to = %moved.display(), %problem, "unusable receipt secret moved aside");
                quarantined = Some(moved);
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            // Not text at all: the same as any other unusable content.
            let moved = quarantine_path(path);
            std::fs::rename(path, &moved)
                .map_err(|e| format!("cannot move {} aside: {e}", path.display()))?;
            quarantined = Some(moved);
        }
        Err(e) => {
            return Err(Problem::new(format!(
                "cannot read the receipt secret {}: {e}; check that the earshot user owns it",
                path.display()
            )))
        }
    }
    let hex_text = fresh_hex()?;
    write(path, &hex_text)?;
    Ok(Loaded {
        secret: parse(&hex_text)?,
        created: true,
        quarantined,
    })
}

fn quarantine_path(path: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".unusable-{stamp}"));
    path.with_file_name(name)
}

/// A secret others can read is not secret: make it the owner's alone.
fn tighten_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            Ok(()) => {
                tracing::warn!(file = %path.display(), mode = format!("{mode:o}"), "the receipt secret was readable by others; made private (0600)")
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "the receipt secret is readable by others and could not be made private")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_missing_secret_is_made_private_and_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/receipt-secret");
        let first = load_or_create(&path).unwrap();
        assert!(first.created && first.quarantined.is_none());
        assert_eq!(first.secret.len(), NEW_SECRET_BYTES);
        assert_eq!(mode(&path), 0o600);
        let again = load_or_create(&path).unwrap();
        assert!(!again.created);
        assert_eq!(again.secret, first.secret, "the same key across restarts");
    }

    #[test]
    fn a_provisioned_secret_is_used_and_an_open_file_is_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("receipt-secret");
        let hex_text = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        write(&path, hex_text).unwrap();
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let loaded = load_or_create(&path).unwrap();
        assert_eq!(loaded.secret, hex::decode(hex_text).unwrap());
        assert_eq!(mode(&path), 0o600);
        assert!(write(&path, "abcd").unwrap_err().contains("at least 16"));
    }

    #[test]
    fn a_provisioned_secret_is_exactly_64_hex_digits() {
        let good = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        assert_eq!(check_provisioned(good).unwrap(), good.to_ascii_lowercase());
        for bad in [
            &good[..62],
            &format!("{good}00"),
            &format!("{}\n", &good[..63]),
            &format!("{}zz", &good[..62]),
            "",
        ] {
            let e = check_provisioned(bad).unwrap_err();
            assert!(e.contains("64 hexadecimal digits"), "{bad:?}: {e}");
            assert!(
                bad.is_empty() || !e.contains(bad),
                "the secret is not shown: {e}"
            );
        }
    }

    #[test]
    fn an_unusable_secret_is_moved_aside_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("receipt-secret");
        for bad in [&b"not hex at all"[..], b"abcd", b"\xff\xfe\x00binary"] {
            std::fs::write(&path, bad).unwrap();
            let loaded = load_or_create(&path).unwrap();
            assert!(loaded.created);
            let moved = loaded.quarantined.expect("moved aside");
            assert_eq!(std::fs::read(&moved).unwrap(), bad, "kept as it was");
            assert_eq!(
                parse(&std::fs::read_to_string(&path).unwrap()).unwrap(),
                loaded.secret
            );
            std::fs::remove_file(&moved).unwrap();
        }
    }
}
