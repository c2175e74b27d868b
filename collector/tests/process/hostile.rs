//! A client out to take the collector down or to pollute what it holds, on 127.0.0.1 only,
//! every loop bounded in count and time. Memory is measured on the collector process itself
//! (its peak resident set, VmHWM), while the hostile client runs.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// The collector's peak resident memory so far, in MiB.
fn peak_rss_mib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn enroll_at(server: &Server, site: &str, device_id: &str) -> Result<String, (u16, Value)> {
    let code = cli(&server.db, &["enroll-code", "--site", site])
        .lines()
        .next()
        .unwrap()
        .to_string();
    enroll_with(server, &json!({"code": code, "device_id": device_id}))
}

fn enroll_with(server: &Server, body: &Value) -> Result<String, (u16, Value)> {
    let (status, reply) = raw(
        &server.addr,
        "POST",
        "/v1/enroll",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    match status {
        200 => Ok(reply["token"].as_str().unwrap().to_string()),
        _ => Err((status, reply)),
    }
}

fn record_from(device: &str, site: &str) -> Value {
    let mut r = record();
    r["device_id"] = json!(device);
    r["site_id"] = json!(site);
    r
}

/// A health check on a fresh connection: how long it took, if it answered 200 at all within
/// `limit`.
fn health_within(addr: &str, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(limit)).ok()?;
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let ok = reply.starts_with(b"HTTP/1.1 200");
    (ok && started.elapsed() <= limit).then(|| started.elapsed())
}

#[test]
fn a_small_gzip_body_of_millions_of_tiny_responses_is_refused_while_parsing() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped limits: 4 MiB as sent, 32 MiB expanded.
    let server = start_with(dir.path(), &[], |_| {});
    let token = enroll(&server, "kiosk-1").token;
    let id = Uuid::now_v7();
    let prefix = format!(
        "{{\"batch_id\":\"{id}\",\"status\":{},\"responses\":[0",
        status_block()
    );
    let mut text = prefix.into_bytes();
    let zeros = earshot_protocol::DEFAULT_MAX_DECOMPRESSED_BYTES - text.len() - 100;
    text.extend(std::iter::repeat_n(*b",0", zeros / 2).flatten());
    text.extend_from_slice(b"]}");
    let body = gzip(&text);
    assert!(body.len() < 64 * 1024, "{} bytes of gzip", body.len());
    let before = peak_rss_mib(&server);
    let started = Instant::now();
    let (status, reply) = post_batch(&server, &token, &id.to_string(), &body, true);
    let took = started.elapsed();
    assert_refused(
        "tiny-response bomb",
        (status, reply),
        413,
        "too_many_responses",
    );
    let peak = peak_rss_mib(&server);
    println!(
        "{} KiB of gzip expanding to {} MiB: refused in {took:?}; collector peak {before} -> {peak} MiB",
        body.len() / 1024,
        text.len() >> 20
    );
    // Parsing stops at response 5001: the expanded text is never held, nor 16 million
    // values built from it.
    assert!(peak < 100, "the collector grew to {peak} MiB");
    assert_eq!(exported(&server), 0);
}

