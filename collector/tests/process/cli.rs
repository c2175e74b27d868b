//! The collector's command line as the service team uses it: enrolment codes, the device
//! list, revocation and export, against a real database file and a real server.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::*;

fn collector(db: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

/// A JSON POST with an optional device token and idempotency key.
fn post(
    addr: &str,
    path: &str,
    token: Option<&str>,
    key: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    if let Some(k) = key {
        headers.push(("Idempotency-Key", k));
    }
    raw(addr, "POST", path, &headers, body.as_bytes())
}

fn record(started: &str, text: &str) -> serde_json::Value {
    json!({
        "id": Uuid::now_v7(), "reference": "K7M2-Q", "survey_id": "shop-feedback",
        "survey_version": "1", "language": "cy", "site_id": "library", "device_id": "kiosk-1",
        "started_at": started, "finished_at": started,
        "clock": {"synchronized": true, "started_mono_ms": 0, "finished_mono_ms": 12000, "visit_number": 1},
        "outcome": "completed", "service": null,
        "answers": [{"step_id": "comment", "at_ms": 9000, "value": {"type": "text", "text": text}}],
        "flags": {"suspected_misuse": false}
    })
}

#[test]
fn codes_devices_revocation_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let out = collector(
        &db,
        &["enroll-code", "--site", "library", "--expires", "2h"],
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let code = text.lines().next().unwrap();
    // The code alone on the first line, in the unambiguous alphabet; then a QR code.
    assert_eq!(code.len(), 14, "{text}");
    assert!(
        code.chars()
            .all(|c| c == '-' || "ACDEFGHJKMNPQRTWXY34679".contains(c)),
        "{code}"
    );
    assert!(text.contains('█') && text.contains('▀'), "{text}");
    assert!(!collector(&db, &["enroll-code", "--site", " "])
        .status
        .success());

    let mut server = Command::new(env!("CARGO_BIN_EXE_earshot-collector"))
        .arg("--db")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    let (status, enrolled) = post(
        &addr,
        "/v1/enroll",
        None,
        None,
        &json!({"code": code, "device_id": "kiosk-1"}).to_string(),
    );
    assert_eq!(status, 200);
    let token = enrolled["token"].as_str().unwrap();
    let status_block = json!({
        "app_version": "0.1.0", "survey_id": "shop-feedback", "survey_version": "1", "queue_depth": 7,
        "oldest_unsent_age_s": 60, "dead_letters": 2, "scanner": "connected", "hardware": "ok",
        "uptime_s": 99, "last_error": null, "alarms": ["storage-nearly-full"],
        "clock": {"sent_at": "2026-11-23T12:00:00Z", "synchronized": true, "run_id": Uuid::now_v7(), "mono_ms": 1}
    });
    let id = Uuid::now_v7();
    let batch = json!({"batch_id": id, "status": status_block, "responses": [
        record("2026-10-01T09:00:00Z", "=HYPERLINK(\"http://x\")"),
        record("2026-11-20T09:00:00Z", "Diolch, gwasanaeth da, \"ardderchog\""),
    ]});
    let (status, reply) = post(
        &addr,
        "/v1/batches",
        Some(token),
        Some(&id.to_string()),
        &batch.to_string(),
    );
    assert_eq!(status, 200, "{reply}");

    let devices = String::from_utf8(collector(&db, &["devices"]).stdout).unwrap();
    assert!(
        devices.contains("kiosk-1")
            && devices.contains("active")
            && devices.contains("2 responses"),
        "{devices}"
    );
    assert!(
        devices.contains("queue 7 dead 2 alarms [storage-nearly-full]"),
        "{devices}"
    );

    let csv = dir.path().join("all.csv");
    let out = collector(&db, &["export", "--out", csv.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrote 2 responses"));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("\u{feff}id,reference,"), "{text}");
    assert_eq!(text.lines().count(), 3);
    // A comment that a spreadsheet would run as a formula is defused.
    assert!(
        !text.contains(",=HYPERLINK") && !text.contains(",\"=HYPERLINK"),
        "{text}"
    );
    let recent = dir.path().join("recent.jsonl");
    let out = collector(
        &db,
        &[
            "export",
            "--format",
            "jsonl",
            "--since",
            "2026-11-01",
            "--out",
            recent.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&recent)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["time_basis"], "device");
    assert_eq!(
        lines[0]["record"]["answers"][0]["value"]["text"],
        "Diolch, gwasanaeth da, \"ardderchog\""
    );
    let bad = collector(
        &db,
        &[
            "export",
            "--since",
            "last tuesday",
            "--out",
            recent.to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("2026-11-01"));

    assert!(collector(&db, &["revoke", "kiosk-1"]).status.success());
    let devices = String::from_utf8(collector(&db, &["devices"]).stdout).unwrap();
    assert!(devices.contains("revoked"), "{devices}");
    assert!(!collector(&db, &["revoke", "nobody"]).status.success());
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn case_rules_and_holidays_are_set_from_the_shell_and_bad_values_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let ok = collector(
        &db,
        &[
            "case-rule",
            "--site",
            "library",
            "--unhappy-with-comment",
            "--team",
            "complaints",
            "--text-retention-days",
            "30",
        ],
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(collector(
        &db,
        &["holiday", "--site", "library", "--day", "2026-12-25"]
    )
    .status
    .success());
    let bad_day = collector(
        &db,
        &["holiday", "--site", "library", "--day", "25/12/2026"],
    );
    assert!(!bad_day.status.success());
    assert!(String::from_utf8_lossy(&bad_day.stderr).contains("2026-12-25"));
    let bad_team = collector(&db, &["case-rule", "--site", "library", "--team", " "]);
    assert!(!bad_team.status.success());
    assert!(String::from_utf8_lossy(&bad_team.stderr).contains("--team"));
    let bad_site = collector(&db, &["case-rule", "--site", "lib rary"]);
    assert!(!bad_site.status.success());
}

#[test]
fn a_services_case_rule_is_set_listed_and_removed_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let text = |out: &Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let site = collector(
        &db,
        &[
            "case-rule",
            "--site",
            "town-hall",
            "--unhappy-with-comment",
            "--team",
            "complaints",
            "--contact-retention-days",
            "30",
        ],
    );
    assert!(site.status.success(), "{}", text(&site));
    let parking = collector(
        &db,
        &[
            "case-rule",
            "--site",
            "town-hall",
            "--service",
            "parking",
            "--unhappy",
            "--unhappy-faces",
            "1",
            "--team",
            "parking-appeals",
            "--reply-days",
            "10",
        ],
    );
    assert!(parking.status.success(), "{}", text(&parking));
    assert!(
        text(&parking).contains("case rule for service parking at site town-hall set"),
        "{}",
        text(&parking)
    );
    let listed = collector(&db, &["case-rules"]);
    assert!(listed.status.success(), "{}", text(&listed));
    let lines: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].starts_with("town-hall\tthe site\t")
            && lines[0].contains("NPS 0–6) with a comment")
            && lines[0].contains("team complaints")
            && lines[0].contains("kept 30 days after the case closes"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("town-hall\tservice parking\t")
            && lines[1].contains("faces or stars 1, NPS 0–6)")
            && !lines[1].contains("with a comment")
            && lines[1].contains("team parking-appeals")
            && lines[1].contains("reply in 10 working days")
            && lines[1].contains("personal data: as the site"),
        "{}",
        lines[1]
    );

    // Retention is the site's: refused with --service, and the site's stays as it was.
    let kept = collector(
        &db,
        &[
            "case-rule",
            "--site",
            "town-hall",
            "--service",
            "parking",
            "--text-retention-days",
            "7",
        ],
    );
    assert!(!kept.status.success());
    assert!(text(&kept).contains("without --service"), "{}", text(&kept));
    let bad_service = collector(
        &db,
        &[
            "case-rule",
            "--site",
            "town-hall",
            "--service",
            "council tax",
        ],
    );
    assert!(!bad_service.status.success());
    assert!(
        text(&bad_service).contains("council-tax"),
        "the fix shows an id: {}",
        text(&bad_service)
    );
    let bad_faces = collector(
        &db,
        &[
            "case-rule",
            "--site",
            "town-hall",
            "--unhappy",
            "--unhappy-faces",
            "5",
        ],
    );
    assert!(!bad_faces.status.success());
    assert!(text(&bad_faces).contains("--unhappy-faces must be 1 to 3"));
    let both = collector(
        &db,
        &[
            "case-rule",
            "--site",
            "town-hall",
            "--unhappy",
            "--unhappy-with-comment",
        ],
    );
    assert!(!both.status.success());
    let remove_site = collector(&db, &["case-rule", "--site", "town-hall", "--remove"]);
    assert!(
        !remove_site.status.success(),
        "a site's rule is set, not removed"
    );

    let removed = collector(
        &db,
        &[
            "case-rule",
            "--site",
            "town-hall",
            "--service",
            "parking",
            "--remove",
        ],
    );
    assert!(removed.status.success(), "{}", text(&removed));
    assert!(text(&removed).contains("the site's rule applies to it again"));
    let again = collector(
        &db,
        &[
            "case-rule",
            "--site",
            "town-hall",
            "--service",
            "parking",
            "--remove",
        ],
    );
    assert!(!again.status.success());
    assert!(text(&again).contains("no case rule for service parking"));
    let listed = String::from_utf8(collector(&db, &["case-rules"]).stdout).unwrap();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains("kept 30 days"), "{listed}");
}
