//! Upload, end to end and under every delivery fault: a real kiosk (`earshot simulate`,
//! `earshot upload`) and a real `earshot-collector` process on 127.0.0.1, with a faulty proxy
//! between them where the network or the server misbehaves. After each fault, every response
//! the kiosk committed is at the collector exactly once, or still kept on the kiosk.

use std::process::Stdio;
use std::time::Duration;

use crate::net::{self, assert_exactly_once, wait_for, Collector, Fault, Kiosk, Proxy};
use crate::process;

fn stats_field(kiosk: &Kiosk, field: &str) -> u64 {
    kiosk.queue_stats()[field].as_u64().unwrap()
}

/// Runs `earshot upload` until the kiosk has nothing left waiting.
fn drain_with_uploader(kiosk: &Kiosk, limit: Duration) {
    let mut child = kiosk.start_uploader();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(limit, "the queue to drain", || {
            let s = kiosk.queue_stats();
            s["pending"] == 0 && s["claimed"] == 0
        })
    }));
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        eprintln!("upload log:\n{}", kiosk.upload_log());
        std::panic::resume_unwind(e);
    }
}

#[test]
fn simulated_responses_reach_the_collector_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "batch_max_responses = 40");
    kiosk.provision(&collector, &collector.url());
    let committed = kiosk.simulate(300, 11);
    assert_eq!(committed.len(), 300);
    let out = kiosk.run(&["upload", "--once"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 300 responses in batches of at most 40.
    assert_eq!(text.matches("sent ").count(), 8, "{text}");
    assert!(
        text.contains("300 delivered (300 new, 0 already there), 0 rejected; 0 waiting"),
        "{text}"
    );
    assert_exactly_once(&committed, &collector);
    assert_eq!(stats_field(&kiosk, "acked"), 300);
    // The device's status arrived with the batches.
    let devices = collector.cli(&["devices"]);
    let listing = String::from_utf8_lossy(&devices.stdout);
    assert!(
        listing.contains("test-kiosk") && listing.contains("300 responses"),
        "{listing}"
    );
    // A second run has nothing to send and says so.
    let again = kiosk.run(&["upload", "--once"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 delivered"));
}

#[test]
fn provisioning_keeps_the_token_private_and_the_config_comments() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "");
    // A fresh device: no server in its config yet.
    let before = std::fs::read_to_string(&kiosk.config).unwrap();
    let without_server: String = before
        .lines()
        .filter(|l| !l.starts_with("server ="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&kiosk.config, &without_server).unwrap();
    let code = collector.enroll_code("town-hall");
    // The code is for another site than the installer expects: refused, nothing written.
    let wrong = kiosk.run(&[
        "provision",
        "--server",
        &collector.url(),
        "--code",
        &code,
        "--site",
        "library",
    ]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("town-hall"));
    assert!(!kiosk.dir.join("device-token").exists());
    let out = kiosk.run(&[
        "provision",
        "--server",
        &collector.url(),
        "--code",
        &code.to_lowercase(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    let token_path = kiosk.dir.join("device-token");
    let token = std::fs::read_to_string(&token_path).unwrap();
    assert_eq!(token.trim().len(), 64);
    assert_eq!(
        std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Never printed or logged, never in the config.
    assert!(!stdout.contains(token.trim()) && !stderr.contains(token.trim()));
    let config = std::fs::read_to_string(&kiosk.config).unwrap();
    assert!(!config.contains(token.trim()));
    assert!(config.contains("# A test kiosk."), "{config}");
    assert!(
        config.contains(&format!("server = \"{}\"", collector.url())),
        "{config}"
    );
    assert!(config.contains("site = \"town-hall\""), "{config}");
    // The deployment's receipt secret came with it, private like the token and never shown.
    let secret_path = kiosk.dir.join("receipt-secret");
    let secret = std::fs::read_to_string(&secret_path).unwrap();
    let deployment = collector.cli(&["receipt-secret"]);
    assert!(deployment.status.success());
    assert_eq!(
        secret.trim(),
        String::from_utf8_lossy(&deployment.stdout).trim()
    );
    assert_eq!(secret.trim().len(), 64);
    assert_eq!(
        std::fs::metadata(&secret_path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(!stdout.contains(secret.trim()) && !stderr.contains(secret.trim()));
    assert!(!config.contains(secret.trim()));
    // The code worked once.
    let again = kiosk.run(&["provision", "--server", &collector.url(), "--code", &code]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already used"));
}

#[test]
fn provisioning_writes_the_collectors_tracking_page_and_a_collector_without_one_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(
        dir.path(),
        &["--public-url", "https://feedback.example.org"],
    );
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "");
    kiosk.provision(&collector, &collector.url());
    let text = std::fs::read_to_string(&kiosk.config).unwrap();
    let config: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(
        config["upload"]["tracking_url"].as_str(),
        Some("https://feedback.example.org/t/{ref}"),
        "{text}"
    );
    assert!(
        text.contains("tracking_url = \"https://feedback.example.org/t/{ref}\""),
        "{text}"
    );
    assert!(text.contains("# A test kiosk."), "{text}");
    // The kiosk starts with what was written.
    assert_eq!(stats_field(&kiosk, "pending"), 0);

    // The page is the collector's own: a reference the kiosk gave, on the collector's
    // address in place of its public one, reaches its tracking page.
    let committed = kiosk.simulate(1, 3);
    let out = kiosk.run(&["upload", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_exactly_once(&committed, &collector);
    let export = dir.path().join("one.jsonl");
    assert!(collector
        .cli(&[
            "export",
            "--format",
            "jsonl",
            "--out",
            export.to_str().unwrap()
        ])
        .status
        .success());
    let exported: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&export).unwrap().trim()).unwrap();
    let reference = exported["record"]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let path = config["upload"]["tracking_url"]
        .as_str()
        .unwrap()
        .strip_prefix("https://feedback.example.org")
        .unwrap()
        .replace("{ref}", &reference);
    let reply = http_text(
        collector.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: feedback.example.org\r\nConnection: close\r\n\r\n"),
    );
    let status = reply.lines().next().unwrap_or_default();
    assert!(
        (status.contains(" 200 ") || status.contains(" 404 ")) && reply.contains(&reference),
        "{path}: the tracking page for {reference}: {reply}"
    );

    // Enrolled again with a collector that has no public address: the old page goes.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Collector::start(other_dir.path(), &[]);
    kiosk.provision(&other, &other.url());
    let text = std::fs::read_to_string(&kiosk.config).unwrap();
    let config: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(config["upload"].get("tracking_url"), None, "{text}");
    assert_eq!(
        config["upload"]["server"].as_str(),
        Some(other.url().as_str()),
        "{text}"
    );
    assert!(text.contains("# A test kiosk."), "{text}");
    assert_eq!(stats_field(&kiosk, "acked"), 1);
}

#[test]
fn the_collector_down_for_a_while_then_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut collector = Collector::start(dir.path(), &[]);
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "batch_max_responses = 50");
    kiosk.provision(&collector, &collector.url());
    let committed = kiosk.simulate(120, 5);
    collector.stop();
    let once = kiosk.run(&["upload", "--once"]);
    assert!(!once.status.success());
    assert!(
        String::from_utf8_lossy(&once.stdout).contains("cannot connect"),
        "{}",
        String::from_utf8_lossy(&once.stdout)
    );
    assert_eq!(stats_field(&kiosk, "pending"), 120);
    let mut child = kiosk.start_uploader();
    std::thread::sleep(Duration::from_secs(3));
    collector.restart();
    wait_for(
        Duration::from_secs(60),
        "the backlog to drain after the collector returns",
        || stats_field(&kiosk, "acked") == 120,
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(kiosk.upload_log().contains("will retry"));
    assert_exactly_once(&committed, &collector);
}

#[test]
fn server_errors_are_retried_until_they_stop() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let proxy = Proxy::start(collector.addr, |n, path| {
        if path == "/v1/batches" && n < 5 {
            Fault::Reply {
                status: if n % 2 == 0 { 500 } else { 502 },
                headers: vec![],
                body: "<html>internal error</html>".into(),
            }
        } else {
            Fault::Forward
        }
    });
    let kiosk = Kiosk::new(dir.path(), &proxy.url(), "");
    kiosk.provision(&collector, &proxy.url());
    let committed = kiosk.simulate(60, 6);
    drain_with_uploader(&kiosk, Duration::from_secs(90));
    assert_exactly_once(&committed, &collector);
    let batches = proxy.batches_seen();
    // The failed attempts resent the same batch, unchanged.
    let first_key = batches[0].idempotency_key.clone();
    assert!(batches[..6].iter().all(|s| s.idempotency_key == first_key));
    assert!(kiosk.upload_log().contains("internal error"));
}

fn retry_after_is_honoured(
    header_value: impl Fn() -> String + Send + Sync + 'static,
    status: u16,
    floor: Duration,
) {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let proxy = Proxy::start(collector.addr, move |n, path| {
        if path == "/v1/batches" && n < 2 {
            Fault::Reply {
                status,
                headers: vec![("Retry-After".into(), header_value())],
                body: r#"{"error":{"code":"unavailable","message":"busy"}}"#.into(),
            }
        } else {
            Fault::Forward
        }
    });
    let kiosk = Kiosk::new(dir.path(), &proxy.url(), "");
    kiosk.provision(&collector, &proxy.url());
    let committed = kiosk.simulate(20, 7);
    drain_with_uploader(&kiosk, Duration::from_secs(60));
    let batches = proxy.batches_seen();
    assert!(batches.len() >= 3);
    for pair in batches[..3].windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= floor,
            "the next attempt came after {gap:?}, before the {floor:?} asked for"
        );
    }
    assert_exactly_once(&committed, &collector);
}

#[test]
fn status_503_with_retry_after_seconds_makes_the_next_attempt_wait() {
    retry_after_is_honoured(|| "2".into(), 503, Duration::from_secs(2));
}

#[test]
fn status_429_with_retry_after_as_a_date_makes_the_next_attempt_wait() {
    // An HTTP date has whole seconds: three seconds ahead is at least two.
    retry_after_is_honoured(
        || httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3)),
        429,
        Duration::from_secs(2),
    );
}

#[test]
fn a_reply_slower_than_the_timeout_is_resent_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    // The collector stores the first batch, but its reply arrives after the kiosk's 2 s
    // timeout.
    let proxy = Proxy::start(collector.addr, |n, path| {
        if path == "/v1/batches" && n < 2 {
            Fault::DelayReply(Duration::from_secs(4))
        } else {
            Fault::Forward
        }
    });
    let kiosk = Kiosk::new(dir.path(), &proxy.url(), "");
    kiosk.provision(&collector, &proxy.url());
    let committed = kiosk.simulate(30, 8);
    drain_with_uploader(&kiosk, Duration::from_secs(60));
    assert!(
        kiosk.upload_log().contains("no reply in time"),
        "{}",
        kiosk.upload_log()
    );
    let batches = proxy.batches_seen();
    assert_eq!(batches[0].idempotency_key, batches[1].idempotency_key);
    assert_exactly_once(&committed, &collector);
}

