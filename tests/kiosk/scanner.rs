//! The serial scanner reader against a real pseudo-terminal pair made by socat: the kiosk
//! opens one end as its scanner port, the test writes codes into the other, in fragments,
//! with every framing, with garbage, too long, in a burst, and unplugs and replugs it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::serial::Cable;

struct Listener {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: PathBuf,
}

impl Listener {
    fn start(dir: &Path, port: &Path, scanner_config: &str, count: u64) -> Listener {
        let config = dir.join("earshot.toml");
        std::fs::write(
            &config,
            format!("[device]\nid = \"k\"\nsite = \"s\"\n[scanner]\n{scanner_config}\n"),
        )
        .unwrap();
        let log = dir.join("listen.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
            .arg("--config")
            .arg(&config)
            .args([
                "scanner",
                "listen",
                "--port",
                port.to_str().unwrap(),
                "--count",
                &count.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(first.starts_with("listening on"), "{first}");
        Listener { child, lines, log }
    }

    fn frame(&self) -> String {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| {
                panic!(
                    "no frame; log: {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                )
            });
        line
    }

    fn finish(mut self) -> (String, String) {
        let status = self.child.wait().unwrap();
        assert!(status.success());
        let rest: Vec<String> = self.lines.iter().collect();
        (
            rest.join("\n"),
            std::fs::read_to_string(&self.log).unwrap_or_default(),
        )
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lets the reader open the port before the first byte is written.
fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn fragments_are_reassembled_with_every_framing() {
    for (framing, end) in [
        ("cr", "\r"),
        ("lf", "\n"),
        ("crlf", "\r\n"),
        ("silence:80ms", ""),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cable = Cable::plug(dir.path());
        let listener = Listener::start(
            dir.path(),
            &cable.scanner,
            &format!("framing = \"{framing}\""),
            2,
        );
        settle();
        for part in ["RCP-", "0042", "-7", end] {
            cable.write(part.as_bytes());
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            listener.frame(),
            "frame 1: RCP-0042-7 (10 bytes, code)",
            "{framing}"
        );
        // A silence-framed scanner needs the pause to end the frame.
        std::thread::sleep(Duration::from_millis(200));
        cable.write(format!("0104012345678901\x1d10ABC{end}").as_bytes());
        assert_eq!(
            listener.frame(),
            "frame 2: 0104012345678901<1d>10ABC (22 bytes, code)",
            "{framing}"
        );
        let (summary, _) = listener.finish();
        assert!(
            summary.contains("2 codes, 0 not codes"),
            "{framing}: {summary}"
        );
    }
}

#[test]
fn garbage_and_overlong_frames_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let cable = Cable::plug(dir.path());
    let listener = Listener::start(
        dir.path(),
        &cable.scanner,
        "framing = \"crlf\"\nmax_frame_bytes = 16",
        3,
    );
    settle();
    cable.write(b"\xff\xfe\xfd\x80\r\n");
    cable.write(&[b'9'; 200]);
    cable.write(b"\r\nAB\0CD\r\nOK-1\r\n");
    assert_eq!(
        listener.frame(),
        "frame 1: <ff><fe><fd><80> (4 bytes, not a code (NUL or not UTF-8))"
    );
    assert_eq!(
        listener.frame(),
        "frame 2: AB<00>CD (5 bytes, not a code (NUL or not UTF-8))"
    );
    assert_eq!(listener.frame(), "frame 3: OK-1 (4 bytes, code)");
    let (summary, _) = listener.finish();
    assert!(
        summary.contains("1 codes, 2 not codes, 1 overlong frames discarded"),
        "{summary}"
    );
}

#[test]
fn a_burst_of_a_hundred_scans_arrives_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cable = Cable::plug(dir.path());
    let listener = Listener::start(dir.path(), &cable.scanner, "", 100);
    settle();
    let burst: String = (0..100).map(|i| format!("RCP-{i:04}\r\n")).collect();
    cable.write(burst.as_bytes());
    for i in 0..100 {
        assert_eq!(
            listener.frame(),
            format!("frame {}: RCP-{i:04} (8 bytes, code)", i + 1)
        );
    }
    listener.finish();
}

#[test]
fn an_unplugged_scanner_is_reported_and_found_again_when_plugged_back() {
    let dir = tempfile::tempdir().unwrap();
    let cable = Cable::plug(dir.path());
    let port = cable.scanner.clone();
    let listener = Listener::start(dir.path(), &port, "", 2);
    settle();
    cable.write(b"BEFORE\r\n");
    assert_eq!(listener.frame(), "frame 1: BEFORE (6 bytes, code)");
    cable.unplug();
    std::thread::sleep(Duration::from_millis(800));
    let cable = Cable::plug(dir.path());
    // Reopened with backoff; keep offering the code until it is read.
    let deadline = Instant::now() + Duration::from_secs(15);
    let line = loop {
        cable.write(b"AFTER\r\n");
        if let Ok(line) = listener.lines.recv_timeout(Duration::from_millis(500)) {
            break line;
        }
        assert!(Instant::now() < deadline, "the scanner was not found again");
    };
    assert_eq!(line, "frame 2: AFTER (5 bytes, code)");
    let (_, log) = listener.finish();
    assert!(log.contains("receipt scanner unavailable"), "{log}");
    assert!(log.contains("receipt scanner connected"), "{log}");
}

#[test]
fn a_missing_port_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("earshot.toml");
    std::fs::write(&config, "[device]\nid = \"k\"\nsite = \"s\"\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .arg("--config")
        .arg(&config)
        .args(["scanner", "listen", "--port", "/dev/ttyACM-not-here"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !line.contains("unavailable") {
        line.clear();
        err.read_line(&mut line).unwrap();
        assert!(Instant::now() < deadline);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("missing"), "{line}");
    // A bad framing in the config is refused at start with the choices.
    std::fs::write(&config, "[device]\nid = \"k\"\nsite = \"s\"\n[scanner]\nport = \"/dev/ttyACM0\"\nframing = \"tab\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .arg("--config")
        .arg(&config)
        .args(["scanner", "listen"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cr, lf, crlf"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
