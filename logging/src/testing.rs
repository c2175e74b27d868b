//! For the tests of the programs that log through this crate: a stand-in for journald, and a
//! way to run a program as systemd would with its standard error connected to the journal,
//! on a machine with or without journald.
//!
//! The program runs in a mount namespace of its own (`unshare`, which needs root) with a fresh
//! `/run`, in which `/run/systemd/journal` is the stand-in's folder, or empty to show a
//! journal whose socket is missing. Nothing outside the namespace changes.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::{native, StreamId};

/// One entry as journald would have stored it: its fields in order.
pub type Entry = Vec<(String, Vec<u8>)>;

/// A socket named `socket` in a folder of its own, read as journald reads its socket.
pub struct FakeJournal {
    dir: PathBuf,
    socket: UnixDatagram,
}

impl FakeJournal {
    pub fn new() -> io::Result<FakeJournal> {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "earshot-fake-journal-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let socket = UnixDatagram::bind(dir.join("socket"))?;
        Ok(FakeJournal { dir, socket })
    }

    /// The folder to show as `/run/systemd/journal`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entries that have arrived (the empty probe left out), waiting up to `quiet` for
    /// each next one.
    pub fn entries(&self, quiet: Duration) -> Vec<Entry> {
        let mut entries = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        let _ = self.socket.set_read_timeout(Some(quiet));
        while let Ok(n) = self.socket.recv(&mut buf) {
            if n > 0 {
                entries.push(
                    native::parse(&buf[..n])
                        .unwrap_or_else(|e| panic!("journald would refuse an entry: {e}")),
                );
            }
        }
        entries
    }
}

impl Drop for FakeJournal {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether this machine lets a test make a mount namespace (root, `unshare` installed).
pub fn private_run_available() -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    let Ok(mut child) = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return false;
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

/// `program args…` to run with a private `/run` in which `/run/systemd/journal` is
/// `journal_dir` (a [`FakeJournal::dir`]), or an empty folder when `None`.
pub fn with_private_run(program: &Path, args: &[&str], journal_dir: Option<&Path>) -> Command {
    const SCRIPT: &str = r#"set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/journal
if [ -n "$1" ]; then mount --bind "$1" /run/systemd/journal; fi
shift
exec "$@""#;
    let mut command = Command::new("unshare");
    command
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            SCRIPT,
            "sh",
        ])
        .arg(journal_dir.map(Path::as_os_str).unwrap_or_default())
        .arg(program)
        .args(args);
    command
}

/// A pipe for a child's standard error, and the `JOURNAL_STREAM` value that names it, as
/// systemd sets it for a service whose standard error is the journal's stream.
pub fn stderr_pipe() -> io::Result<(io::PipeReader, io::PipeWriter, String)> {
    let (reader, writer) = io::pipe()?;
    let id = StreamId::of(&writer).ok_or_else(|| io::Error::other("fstat of a new pipe failed"))?;
    Ok((reader, writer, format!("{}:{}", id.device, id.inode)))
}