#[test]
fn bodies_sent_without_a_token_are_not_read_and_stalled_bodies_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(
        dir.path(),
        &["--body-timeout-s", "3", "--enrolments-per-minute", "1000"],
        |_| {},
    );
    let tokens: Vec<String> = (0..100)
        .map(|i| enroll(&server, &format!("kiosk-{i}")).token)
        .collect();
    let addr = server.addr.clone();
    // Most of a 4 MiB body, then silence: without a token, and then from 100 enrolled
    // devices at once.
    let attack = |tokens: Vec<Option<String>>| {
        let addr = addr.clone();
        runtime().block_on(async move {
            let mut tasks = Vec::new();
            for token in tokens {
                let addr = addr.clone();
                tasks.push(tokio::spawn(async move {
                    let started = Instant::now();
                    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
                    let (mut reader, mut writer) = stream.into_split();
                    let auth = token
                        .map(|t| format!("Authorization: Bearer {t}\r\n"))
                        .unwrap_or_default();
                    let id = Uuid::now_v7();
                    let head = format!(
                        "POST /v1/batches HTTP/1.1\r\nHost: x\r\n{auth}Idempotency-Key: {id}\r\n\
                         Content-Type: application/json\r\nContent-Length: 4000000\r\n\r\n"
                    );
                    let writing = tokio::spawn(async move {
                        let _ = writer.write_all(head.as_bytes()).await;
                        let _ = writer.write_all(&vec![b' '; 3_900_000]).await;
                        // Stall, holding the connection open, until the test ends.
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        drop(writer);
                    });
                    let mut reply = Vec::new();
                    let read = tokio::time::timeout(
                        Duration::from_secs(15),
                        reader.read_to_end(&mut reply),
                    )
                    .await;
                    writing.abort();
                    let status = String::from_utf8_lossy(&reply)
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("closed")
                        .to_string();
                    (read.is_ok(), status, started.elapsed())
                }));
            }
            let mut results = Vec::new();
            for t in tasks {
                results.push(t.await.unwrap());
            }
            results
        })
    };

    let anonymous = attack(vec![None; 100]);
    let peak_anonymous = peak_rss_mib(&server);
    for (ended, status, took) in &anonymous {
        assert!(
            *ended,
            "a connection without a token was still open after 15 s"
        );
        // A 401, or a reset when the server closed with the body unread: never a read body.
        assert!(
            status == "401" || status == "closed",
            "no token: {status} after {took:?}"
        );
        assert!(
            *took < Duration::from_secs(5),
            "no token: answered after {took:?}"
        );
    }
    let enrolled = attack(tokens.into_iter().map(Some).collect());
    let peak = peak_rss_mib(&server);
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for (ended, status, took) in &enrolled {
        assert!(*ended, "a stalled body was still being read after 15 s");
        assert!(*took < Duration::from_secs(10), "{status} after {took:?}");
        *seen.entry(status.clone()).or_default() += 1;
    }
    println!(
        "100 stalled 4 MB bodies without a token: collector peak {peak_anonymous} MiB; \
         from 100 devices: {seen:?}, peak {peak} MiB"
    );
    assert!(
        seen.get("408").copied().unwrap_or(0) > 0,
        "some bodies are read and then cut off at the deadline: {seen:?}"
    );
    assert!(peak_anonymous < 60, "{peak_anonymous} MiB");
    // At most 16 bodies are read at once (16 x 4 MB), the rest wait their turn.
    assert!(peak < 150, "{peak} MiB");
    assert!(health_within(&server.addr, Duration::from_secs(1)).is_some());
}

#[test]
fn a_thousand_trickling_connections_do_not_stop_the_health_check() {
    let dir = tempfile::tempdir().unwrap();
    // The open-files limit systemd gives a service by default: 1024, with a higher hard
    // limit the service may raise itself to.
    let server = start_with(dir.path(), &["--header-timeout-s", "4"], |command| {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                rlimit::setrlimit(rlimit::Resource::NOFILE, 1024, 8192)
                    .map_err(std::io::Error::other)
            });
        }
    });
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
    let addr = server.addr.clone();
    let attack = std::thread::spawn(move || {
        runtime().block_on(async move {
            let mut tasks = Vec::new();
            for _ in 0..1100 {
                let addr = addr.clone();
                tasks.push(tokio::spawn(async move {
                    let started = Instant::now();
                    let Ok(stream) = tokio::net::TcpStream::connect(&addr).await else {
                        return None;
                    };
                    let (mut reader, mut writer) = stream.into_split();
                    let trickle = tokio::spawn(async move {
                        let _ = writer
                            .write_all(b"GET /v1/health HTTP/1.1\r\nX-Slow: ")
                            .await;
                        for _ in 0..6 {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                            if writer.write_all(b"a").await.is_err() {
                                break;
                            }
                        }
                        writer
                    });
                    let mut sink = [0u8; 256];
                    let closed = tokio::time::timeout(Duration::from_secs(14), async {
                        while let Ok(n) = reader.read(&mut sink).await {
                            if n == 0 {
                                break;
                            }
                        }
                    })
                    .await;
                    trickle.abort();
                    closed.ok().map(|_| started.elapsed())
                }));
            }
            let mut closed_after = Vec::new();
            for t in tasks {
                closed_after.push(t.await.unwrap());
            }
            closed_after
        })
    });
    // Health checks while the connections trickle: each must answer within a second.
    std::thread::sleep(Duration::from_millis(1500));
    let mut slowest = Duration::ZERO;
    let until = Instant::now() + Duration::from_secs(6);
    let mut checks = 0;
    while Instant::now() < until {
        let took = health_within(&server.addr, Duration::from_secs(1));
        assert!(
            took.is_some(),
            "health check {checks} did not answer within 1 s"
        );
        slowest = slowest.max(took.unwrap());
        checks += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let closed_after = attack.join().unwrap();
    let closed: Vec<Duration> = closed_after.iter().flatten().copied().collect();
    println!(
        "1100 trickling connections: {checks} health checks, slowest {slowest:?}; {} closed by the \
         collector, the last after {:?}",
        closed.len(),
        closed.iter().max()
    );
    // The header deadline (4 s here) closes every one of them, however slowly it trickles.
    assert_eq!(
        closed.len(),
        1100,
        "some trickling connections were never closed"
    );
    assert!(closed.iter().all(|d| *d < Duration::from_secs(8)));
}