/// Sends 40 responses through a proxy that applies `fault` to the given batch requests.
fn survives_resets(fault: Fault, which: &'static [usize], seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let proxy = Proxy::start(collector.addr, move |n, path| {
        if path == "/v1/batches" && which.contains(&n) {
            fault.clone()
        } else {
            Fault::Forward
        }
    });
    let kiosk = Kiosk::new(dir.path(), &proxy.url(), "batch_max_responses = 10");
    kiosk.provision(&collector, &proxy.url());
    let committed = kiosk.simulate(40, seed);
    drain_with_uploader(&kiosk, Duration::from_secs(60));
    assert_exactly_once(&committed, &collector);
    assert_eq!(stats_field(&kiosk, "acked"), 40);
}

#[test]
fn a_connection_reset_mid_request_loses_nothing() {
    // The collector never sees these requests.
    survives_resets(Fault::ResetMidRequest, &[0, 2], 9);
}

#[test]
fn a_connection_reset_mid_reply_after_the_collector_stored_the_batch_stores_nothing_twice() {
    // The collector has stored these batches; the kiosk hears half a reply.
    survives_resets(Fault::ResetMidReply, &[0, 1, 3], 20);
}

#[test]
fn a_revoked_device_stops_keeps_everything_and_resumes_after_provisioning_again() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "");
    kiosk.provision(&collector, &collector.url());
    let first = kiosk.simulate(10, 10);
    assert!(kiosk.run(&["upload", "--once"]).status.success());
    let out = collector.cli(&["revoke", "test-kiosk"]);
    assert!(out.status.success());
    let second = kiosk.simulate(15, 12);
    let refused = kiosk.run(&["upload", "--once"]);
    let text = String::from_utf8_lossy(&refused.stdout);
    assert!(!refused.status.success());
    assert!(text.contains("device not authorised"), "{text}");
    assert!(text.contains("provision it again"), "{text}");
    assert_eq!(stats_field(&kiosk, "pending"), 15);
    // The running uploader pauses, then resumes on its own once a new token is in place.
    let mut child = kiosk.start_uploader();
    wait_for(
        Duration::from_secs(20),
        "the uploader to report the revocation",
        || kiosk.upload_log().contains("device not authorised"),
    );
    kiosk.provision(&collector, &collector.url());
    wait_for(Duration::from_secs(40), "uploads to resume", || {
        stats_field(&kiosk, "pending") == 0 && stats_field(&kiosk, "claimed") == 0
    });
    let _ = child.kill();
    let _ = child.wait();
    let all: Vec<String> = first.into_iter().chain(second).collect();
    assert_exactly_once(&all, &collector);
}

