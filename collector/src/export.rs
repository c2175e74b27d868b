//! `earshot-collector export`: the stored responses as JSON lines or CSV. They are streamed:
//! read from the store one at a time and written out as read, so that memory stays that of
//! one response however many there are, and the file appears whole or not at all.

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use earshot_protocol::Outcome;
use serde_json::value::RawValue;

use crate::store::{Store, StoredResponse};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

/// Writes the responses that started at or after `since` (all, without it), oldest first, to
/// `path` in `format`, replacing the file only once every row is on disk. Returns how many
/// were written.
pub fn export(
    store: &dyn Store,
    since: Option<SystemTime>,
    format: Format,
    path: &Path,
) -> Result<u64, String> {
    let mut file = AtomicFile::create(path)?;
    let mut line = Vec::new();
    if format == Format::Csv {
        csv_header(&mut line);
        file.write_all(&line)?;
    }
    let written = store
        .each_response_since(since, &mut |row| {
            line.clear();
            match format {
                Format::Jsonl => jsonl_line(&row, &mut line)?,
                Format::Csv => csv_line(&row, &mut line)?,
            }
            file.write_all(&line)
        })
        .map_err(|e| e.to_string())?;
    file.commit()?;
    Ok(written)
}

/// One JSON object per line: the collector's facts about the response, and the record as the
/// kiosk sent it. Appends the line, with its newline, to `out`.
pub fn jsonl_line(row: &StoredResponse, out: &mut Vec<u8>) -> Result<(), String> {
    let record: serde_json::Value = serde_json::from_str(row.record_json)
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
    serde_json::to_writer(&mut *out, &line).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(())
}

/// A cell that a spreadsheet would run as a formula is prefixed with `'`.
pub fn cell(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len() + 3);
    push_cell(&mut out, text);
    // Only ASCII was added around and inside valid UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `text` to `out` as one CSV cell: prefixed with `'` when a spreadsheet would run it
