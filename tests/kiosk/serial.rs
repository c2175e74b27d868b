//! A scanner cable made of a real pseudo-terminal pair (socat): the kiosk opens one end as
//! its serial port, the test writes into the other as the scanner would.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Cable {
    child: Child,
    /// The end the kiosk opens as its scanner port.
    pub scanner: PathBuf,
    /// The end the test writes codes into.
    pub writer: PathBuf,
}

impl Cable {
    /// Two linked pseudo-terminals: `scanner` for the kiosk, `writer` for the test.
    pub fn plug(dir: &Path) -> Cable {
        let scanner = dir.join("scanner");
        let writer = dir.join("writer");
        let child = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", scanner.display()))
            .arg(format!("pty,raw,echo=0,link={}", writer.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat is installed (scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(scanner.exists() && writer.exists()) {
            assert!(Instant::now() < deadline, "socat made no pseudo-terminals");
            std::thread::sleep(Duration::from_millis(20));
        }
        Cable {
            child,
            scanner,
            writer,
        }
    }

    pub fn write(&self, bytes: &[u8]) {
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.writer)
            .unwrap();
        w.write_all(bytes).unwrap();
        w.flush().unwrap();
    }

    pub fn unplug(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.scanner.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Cable {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