#[test]
fn killed_after_the_collector_stored_a_batch_but_before_acknowledging_it() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let proxy = Proxy::start(collector.addr, |_, path| {
        if path == "/v1/batches" {
            Fault::Swallow
        } else {
            Fault::Forward
        }
    });
    let kiosk = Kiosk::new(dir.path(), &proxy.url(), "");
    kiosk.provision(&collector, &collector.url());
    // Send through the proxy, which passes the batch on but holds the reply back.
    let config = std::fs::read_to_string(&kiosk.config).unwrap().replace(
        &format!("server = \"{}\"", collector.url()),
        &format!("server = \"{}\"", proxy.url()),
    );
    std::fs::write(&kiosk.config, config).unwrap();
    let committed = kiosk.simulate(25, 13);
    let mut child = kiosk.start_uploader();
    wait_for(
        Duration::from_secs(20),
        "the collector to store the batch",
        || *proxy.swallowed.lock().unwrap() >= 1,
    );
    assert_eq!(collector.exported_ids().len(), 25);
    // SIGKILL: the kiosk never learns that the collector has the batch.
    child.kill().unwrap();
    child.wait().unwrap();
    // Straight to the collector now: the resend is answered "already there".
    let direct = std::fs::read_to_string(&kiosk.config)
        .unwrap()
        .replace(&proxy.url(), &collector.url());
    std::fs::write(&kiosk.config, direct).unwrap();
    let out = kiosk.run(&["upload", "--once"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("25 delivered (0 new, 25 already there)"),
        "{text}"
    );
    assert_exactly_once(&committed, &collector);
}

