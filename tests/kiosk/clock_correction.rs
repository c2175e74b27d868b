//! Responses recorded before the kiosk's clock was synchronised reach the collector on true
//! time, though a later run of the kiosk (or, as far as the kiosk's own storage can show it,
//! a later boot) sends them: the real `earshot` binary, its clock kept unsynchronised with
//! `EARSHOT_TIME_SYNC_MARKER`, and a real `earshot-collector` process on 127.0.0.1.

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, SystemTime};

use earshot::core::record::{ClockInfo, Flags, Outcome, ResponseRecord};
use earshot_protocol::time::unix_ms;
use serde_json::Value;
use uuid::Uuid;

use crate::net::{self, Collector, Kiosk};

/// A provisioned kiosk whose clock counts as synchronised only while `marker` exists.
struct Device {
    collector: Collector,
    kiosk: Kiosk,
    marker: PathBuf,
    _dir: tempfile::TempDir,
}

impl Device {
    fn new() -> Device {
        let dir = tempfile::tempdir().unwrap();
        let collector = Collector::start(dir.path(), &[]);
        let kiosk = Kiosk::new(dir.path(), &collector.url(), "");
        kiosk.provision(&collector, &collector.url());
        let marker = kiosk.dir.join("clock-synchronized");
        Device {
            collector,
            kiosk,
            marker,
            _dir: dir,
        }
    }

    /// Runs the kiosk binary once, as a new run of the kiosk.
    fn run(&self, args: &[&str]) -> Output {
        let out = self
            .kiosk
            .command(args)
            .env(earshot::system::clock::TIME_SYNC_MARKER_ENV, &self.marker)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "earshot {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Simulated visits with the clock as it is; the committed ids.
    fn visits(&self, n: u32, seed: u64) -> Vec<String> {
        let out = self.run(&[
            "simulate",
            "--visits",
            &n.to_string(),
            "--seed",
            &seed.to_string(),
            "--print-committed",
        ]);
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("committed "))
            .map(str::to_string)
            .collect()
    }

    fn synchronise(&self) {
        std::fs::write(&self.marker, b"").unwrap();
    }

