//! The surveys a collector accepts responses for, read from a folder of survey files (the same
//! files the kiosks use). Only each file's `id` and `version` matter here.

use std::path::Path;

use crate::ingest::KnownSurveys;

#[derive(serde::Deserialize)]
struct SurveyHead {
    id: String,
    version: String,
}

/// A survey file's text, refused unread past `MAX_SURVEY_FILE_BYTES`: the length is
/// checked first and the read is capped too, since a FIFO or a growing file can say less.
fn read_survey_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let limit = earshot_protocol::MAX_SURVEY_FILE_BYTES;
    let too_large = || {
        format!(
            "survey {} is larger than {} KiB, the most a survey file may be; it is probably \
             not a survey (check the surveys folder)",
            path.display(),
            limit / 1024
        )
    };
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read survey {}: {e}", path.display()))?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) > limit {
        return Err(too_large());
    }
    let mut text = String::new();
    file.take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read survey {}: {e}", path.display()))?;
    if text.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(text)
}

/// Reads every `*.toml` in `dir`. A file that cannot be read is an error naming it: a
/// collector that silently forgot a survey would reject its responses.
pub fn load(dir: &Path) -> Result<KnownSurveys, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the surveys folder {}: {e}", dir.display()))?;
    let mut known = KnownSurveys::default();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read the surveys folder {}: {e}", dir.display()))?
            .path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = read_survey_file(&path)?;
        // Survey files carry many more tables; only the head is read.
        let value: toml::Table = toml::from_str(&text)
            .map_err(|e| format!("survey {} is not valid TOML: {e}", path.display()))?;
        let head = SurveyHead {
            id: value
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            version: value
                .get("version")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
        };
        if head.id.is_empty() || head.version.is_empty() {
            return Err(format!(
                "survey {} has no `id` or `version` at its top",
                path.display()
            ));
        }
        known.0.insert((head.id, head.version));
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_survey_file_over_the_limit_is_refused_unparsed() {
        let dir = tempfile::tempdir().unwrap();
        let big = "id = \"s\"\nversion = \"1\"\n".to_string()
            + &"# padding\n".repeat(earshot_protocol::MAX_SURVEY_FILE_BYTES as usize / 10 + 1);
        std::fs::write(dir.path().join("big.toml"), big).unwrap();
        let e = load(dir.path()).unwrap_err();
        assert!(e.contains("big.toml") && e.contains("2048 KiB"), "{e}");
        std::fs::write(dir.path().join("big.toml"), "id = \"s\"\nversion = \"1\"\n").unwrap();
        assert_eq!(load(dir.path()).unwrap().0.len(), 1);
    }
}