#[test]
fn too_large_batches_are_halved_and_a_response_still_too_large_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    // Small enough that a batch of 100 is refused but a few responses fit.
    let collector = Collector::start(dir.path(), &["--max-decompressed-kb", "24"]);
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "");
    kiosk.provision(&collector, &collector.url());
    let committed = kiosk.simulate(100, 14);
    let out = kiosk.run(&["upload", "--once"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("trying smaller batches"), "{text}");
    assert_exactly_once(&committed, &collector);

    // A collector that takes no response at all: each alone is still too large, so each is
    // set aside with the reason, and the queue does not stall behind them.
    let dir2 = tempfile::tempdir().unwrap();
    let tiny = Collector::start(dir2.path(), &["--max-decompressed-kb", "1"]);
    let kiosk2 = Kiosk::new(dir2.path(), &tiny.url(), "");
    kiosk2.provision(&tiny, &tiny.url());
    kiosk2.simulate(4, 15);
    let out = kiosk2.run(&["upload", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stats_field(&kiosk2, "dead"), 4);
    let dead = kiosk2.dead();
    assert!(
        dead.iter().all(|(_, line)| line.contains("body_too_large")),
        "{dead:?}"
    );
}

#[test]
fn responses_the_collector_rejects_are_set_aside_and_the_rest_delivered() {
    let dir = tempfile::tempdir().unwrap();
    // The collector knows the shop survey only; council responses are rejected.
    let surveys = dir.path().join("surveys");
    std::fs::create_dir_all(&surveys).unwrap();
    std::fs::write(
        surveys.join("shop.toml"),
        earshot::files::config::demo_survey("shop").unwrap(),
    )
    .unwrap();
    let collector = Collector::start(dir.path(), &["--surveys", surveys.to_str().unwrap()]);
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "");
    kiosk.provision(&collector, &collector.url());
    let shop = kiosk.simulate(30, 16);
    let council_file = dir.path().join("council.toml");
    std::fs::write(
        &council_file,
        earshot::files::config::demo_survey("council").unwrap(),
    )
    .unwrap();
    let out = kiosk.run(&[
        "simulate",
        "--visits",
        "5",
        "--seed",
        "17",
        "--survey",
        council_file.to_str().unwrap(),
        "--print-committed",
    ]);
    let council: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("committed ").map(str::to_string))
        .collect();
    assert_eq!(council.len(), 5);
    let more_shop = kiosk.simulate(30, 18);
    let out = kiosk.run(&["upload", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let exported = collector.exported_ids();
    let delivered: Vec<String> = shop.into_iter().chain(more_shop).collect();
    assert_exactly_once(&delivered, &collector);
    assert!(council.iter().all(|id| !exported.contains(id)));
    let dead = kiosk.dead();
    assert_eq!(dead.len(), 5);
    for (id, line) in &dead {
        assert!(council.contains(id));
        assert!(line.contains("unknown_survey_version"), "{line}");
    }
}

#[test]
fn a_malformed_or_partial_200_is_not_taken_as_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let proxy = Proxy::start(collector.addr, |n, path| match (path, n) {
        ("/v1/batches", 0) => Fault::Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: "{\"batch_id\": \"oops".into(),
        },
        ("/v1/batches", 1) => Fault::TruncateResults,
        _ => Fault::Forward,
    });
    let kiosk = Kiosk::new(dir.path(), &proxy.url(), "");
    kiosk.provision(&collector, &proxy.url());
    let committed = kiosk.simulate(20, 19);
    drain_with_uploader(&kiosk, Duration::from_secs(60));
    let log = kiosk.upload_log();
    assert!(log.contains("could not be understood"), "{log}");
    assert!(log.contains("covered only 1 of 20"), "{log}");
    assert_exactly_once(&committed, &collector);
}