#[test]
fn a_kiosk_cannot_store_responses_for_another_site_or_device() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let token = enroll_at(&server, "site-a", "kiosk-a").unwrap();
    let id = Uuid::now_v7();
    let body = batch(
        id,
        vec![
            record_from("kiosk-a", "site-a"),
            record_from("kiosk-a", "site-b"),
            record_from("kiosk-b", "site-a"),
        ],
    );
    let (status, reply) = post_batch(&server, &token, &id.to_string(), &body, false);
    assert_eq!(status, 200, "{reply}");
    let results = reply["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "accepted", "{reply}");
    assert_eq!(results[1]["reason"]["code"], "site_mismatch", "{reply}");
    assert!(
        results[1]["reason"]["message"]
            .as_str()
            .unwrap()
            .contains("\"site-a\""),
        "{reply}"
    );
    assert_eq!(results[2]["reason"]["code"], "device_mismatch", "{reply}");
    assert_eq!(exported(&server), 1);
}

#[test]
fn a_code_for_another_site_moves_a_device_only_when_asked_and_the_move_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let at_a = enroll_at(&server, "site-a", "kiosk-1").unwrap();
    let code_b = cli(&server.db, &["enroll-code", "--site", "site-b"])
        .lines()
        .next()
        .unwrap()
        .to_string();
    let (status, reply) =
        enroll_with(&server, &json!({"code": code_b, "device_id": "kiosk-1"})).unwrap_err();
    assert_refused(
        "taking over a device of another site",
        (status, reply.clone()),
        409,
        "device_enrolled_elsewhere",
    );
    assert!(reply["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--reassign"));
    // Nothing changed: the device still uploads as site A.
    let id = Uuid::now_v7();
    let (status, reply) = post_batch(
        &server,
        &at_a,
        &id.to_string(),
        &batch(id, vec![record_from("kiosk-1", "site-a")]),
        false,
    );
    assert_eq!(
        (status, &reply["results"][0]["status"]),
        (200, &json!("accepted"))
    );
    let at_b = enroll_with(
        &server,
        &json!({"code": code_b, "device_id": "kiosk-1", "reassign": true}),
    )
    .unwrap();
    assert_ne!(at_a, at_b);
    let log = server.log_text();
    assert!(
        log.contains("moved to another site") && log.contains("site-a") && log.contains("site-b"),
        "{log}"
    );
    assert!(!log.contains(&code_b), "the code is never logged");
}

#[test]
fn ids_and_alarms_cannot_carry_terminal_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let code = cli(&server.db, &["enroll-code", "--site", "s"])
        .lines()
        .next()
        .unwrap()
        .to_string();
    for bad in ["kiosk\u{202e}1", "kio\u{200b}sk", "k\u{1b}[2J", "a b"] {
        let (status, reply) =
            enroll_with(&server, &json!({"code": code, "device_id": bad})).unwrap_err();
        assert_refused(bad, (status, reply), 400, "invalid_device_id");
    }
    let token = enroll(&server, "kiosk-1").token;
    let mut status = status_block();
    status["alarms"] = json!(["storage-nearly-full", "\u{1b}[2J\u{1b}[31mfire"]);
    status["last_error"] = json!("cannot connect\u{1b}]0;owned\u{7}\r\u{202e}");
    status["scanner"] = json!("\u{9b}31m");
    let (code, reply) = raw(
        &server.addr,
        "POST",
        "/v1/status",
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Content-Type", "application/json"),
        ],
        json!({ "status": status }).to_string().as_bytes(),
    );
    assert_eq!(code, 200, "{reply}");
    let out = Command::new(bin())
        .arg("--db")
        .arg(&server.db)
        .arg("devices")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("storage-nearly-full"), "{text}");
    assert!(
        !text.contains("fire"),
        "an alarm that is not an alarm code is left out: {text}"
    );
    for c in text.chars() {
        assert!(
            c == '\n' || c == '\t' || !earshot_protocol::text::is_invisible_or_active(c),
            "{c:?} reached the terminal: {text:?}"
        );
    }
    assert!(
        server.log_text().contains("not alarm codes"),
        "{}",
        server.log_text()
    );
}