/// as a formula, and quoted, its quotes doubled, when it holds a comma, a quote or a line
/// break. One pass over the bytes, with nothing allocated: the export writes a million.
pub fn push_cell(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let formula = matches!(
        bytes.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    let quoted = bytes
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if quoted {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    if quoted {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'"' {
                out.extend_from_slice(&bytes[start..=i]);
                out.push(b'"');
                start = i + 1;
            }
        }
        out.extend_from_slice(&bytes[start..]);
        out.push(b'"');
    } else {
        out.extend_from_slice(bytes);
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

/// The first lines of a CSV export: a UTF-8 byte-order mark, so that spreadsheet programs read
/// accents and Chinese correctly, and the column names.
pub fn csv_header(out: &mut Vec<u8>) {
    out.extend_from_slice("\u{feff}".as_bytes());
    out.extend_from_slice(CSV_COLUMNS.join(",").as_bytes());
    out.push(b'\n');
}

/// What a CSV row shows of a stored record, read in place: strings are borrowed from the
/// stored text unless they hold an escape, and the answers are passed through as stored. The
/// stored record is the typed record's own encoding (ingest writes it so, and so does
/// blanking personal data), so those bytes are exactly what encoding the typed answers again
/// would give, without the cost of reading each answer's tagged value.
#[derive(serde::Deserialize)]
struct CsvRecord<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    reference: Cow<'a, str>,
    #[serde(borrow)]
    site_id: Cow<'a, str>,
    #[serde(borrow)]
    survey_id: Cow<'a, str>,
    #[serde(borrow)]
    survey_version: Cow<'a, str>,
    #[serde(borrow)]
    language: Cow<'a, str>,
    outcome: Outcome,
    #[serde(borrow)]
    service: Option<Cow<'a, str>>,
    clock: CsvClock,
    flags: CsvFlags,
    #[serde(borrow)]
    answers: &'a RawValue,
}

#[derive(serde::Deserialize)]
struct CsvClock {
    started_mono_ms: u64,
    finished_mono_ms: u64,
}

#[derive(serde::Deserialize)]
struct CsvFlags {
    suspected_misuse: bool,
}

/// One row per response; the answers as JSON in the last column. Appends the row, with its
/// newline, to `out`.
pub fn csv_line(row: &StoredResponse, out: &mut Vec<u8>) -> Result<(), String> {
    let r: CsvRecord = serde_json::from_str(row.record_json)
        .map_err(|e| format!("a stored record could not be read: {e}"))?;
    let duration_ms = r
        .clock
        .finished_mono_ms
        .saturating_sub(r.clock.started_mono_ms);
    let duration = duration_ms.to_string();
    let cells: [&str; 16] = [
        &r.id,
        &r.reference,
        row.device_id,
        &r.site_id,
        &r.survey_id,
        &r.survey_version,
        &r.language,
        r.outcome.as_str(),
        r.service.as_deref().unwrap_or_default(),
        row.started_at,
        row.finished_at,
        row.time_basis,
        row.received_at,
        &duration,
        if r.flags.suspected_misuse {
            "true"
        } else {
            "false"
        },
        r.answers.get(),
    ];
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_cell(out, c);
    }
    out.push(b'\n');
    Ok(())
}

/// A file that appears at its path whole or not at all: written through a buffer to a
/// temporary file in the same folder (owner-only, 0600, as `tempfile` makes it), flushed to
/// disk, then renamed over the target. Dropped before `commit`, it leaves nothing behind.
pub struct AtomicFile {
    out: BufWriter<tempfile::NamedTempFile>,
    path: PathBuf,
    dir: PathBuf,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<AtomicFile, String> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let tmp = tempfile::NamedTempFile::new_in(&dir)
            .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
        Ok(AtomicFile {
            out: BufWriter::with_capacity(256 * 1024, tmp),
            path: path.to_path_buf(),
            dir,
        })
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.out.write_all(bytes).map_err(|e| self.failed(e))
    }

    /// Flushes what is written to disk and puts the file in place.
    pub fn commit(self) -> Result<(), String> {
        let AtomicFile { out, path, dir } = self;
        let fail = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
        let tmp = out.into_inner().map_err(|e| fail(e.error()))?;
        tmp.as_file().sync_all().map_err(|e| fail(&e))?;
        tmp.persist(&path).map_err(|e| fail(&e))?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn failed(&self, e: std::io::Error) -> String {
        format!("cannot write {}: {e}", self.path.display())
    }
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
        assert_eq!(cell("+\"x\"\n"), "\"'+\"\"x\"\"\n\"");
        assert_eq!(cell("\"\""), "\"\"\"\"\"\"");
        assert_eq!(cell("很好"), "很好");
        assert_eq!(cell(""), "");
    }

    /// The record as ingest stores it: read into the typed record, then encoded again.
    fn stored_record() -> String {
        let record = serde_json::json!({
            "id": "0192f0c4-7d2a-7b3e-8f00-000000000001", "reference": "K7M2-Q",
            "survey_id": "shop", "survey_version": "1", "language": "zh_CN",
            "site_id": "central-library", "device_id": "lobby-1",
            "started_at": "2026-11-23T10:00:00Z", "finished_at": "2026-11-23T10:00:20Z",
            "clock": {"synchronized": true, "started_mono_ms": 1000, "finished_mono_ms": 21000, "visit_number": 7},
            "outcome": "completed", "service": "checkout",
            "answers": [
                {"step_id": "rating", "at_ms": 1, "value": {"type": "rating", "scale": "smiley5", "value": 2}},
                {"step_id": "why", "at_ms": 2, "value": {"type": "choice", "options": ["queue", "staff"]}},
                {"step_id": "comment", "at_ms": 5, "value": {"type": "text", "text": "=1+2, \"很好\"\nthanks"}}
            ],
            "flags": {"suspected_misuse": false}
        });
        let typed: earshot_protocol::ResponseRecord = serde_json::from_value(record).unwrap();
        serde_json::to_string(&typed).unwrap()
    }

    fn row(record_json: &str) -> StoredResponse<'_> {
        StoredResponse {
            record_json,
            device_id: "lobby-1",
            received_at: "2026-11-23T10:05:00.000Z",
            started_at: "2026-11-23T10:00:00.000Z",
            finished_at: "2026-11-23T10:00:20.000Z",
            time_basis: "device",
        }
    }

    /// The formats exactly, byte for byte: what the service team's scripts read.
    #[test]
    fn each_format_is_written_exactly_as_documented() {
        let stored = stored_record();
        let mut csv = Vec::new();
        csv_header(&mut csv);
        csv_line(&row(&stored), &mut csv).unwrap();
        assert_eq!(String::from_utf8(csv).unwrap(), CSV_GOLDEN);
        let mut jsonl = Vec::new();
        jsonl_line(&row(&stored), &mut jsonl).unwrap();
        assert_eq!(String::from_utf8(jsonl).unwrap(), JSONL_GOLDEN);
    }

    /// The row as the typed record gives it: every field read into its type, the answers
    /// encoded again. What `csv_line` must write, read in place.
    fn typed_csv_line(row: &StoredResponse) -> String {
        let r: earshot_protocol::ResponseRecord = serde_json::from_str(row.record_json).unwrap();
        let cells = [
            r.id.to_string(),
            r.reference,
            row.device_id.to_string(),
            r.site_id,
            r.survey_id,
            r.survey_version,
            r.language,
            r.outcome.as_str().to_string(),
            r.service.unwrap_or_default(),
            row.started_at.to_string(),
            row.finished_at.to_string(),
            row.time_basis.to_string(),
            row.received_at.to_string(),
            r.clock.duration_ms().to_string(),
            r.flags.suspected_misuse.to_string(),
            serde_json::to_string(&r.answers).unwrap(),
        ];
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        cells.join(",") + "\n"
    }

    /// Strings with escapes (which cannot be borrowed), no service, misuse, every kind of
    /// answer, and fields only newer kiosks send: the row read in place is the typed one.
    #[test]
    fn a_row_read_in_place_is_the_row_of_the_typed_record() {
        let records = [
            stored_record(),
            serde_json::to_string(
                &serde_json::from_str::<earshot_protocol::ResponseRecord>(
                    r#"{
                    "id": "0192f0c4-7d2a-7b3e-8f00-0000000000ff", "reference": "K7M2-Q",
                    "survey_id": "caf\u00e9 \"quoted\"", "survey_version": "2\n3",
                    "language": "de", "site_id": "=cmd|' /C calc'!A0", "device_id": "lobby-1",
                    "started_at": "2026-11-23T10:00:00Z", "finished_at": "2026-11-23T10:00:01Z",
                    "clock": {"synchronized": false, "started_mono_ms": 5000,
                              "finished_mono_ms": 4000, "visit_number": 1,
                              "run_id": "0192f0c4-7d2a-7b3e-8f00-0000000000aa",
                              "boot_id": "0192f0c4-7d2a-7b3e-8f00-0000000000bb",
                              "started_boot_ms": 10, "finished_boot_ms": 20},
                    "outcome": "abandoned", "service": null,
                    "answers": [
                        {"step_id": "nps", "at_ms": 1, "value": {"type": "rating", "scale": "nps11", "value": 0}},
                        {"step_id": "why", "at_ms": 2, "value": {"type": "choice", "options": []}},
                        {"step_id": "note", "at_ms": 3, "value": {"type": "text", "text": "tab\there \u0001 \ud83d\ude00"}}
                    ],
                    "flags": {"suspected_misuse": true}
                }"#,
                )
                .unwrap(),
            )
            .unwrap(),
        ];
        for stored in &records {
            let mut line = Vec::new();
            csv_line(&row(stored), &mut line).unwrap();
            assert_eq!(
                String::from_utf8(line).unwrap(),
                typed_csv_line(&row(stored))
            );
        }
        let mut line = Vec::new();
        let broken = csv_line(&row("{\"id\": 1}"), &mut line).unwrap_err();
        assert!(
            broken.contains("a stored record could not be read"),
            "{broken}"
        );
    }

    const CSV_GOLDEN: &str = "\u{feff}id,reference,device_id,site_id,survey_id,survey_version,language,outcome,service,started_at,finished_at,time_basis,received_at,duration_ms,suspected_misuse,answers\n0192f0c4-7d2a-7b3e-8f00-000000000001,K7M2-Q,lobby-1,central-library,shop,1,zh_CN,completed,checkout,2026-11-23T10:00:00.000Z,2026-11-23T10:00:20.000Z,device,2026-11-23T10:05:00.000Z,20000,false,\"[{\"\"step_id\"\":\"\"rating\"\",\"\"at_ms\"\":1,\"\"value\"\":{\"\"type\"\":\"\"rating\"\",\"\"scale\"\":\"\"smiley5\"\",\"\"value\"\":2}},{\"\"step_id\"\":\"\"why\"\",\"\"at_ms\"\":2,\"\"value\"\":{\"\"type\"\":\"\"choice\"\",\"\"options\"\":[\"\"queue\"\",\"\"staff\"\"]}},{\"\"step_id\"\":\"\"comment\"\",\"\"at_ms\"\":5,\"\"value\"\":{\"\"type\"\":\"\"text\"\",\"\"text\"\":\"\"=1+2, \\\"\"很好\\\"\"\\nthanks\"\"}}]\"\n";
    const JSONL_GOLDEN: &str = "{\"device_id\":\"lobby-1\",\"finished_at\":\"2026-11-23T10:00:20.000Z\",\"id\":\"0192f0c4-7d2a-7b3e-8f00-000000000001\",\"received_at\":\"2026-11-23T10:05:00.000Z\",\"record\":{\"answers\":[{\"at_ms\":1,\"step_id\":\"rating\",\"value\":{\"scale\":\"smiley5\",\"type\":\"rating\",\"value\":2}},{\"at_ms\":2,\"step_id\":\"why\",\"value\":{\"options\":[\"queue\",\"staff\"],\"type\":\"choice\"}},{\"at_ms\":5,\"step_id\":\"comment\",\"value\":{\"text\":\"=1+2, \\\"很好\\\"\\nthanks\",\"type\":\"text\"}}],\"clock\":{\"finished_mono_ms\":21000,\"started_mono_ms\":1000,\"synchronized\":true,\"visit_number\":7},\"device_id\":\"lobby-1\",\"finished_at\":\"2026-11-23T10:00:20Z\",\"flags\":{\"suspected_misuse\":false},\"id\":\"0192f0c4-7d2a-7b3e-8f00-000000000001\",\"language\":\"zh_CN\",\"outcome\":\"completed\",\"reference\":\"K7M2-Q\",\"service\":\"checkout\",\"site_id\":\"central-library\",\"started_at\":\"2026-11-23T10:00:00Z\",\"survey_id\":\"shop\",\"survey_version\":\"1\"},\"started_at\":\"2026-11-23T10:00:00.000Z\",\"time_basis\":\"device\"}\n";

    #[test]
    fn an_export_that_fails_part_way_leaves_no_file_and_the_old_one_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "before").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"half").unwrap();
        drop(file);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "before");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"whole").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "whole");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
