//! The surveys a collector accepts responses for, read from a folder of survey files (the same
//! files the kiosks use). Only each file's `id` and `version` matter here.

use std::path::Path;

use crate::ingest::KnownSurveys;

#[derive(serde::Deserialize)]
struct SurveyHead {
    id: String,
    version: String,
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
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read survey {}: {e}", path.display()))?;
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
