//! `earshot queue …`: the stored responses, for facilities staff: counts, export (e.g. to a
//! USB stick), retry.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::core::problem::Problem;
use crate::core::record::ResponseRecord;
use crate::files::config::StorageConfig;
use crate::storage::{ExportedRow, Opened, Queue, QueueStats, RowState};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Counts by state, age of the oldest unsent response, database size
    Stats {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Write responses to a file (e.g. on a USB stick), atomically
    Export {
        /// The file to write
        #[arg(long)]
        out: PathBuf,
        /// jsonl or csv
        #[arg(long, default_value = "jsonl")]
        format: String,
        /// pending, claimed, acked, dead or all
        #[arg(long, default_value = "all")]
        state: String,
        /// Read this database file instead of the configured one (e.g. a quarantined copy)
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Put dead-lettered responses back in the queue
    RetryDead {
        /// Only this response
        #[arg(long)]
        id: Option<String>,
    },
}

/// What `queue stats` reports, in the shape `--json` prints.
#[derive(Debug, Serialize)]
struct StatsReport {
    database: String,
    exists: bool,
    pending: u64,
    claimed: u64,
    acked: u64,
    dead: u64,
    total: u64,
    /// Seconds since the oldest pending response was stored; `None` when nothing waits.
    oldest_pending_age_seconds: Option<u64>,
    db_bytes: u64,
    db_mb: f64,
}

pub fn run(args: Args, storage: &StorageConfig) -> Result<ExitCode, Problem> {
    match args.action {
        Action::Stats { json } => stats(&storage.path, json),
        Action::Export {
            out,
            format,
            state,
            db,
        } => {
            let format = ExportFormat::parse(&format)?;
            let state = parse_state(&state)?;
            let source = db.unwrap_or_else(|| storage.path.clone());
            export(&source, &out, format, state)
        }
        Action::RetryDead { id } => retry_dead(&storage.path, id.as_deref()),
    }
}

fn stats(path: &Path, json: bool) -> Result<ExitCode, Problem> {
    let exists = path.is_file();
    let stats = if exists {
        // Read-only: looking must never migrate, repair or release anything in the store.
        let queue = Queue::open_read_only(path)?;
        queue.stats()?
    } else {
        QueueStats::default()
    };
    let age_seconds = stats
        .oldest_pending_created_ms
        .map(|created| age_seconds(created, earshot_protocol::time::now_ms()));
    let report = StatsReport {
        database: path.display().to_string(),
        exists,
        pending: stats.pending,
        claimed: stats.claimed,
        acked: stats.acked,
        dead: stats.dead,
        total: stats.pending + stats.claimed + stats.acked + stats.dead,
        oldest_pending_age_seconds: age_seconds,
        db_bytes: stats.db_bytes,
        db_mb: (stats.db_bytes as f64 / 1_000.0).round() / 1_000.0,
    };
    let missing_note = format!(
        "no responses have been stored yet at {} (the file does not exist; the kiosk \
         creates it when the first response is saved)",
        path.display()
    );
    if json {
        let text = serde_json::to_string(&report).map_err(|e| {
            Problem::with_fix(
                format!("cannot format the statistics: {e}"),
                "report this message",
            )
        })?;
        outln!("{text}");
        if !exists {
            // On stderr so that stdout stays one JSON object for scripts.
            errln!("{missing_note}");
        }
    } else {
        if !exists {
            outln!("{missing_note}");
        }
        outln!("database:        {}", report.database);
        outln!("pending (unsent): {}", report.pending);
        outln!("being uploaded:  {}", report.claimed);
        outln!("uploaded:        {}", report.acked);
        outln!("dead (refused):  {}", report.dead);
        outln!("total:           {}", report.total);
        let oldest = match age_seconds {
            Some(s) => format!("{} ago", human_age(s)),
            None => "none waiting".to_string(),
        };
        outln!("oldest unsent:   {oldest}");
        outln!("database size:   {}", megabytes(report.db_bytes));
        if report.dead > 0 {
            outln!(
                "{} response(s) were refused by the receiver; see them with \
                 `earshot queue export --state dead --out FILE`, retry with \
                 `earshot queue retry-dead`",
                report.dead
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whole seconds from `created_ms` to `now_ms`; zero when the clock says the record is from
/// the future (a kiosk clock set wrong before NTP synced).
fn age_seconds(created_ms: i64, now_ms: i64) -> u64 {
    u64::try_from(now_ms.saturating_sub(created_ms).max(0) / 1000).unwrap_or(0)
}

/// A size in MB, with enough decimals that a small store does not read as empty.
fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / 1_000_000.0;
    if mb < 1.0 {
        format!("{mb:.2} MB")
    } else {
        format!("{mb:.1} MB")
    }
}

/// An age as staff read it: "45 s", "12 min", "3 h 12 min", "2 d 5 h".
fn human_age(seconds: u64) -> String {
    let minutes = seconds / 60;
    let hours = minutes / 60;
    let days = hours / 24;
    if seconds < 60 {
        format!("{seconds} s")
    } else if minutes < 60 {
        format!("{minutes} min")
    } else if hours < 24 {
        format!("{hours} h {} min", minutes % 60)
    } else {
        format!("{days} d {} h", hours % 24)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExportFormat {
    Jsonl,
    Csv,
}

impl ExportFormat {
    fn parse(text: &str) -> Result<ExportFormat, Problem> {
        match text.trim().to_ascii_lowercase().as_str() {
            "jsonl" => Ok(ExportFormat::Jsonl),
            "csv" => Ok(ExportFormat::Csv),
            _ => Err(Problem::with_fix(
                format!("unknown export format {text:?}"),
                "use --format jsonl (one JSON record per line) or --format csv (for a \
                 spreadsheet)",
            )),
        }
    }
}

/// `None` means every state.
fn parse_state(text: &str) -> Result<Option<RowState>, Problem> {
    let lower = text.trim().to_ascii_lowercase();
    if lower == "all" {
        return Ok(None);
    }
    RowState::parse(&lower).map(Some).ok_or_else(|| {
        Problem::with_fix(
            format!("unknown state {text:?}"),
            "use --state pending, claimed, acked, dead or all",
        )
    })
}

fn export(
    source: &Path,
    out: &Path,
    format: ExportFormat,
    state: Option<RowState>,
) -> Result<ExitCode, Problem> {
    if !source.is_file() {
        return Err(Problem::with_fix(
            format!("there is no response database at {}", source.display()),
            "check the path given with --db, or [storage] path in the configuration; if the \
             kiosk has never saved a response there is nothing to export yet",
        ));
    }
    if same_file(source, out) {
        return Err(Problem::with_fix(
            format!(
                "--out {} is the database being exported; writing there would destroy it",
                out.display()
            ),
            "choose another file, e.g. on the USB stick",
        ));
    }
    // Read-only: an export must never change the store it reads, least of all a quarantined
    // copy kept as evidence.
    let queue = Queue::open_read_only(source)?;
    let exported = queue.export(state)?;
    drop(queue);

    let mut problems = exported.problems;
    let contents = match format {
        ExportFormat::Jsonl => jsonl(&exported.rows, &mut problems),
        ExportFormat::Csv => csv(&exported.rows, &mut problems),
    };
    write_export(out, contents.as_bytes())?;

    let which = state.map(RowState::as_str).unwrap_or("all");
    outln!(
        "wrote {} record(s) ({which}) from {} to {}",
        exported.rows.len(),
        source.display(),
        out.display()
    );
    if problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        outln!("{} problem(s):", problems.len());
        for problem in &problems {
            outln!("  - {problem}");
        }
        outln!(
            "Everything readable was written. Fix: keep the database file for inspection and \
             report these problems"
        );
        // Not 0: a script copying exports must notice that something was not read cleanly.
        Ok(ExitCode::FAILURE)
    }
}

/// Whether `a` and `b` name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn record_problem(row: &ExportedRow, e: &serde_json::Error) -> String {
    format!(
        "record {}: the stored record could not be read ({e})",
        row.id
    )
}

fn jsonl(rows: &[ExportedRow], problems: &mut Vec<String>) -> String {
    let mut out = String::new();
    for row in rows {
        let mut line = serde_json::Map::new();
        line.insert("id".into(), row.id.clone().into());
        line.insert("state".into(), row.state.as_str().into());
        line.insert(
            "dead_reason".into(),
            row.dead_reason.clone().map_or(Value::Null, Value::String),
        );
        match serde_json::from_str::<Value>(&row.record_json) {
            Ok(record) => {
                line.insert("record".into(), record);
            }
            Err(e) => {
                let problem = record_problem(row, &e);
                line.insert("record".into(), Value::Null);
                // Kept verbatim so that nothing stored is lost from the export.
                line.insert("record_text".into(), row.record_json.clone().into());
                line.insert("problem".into(), problem.clone().into());
                problems.push(problem);
            }
        }
        out.push_str(&Value::Object(line).to_string());
        out.push('\n');
    }
    out
}

const CSV_COLUMNS: [&str; 17] = [
    "id",
    "state",
    "dead_reason",
    "reference",
    "survey_id",
    "survey_version",
    "site_id",
    "device_id",
    "language",
    "started_at",
    "finished_at",
    "outcome",
    "service",
    "suspected_misuse",
    "answers",
    "clock_synchronized",
    "problem",
];

fn csv(rows: &[ExportedRow], problems: &mut Vec<String>) -> String {
    let mut out = String::new();
    push_csv_row(&mut out, CSV_COLUMNS.iter().map(|c| c.to_string()));
    for row in rows {
        let dead_reason = row.dead_reason.clone().unwrap_or_default();
        let fields: Vec<String> = match serde_json::from_str::<ResponseRecord>(&row.record_json) {
            Ok(r) => {
                let outcome = serde_json::to_value(r.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let answers = serde_json::to_string(&r.answers).unwrap_or_default();
                vec![
                    row.id.clone(),
                    row.state.as_str().into(),
                    dead_reason,
                    r.reference,
                    r.survey_id,
                    r.survey_version,
                    r.site_id,
                    r.device_id,
                    r.language,
                    r.started_at,
                    r.finished_at,
                    outcome,
                    r.service.unwrap_or_default(),
                    r.flags.suspected_misuse.to_string(),
                    answers,
                    r.clock.synchronized.to_string(),
                    String::new(),
                ]
            }
            Err(e) => {
                let problem = record_problem(row, &e);
                problems.push(problem.clone());
                let mut fields = vec![String::new(); CSV_COLUMNS.len()];
                fields[0] = row.id.clone();
                fields[1] = row.state.as_str().into();
                fields[2] = dead_reason;
                fields[CSV_COLUMNS.len() - 1] = problem;
                fields
            }
        };
        push_csv_row(&mut out, fields.into_iter());
    }
    out
}

/// One RFC 4180 line, ended with CRLF.
fn push_csv_row(out: &mut String, fields: impl Iterator<Item = String>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(&field));
    }
    out.push_str("\r\n");
}

fn csv_field(field: &str) -> String {
    let needs_quotes =
        field.contains([',', '"', '\r', '\n']) || field.starts_with(' ') || field.ends_with(' ');
    if needs_quotes {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Writes the export `contents` to `path` through the one atomic writer
/// ([`crate::files::replace_atomically`]), so that it holds either its old contents or all
/// of the new ones, even if the stick is pulled or the power fails part-way; first refuses an
/// `--out` that names no file.
fn write_export(path: &Path, contents: &[u8]) -> Result<(), Problem> {
    let fail = |what: &str, e: std::io::Error| {
        Problem::with_fix(
            format!("cannot {what} {}: {e}", path.display()),
            "check that the folder exists and is writable, that the USB stick is mounted and \
             has free space",
        )
    };
    if path.file_name().is_none() {
        return Err(Problem::with_fix(
            format!("--out {} does not name a file", path.display()),
            "give a file name, e.g. --out /media/usb/responses.csv",
        ));
    }
    if path.is_dir() {
        return Err(Problem::with_fix(
            format!("--out {} is a folder", path.display()),
            format!(
                "give a file name inside it, e.g. --out {}",
                path.join("responses.jsonl").display()
            ),
        ));
    }
    // Visitors' answers: private whatever the umask, and whatever the mode of a file it
    // replaces.
    crate::files::replace_atomically(path, contents, Some(crate::files::PRIVATE_FILE_MODE))
        .map_err(|e| fail(e.step, e.error))
}

fn retry_dead(path: &Path, id: Option<&str>) -> Result<ExitCode, Problem> {
    let id = match id {
        None => None,
        Some(text) => Some(Uuid::parse_str(text.trim()).map_err(|e| {
            Problem::with_fix(
                format!("{text:?} is not a response id ({e})"),
                "copy the id of a dead response from `earshot queue export --state dead --out \
                 FILE`, or leave out --id to retry all of them",
            )
        })?),
    };
    if !path.is_file() {
        return Err(Problem::with_fix(
            format!(
                "there is no response database at {}, so nothing to retry",
                path.display()
            ),
            "check [storage] path in the configuration (--config)",
        ));
    }
    let Opened { queue, .. } = Queue::open(path)?;
    let retried = queue.retry_dead(id)?;
    match id {
        Some(id) if retried == 0 => Err(Problem::with_fix(
            format!(
                "no dead response with id {id} in {}; nothing was changed",
                path.display()
            ),
            "check the id with `earshot queue export --state dead --out FILE`",
        )),
        _ => {
            outln!(
                "{retried} dead response(s) put back in the queue; they are uploaded with the \
                 next batches"
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_staff_say_them() {
        assert_eq!(human_age(45), "45 s");
        assert_eq!(human_age(12 * 60 + 5), "12 min");
        assert_eq!(human_age(3 * 3600 + 12 * 60), "3 h 12 min");
        assert_eq!(human_age(2 * 86400 + 5 * 3600), "2 d 5 h");
        assert_eq!(
            age_seconds(10_000, 5_000),
            0,
            "a record from the future is 0 s old"
        );
        assert_eq!(
            age_seconds(i64::MIN, i64::MAX),
            u64::try_from(i64::MAX / 1000).unwrap()
        );
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(" padded"), "\" padded\"");
    }

    #[test]
    fn unknown_formats_and_states_list_the_allowed_values() {
        let e = ExportFormat::parse("xml").unwrap_err();
        assert!(
            e.contains("jsonl") && e.contains("csv") && e.contains("Fix:"),
            "{e}"
        );
        let e = parse_state("sent").unwrap_err();
        assert!(
            e.contains("pending") && e.contains("all") && e.contains("Fix:"),
            "{e}"
        );
        assert_eq!(parse_state("ALL").unwrap(), None);
        assert_eq!(parse_state("dead").unwrap(), Some(RowState::Dead));
    }
}