#[test]
fn enrolment_guesses_are_slowed_per_address_and_logged_without_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..30 {
        let guess = format!("GUES-SCOD-E{i:03}");
        let mut stream = TcpStream::connect(&server.addr).unwrap();
        let body = json!({"code": guess, "device_id": "k"}).to_string();
        write!(
            stream,
            "POST /v1/enroll HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        let status: u16 = reply.split_whitespace().nth(1).unwrap().parse().unwrap();
        if status == 429 && retry_after.is_none() {
            retry_after = reply
                .lines()
                .find_map(|l| l.strip_prefix("retry-after: "))
                .map(|v| v.trim().parse::<u64>().unwrap());
        }
        statuses.push(status);
    }
    let refused = statuses.iter().filter(|s| **s == 403).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    println!(
        "30 guesses: {refused} refused, {limited} rate-limited, retry after {retry_after:?} s"
    );
    assert!(refused <= 10, "{statuses:?}");
    assert!(limited >= 20, "{statuses:?}");
    assert!(retry_after.is_some_and(|s| (1..=60).contains(&s)));
    let log = server.log_text();
    assert!(log.matches("enrolment refused").count() >= 30, "{log}");
    assert!(log.contains("127.0.0.1"), "{log}");
    assert!(!log.contains("GUES"), "a code tried is never logged: {log}");
}

#[test]
fn no_command_panics_when_its_output_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    cli(&db, &["enroll-code", "--site", "s"]);
    for args in [
        &["enroll-code", "--site", "s"][..],
        &["devices"],
        &["receipt-secret"],
        &["--help"],
    ] {
        for _ in 0..5 {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            let out = Command::new(bin())
                .arg("--db")
                .arg(&db)
                .args(args)
                .stdout(writer)
                .stderr(Stdio::piped())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
        }
    }
}

#[test]
fn the_database_is_owner_only_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let db = state.join("c.db");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000; exec '{}' --db '{}' serve --listen 127.0.0.1:0",
            bin(),
            db.display()
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let result = std::panic::catch_unwind(|| {
        assert_eq!(mode(&state), 0o700);
        for name in ["c.db", "c.db-wal", "c.db-shm"] {
            assert_eq!(mode(&state.join(name)), 0o600, "{name}");
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    result.unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000; exec '{}' --db '{}' export --out '{}'",
            bin(),
            db.display(),
            dir.path().join("out.csv").display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&dir.path().join("out.csv")), 0o600);
}

#[test]
fn systemds_stop_signal_ends_the_collector_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &[]);
    assert!(health_within(&server.addr, Duration::from_secs(1)).is_some());
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let until = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < until, "still running 15 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}: {}", server.log_text());
    assert!(server.log_text().contains("collector stopped"));
}

#[test]
fn with_a_public_address_the_enrolment_reply_names_the_tracking_page() {
    let dir = tempfile::tempdir().unwrap();
    let bad = Command::new(bin())
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "http://insecure.example",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("https://"));
    let long = format!("https://feedback.example.org/{}", "a".repeat(80));
    let too_long = Command::new(bin())
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["serve", "--listen", "127.0.0.1:0", "--public-url", &long])
        .output()
        .unwrap();
    assert!(!too_long.status.success());
    let said = String::from_utf8_lossy(&too_long.stderr);
    assert!(said.contains("at most 100"), "{said}");
    let server = start(
        dir.path(),
        &["--public-url", "https://feedback.example.org/"],
    );
    let code = cli(&server.db, &["enroll-code", "--site", "s"]);
    let (status, reply) = raw(
        &server.addr,
        "POST",
        "/v1/enroll",
        &[("Content-Type", "application/json")],
        json!({"code": code.lines().next().unwrap(), "device_id": "k"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply["tracking_url"],
        "https://feedback.example.org/t/{ref}"
    );
}
