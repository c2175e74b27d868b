//! The collector as a real process on 127.0.0.1. Here: malformed requests of every kind, each
//! answered with a clear 4xx and a machine-readable reason, never a 500 and never a crash,
//! with nothing of a refused batch stored; in `hostile`, a client out to take it down; in
//! `cli`, the command line as the service team uses it; in `logging`, where its log goes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use uuid::Uuid;

/// The command line: codes, devices, revocation, export.
mod cli;
/// Attacks as a hostile client would make them, bounded in count and time.
mod hostile;
/// Its log: plain text into a pipe, journal entries under systemd.
mod logging;

struct Server {
    child: Child,
    addr: String,
    db: std::path::PathBuf,
    /// What the collector logged (its standard error).
    log: std::path::PathBuf,
}

impl Server {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_earshot-collector")
}

fn start(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--max-body-kb", "64", "--max-decompressed-kb", "256"];
    args.extend_from_slice(extra);
    start_with(dir, &args, |_| {})
}

/// A collector on 127.0.0.1 with `extra` serve arguments, after `adjust` had its say about
/// the command (limits, environment).
fn start_with(dir: &Path, extra: &[&str], adjust: impl FnOnce(&mut Command)) -> Server {
    let db = dir.join("c.db");
    let log = dir.join("collector.log");
    let mut command = Command::new(bin());
    command
        .arg("--db")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    adjust(&mut command);
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    Server {
        child,
        addr,
        db,
        log,
    }
}