    fn upload(&self) -> String {
        let out = self.run(&["upload", "--once"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The records waiting on the kiosk, as its own export reads them from its database.
    fn waiting(&self) -> Vec<Value> {
        let file = self.kiosk.dir.join("pending.jsonl");
        self.run(&[
            "queue",
            "export",
            "--state",
            "pending",
            "--format",
            "jsonl",
            "--out",
            file.to_str().unwrap(),
        ]);
        lines(&std::fs::read_to_string(file).unwrap())
    }

    /// What the collector stored, by response id.
    fn stored(&self) -> std::collections::HashMap<String, Value> {
        let file = self.collector.db.with_extension("clock.jsonl");
        let out = self.collector.cli(&[
            "export",
            "--format",
            "jsonl",
            "--out",
            file.to_str().unwrap(),
        ]);
        assert!(out.status.success());
        lines(&std::fs::read_to_string(file).unwrap())
            .into_iter()
            .map(|v| (v["id"].as_str().unwrap().to_string(), v))
            .collect()
    }
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn this_boot() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap()
        .trim()
        .to_string()
}

fn ms_of(rfc3339: &Value) -> i64 {
    unix_ms(humantime::parse_rfc3339(rfc3339.as_str().unwrap()).unwrap())
}

/// The true time, in unix ms, at which this boot's clock read 0.
fn boot_began_ms() -> i64 {
    let now = SystemTime::now();
    let since_boot = earshot::system::clock::since_boot().unwrap();
    unix_ms(now) - since_boot.as_millis() as i64
}

/// Checks what the kiosk recorded: the clock not synchronised, reading 1970 plus the boot's
/// clock (a device that booted at 1970), and this boot with its clock's readings.
fn assert_recorded_unsynchronised(records: &[Value], committed: &[String]) {
    assert_eq!(records.len(), committed.len());
    for row in records {
        let r = &row["record"];
        let clock = &r["clock"];
        assert_eq!(clock["synchronized"], false, "{r}");
        assert_eq!(clock["boot_id"], this_boot().as_str(), "{r}");
        let start = clock["started_boot_ms"].as_i64().unwrap();
        let finish = clock["finished_boot_ms"].as_i64().unwrap();
        assert!(finish >= start, "{r}");
        assert_eq!(ms_of(&r["started_at"]), start, "{r}");
        assert!(
            r["started_at"].as_str().unwrap().starts_with("1970-"),
            "{r}"
        );
    }
}

#[test]
fn visits_recorded_unsynchronised_are_placed_on_true_time_by_the_next_run_once_synchronised() {
    let mut device = Device::new();
    // The first run: the clock is not synchronised (the device booted at 1970).
    let committed = device.visits(4, 21);
    assert_eq!(committed.len(), 4);
    let recorded = device.waiting();
    assert_recorded_unsynchronised(&recorded, &committed);

    // It stops. The next run (the kiosk's uploader, as the service runs it) starts with the
    // clock still not synchronised and the collector out of reach, so nothing goes yet; the
    // clock is synchronised while it runs, and the collector comes back.
    device.collector.stop();
    let log = device.kiosk.dir.join("upload.log");
    let mut uploader = device
        .kiosk
        .command(&["upload"])
        .env(earshot::system::clock::TIME_SYNC_MARKER_ENV, &device.marker)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    device.synchronise();
    device.collector.restart();
    let drained = std::panic::catch_unwind(|| {
        net::wait_for(Duration::from_secs(60), "the queue to drain", || {
            let s = device.kiosk.queue_stats();
            s["pending"] == 0 && s["claimed"] == 0
        })
    });
    let _ = uploader.kill();
    let _ = uploader.wait();
    if let Err(e) = drained {
        eprintln!(
            "upload log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::panic::resume_unwind(e);
    }

    let stored = device.stored();
    let began = boot_began_ms();
    for row in &recorded {
        let r = &row["record"];
        let at = &stored[r["id"].as_str().unwrap()];
        assert_eq!(at["time_basis"], "corrected", "{at}");
        // Placed by the device's own synchronised reading of the boot's clock: to within
        // milliseconds, however long the upload took.
        for (stored_field, boot_field) in [
            ("started_at", "started_boot_ms"),
            ("finished_at", "finished_boot_ms"),
        ] {
            let expected = began + r["clock"][boot_field].as_i64().unwrap();
            let got = ms_of(&at[stored_field]);
            assert!(
                (got - expected).abs() <= 50,
                "{stored_field} {} is {} ms from the boot's true time",
                at[stored_field],
                got - expected
            );
        }
        // The record itself is kept as the device made it.
        assert_eq!(at["record"], *r);
    }
    // The collector kept the boot's synchronised reading, for whatever later request brings
    // more of the boot's responses.
    let conn = rusqlite::Connection::open(&device.collector.db).unwrap();
    let (boot_ms, wall_ms): (i64, i64) = conn
        .query_row(
            "SELECT boot_ms, wall_ms FROM boot_clocks WHERE device_id = 'test-kiosk' AND boot_id = ?1",
            [this_boot()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!((wall_ms - boot_ms - began).abs() <= 50);
    // The kiosk kept this boot's synchronised reading for a later boot to send.
    let queue =
        earshot::storage::Queue::open_read_only(device.kiosk.dir.join("responses.db")).unwrap();
    let kept = queue
        .boot_syncs(&[Uuid::parse_str(&this_boot()).unwrap()])
        .unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!((ms_of(&Value::from(kept[0].at.clone())) - began - kept[0].boot_ms as i64).abs() <= 50);
}

#[test]
fn visits_never_synchronised_are_placed_by_the_collectors_clock_when_a_later_run_sends_them() {
    let device = Device::new();
    let committed = device.visits(3, 22);
    let recorded = device.waiting();
    assert_recorded_unsynchronised(&recorded, &committed);
    // Another run, the clock still not synchronised: the request from the same boot says
    // where the boot's clock stood, and the collector knows when it arrived.
    let text = device.upload();
    assert!(text.contains("3 delivered (3 new"), "{text}");
    let stored = device.stored();
    let began = boot_began_ms();
    for row in &recorded {
        let r = &row["record"];
        let at = &stored[r["id"].as_str().unwrap()];
        assert_eq!(at["time_basis"], "corrected", "{at}");
        let expected = began + r["clock"]["started_boot_ms"].as_i64().unwrap();
        let late = ms_of(&at["started_at"]) - expected;
        // Late by the request's transit, never early (give or take the milliseconds cut).
        assert!((-50..2_000).contains(&late), "{late} ms late: {at}");
    }
}

/// A response recorded in another boot, as one left from before a reboot is: not
/// synchronised, 1970 on its clock, its boot's clock at 300–330 s.
fn from_an_earlier_boot(boot: Uuid) -> ResponseRecord {
    ResponseRecord {
        id: Uuid::now_v7(),
        reference: "ABCD-EF".into(),
        survey_id: "shop-feedback".into(),
        survey_version: "1".into(),
        language: "en".into(),
        site_id: "test-site".into(),
        device_id: "test-kiosk".into(),
        started_at: "1970-01-01T00:05:00.000Z".into(),
        finished_at: "1970-01-01T00:05:30.000Z".into(),
        clock: ClockInfo {
            synchronized: false,
            started_mono_ms: 290_000,
            finished_mono_ms: 320_000,
            visit_number: 1,
            run_id: Some(Uuid::now_v7()),
            boot_id: Some(boot),
            started_boot_ms: Some(300_000),
            finished_boot_ms: Some(330_000),
        },
        outcome: Outcome::Abandoned,
        service: None,
        answers: vec![],
        flags: Flags::default(),
    }
}

#[test]
fn a_response_left_from_an_earlier_boot_is_placed_by_what_the_kiosk_kept_of_that_boot() {
    let device = Device::new();
    // Left on the kiosk by an earlier boot: one whose clock was synchronised before it ended
    // (its reading kept, as the kiosk keeps it), one whose clock never was.
    let (synchronised, never) = (Uuid::now_v7(), Uuid::now_v7());
    let then = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    {
        let opened = earshot::storage::Queue::open(device.kiosk.dir.join("responses.db")).unwrap();
        opened
            .queue
            .remember_boot_sync(synchronised, Duration::from_secs(400), then)
            .unwrap();
        for boot in [synchronised, never] {
            opened.queue.enqueue(&from_an_earlier_boot(boot)).unwrap();
        }
    }
    device.synchronise();
    let text = device.upload();
    assert!(text.contains("2 delivered (2 new"), "{text}");
    let stored = device.stored();
    let by_boot = |boot: Uuid| {
        stored
            .values()
            .find(|v| v["record"]["clock"]["boot_id"] == boot.to_string().as_str())
            .unwrap()
            .clone()
    };
    let placed = by_boot(synchronised);
    assert_eq!(placed["time_basis"], "corrected", "{placed}");
    // 100 s before the kept reading, to the millisecond it was kept with.
    let then_ms = unix_ms(then);
    assert_eq!(ms_of(&placed["started_at"]), then_ms - 100_000);
    assert_eq!(ms_of(&placed["finished_at"]), then_ms - 70_000);
    // Nothing is known of a boot that never synchronised: the device's times, and saying so.
    let kept = by_boot(never);
    assert_eq!(kept["time_basis"], "unverified", "{kept}");
    assert_eq!(kept["started_at"], "1970-01-01T00:05:00.000Z");
}