#[test]
fn visits_and_uploads_at_the_same_time_share_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "batch_max_responses = 25");
    kiosk.provision(&collector, &collector.url());
    let mut uploader = kiosk.start_uploader();
    let mut committed = Vec::new();
    for round in 0..4 {
        committed.extend(kiosk.simulate(150, 100 + round));
    }
    // The uploader wakes on its timer (heartbeat_s = 5) for what came in meanwhile. Alone
    // this takes seconds; the limit is for a machine busy with much else (a retry after a
    // failed attempt waits up to twice as long each time), and a timeout says what the
    // uploader was doing.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while stats_field(&kiosk, "acked") != 600 {
        if std::time::Instant::now() > deadline {
            let _ = uploader.kill();
            let _ = uploader.wait();
            let log = kiosk.upload_log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "not everything was delivered within 3 minutes: {}\nthe uploader's last lines:\n{}",
                kiosk.queue_stats(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = uploader.kill();
    let _ = uploader.wait();
    assert_exactly_once(&committed, &collector);
}

#[test]
fn with_nothing_to_send_the_kiosk_still_reports_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "");
    kiosk.provision(&collector, &collector.url());
    let listing = || String::from_utf8_lossy(&collector.cli(&["devices"]).stdout).into_owned();
    assert!(listing().contains("last seen never"), "{}", listing());
    let mut child = kiosk.start_uploader();
    wait_for(Duration::from_secs(20), "a heartbeat", || {
        !listing().contains("last seen never")
    });
    let _ = child.kill();
    let _ = child.wait();
    let shown = listing();
    assert!(shown.contains("queue 0 dead 0"), "{shown}");
}

#[test]
fn the_kiosks_own_uploader_is_woken_by_each_stored_response() {
    use earshot::seams::sink::ResponseSink;
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let token = dir.path().join("kiosk/device-token");
    // A long heartbeat: only the wake-up after each stored response can explain a delivery.
    let kiosk = Kiosk::new(
        dir.path(),
        &collector.url(),
        &format!("token_path = \"{}\"", token.display()),
    );
    let text = std::fs::read_to_string(&kiosk.config)
        .unwrap()
        .replace("heartbeat_s = 5", "heartbeat_s = 3600");
    std::fs::write(&kiosk.config, text).unwrap();
    kiosk.provision(&collector, &collector.url());
    let config = earshot::files::config::Config::parse(
        &std::fs::read_to_string(&kiosk.config).unwrap(),
        &kiosk.config,
    )
    .unwrap();
    let alarms = earshot::seams::alarms::Alarms::default();
    let survey =
        earshot::core::survey::parse(earshot::files::config::demo_survey("shop").unwrap(), "shop")
            .unwrap();
    let sink = std::sync::Arc::new(earshot::storage::QueueSink::start_for_kiosk(
        &config.storage,
        alarms.clone(),
    ));
    earshot::app::uploader::start(
        &config.upload,
        &survey,
        &sink,
        &alarms,
        std::sync::Arc::new(|| "connected".to_string()),
        "simulated (no GPIO)",
    );
    // The start-up drain finds nothing; then responses arrive one by one, as visits end.
    std::thread::sleep(Duration::from_millis(500));
    let mut ids = Vec::new();
    for n in 0..3 {
        let record: earshot::core::record::ResponseRecord = serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::now_v7(), "reference": "K7M2-Q", "survey_id": survey.id, "survey_version": survey.version,
            "language": "en", "site_id": "test-site", "device_id": "test-kiosk",
            "started_at": earshot_protocol::time::rfc3339(std::time::SystemTime::now()),
            "finished_at": earshot_protocol::time::rfc3339(std::time::SystemTime::now()),
            "clock": {"synchronized": true, "started_mono_ms": 0, "finished_mono_ms": 1000, "visit_number": n + 1},
            "outcome": "completed", "service": null, "answers": [], "flags": {"suspected_misuse": false}
        }))
        .unwrap();
        ids.push(record.id.to_string());
        let (tx, rx) = std::sync::mpsc::channel();
        sink.submit(record, Box::new(move |r| tx.send(r).unwrap()));
        rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
        wait_for(
            Duration::from_secs(15),
            "the response to be uploaded",
            || collector.exported_ids().len() == n as usize + 1,
        );
    }
    assert_exactly_once(&ids, &collector);
    // The device list counts what this device delivered.
    let devices = String::from_utf8_lossy(&collector.cli(&["devices"]).stdout).into_owned();
    assert!(devices.contains("3 responses"), "{devices}");
}

#[test]
fn a_device_left_without_an_id_is_enrolled_under_its_hostname() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "");
    let config = std::fs::read_to_string(&kiosk.config).unwrap();
    std::fs::write(
        &kiosk.config,
        config.replace("id = \"test-kiosk\"", "id = \"\""),
    )
    .unwrap();
    let code = collector.enroll_code("test-site");
    let out = kiosk.run(&["provision", "--server", &collector.url(), "--code", &code]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let config = std::fs::read_to_string(&kiosk.config).unwrap();
    assert!(config.contains(&format!("id = \"{hostname}\"")), "{config}");
    let devices = collector.cli(&["devices"]);
    assert!(String::from_utf8_lossy(&devices.stdout).contains(&hostname));
}

