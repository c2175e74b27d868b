//! `earshot queue …` as facilities staff use it: the real binary against real store files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use earshot::core::record::{Answer, AnswerValue, ClockInfo, Flags, Outcome, ResponseRecord};
use earshot::storage::{Opened, Queue, RowState};
use uuid::Uuid;

use crate::process::text;

struct Kiosk {
    dir: tempfile::TempDir,
    config: PathBuf,
    db: PathBuf,
}

fn kiosk() -> Kiosk {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("responses.db");
    let config = dir.path().join("earshot.toml");
    std::fs::write(
        &config,
        format!(
            "[device]\nid = \"queue-kiosk\"\nsite = \"queue-site\"\n[storage]\npath = \"{}\"\n",
            db.display()
        ),
    )
    .unwrap();
    Kiosk { dir, config, db }
}

impl Kiosk {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_earshot"))
            .args(args)
            .env("EARSHOT_CONFIG", &self.config)
            .env("HOME", self.dir.path())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        text(&out)
    }

    /// Standard output only: the log lines go to standard error.
    fn stdout(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn simulate(&self, visits: u64, seed: u64) {
        self.ok(&[
            "simulate",
            "--visits",
            &visits.to_string(),
            "--seed",
            &seed.to_string(),
        ]);
    }

    fn queue(&self) -> Queue {
        let Opened { queue, .. } = Queue::open(&self.db).unwrap();
        queue
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn stored_ids(db: &Path, state: Option<RowState>) -> Vec<String> {
    let queue = Queue::open_read_only(db).unwrap();
    queue
        .export(state)
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.id)
        .collect()
}

const AWKWARD_COMMENT: &str = "Slow, rude, and \"helpful\"?\nSecond line, too";

fn record_with_comment(n: u64, comment: &str) -> ResponseRecord {
    ResponseRecord {
        id: Uuid::from_u64_pair(0x0190_0000_0000_7000, n),
        reference: "QCLI-001".into(),
        survey_id: "shop".into(),
        survey_version: "3".into(),
        language: "en".into(),
        site_id: "queue-site".into(),
        device_id: "queue-kiosk".into(),
        started_at: "2026-01-01T10:00:00.000Z".into(),
        finished_at: "2026-01-01T10:01:00.000Z".into(),
        clock: ClockInfo {
            synchronized: true,
            started_mono_ms: 0,
            finished_mono_ms: 60_000,
            visit_number: n,
            run_id: None,
            boot_id: None,
            started_boot_ms: None,
            finished_boot_ms: None,
        },
        outcome: Outcome::Completed,
        service: Some("tills".into()),
        answers: vec![Answer {
            step_id: "comment".into(),
            at_ms: 500,
            value: AnswerValue::Text {
                text: comment.into(),
            },
        }],
        flags: Flags {
            suspected_misuse: true,
        },
    }
}

/// RFC 4180 rows, for checking what a spreadsheet would read.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => row.push(std::mem::take(&mut field)),
                '\r' => {}
                '\n' => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                _ => field.push(c),
            }
        }
    }
    assert!(!quoted, "unterminated quoted field");
    assert!(field.is_empty() && row.is_empty(), "last line not ended");
    rows
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

