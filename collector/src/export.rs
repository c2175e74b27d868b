//! `earshot-collector export`: the stored responses as JSON lines or CSV, written atomically.

use std::io::Write;
use std::path::Path;

use crate::store::StoredResponse;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

/// One JSON object per line: the collector's facts about the response, and the record as the
/// kiosk sent it.
pub fn jsonl(rows: &[StoredResponse]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for row in rows {
        let record: serde_json::Value = serde_json::from_str(&row.record_json)
            .map_err(|e| format!("a stored record could not be read: {e}"))?;
        let line = serde_json::json!({
            "id": record.get("id"),
            "device_id": row.device_id,
            "received_at": row.received_at,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "time_basis": row.time_basis,
            "record": record,
        });
        serde_json::to_writer(&mut out, &line).map_err(|e| e.to_string())?;
        out.push(b'\n');
    }
    Ok(out)
}

/// A cell that a spreadsheet would run as a formula is prefixed with `'`.
pub fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "reference",
    "device_id",
    "site_id",
    "survey_id",
    "survey_version",
    "language",
    "outcome",
    "service",
    "started_at",
    "finished_at",
    "time_basis",
    "received_at",
    "duration_ms",
    "suspected_misuse",
    "answers",
];

/// One row per response; the answers as JSON in the last column. UTF-8 with a byte-order
/// mark so that spreadsheet programs read accents and Chinese correctly.
pub fn csv(rows: &[StoredResponse]) -> Result<Vec<u8>, String> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    writeln!(out, "{}", CSV_COLUMNS.join(",")).map_err(|e| e.to_string())?;
    for row in rows {
        let r: earshot_protocol::ResponseRecord = serde_json::from_str(&row.record_json)
            .map_err(|e| format!("a stored record could not be read: {e}"))?;
        let answers = serde_json::to_string(&r.answers).map_err(|e| e.to_string())?;
        let cells = [
            r.id.to_string(),
            r.reference.clone(),
            row.device_id.clone(),
            r.site_id.clone(),
            r.survey_id.clone(),
            r.survey_version.clone(),
            r.language.clone(),
            r.outcome.as_str().to_string(),
            r.service.clone().unwrap_or_default(),
            row.started_at.clone(),
            row.finished_at.clone(),
            row.time_basis.clone(),
            row.received_at.clone(),
            r.clock.duration_ms().to_string(),
            r.flags.suspected_misuse.to_string(),
            answers,
        ];
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        writeln!(out, "{}", line.join(",")).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Writes `bytes` to `path` so that a reader never sees half a file: a temporary file in the
/// same folder, flushed to disk, then renamed over the target.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_look_like_formulas_are_defused_and_quoted() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
    }
}
