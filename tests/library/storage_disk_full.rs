//! A real full disk: the store on a tiny tmpfs fills up, says so in plain words, keeps what it
//! had, and takes records again once space returns — without being reopened.
//! Needs root (to mount a tmpfs), which the test machines and CI have.

use std::path::{Path, PathBuf};
use std::process::Command;

use earshot::core::record::*;
use earshot::storage::Queue;
use earshot_protocol::testing;

/// A record with a comment of 2000 two-byte characters: a few KB each, to fill the disk fast.
fn record(n: u64) -> ResponseRecord {
    testing::record_with_comment(n, "ż".repeat(2000))
}

struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| Mount(dir.to_path_buf()))
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success(), "remount failed");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

#[test]
fn a_full_disk_is_reported_keeps_everything_and_recovers_by_itself() {
    if !is_root() {
        eprintln!("SKIPPED: mounting a tmpfs needs root; run scripts/test as root (CI does)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mount = Mount::tmpfs(dir.path(), "384k").expect("root can mount a tmpfs");
    let path = dir.path().join("responses.db");
    let queue = Queue::open(&path).unwrap().queue;

    let mut stored = 0;
    let error = loop {
        match queue.enqueue(&record(stored)) {
            Ok(_) => stored += 1,
            Err(e) => break e,
        }
        assert!(stored < 10_000, "a 384 KB disk cannot hold this much");
    };
    assert!(
        stored > 5,
        "some records fit before the disk filled ({stored})"
    );
    assert!(error.is_full(), "disk full is reported as full: {error}");
    let message = error.to_string();
    assert!(message.contains("Fix:"), "{message}");

    // Everything stored before is still there and sound.
    queue.integrity_check().unwrap();
    assert_eq!(queue.stats().unwrap().pending, stored);

    // Space returns: the same open queue takes records again.
    mount.resize("4m");
    queue
        .enqueue(&record(stored))
        .expect("stores again once there is space");
    assert_eq!(queue.stats().unwrap().pending, stored + 1);
    queue.integrity_check().unwrap();
    drop(queue);
    let reopened = Queue::open(&path).unwrap().queue;
    assert_eq!(reopened.stats().unwrap().pending, stored + 1);
}
