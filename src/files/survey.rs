//! Survey files: reading one (never past the size limit, only UTF-8 text), and the copy of
//! the last survey that loaded cleanly, kept beside the data.

use crate::core::problem::Problem;
use std::path::{Path, PathBuf};

/// Reads a survey file, refusing what is not text with a message that says so. Every survey
/// the kiosk reads (`check-survey`, `run --survey`, the configured file, the last good copy)
/// comes through here, so none is read past [`earshot_protocol::MAX_SURVEY_FILE_BYTES`]: the
/// length on disk is checked first, and the reading itself stops one byte past the limit,
/// because a pipe, a device or a file still being written tells no true length.
pub fn read_survey_text(path: &Path) -> Result<String, Problem> {
    use std::io::Read;
    let limit = earshot_protocol::MAX_SURVEY_FILE_BYTES;
    let cannot_read = |e: std::io::Error| {
        Problem::with_fix(
            format!("{}: cannot read the survey file: {e}", path.display()),
            "check the path and that the file may be read",
        )
    };
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    let on_disk = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if let Some(len) = on_disk.filter(|&len| len > limit) {
        return Err(survey_too_large(path, Some(len)));
    }
    let mut bytes = Vec::with_capacity(on_disk.unwrap_or(0) as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > limit {
        return Err(survey_too_large(path, None));
    }
    String::from_utf8(bytes).map_err(|e| {
        Problem::with_fix(
            format!(
                "{}: the file is not UTF-8 text (bad byte at position {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
            "save it as UTF-8 from your editor",
        )
    })
}

/// Why a survey file over the limit is refused; `len` when the file system knows it.
fn survey_too_large(path: &Path, len: Option<u64>) -> Problem {
    let limit_mib = earshot_protocol::MAX_SURVEY_FILE_BYTES / (1024 * 1024);
    let size = match len {
        Some(len) => format!("is {:.1} MB", len as f64 / 1_000_000.0),
        None => format!("goes on past {limit_mib} MiB"),
    };
    Problem::with_fix(
        format!(
            "{}: the file {size}; a survey file may be at most {limit_mib} MiB, so this is almost certainly not the intended file (a survey in every language of a large council is well under 200 KB)",
            path.display()
        ),
        "check that the path names the survey file",
    )
}

/// The last survey that loaded cleanly is kept beside the data, so a broken update does not
/// take the kiosk out of service.
pub fn last_good_path() -> PathBuf {
    super::config::state_dir().join("last-good-survey.toml")
}

/// The text of the last good survey, if there is one that can be read.
pub fn read_last_good() -> Option<String> {
    read_survey_text(&last_good_path()).ok()
}

/// Keeps `text`, a survey that loaded cleanly, as the last good survey. A failure is logged:
/// the kiosk runs on with the survey it has.
pub fn remember_good(text: &str) {
    let path = last_good_path();
    let result = (|| -> std::io::Result<()> {
        // The kiosk's state folder, where the responses are kept too.
        if let Some(dir) = path.parent() {
            super::create_private_dir_all(dir)?;
        }
        super::replace_atomically(&path, text.as_bytes(), None).map_err(|e| {
            std::io::Error::new(e.error.kind(), format!("cannot {}: {}", e.step, e.error))
        })
    })();
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "could not keep a copy of the good survey");
    }
}