#[test]
fn moving_a_device_to_another_site_takes_reassign_and_its_responses_follow_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(dir.path(), &[]);
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "");
    kiosk.provision(&collector, &collector.url());
    let code = collector.enroll_code("other-site");
    let refused = kiosk.run(&["provision", "--server", &collector.url(), "--code", &code]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("enrolled at site \"test-site\"") && message.contains("--reassign"),
        "{message}"
    );
    let config = std::fs::read_to_string(&kiosk.config).unwrap();
    assert!(config.contains("site = \"test-site\""), "{config}");
    // Still enrolled where it was: its responses are taken.
    let before = kiosk.simulate(2, 1);
    drain_with_uploader(&kiosk, Duration::from_secs(30));
    assert_exactly_once(&before, &collector);

    let moved = kiosk.run(&[
        "provision",
        "--server",
        &collector.url(),
        "--code",
        &code,
        "--reassign",
    ]);
    assert!(
        moved.status.success(),
        "{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    let config = std::fs::read_to_string(&kiosk.config).unwrap();
    assert!(config.contains("site = \"other-site\""), "{config}");
    let after = kiosk.simulate(2, 2);
    drain_with_uploader(&kiosk, Duration::from_secs(30));
    let all: Vec<String> = before.iter().chain(&after).cloned().collect();
    assert_exactly_once(&all, &collector);
}

/// A token the kiosk sends as it is; the servers below never check it.
const ANY_TOKEN: &str = "test-token-0123456789abcdef";

/// Runs `earshot ARGS` for `kiosk`, watching its memory.
fn measured(kiosk: &Kiosk, args: &[&str]) -> process::Measured {
    let mut command = kiosk.command(args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    // Killed past 600 MB: without the limit, an endless reply would take the machine.
    process::run_measured(command, Duration::from_secs(40), 600.0)
}

/// The most memory `upload --once` or `provision` may take against any server: the kiosk's
/// own working set and one reply at its limit, with room to spare, on a device with 1 GB.
const PEAK_RSS_BOUND_MB: f64 = 150.0;

#[test]
fn an_endless_reply_is_cut_off_at_its_limit_and_nothing_queued_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let server = Proxy::standalone(|_, _| Fault::EndlessReply);
    let kiosk = Kiosk::new(dir.path(), &server.url(), "");
    // Time enough for gigabytes over loopback: only the reply limit can end the reading early.
    let config = std::fs::read_to_string(&kiosk.config).unwrap();
    std::fs::write(
        &kiosk.config,
        config.replace("request_timeout_s = 2", "request_timeout_s = 30"),
    )
    .unwrap();
    std::fs::write(kiosk.dir.join("device-token"), format!("{ANY_TOKEN}\n")).unwrap();
    let config_before = std::fs::read(&kiosk.config).unwrap();

    // Nothing waiting: only the status is sent, and its reply may be 64 KiB.
    let status = measured(&kiosk, &["upload", "--once"]);
    status.assert_ended_by_itself();
    assert!(
        status
            .stdout
            .contains("status not sent: the receiver's reply is over 64 KiB"),
        "{}",
        status.text()
    );

    let committed = kiosk.simulate(3, 5);
    assert_eq!(committed.len(), 3);
    let streamed_before = server.streamed.load(std::sync::atomic::Ordering::Relaxed);
    let upload = measured(&kiosk, &["upload", "--once"]);
    upload.assert_ended_by_itself();
    assert_eq!(upload.status.code(), Some(1), "{}", upload.text());
    assert!(
        upload.stdout.contains(
            "stopped: the receiver's reply is over 8 MiB, far more than an Earshot collector sends; check [upload] server"
        ),
        "{}",
        upload.text()
    );
    assert!(
        upload.elapsed < Duration::from_secs(10),
        "{:?}",
        upload.elapsed
    );
    assert!(
        upload.peak_rss_mb < PEAK_RSS_BOUND_MB,
        "upload --once peaked at {:.0} MB",
        upload.peak_rss_mb
    );
    // The reply really went past the limit: the limit, not the server, ended it.
    let streamed = server.streamed.load(std::sync::atomic::Ordering::Relaxed) - streamed_before;
    assert!(
        streamed > 8 * 1024 * 1024,
        "only {streamed} bytes were sent"
    );
    // Everything is still waiting, none of it held by the aborted batch.
    let stats = kiosk.queue_stats();
    assert_eq!(stats["pending"], 3, "{stats}");
    assert_eq!(stats["claimed"], 0, "{stats}");

    let provision = measured(
        &kiosk,
        &[
            "provision",
            "--server",
            &server.url(),
            "--code",
            "ABCD-EFGH",
        ],
    );
    provision.assert_ended_by_itself();
    assert_eq!(provision.status.code(), Some(2), "{}", provision.text());
    assert!(
        provision
            .stderr
            .contains("the receiver's reply is over 64 KiB"),
        "{}",
        provision.text()
    );
    assert!(
        provision.elapsed < Duration::from_secs(10),
        "{:?}",
        provision.elapsed
    );
    assert!(
        provision.peak_rss_mb < PEAK_RSS_BOUND_MB,
        "provision peaked at {:.0} MB",
        provision.peak_rss_mb
    );
    assert_eq!(std::fs::read(&kiosk.config).unwrap(), config_before);
    assert_eq!(
        std::fs::read_to_string(kiosk.dir.join("device-token")).unwrap(),
        format!("{ANY_TOKEN}\n")
    );
    eprintln!(
        "peak resident memory: upload --once {:.0} MB (status {:.0} MB), provision {:.0} MB",
        upload.peak_rss_mb, status.peak_rss_mb, provision.peak_rss_mb
    );
}

