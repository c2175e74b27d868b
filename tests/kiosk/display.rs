//! A virtual X display (Xvfb) of a test's own, and child processes ended when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

impl Running {
    /// Starts a child that is ended when dropped.
    pub fn new(name: &'static str, child: Child) -> Running {
        Running {
            name,
            child,
            ended: false,
        }
    }
}

/// A child process that is ended when dropped, also when a test fails half-way.
pub struct Running {
    pub name: &'static str,
    pub child: Child,
    pub ended: bool,
}

impl Running {
    /// Asks the process to end (SIGTERM, so Xvfb removes its lock file and socket), and kills
    /// it if it has not ended within a few seconds.
    pub fn end(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not end on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.end();
    }
}

/// An X server of its own on a display number it chooses, so that tests running at the same
/// time never share one.
pub fn start_xvfb() -> (Running, String) {
    let child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1024x768x24",
            "-nolisten",
            "tcp",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "Xvfb is not installed, and this test runs the kiosk on a virtual display. \
             Run scripts/test, which installs it (Debian package xvfb) and runs every test"
        ),
        Err(e) => panic!("cannot start Xvfb: {e}"),
    };
    let stdout = child.stdout.take().expect("piped");
    let mut xvfb = Running {
        name: "Xvfb",
        child,
        ended: false,
    };
    // Xvfb writes the display number it chose once it accepts connections.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    let number = line.trim();
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
        let status = xvfb.child.try_wait();
        xvfb.end();
        panic!("Xvfb did not report a display within 10 s (said {line:?}, status {status:?})");
    }
    (xvfb, format!(":{number}"))
}
