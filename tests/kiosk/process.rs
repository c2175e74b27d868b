//! Shared by the tests that watch a real `earshot` process as a whole: how it ended, what it
//! said, how long it ran and how much memory it took at its peak, as the kernel counted it
//! (wait4's ru_maxrss). A process that runs too long, or grows past a ceiling well above what
//! any test allows, is killed, so a test of a memory bound fails instead of taking the machine
//! down with it.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// What a process that has ended said: its standard output, then its standard error.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// What one run came to.
#[derive(Debug)]
pub struct Measured {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The most resident memory the process had at any moment, in MB (10^6 bytes).
    pub peak_rss_mb: f64,
    /// Why the watcher killed it, if it did.
    pub killed: Option<String>,
}

impl Measured {
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The checks every such test makes: it ended by itself, without a panic.
    pub fn assert_ended_by_itself(&self) {
        assert!(self.killed.is_none(), "{:?}: {}", self.killed, self.text());
        assert_ne!(self.status.code(), Some(101), "panicked: {}", self.text());
        assert!(
            self.status.code().is_some(),
            "ended by a signal ({:?}): {}",
            self.status.signal(),
            self.text()
        );
        assert!(!self.text().contains("panicked"), "{}", self.text());
    }
}

/// Runs `command` to its end (standard output and error as the caller set them; pipes are
/// read to their end). Kills it after `time_limit`, or when its resident memory passes
/// `kill_above_mb`.
// The child is reaped by wait4, not Child::wait: only wait4 gives its resource usage.
#[allow(clippy::zombie_processes)]
pub fn run_measured(mut command: Command, time_limit: Duration, kill_above_mb: f64) -> Measured {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .spawn()
        .expect("the command starts");
    let pid = child.id() as libc::pid_t;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let mut killed = None;
    let (raw_status, usage) = loop {
        let mut status = 0;
        // SAFETY: plain syscall on this test's own child, with valid out-pointers.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if killed.is_some() { 0 } else { libc::WNOHANG };
        let reaped = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if reaped == pid {
            break (status, usage);
        }
        if started.elapsed() > time_limit {
            killed = Some(format!("still running after {time_limit:?}"));
        } else if let Some(rss) = resident_mb(pid).filter(|&mb| mb > kill_above_mb) {
            killed = Some(format!("resident memory reached {rss:.0} MB"));
        }
        if killed.is_some() {
            // Not yet reaped, so the pid is still this child's.
            let _ = child.kill();
        } else {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    Measured {
        status: ExitStatus::from_raw(raw_status),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        elapsed: started.elapsed(),
        // Linux counts ru_maxrss in KiB.
        peak_rss_mb: usage.ru_maxrss as f64 * 1024.0 / 1e6,
        killed,
    }
}

/// The resident memory of a running process now, from /proc.
fn resident_mb(pid: libc::pid_t) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024.0 / 1e6)
}