/// A 200 enrolment reply with these fields changed from a well-formed one for `test-kiosk`.
fn enrol_reply(change: impl FnOnce(&mut serde_json::Value)) -> Fault {
    let mut reply = serde_json::json!({
        "device_id": "test-kiosk",
        "site": "test-site",
        "token": "a".repeat(64),
        "server_time": "2026-01-01T00:00:00Z",
        "receipt_secret": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    });
    change(&mut reply);
    Fault::Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: reply.to_string(),
    }
}

#[test]
fn an_enrolment_reply_that_is_not_well_formed_writes_nothing() {
    let cases: Vec<(&str, Fault, &str)> = vec![
        (
            "a site that clears the screen",
            enrol_reply(|r| r["site"] = "evil\u{1b}[2J".into()),
            "the collector's reply sets site \"evil\\u{001b}[2J\" which is not a valid site id",
        ),
        (
            "a token that adds a header",
            enrol_reply(|r| r["token"] = format!("{}\r\nX-Evil: 1", "a".repeat(32)).into()),
            "the collector's reply gives a device token that cannot be used",
        ),
        (
            "another device's enrolment",
            enrol_reply(|r| r["device_id"] = "other-kiosk".into()),
            "the collector's reply enrols device \"other-kiosk\", but this device asked as \"test-kiosk\"",
        ),
        (
            "a device id that reorders text",
            enrol_reply(|r| r["device_id"] = "test-kiosk\u{202e}".into()),
            "which is not a valid device id",
        ),
        (
            "a receipt secret too short",
            enrol_reply(|r| r["receipt_secret"] = "abcd".into()),
            "the collector's reply gives a receipt secret that cannot be used: it must be 64 hexadecimal digits",
        ),
        (
            "a tracking page over plain http",
            enrol_reply(|r| r["tracking_url"] = "http://evil.example/{ref}".into()),
            "the collector's reply gives a tracking page that cannot be used: the tracking address \"http://evil.example/{ref}\" does not start with https://",
        ),
        (
            "a tracking page without the reference",
            enrol_reply(|r| r["tracking_url"] = "https://evil.example/t/".into()),
            "the collector's reply gives a tracking page that cannot be used: the tracking address \"https://evil.example/t/\" has no {ref}",
        ),
        (
            "a tracking page that clears the screen",
            enrol_reply(|r| r["tracking_url"] = "https://evil.example/\u{1b}[2J{ref}".into()),
            "the tracking address \"https://evil.example/\\u{001b}[2J{ref}\" contains the character U+001B",
        ),
        (
            "a tracking page too long for a QR code",
            enrol_reply(|r| {
                r["tracking_url"] = format!("https://evil.example/{{ref}}/{}", "a".repeat(500)).into()
            }),
            "the tracking address is 527 characters long; at most 500 are allowed",
        ),
    ];
    for (what, reply, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let server = Proxy::standalone(move |_, _| reply.clone());
        let kiosk = Kiosk::new(dir.path(), "https://feedback.example.org", "");
        let config_before = std::fs::read(&kiosk.config).unwrap();
        let out = kiosk.run(&[
            "provision",
            "--server",
            &server.url(),
            "--code",
            "ABCD-EFGH",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: {stderr}");
        assert!(
            stderr.contains("nothing was written") && stderr.contains("Fix: check that --server"),
            "{what}: {stderr}"
        );
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains('\u{202e}'),
            "{what}: {stderr:?}"
        );
        assert!(
            !stderr.contains(&"a".repeat(32)),
            "{what}: the token is never shown"
        );
        assert_eq!(
            std::fs::read(&kiosk.config).unwrap(),
            config_before,
            "{what}"
        );
        assert!(!kiosk.dir.join("device-token").exists(), "{what}");
        assert!(!kiosk.dir.join("receipt-secret").exists(), "{what}");
        assert_eq!(server.seen.lock().unwrap().len(), 1, "{what}: asked once");
    }
}

#[test]
fn a_device_id_that_cannot_be_sent_is_refused_before_asking() {
    let dir = tempfile::tempdir().unwrap();
    let server = Proxy::standalone(|_, _| enrol_reply(|_| {}));
    let kiosk = Kiosk::new(dir.path(), "https://feedback.example.org", "");
    let config = std::fs::read_to_string(&kiosk.config).unwrap();
    std::fs::write(
        &kiosk.config,
        config.replace("id = \"test-kiosk\"", "id = \"lobby kiosk\\u001b[31m\""),
    )
    .unwrap();
    let config_before = std::fs::read(&kiosk.config).unwrap();
    let out = kiosk.run(&[
        "provision",
        "--server",
        &server.url(),
        "--code",
        "ABCD-EFGH",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the device id lobby kiosk\\u{001b}[31m has a space")
            && stderr.contains(&format!(
                "Fix: change `[device] id` in {}",
                kiosk.config.display()
            )),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(server.seen.lock().unwrap().is_empty(), "nothing was sent");
    assert_eq!(std::fs::read(&kiosk.config).unwrap(), config_before);
    assert!(!kiosk.dir.join("device-token").exists());

    // The same reply for a well-formed id is written: the refusals above are the checks'.
    std::fs::write(&kiosk.config, config).unwrap();
    let out = kiosk.run(&[
        "provision",
        "--server",
        &server.url(),
        "--code",
        "ABCD-EFGH",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(kiosk.dir.join("device-token"))
            .unwrap()
            .trim(),
        "a".repeat(64)
    );
}

/// One HTTP/1.1 request to the collector; returns the whole reply as text.
fn http_text(addr: std::net::SocketAddr, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

/// The value of `Set-Cookie: name=…` in a reply.
fn set_cookie<'a>(reply: &'a str, name: &str) -> &'a str {
    reply
        .lines()
        .find_map(|l| l.strip_prefix(&format!("set-cookie: {name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {reply}"))
}

#[test]
fn visits_on_the_kiosk_show_in_the_collectors_results_in_the_surveys_own_words() {
    let dir = tempfile::tempdir().unwrap();
    let surveys = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/surveys");
    let collector = Collector::start(dir.path(), &["--surveys", surveys]);
    let kiosk = Kiosk::new(dir.path(), &collector.url(), "");
    kiosk.provision(&collector, &collector.url());
    let committed = kiosk.simulate(120, 5);
    let out = kiosk.run(&["upload", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_exactly_once(&committed, &collector);

    // What the results must show, from the collector's own export of the same responses.
    let export = dir.path().join("all.jsonl");
    assert!(collector
        .cli(&[
            "export",
            "--format",
            "jsonl",
            "--out",
            export.to_str().unwrap()
        ])
        .status
        .success());
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["record"].clone())
        .collect();
    let counted = records
        .iter()
        .filter(|r| r["flags"]["suspected_misuse"] == false)
        .count();
    let shop =
        earshot::core::survey::parse(include_str!("../../assets/surveys/shop.toml"), "shop.toml")
            .unwrap();
    let welsh_reason_labels: Vec<String> = shop
        .steps
        .iter()
        .flat_map(|s| match &s.kind {
            earshot::core::survey::StepKind::Reasons { sets, .. } => sets
                .iter()
                .flat_map(|set| {
                    set.options
                        .iter()
                        .map(|o| o.label.get("cy", "en").to_string())
                })
                .collect::<Vec<_>>(),
            _ => vec![],
        })
        .collect();

    let mut add = std::process::Command::new(net::collector_bin())
        .arg("--db")
        .arg(&collector.db)
        .args([
            "user",
            "add",
            "--email",
            "lead@shop.example",
            "--role",
            "viewer",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin
        .take()
        .unwrap()
        .write_all(b"a long pass phrase\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    let addr = collector.addr;
    let form = http_text(
        addr,
        "GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let csrf = set_cookie(&form, "earshot_sign_in").to_string();
    let body = format!(
        "csrf={csrf}&next=%2Fresults&email=lead%40shop.example&password=a+long+pass+phrase"
    );
    let signed_in = http_text(
        addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: earshot_sign_in={csrf}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(signed_in.starts_with("HTTP/1.1 303"), "{signed_in}");
    let session = set_cookie(&signed_in, "earshot_session").to_string();
    let page = http_text(
        addr,
        &format!(
            "GET /results?lang=cy HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: earshot_session={session}\r\n\r\n"
        ),
    );
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains(&format!("id=\"figure-responses\">{counted}<")),
        "{counted} responses were stored, not counted on the page"
    );
    // Reasons are shown in the survey's Welsh, never as their ids.
    let reasons = page
        .split("id=\"unhappy-reasons\"")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .unwrap();
    assert!(
        welsh_reason_labels
            .iter()
            .any(|l| reasons.contains(&format!("<td>{l}</td>"))),
        "{reasons}"
    );
    for id in ["long-queue", "out-of-stock", "unhelpful-staff"] {
        assert!(!reasons.contains(&format!("<td>{id}</td>")), "{reasons}");
    }
}
