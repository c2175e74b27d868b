//! Shared by the tests that watch a real `earshot` process as a whole: how it ended, what it
//! said, how long it ran and how much memory it took at its peak. A process that runs too
//! long, or grows past a ceiling well above what any test allows, is killed, so a test of a
//! memory bound fails instead of taking the machine down with it.
//!
//! The peak is the child's own. wait4's ru_maxrss alone is not: Linux counts into a child's
//! peak the peak of the memory it ran in before its exec, and a child spawned with vfork (as
//! std's posix_spawn does) runs in this test process's memory until then, so ru_maxrss is at
//! least this whole test binary's own peak, whatever the child took. The child's own
//! high-water mark (VmHWM, which starts afresh at its exec) is read from /proc while it runs;
//! ru_maxrss counts only where it is above this process's own peak, and so can only be the
//! child's.
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
    let mut own_peak_mb = 0.0_f64;
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
        let memory = memory_of(pid);
        if let Some(m) = memory {
            own_peak_mb = own_peak_mb.max(m.peak_mb);
        }
        if started.elapsed() > time_limit {
            killed = Some(format!("still running after {time_limit:?}"));
        } else if let Some(rss) = memory.map(|m| m.now_mb).filter(|&mb| mb > kill_above_mb) {
            killed = Some(format!("resident memory reached {rss:.0} MB"));
        }
        if killed.is_some() {
            // Not yet reaped, so the pid is still this child's.
            let _ = child.kill();
        } else {
            // Often, so that a peak just before the end is seen.
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    // Linux counts ru_maxrss in KiB.
    let counted_mb = usage.ru_maxrss as f64 * 1024.0 / 1e6;
    let this_process_peak_mb =
        memory_of(std::process::id() as libc::pid_t).map_or(f64::INFINITY, |m| m.peak_mb);
    if counted_mb > this_process_peak_mb {
        own_peak_mb = own_peak_mb.max(counted_mb);
    }
    Measured {
        status: ExitStatus::from_raw(raw_status),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        elapsed: started.elapsed(),
        peak_rss_mb: own_peak_mb,
        killed,
    }
}

/// A running process's resident memory, now and at its peak since its exec, in MB.
#[derive(Debug, Clone, Copy)]
struct Memory {
    now_mb: f64,
    peak_mb: f64,
}

/// From /proc; `None` once the process has gone.
fn memory_of(pid: libc::pid_t) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024.0 / 1e6)
    };
    Some(Memory {
        now_mb: field("VmRSS:")?,
        peak_mb: field("VmHWM:")?,
    })
}

#[test]
fn a_childs_peak_is_its_own_and_not_this_test_processes() {
    // This test process made large: a child's count from the kernel alone would include it.
    let ballast = std::hint::black_box(vec![1u8; 300_000_000]);
    let small = run_measured(Command::new("true"), Duration::from_secs(20), 600.0);
    small.assert_ended_by_itself();
    assert!(small.peak_rss_mb < 50.0, "{:.0} MB", small.peak_rss_mb);
    // A child that holds 100 MB for a moment is measured at that, at least.
    let mut holder = Command::new("sh");
    holder.args([
        "-c",
        "x=$(head -c 100000000 /dev/zero | tr '\\0' a); sleep 0.1; echo ${#x}",
    ]);
    holder.stdout(Stdio::piped()).stderr(Stdio::piped());
    let big = run_measured(holder, Duration::from_secs(20), 600.0);
    big.assert_ended_by_itself();
    assert_eq!(big.stdout.trim(), "100000000");
    assert!(
        (100.0..290.0).contains(&big.peak_rss_mb),
        "{:.0} MB",
        big.peak_rss_mb
    );
    drop(ballast);
}
