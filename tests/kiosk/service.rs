//! The kiosk under systemd's eyes: the real binary in a window on a virtual display, with a
//! notification socket of the test's own standing in for systemd's. It must say READY=1 only
//! once its response store is open and migrated, and then feed the watchdog steadily.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::display::{start_xvfb, Running};

/// What the kiosk sent to the socket, one datagram per entry, until `until` holds or the
/// time runs out.
fn collect(
    socket: &UnixDatagram,
    within: Duration,
    until: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !until(&got) {
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        if let Ok(n) = socket.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

#[test]
fn ready_once_the_store_is_open_then_the_watchdog_is_fed() {
    let (_xvfb, display) = start_xvfb();
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let responses = dir.path().join("state/responses.db");
    let config = dir.path().join("earshot.toml");
    std::fs::write(
        &config,
        format!(
            "[device]\nid = \"k\"\nsite = \"s\"\n[survey]\ndemo = \"shop\"\n\
             [kiosk]\nfullscreen = false\n[storage]\npath = \"{}\"\n",
            responses.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("kiosk.log");
    // As systemd does, WATCHDOG_PID names the process meant: the shell's own pid, which the
    // kiosk keeps through exec.
    let child = Command::new("sh")
        .arg("-c")
        .arg(r#"WATCHDOG_PID=$$ exec "$0" --config "$1" run"#)
        .arg(env!("CARGO_BIN_EXE_earshot"))
        .arg(&config)
        .env("DISPLAY", &display)
        .env("SLINT_BACKEND", "winit-software")
        .env("NOTIFY_SOCKET", &socket_path)
        // 6 s: fed every 1.5 s, and each loop may be quiet for up to 3 s.
        .env("WATCHDOG_USEC", "6000000")
        .env("STATE_DIRECTORY", dir.path().join("state"))
        .env("EARSHOT_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("EARSHOT_CONFIG")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut kiosk = Running::new("the kiosk", child);

    let first = collect(&socket, Duration::from_secs(30), |got| !got.is_empty());
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    let ready = first
        .first()
        .unwrap_or_else(|| panic!("nothing sent to systemd; the kiosk's log:\n{}", log_text()));
    assert!(
        ready.lines().any(|l| l == "READY=1"),
        "the first message says ready: {ready:?}"
    );
    assert!(ready.contains("STATUS=taking responses"), "{ready:?}");
    // By then the store exists and is at the latest version.
    let conn = rusqlite::Connection::open_with_flags(
        &responses,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the response store exists when READY=1 is sent");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, earshot::storage::LATEST_VERSION);

    let fed = collect(&socket, Duration::from_secs(10), |got| {
        got.iter().filter(|m| m.trim() == "WATCHDOG=1").count() >= 3
    });
    assert!(
        fed.iter().filter(|m| m.trim() == "WATCHDOG=1").count() >= 3,
        "the watchdog is fed while the kiosk runs: {fed:?}\n{}",
        log_text()
    );
    assert!(log_text().contains("systemd watchdog on"), "{}", log_text());

    // Stopped (as by a hung machine), nothing is fed: systemd would restart it.
    let pid = kiosk.child.id().to_string();
    Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    let while_stopped = collect(&socket, Duration::from_secs(4), |_| false);
    Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    assert!(while_stopped.is_empty(), "{while_stopped:?}");
    kiosk.end();
}