#[test]
fn stats_text_and_json_match_the_store() {
    let k = kiosk();
    k.simulate(20, 5);
    let dead: Vec<String> = stored_ids(&k.db, None).into_iter().take(3).collect();
    {
        let queue = k.queue();
        for id in &dead {
            assert!(queue
                .dead_letter(Uuid::parse_str(id).unwrap(), "refused")
                .unwrap());
        }
    }
    let expected = Queue::open_read_only(&k.db).unwrap().stats().unwrap();
    assert_eq!(expected.dead, 3);

    let json = k.stdout(&["queue", "stats", "--json"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["pending"], expected.pending);
    assert_eq!(v["claimed"], expected.claimed);
    assert_eq!(v["acked"], expected.acked);
    assert_eq!(v["dead"], 3);
    assert_eq!(
        v["total"],
        expected.pending + expected.claimed + expected.acked + expected.dead
    );
    assert_eq!(v["db_bytes"], expected.db_bytes);
    assert_eq!(v["exists"], true);
    if expected.pending > 0 {
        // Just stored: seconds old at most.
        let age = v["oldest_pending_age_seconds"].as_u64().unwrap();
        assert!(age < 120, "{v}");
    }

    let out = k.ok(&["queue", "stats"]);
    assert!(
        out.contains(&format!("pending (unsent): {}", expected.pending)),
        "{out}"
    );
    assert!(out.contains("dead (refused):  3"), "{out}");
    assert!(out.contains(" MB"), "{out}");
    assert!(out.contains("oldest unsent:"), "{out}");
}

#[test]
fn stats_of_an_empty_store_says_none_waiting() {
    let k = kiosk();
    k.queue();
    let out = k.ok(&["queue", "stats"]);
    assert!(out.contains("none waiting"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(k.stdout(&["queue", "stats", "--json"]).trim()).unwrap();
    assert_eq!(v["oldest_pending_age_seconds"], serde_json::Value::Null);
}

#[test]
fn stats_without_a_database_says_so_and_creates_nothing() {
    let k = kiosk();
    let out = k.ok(&["queue", "stats"]);
    assert!(
        out.contains("no responses have been stored yet at"),
        "{out}"
    );
    assert!(out.contains(&k.db.display().to_string()), "{out}");
    assert!(out.contains("pending (unsent): 0"), "{out}");

    let out = k.run(&["queue", "stats", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exists"], false);
    assert_eq!(v["total"], 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no responses have been stored yet"));
    assert!(!k.db.exists(), "stats must not create a store");
}

#[test]
fn export_jsonl_writes_every_record_with_its_state() {
    let k = kiosk();
    k.simulate(15, 11);
    let record = record_with_comment(1, AWKWARD_COMMENT);
    {
        let queue = k.queue();
        queue.enqueue(&record).unwrap();
        queue
            .dead_letter(record.id, "receiver said: bad survey")
            .unwrap();
    }
    let out_file = k.path("export.jsonl");
    let out = k.ok(&["queue", "export", "--out", out_file.to_str().unwrap()]);
    assert!(out.contains("wrote 16 record(s)"), "{out}");

    let written = std::fs::read_to_string(&out_file).unwrap();
    let lines: Vec<serde_json::Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 16);
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["record"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, stored_ids(&k.db, None));

    let ours = lines
        .iter()
        .find(|l| l["record"]["id"] == record.id.to_string())
        .unwrap();
    assert_eq!(ours["state"], "dead");
    assert_eq!(ours["dead_reason"], "receiver said: bad survey");
    let back: ResponseRecord = serde_json::from_value(ours["record"].clone()).unwrap();
    assert_eq!(back, record);
    assert!(lines
        .iter()
        .filter(|l| l["state"] == "pending")
        .all(|l| l["dead_reason"].is_null()));
}

#[test]
fn export_csv_quotes_awkward_comments_for_a_spreadsheet() {
    let k = kiosk();
    k.simulate(10, 3);
    let record = record_with_comment(2, AWKWARD_COMMENT);
    k.queue().enqueue(&record).unwrap();

    let out_file = k.path("export.csv");
    let out = k.ok(&[
        "queue",
        "export",
        "--out",
        out_file.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(out.contains("wrote 11 record(s)"), "{out}");

    let written = std::fs::read_to_string(&out_file).unwrap();
    let rows = parse_csv(&written);
    assert_eq!(rows.len(), 12, "a header and one row per record");
    let header = &rows[0];
    assert!(rows.iter().all(|r| r.len() == header.len()), "{rows:?}");
    for name in [
        "id",
        "state",
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
    ] {
        column(header, name);
    }
    let ours = rows
        .iter()
        .find(|r| r[column(header, "id")] == record.id.to_string())
        .unwrap();
    assert_eq!(ours[column(header, "state")], "pending");
    assert_eq!(ours[column(header, "reference")], "QCLI-001");
    assert_eq!(ours[column(header, "outcome")], "completed");
    assert_eq!(ours[column(header, "service")], "tills");
    assert_eq!(ours[column(header, "suspected_misuse")], "true");
    let answers: Vec<Answer> = serde_json::from_str(&ours[column(header, "answers")]).unwrap();
    assert_eq!(answers, record.answers);
    assert!(
        matches!(&answers[0].value, AnswerValue::Text { text } if text == AWKWARD_COMMENT),
        "{answers:?}"
    );
    // Simulated records carry the configured device.
    assert!(rows[1..]
        .iter()
        .all(|r| r[column(header, "site_id")] == "queue-site"));
}

#[test]
fn export_filters_by_state() {
    let k = kiosk();
    k.simulate(12, 8);
    let all = stored_ids(&k.db, None);
    {
        let queue = k.queue();
        for id in &all[..4] {
            queue
                .dead_letter(Uuid::parse_str(id).unwrap(), "refused")
                .unwrap();
        }
    }
    let out_file = k.path("dead.jsonl");
    let out = k.ok(&[
        "queue",
        "export",
        "--out",
        out_file.to_str().unwrap(),
        "--state",
        "dead",
    ]);
    assert!(out.contains("wrote 4 record(s)"), "{out}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| l["state"] == "dead"));
    let ids: Vec<String> = lines
        .iter()
        .map(|l| l["record"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, all[..4].to_vec());

    let pending = stored_ids(&k.db, Some(RowState::Pending)).len();
    let out = k.ok(&[
        "queue",
        "export",
        "--out",
        out_file.to_str().unwrap(),
        "--state",
        "pending",
        "--format",
        "csv",
    ]);
    assert!(out.contains(&format!("wrote {pending} record(s)")), "{out}");
    let rows = parse_csv(&std::fs::read_to_string(&out_file).unwrap());
    assert_eq!(rows.len(), pending + 1);
}

#[test]
fn export_reads_another_file_without_changing_it_and_leaves_no_temporary_file() {
    let k = kiosk();
    k.simulate(9, 21);
    let quarantine = k.path("quarantine");
    std::fs::create_dir_all(&quarantine).unwrap();
    let copy = quarantine.join("responses-20260101T000000Z.db");
    // Moved aside as the store does it: the file with its write-ahead log.
    std::fs::copy(&k.db, &copy).unwrap();
    let wal = PathBuf::from(format!("{}-wal", k.db.display()));
    if wal.exists() {
        std::fs::copy(&wal, format!("{}-wal", copy.display())).unwrap();
    }
    // The configured store gets more, so the counts show which file was read.
    k.simulate(5, 22);

    let before = std::fs::read(&copy).unwrap();
    let mtime = std::fs::metadata(&copy).unwrap().modified().unwrap();
    let usb = k.path("usb");
    std::fs::create_dir_all(&usb).unwrap();
    let out_file = usb.join("from-quarantine.csv");
    let out = k.ok(&[
        "queue",
        "export",
        "--db",
        copy.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(out.contains("wrote 9 record(s)"), "{out}");
    assert_eq!(
        parse_csv(&std::fs::read_to_string(&out_file).unwrap()).len(),
        10
    );

    assert_eq!(
        std::fs::read(&copy).unwrap(),
        before,
        "the source file changed"
    );
    assert_eq!(std::fs::metadata(&copy).unwrap().modified().unwrap(), mtime);
    let names: Vec<String> = std::fs::read_dir(&usb)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["from-quarantine.csv"], "only the export is left");

    // Over an existing file: replaced whole.
    std::fs::write(
        &out_file,
        "old contents that are longer than nothing\n".repeat(500),
    )
    .unwrap();
    let out = k.ok(&[
        "queue",
        "export",
        "--db",
        copy.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
        "--state",
        "acked",
    ]);
    assert!(out.contains("wrote 0 record(s)"), "{out}");
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "");
    assert_eq!(std::fs::read_dir(&usb).unwrap().count(), 1);
}

#[test]
fn export_of_the_configured_store_does_not_change_it() {
    let k = kiosk();
    k.simulate(6, 4);
    let before = std::fs::read(&k.db).unwrap();
    let mtime = std::fs::metadata(&k.db).unwrap().modified().unwrap();
    let out_file = k.path("out.jsonl");
    k.ok(&["queue", "export", "--out", out_file.to_str().unwrap()]);
    k.ok(&["queue", "stats"]);
    assert_eq!(std::fs::read(&k.db).unwrap(), before);
    assert_eq!(std::fs::metadata(&k.db).unwrap().modified().unwrap(), mtime);
}

#[test]
fn retry_dead_puts_all_or_one_back_in_the_queue() {
    let k = kiosk();
    k.simulate(10, 13);
    let ids: Vec<Uuid> = stored_ids(&k.db, None)
        .iter()
        .take(4)
        .map(|s| Uuid::parse_str(s).unwrap())
        .collect();
    {
        let queue = k.queue();
        for id in &ids {
            queue.dead_letter(*id, "refused").unwrap();
        }
    }

    let out = k.ok(&["queue", "retry-dead", "--id", &ids[0].to_string()]);
    assert!(out.contains("1 dead response(s) put back"), "{out}");
    assert_eq!(stored_ids(&k.db, Some(RowState::Dead)).len(), 3);
    assert!(stored_ids(&k.db, Some(RowState::Pending)).contains(&ids[0].to_string()));

    let out = k.run(&["queue", "retry-dead", "--id", &ids[0].to_string()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no dead response with id"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("Fix:"), "{}", text(&out));

    let out = k.ok(&["queue", "retry-dead"]);
    assert!(out.contains("3 dead response(s) put back"), "{out}");
    assert!(stored_ids(&k.db, Some(RowState::Dead)).is_empty());
    let v: serde_json::Value =
        serde_json::from_str(k.stdout(&["queue", "stats", "--json"]).trim()).unwrap();
    assert_eq!(v["dead"], 0);
    assert_eq!(v["pending"], 10);
}

#[test]
fn bad_inputs_say_what_is_wrong_and_what_to_do() {
    let k = kiosk();
    let out_file = k.path("out.txt");
    let out_arg = out_file.to_str().unwrap();

    // Missing database for export and retry: an error, and nothing created.
    for args in [
        vec!["queue", "export", "--out", out_arg],
        vec!["queue", "retry-dead"],
    ] {
        let out = k.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let t = text(&out);
        assert!(t.contains("no response database at"), "{t}");
        assert!(t.contains("Fix:"), "{t}");
    }
    let missing = k.path("nowhere.db");
    let out = k.run(&[
        "queue",
        "export",
        "--out",
        out_arg,
        "--db",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains(&missing.display().to_string()),
        "{}",
        text(&out)
    );
    assert!(!k.db.exists() && !missing.exists() && !out_file.exists());

    k.simulate(2, 1);
    let out = k.run(&["queue", "export", "--out", out_arg, "--format", "xlsx"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(
        t.contains("unknown export format") && t.contains("jsonl") && t.contains("csv"),
        "{t}"
    );
    assert!(t.contains("Fix:"), "{t}");

    let out = k.run(&["queue", "export", "--out", out_arg, "--state", "sent"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(
        t.contains("unknown state") && t.contains("pending") && t.contains("all"),
        "{t}"
    );

    let out = k.run(&["queue", "retry-dead", "--id", "not-a-uuid"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(
        t.contains("\"not-a-uuid\" is not a response id") && t.contains("Fix:"),
        "{t}"
    );

    let out = k.run(&["queue", "export", "--out", k.db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("is the database being exported"),
        "{}",
        text(&out)
    );

    let out = k.run(&["queue", "export", "--out", k.dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("is a folder"), "{}", text(&out));

    let out = k.run(&[
        "queue",
        "export",
        "--out",
        k.path("no/such/folder/out.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("Fix:"), "{}", text(&out));
    assert!(!out_file.exists());
}

#[test]
fn an_unreadable_record_is_exported_with_its_problem() {
    let k = kiosk();
    k.simulate(3, 2);
    let broken = stored_ids(&k.db, None)[0].clone();
    {
        // Damage one record's JSON the way a hand edit with another tool could.
        let conn = rusqlite::Connection::open(&k.db).unwrap();
        conn.execute(
            "UPDATE responses SET record_json = '{\"id\": \"truncated' WHERE id = ?1",
            [&broken],
        )
        .unwrap();
    }
    for format in ["jsonl", "csv"] {
        let out_file = k.path(&format!("out.{format}"));
        let out = k.run(&[
            "queue",
            "export",
            "--out",
            out_file.to_str().unwrap(),
            "--format",
            format,
        ]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{t}");
        assert!(
            t.contains("wrote 3 record(s)") && t.contains("1 problem(s)"),
            "{t}"
        );
        assert!(t.contains(&broken), "{t}");
        let written = std::fs::read_to_string(&out_file).unwrap();
        assert!(written.contains(&broken), "{written}");
        assert!(written.contains("could not be read"), "{written}");
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `earshot ARGS` run by a shell whose umask is `umask`, as a person's login shell may be.
fn under_umask(umask: &str, config: &Path, state: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_earshot"))
        .args(args)
        .env("EARSHOT_CONFIG", config)
        .env("STATE_DIRECTORY", state)
        .env("HOME", state);
    command
}

/// The store's file and the two SQLite keeps beside it while it is open.
fn store_files(db: &Path) -> [PathBuf; 3] {
    let side = |suffix: &str| PathBuf::from(format!("{}{suffix}", db.display()));
    [db.to_path_buf(), side("-wal"), side("-shm")]
}

/// Waits for `earshot upload` (which keeps the store open) to have opened it.
fn wait_until_open(db: &Path, uploader: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !store_files(db).iter().all(|f| f.exists()) {
        assert!(
            uploader.try_wait().unwrap().is_none(),
            "the uploader stopped"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the store was not opened"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn the_store_and_its_folder_are_private_whatever_the_umask() {
    for umask in ["000", "022"] {
        let dir = tempfile::tempdir().unwrap();
        // A shared folder the kiosk did not make: never changed.
        set_mode(dir.path(), 0o755);
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        let folder = dir.path().join("new");
        let db = folder.join("inner/responses.db");
        let config = dir.path().join("earshot.toml");
        // A collector nobody runs: `earshot upload` keeps the store open, waiting.
        std::fs::write(
            &config,
            format!(
                "[device]\nid = \"k\"\nsite = \"s\"\n[storage]\npath = \"{}\"\n[upload]\nserver = \"http://127.0.0.1:9\"\n",
                db.display()
            ),
        )
        .unwrap();
        let out = under_umask(umask, &config, &state, &["simulate", "--visits", "3"])
            .output()
            .unwrap();
        assert!(out.status.success(), "umask {umask}: {}", text(&out));
        assert_eq!(mode(&folder), 0o700, "umask {umask}");
        assert_eq!(mode(&folder.join("inner")), 0o700, "umask {umask}");
        assert_eq!(mode(&db), 0o600, "umask {umask}");
        assert_eq!(mode(dir.path()), 0o755, "umask {umask}");

        // While the store is open, its -wal and -shm exist, and are as private.
        let mut uploader = under_umask(umask, &config, &state, &["upload"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_until_open(&db, &mut uploader);
        for file in store_files(&db) {
            assert_eq!(mode(&file), 0o600, "umask {umask}: {}", file.display());
        }
        // Killed: the -wal and -shm stay, as after a power cut. Loosened by hand, all
        // three are made private again when the store is next opened.
        let _ = uploader.kill();
        let _ = uploader.wait();
        for file in store_files(&db) {
            set_mode(&file, 0o644);
        }
        let mut uploader = under_umask(umask, &config, &state, &["upload"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while store_files(&db).iter().any(|f| mode(f) != 0o600) {
            assert!(
                std::time::Instant::now() < deadline,
                "umask {umask}: not tightened: {:o} {:o} {:o}",
                mode(&db),
                mode(&store_files(&db)[1]),
                mode(&store_files(&db)[2])
            );
            assert!(
                uploader.try_wait().unwrap().is_none(),
                "the uploader stopped"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = uploader.kill();
        let _ = uploader.wait();
    }
}

#[test]
fn a_quarantined_store_stays_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("responses.db");
    let config = dir.path().join("earshot.toml");
    std::fs::write(
        &config,
        format!(
            "[device]\nid = \"k\"\nsite = \"s\"\n[storage]\npath = \"{}\"\n",
            db.display()
        ),
    )
    .unwrap();
    std::fs::write(
        &db,
        "not a database, but perhaps someone's answers ".repeat(200),
    )
    .unwrap();
    set_mode(&db, 0o644);
    let out = under_umask("000", &config, dir.path(), &["simulate", "--visits", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let quarantine = dir.path().join("quarantine");
    assert_eq!(mode(&quarantine), 0o700);
    let moved: Vec<PathBuf> = std::fs::read_dir(&quarantine)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(std::fs::read_to_string(&moved[0])
        .unwrap()
        .starts_with("not a database"));
    assert_eq!(mode(&moved[0]), 0o600);
    assert_eq!(mode(&db), 0o600, "the fresh store");
}

#[test]
fn an_export_is_private_whatever_the_umask() {
    let k = kiosk();
    k.simulate(5, 3);
    let out_file = k.path("export.jsonl");
    for format in ["jsonl", "csv"] {
        let out = under_umask(
            "000",
            &k.config,
            k.dir.path(),
            &[
                "queue",
                "export",
                "--format",
                format,
                "--out",
                out_file.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(mode(&out_file), 0o600, "{format}");
        // Replacing a file others could read makes the new one private too.
        set_mode(&out_file, 0o644);
    }
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap().lines().count(),
        6
    );
}