fn cli(db: &Path, args: &[&str]) -> String {
    let out = Command::new(bin())
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Sends raw bytes as one HTTP/1.1 request and returns (status, body).
fn raw(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading a large body; a reset then is fine.
    let _ = stream.write_all(body);
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn status_block() -> Value {
    json!({
        "app_version": "0.1.0", "survey_id": "shop-feedback", "survey_version": "2026-11-23",
        "queue_depth": 1, "oldest_unsent_age_s": 3, "dead_letters": 0, "scanner": "not_configured",
        "hardware": "simulated", "uptime_s": 10, "last_error": null, "alarms": [],
        "clock": {"sent_at": "2026-11-23T12:00:00.000Z", "synchronized": true,
                  "run_id": Uuid::now_v7(), "mono_ms": 10_000}
    })
}

fn record() -> Value {
    let now = earshot_protocol::time::rfc3339(std::time::SystemTime::now());
    json!({
        "id": Uuid::now_v7(), "reference": "K7M2-Q", "survey_id": "shop-feedback",
        "survey_version": "2026-11-23", "language": "en", "site_id": "s", "device_id": "kiosk-1",
        "started_at": now, "finished_at": now,
        "clock": {"synchronized": true, "started_mono_ms": 1000, "finished_mono_ms": 9000, "visit_number": 1},
        "outcome": "completed", "service": "checkout",
        "answers": [{"step_id": "rating", "at_ms": 500, "value": {"type": "rating", "scale": "smiley5", "value": 5}}],
        "flags": {"suspected_misuse": false}
    })
}

struct Device {
    token: String,
}

fn enroll(server: &Server, device_id: &str) -> Device {
    let code = cli(&server.db, &["enroll-code", "--site", "s"])
        .lines()
        .next()
        .unwrap()
        .to_string();
    let body = json!({"code": code, "device_id": device_id}).to_string();
    let (status, reply) = raw(
        &server.addr,
        "POST",
        "/v1/enroll",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    Device {
        token: reply["token"].as_str().unwrap().to_string(),
    }
}

fn post_batch(server: &Server, token: &str, key: &str, body: &[u8], gz: bool) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Idempotency-Key", key),
        ("Content-Type", "application/json"),
    ];
    if gz {
        headers.push(("Content-Encoding", "gzip"));
    }
    raw(&server.addr, "POST", "/v1/batches", &headers, body)
}

fn batch(id: Uuid, responses: Vec<Value>) -> Vec<u8> {
    json!({"batch_id": id, "status": status_block(), "responses": responses})
        .to_string()
        .into_bytes()
}

fn exported(server: &Server) -> usize {
    let out = server.db.with_extension("jsonl");
    cli(
        &server.db,
        &[
            "export",
            "--format",
            "jsonl",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    std::fs::read_to_string(out).unwrap().lines().count()
}

fn assert_refused(what: &str, (status, body): (u16, Value), want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{what}: {body}");
    assert_eq!(body["error"]["code"], want_code, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
}

#[test]
fn malformed_batches_are_refused_with_reasons_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let device = enroll(&server, "kiosk-1");
    let t = device.token.as_str();
    let id = Uuid::now_v7();
    let key = id.to_string();
    let good = batch(id, vec![record()]);

    assert_refused(
        "no token",
        raw(
            &server.addr,
            "POST",
            "/v1/batches",
            &[
                ("Content-Type", "application/json"),
                ("Idempotency-Key", &key),
            ],
            &good,
        ),
        401,
        "unauthorized",
    );
    assert_refused(
        "unknown token",
        post_batch(&server, "f00d", &key, &good, false),
        401,
        "unauthorized",
    );
    assert_refused(
        "basic auth",
        raw(
            &server.addr,
            "POST",
            "/v1/batches",
            &[
                ("Authorization", "Basic dXNlcjpwYXNz"),
                ("Idempotency-Key", &key),
                ("Content-Type", "application/json"),
            ],
            &good,
        ),
        401,
        "unauthorized",
    );
    assert_refused(
        "no idempotency key",
        raw(
            &server.addr,
            "POST",
            "/v1/batches",
            &[
                ("Authorization", &format!("Bearer {t}")),
                ("Content-Type", "application/json"),
            ],
            &good,
        ),
        400,
        "missing_idempotency_key",
    );
    assert_refused(
        "key not a uuid",
        post_batch(&server, t, "batch-1", &good, false),
        400,
        "missing_idempotency_key",
    );
    assert_refused(
        "key is not the batch id",
        post_batch(&server, t, &Uuid::now_v7().to_string(), &good, false),
        400,
        "idempotency_key_mismatch",
    );
    assert_refused(
        "not json",
        post_batch(&server, t, &key, b"hello", false),
        400,
        "malformed_json",
    );
    assert_refused(
        "cut-off json",
        post_batch(&server, t, &key, &good[..good.len() / 2], false),
        400,
        "malformed_json",
    );
    assert_refused(
        "invalid utf-8",
        post_batch(&server, t, &key, b"{\"batch_id\": \"\xff\xfe\"}", false),
        400,
        "malformed_json",
    );
    let deep_id = Uuid::now_v7();
    let deep = format!(
        "{{\"batch_id\":\"{deep_id}\",\"status\":{},\"responses\":[{}{}]}}",
        status_block(),
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    // A response nested past any sane depth is skipped over without recursion and then
    // rejected alone, like any other response that is not a record.
    let (status, reply) = post_batch(&server, t, &deep_id.to_string(), deep.as_bytes(), false);
    assert_eq!(status, 200, "deeply nested: {reply}");
    assert_eq!(reply["results"][0]["status"], "rejected", "{reply}");
    assert_eq!(
        reply["results"][0]["reason"]["code"], "invalid_response",
        "{reply}"
    );
    assert_refused(
        "gzip header, plain body",
        post_batch(&server, t, &key, &good, true),
        400,
        "bad_gzip",
    );
    let mut broken = gzip(&good);
    let n = broken.len();
    broken.truncate(n - 10);
    assert_refused(
        "truncated gzip",
        post_batch(&server, t, &key, &broken, true),
        400,
        "bad_gzip",
    );
    let bomb = gzip(&vec![b' '; 8 * 1024 * 1024]);
    assert_refused(
        "gzip bomb",
        post_batch(&server, t, &key, &bomb, true),
        413,
        "body_too_large",
    );
    assert_refused(
        "over the body limit",
        post_batch(&server, t, &key, &vec![b' '; 200 * 1024], false),
        413,
        "body_too_large",
    );
    assert_refused(
        "text/plain",
        raw(
            &server.addr,
            "POST",
            "/v1/batches",
            &[
                ("Authorization", &format!("Bearer {t}")),
                ("Idempotency-Key", &key),
                ("Content-Type", "text/plain"),
            ],
            &good,
        ),
        415,
        "unsupported_media_type",
    );
    assert_refused(
        "brotli",
        raw(
            &server.addr,
            "POST",
            "/v1/batches",
            &[
                ("Authorization", &format!("Bearer {t}")),
                ("Idempotency-Key", &key),
                ("Content-Type", "application/json"),
                ("Content-Encoding", "br"),
            ],
            &good,
        ),
        415,
        "unsupported_content_encoding",
    );
    let mut unknown = serde_json::from_slice::<Value>(&good).unwrap();
    unknown["priority"] = json!("high");
    assert_refused(
        "unknown top-level field",
        post_batch(&server, t, &key, unknown.to_string().as_bytes(), false),
        400,
        "invalid_batch",
    );
    let mut wrong_type = serde_json::from_slice::<Value>(&good).unwrap();
    wrong_type["responses"] = json!("all of them");
    assert_refused(
        "responses not a list",
        post_batch(&server, t, &key, wrong_type.to_string().as_bytes(), false),
        400,
        "invalid_batch",
    );
    let mut no_status = serde_json::from_slice::<Value>(&good).unwrap();
    no_status.as_object_mut().unwrap().remove("status");
    assert_refused(
        "no status",
        post_batch(&server, t, &key, no_status.to_string().as_bytes(), false),
        400,
        "invalid_batch",
    );
    let mut bad_status = serde_json::from_slice::<Value>(&good).unwrap();
    bad_status["status"]["queue_depth"] = json!(-4);
    assert_refused(
        "negative queue depth",
        post_batch(&server, t, &key, bad_status.to_string().as_bytes(), false),
        400,
        "invalid_batch",
    );
    let many = batch(
        id,
        vec![json!({}); earshot_protocol::MAX_BATCH_RESPONSES + 1],
    );
    assert_refused(
        "too many responses",
        post_batch(&server, t, &key, &gzip(&many), true),
        413,
        "too_many_responses",
    );
    assert_refused(
        "wrong method",
        raw(&server.addr, "GET", "/v1/batches", &[], b""),
        405,
        "method_not_allowed",
    );
    assert_refused(
        "unknown path",
        raw(&server.addr, "POST", "/v2/everything", &[], b""),
        404,
        "not_found",
    );
    assert_eq!(exported(&server), 0, "nothing of a refused batch is stored");

    // The same batch, well formed, goes in; the process survived all of the above.
    let (status, reply) = post_batch(&server, t, &key, &gzip(&good), true);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["results"][0]["status"], "accepted");
    assert_eq!(exported(&server), 1);
}

#[test]
fn bad_responses_are_rejected_one_by_one_while_the_rest_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let surveys = dir.path().join("surveys");
    std::fs::create_dir_all(&surveys).unwrap();
    // The kiosk's own demo survey: the collector loads it with the same checks.
    std::fs::write(
        surveys.join("shop.toml"),
        include_str!("../../../assets/surveys/shop.toml"),
    )
    .unwrap();
    let server = start(dir.path(), &["--surveys", surveys.to_str().unwrap()]);
    let t = enroll(&server, "kiosk-1").token;
    let good = record();
    let mut extra_field = record();
    extra_field["mood"] = json!("sunny");
    let mut wrong_type = record();
    wrong_type["answers"][0]["value"]["value"] = json!("five");
    let mut year_1970 = record();
    year_1970["started_at"] = json!("1970-01-01T00:00:05.000Z");
    let mut far_future = record();
    far_future["finished_at"] = json!("2099-01-01T00:00:00.000Z");
    let mut not_a_time = record();
    not_a_time["started_at"] = json!("yesterday");
    let mut unknown_survey = record();
    unknown_survey["survey_version"] = json!("1999-01-01");
    let mut v4_id = record();
    v4_id["id"] = json!("0b5e2f0c-2d3f-4c55-9a0e-2f1c3a5b7d91");
    let mut backwards = record();
    backwards["clock"]["finished_mono_ms"] = json!(10);
    let not_object = json!(["not", "a", "response"]);
    let responses = vec![
        good.clone(),
        extra_field,
        wrong_type,
        year_1970,
        far_future,
        not_a_time,
        unknown_survey,
        v4_id,
        backwards,
        not_object,
        good.clone(),
    ];
    let id = Uuid::now_v7();
    let body = gzip(&batch(id, responses.clone()));
    let (status, reply) = post_batch(&server, &t, &id.to_string(), &body, true);
    assert_eq!(status, 200, "{reply}");
    let results = reply["results"].as_array().unwrap();
    assert_eq!(results.len(), responses.len());
    let codes: Vec<&str> = results
        .iter()
        .map(|r| {
            r["reason"]["code"]
                .as_str()
                .unwrap_or(r["status"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        codes,
        [
            "accepted",
            "invalid_response",
            "invalid_response",
            "absurd_timestamp",
            "absurd_timestamp",
            "absurd_timestamp",
            "unknown_survey_version",
            "invalid_response",
            "absurd_timestamp",
            "invalid_response",
            "duplicate",
        ]
    );
    // Rejections carry the response's id where it had one, and always its position.
    assert_eq!(results[1]["id"], responses[1]["id"]);
    assert_eq!(results[9]["id"], Value::Null);
    assert_eq!(results[9]["index"], 9);
    assert_eq!(exported(&server), 1);

    // Replaying the batch gives the same reply; reusing its id for other responses is refused.
    let (status, again) = post_batch(&server, &t, &id.to_string(), &body, true);
    assert_eq!(status, 200);
    assert_eq!(again, reply);
    let other = gzip(&batch(id, vec![record()]));
    assert_refused(
        "key reused",
        post_batch(&server, &t, &id.to_string(), &other, true),
        422,
        "idempotency_key_reused",
    );
    assert_eq!(exported(&server), 1);
}

#[test]
fn enrolment_refuses_bad_codes_and_revoked_devices_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let json_header = [("Content-Type", "application/json")];
    assert_refused(
        "unknown code",
        raw(
            &server.addr,
            "POST",
            "/v1/enroll",
            &json_header,
            br#"{"code":"AAAA-BBBB-CCCC","device_id":"k"}"#,
        ),
        403,
        "invalid_enrollment_code",
    );
    assert_refused(
        "enrol without a body",
        raw(&server.addr, "POST", "/v1/enroll", &json_header, b""),
        400,
        "malformed_json",
    );
    let code = cli(&server.db, &["enroll-code", "--site", "s"])
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert_refused(
        "empty device id",
        raw(
            &server.addr,
            "POST",
            "/v1/enroll",
            &json_header,
            json!({"code": code, "device_id": "  "})
                .to_string()
                .as_bytes(),
        ),
        400,
        "invalid_device_id",
    );
    let device = enroll(&server, "kiosk-9");
    cli(&server.db, &["revoke", "kiosk-9"]);
    let id = Uuid::now_v7();
    assert_refused(
        "revoked",
        post_batch(
            &server,
            &device.token,
            &id.to_string(),
            &batch(id, vec![record()]),
            false,
        ),
        403,
        "device_revoked",
    );
    assert_refused(
        "status from a revoked device",
        raw(
            &server.addr,
            "POST",
            "/v1/status",
            &[
                ("Authorization", &format!("Bearer {}", device.token)),
                ("Content-Type", "application/json"),
            ],
            json!({"status": status_block()}).to_string().as_bytes(),
        ),
        403,
        "device_revoked",
    );
}
