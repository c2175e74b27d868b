//! The appliance in a virtual machine: the kiosk's Debian package installed by apt into a
//! minimal Debian, booted under QEMU with a virtio GPU (DRM/KMS), a touchscreen (uinput, in
//! the guest), the receipt scanner on a serial port (a pty here) and the collector on the
//! guest's own 127.0.0.1; then tapped, scanned, hung and unplugged. `scripts/vm-test` builds
//! the package and the image and runs this (it is not run by `cargo test` alone: its target
//! has `test = false`).
//!
//!   vm --arch amd64 --image FILE --kernel FILE --initrd FILE --work DIR
//!      [--power-cuts N] [--seed S] [--accel kvm|tcg] [--attract-only]
//!
//! Every check says what failed and why; the run's folder keeps the guest's console logs,
//! QEMU's messages and the pictures compared.

#[path = "../kiosk/common.rs"]
mod common;
mod guest;
mod screen;
mod twin;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use earshot::core::receipt;
use earshot::core::survey::StepKind;
use earshot::core::visit::Screen;
use serde_json::Value;

use guest::{Arch, Vm, VmConfig};
use screen::Picture;
use twin::Twin;

/// Stands for systemd-timesyncd's marker in the guest: the clock counts as set while it
/// exists (on the guest's disk, so across boots).
const CLOCK_MARKER: &str = "/var/lib/earshot/vm-clock-set";
const WIDTH: u32 = 800;
const HEIGHT: u32 = 480;
/// How alike the guest's screen and the twin's picture of the same screen must be: the same
/// renderer draws both, so nearly every pixel is equal; what may differ is the reference code
/// on the thanks screen, and a caret or an animation caught mid-way.
const SAME_SCREEN: f64 = 0.97;
/// The thanks screen is compared above its reference code (which differs): the tick and the
/// message, where the "Saving your answers…" screen before it differs in about a tenth of
/// the pixels.
const SAME_THANKS: f64 = 0.98;
const THANKS_REGION: screen::Rect = screen::Rect {
    x: 0,
    y: 85,
    w: WIDTH,
    h: 215,
};

struct Options {
    arch: Arch,
    image: PathBuf,
    kernel: PathBuf,
    initrd: PathBuf,
    work: PathBuf,
    power_cuts: u32,
    seed: u64,
    accel: Option<bool>,
    attract_only: bool,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut o = Options {
        arch: Arch::Amd64,
        image: PathBuf::new(),
        kernel: PathBuf::new(),
        initrd: PathBuf::new(),
        work: PathBuf::new(),
        power_cuts: 20,
        seed: fastrand::u64(..),
        accel: None,
        attract_only: false,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--arch" => {
                o.arch = match value()?.as_str() {
                    "amd64" => Arch::Amd64,
                    "arm64" => Arch::Arm64,
                    other => return Err(format!("--arch {other}: amd64 or arm64")),
                }
            }
            "--image" => o.image = value()?.into(),
            "--kernel" => o.kernel = value()?.into(),
            "--initrd" => o.initrd = value()?.into(),
            "--work" => o.work = value()?.into(),
            "--power-cuts" => {
                o.power_cuts = value()?.parse().map_err(|e| format!("--power-cuts: {e}"))?
            }
            "--seed" => o.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--accel" => {
                o.accel = match value()?.as_str() {
                    "kvm" => Some(true),
                    "tcg" => Some(false),
                    other => return Err(format!("--accel {other}: kvm or tcg")),
                }
            }
            "--attract-only" => o.attract_only = true,
            // What cargo's test runner may pass on to any test binary.
            "--nocapture" | "--quiet" | "-q" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    for (name, path) in [
        ("--image", &o.image),
        ("--kernel", &o.kernel),
        ("--initrd", &o.initrd),
    ] {
        if !path.is_file() {
            return Err(format!(
                "{name} {}: no such file (scripts/vm-test makes it)",
                path.display()
            ));
        }
    }
    if o.work.as_os_str().is_empty() {
        return Err("--work DIR is needed".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vm: {e}");
            return ExitCode::from(2);
        }
    };
    common::init_backend();
    let started = Instant::now();
    let mut run = match Run::new(&options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vm-test: FAILED: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if options.attract_only {
        run.attract_only()
    } else {
        run.everything(options.power_cuts)
    };
    run.figure(
        "the whole VM test",
        format!("{:.0} s", started.elapsed().as_secs_f64()),
    );
    run.report();
    match result {
        Ok(()) => {
            // The disk is kept for a look after a failure only: it is as big as the image.
            let _ = std::fs::remove_file(&run.config.disk);
            println!("vm-test ({}): OK", options.arch.name());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nvm-test ({}): FAILED: {e}", options.arch.name());
            eprintln!("(the run's files: {})", run.config.dir.display());
            ExitCode::FAILURE
        }
    }
}

struct Run {
    config: VmConfig,
    twin: Twin,
    seed: u64,
    rng: fastrand::Rng,
    boots: u32,
    figures: Vec<(String, String)>,
    passed: Vec<String>,
    /// The attract screen as the twin draws it.
    attract: Picture,
    /// Receipt transactions (as the kiosk keys them) of every visit whose last tap was made,
    /// and of those whose thanks screen was then seen.
    tapped: BTreeSet<String>,
    thanked: BTreeSet<String>,
    secret: Option<Vec<u8>>,
    next_txn: u32,
    /// The shortest seen from a visit's last tap to its thanks screen: the time the response
    /// is being stored in (and drawn).
    thanks_after: Duration,
    /// The visit made before the clock was set, and when its first tap was made.
    clock_visit: Option<(String, std::time::SystemTime)>,
}

impl Run {
    fn new(o: &Options) -> Result<Run, String> {
        let dir = o.work.join("run");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        let kvm = match o.accel {
            Some(k) => k,
            None => o.arch == Arch::Amd64 && kvm_works(),
        };
        let slowness = match (o.arch, kvm) {
            (Arch::Amd64, true) => 1,
            (Arch::Amd64, false) => 8,
            (Arch::Arm64, _) => 12,
        };
        // The run's own copy of the disk (sparse: only what the file system holds is
        // copied); the cached image stays as it was built.
        let disk = dir.join("disk.raw");
        let status = std::process::Command::new("cp")
            .arg("--sparse=always")
            .arg(&o.image)
            .arg(&disk)
            .status()
            .map_err(|e| format!("cannot run cp: {e}"))?;
        if !status.success() {
            return Err(format!(
                "cannot copy {} to {}",
                o.image.display(),
                disk.display()
            ));
        }
        let host_port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
            .port();
        let config = VmConfig {
            arch: o.arch,
            disk,
            kernel: o.kernel.clone(),
            initrd: o.initrd.clone(),
            dir,
            kvm,
            host_port,
            width: WIDTH,
            height: HEIGHT,
            slowness,
        };
        let twin = Twin::new(common::demo_survey("shop"), WIDTH, HEIGHT);
        let attract = twin.picture();
        println!(
            "vm-test ({}): {}; seed {} (--seed to repeat); files in {}",
            o.arch.name(),
            match (kvm, o.accel) {
                (true, _) => "KVM",
                (false, Some(false)) => "emulated (TCG), as asked",
                (false, _) if std::path::Path::new("/dev/kvm").exists() => {
                    "emulated (TCG): this machine's /dev/kvm is PVM, which cannot run Debian's kernel"
                }
                (false, _) => "emulated (TCG): no usable /dev/kvm",
            },
            o.seed,
            config.dir.display()
        );
        Ok(Run {
            config,
            twin,
            seed: o.seed,
            rng: fastrand::Rng::with_seed(o.seed),
            boots: 0,
            figures: Vec::new(),
            passed: Vec::new(),
            attract,
            tapped: BTreeSet::new(),
            thanked: BTreeSet::new(),
            secret: None,
            next_txn: 0,
            thanks_after: Duration::MAX,
            clock_visit: None,
        })
    }

    fn figure(&mut self, what: &str, value: String) {
        println!("   {what}: {value}");
        self.figures.push((what.to_string(), value));
    }

    fn pass(&mut self, what: &str) {
        println!("ok {what}");
        self.passed.push(what.to_string());
    }

    fn report(&self) {
        println!("\n-- passed ({}):", self.passed.len());
        for p in &self.passed {
            println!("   {p}");
        }
        println!("-- figures:");
        for (what, value) in &self.figures {
            println!("   {what}: {value}");
        }
    }

    fn boot(&mut self) -> Result<Vm, String> {
        let (vm, took) = Vm::boot(&self.config, self.boots)?;
        self.boots += 1;
        println!(
            "   boot {}: the guest's agent answered {:.1} s after QEMU started",
            vm.boot,
            took.as_secs_f64()
        );
        Ok(vm)
    }

    // ---- The checks in order ------------------------------------------------------------

    fn everything(&mut self, power_cuts: u32) -> Result<(), String> {
        let started = Instant::now();
        let mut vm = self.boot()?;
        self.kiosk_ready(&mut vm, "at the first boot")?;
        self.figure(
            "first boot: QEMU start to the kiosk ready",
            format!("{:.1} s", started.elapsed().as_secs_f64()),
        );
        self.first_frame(&mut vm, "at boot")?;
        self.shows_attract(&mut vm, "attract screen after boot")?;
        self.boot_analysis(&mut vm)?;
        self.memory(&mut vm)?;
        self.journal(&mut vm)?;
        self.provision(&mut vm)?;
        self.collector_from_host()?;
        let first = self.visit(&mut vm, &Visit::by_taps())?;
        let code = self.new_receipt();
        let second = self.visit(&mut vm, &Visit::with_receipt(code))?;
        self.receipt_attached(&mut vm, &first, &second)?;
        self.reach_collector(&mut vm, &[&first.id, &second.id])?;
        self.watchdog(&mut vm)?;
        let vm = self.clock_set_late(vm)?;
        self.clock_placed_after_reboot(vm)?;
        self.power_cuts(power_cuts)?;
        Ok(())
    }

    fn attract_only(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let mut vm = self.boot()?;
        self.kiosk_ready(&mut vm, "at the first boot")?;
        self.first_frame(&mut vm, "at boot")?;
        self.shows_attract(&mut vm, "attract screen after boot")?;
        self.figure(
            "QEMU start to the attract screen",
            format!("{:.0} s", started.elapsed().as_secs_f64()),
        );
        self.boot_analysis(&mut vm)?;
        self.memory(&mut vm)?;
        vm.stop();
        Ok(())
    }

    /// systemd started the kiosk and it said READY=1: `systemctl is-active` says active (a
    /// Type=notify unit is "activating" until then) with the status text the kiosk sent. A
    /// kiosk that systemd had to start again meanwhile (it ended: a crash, a failed start) is
    /// a failure, told with its journal.
    fn kiosk_ready(&mut self, vm: &mut Vm, when: &str) -> Result<u64, String> {
        let deadline = Instant::now() + self.config.within(Duration::from_secs(60));
        let show = "systemctl show -p ActiveState,SubState,MainPID,StatusText,NRestarts,Result earshot.service";
        let restarts = |p: &BTreeMap<String, String>| -> u32 {
            p.get("NRestarts").and_then(|n| n.parse().ok()).unwrap_or(0)
        };
        let first = restarts(&properties(&vm.sh(show)?));
        let why = |vm: &mut Vm| {
            vm.sh_status(
                "systemctl status --no-pager -l earshot.service; \
                 journalctl -b -u earshot.service --no-pager -o short-monotonic -n 60",
            )
            .map(|(_, out)| out)
            .unwrap_or_default()
        };
        loop {
            let props = properties(&vm.sh(show)?);
            let state = props.get("ActiveState").cloned().unwrap_or_default();
            if restarts(&props) > first {
                let log = why(vm);
                return Err(format!(
                    "{when}: the kiosk ended while starting and systemd started it again ({props:?}):\n{log}\n{}",
                    vm.console_tail(20)
                ));
            }
            if state == "active" {
                let status = props.get("StatusText").cloned().unwrap_or_default();
                let active = vm.sh_status("systemctl is-active earshot.service")?.1;
                if active.trim() == "active" && !status.is_empty() {
                    let pid = props
                        .get("MainPID")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0);
                    self.pass(&format!(
                        "systemd started the kiosk and it reported ready ({when}: \"{status}\")"
                    ));
                    return Ok(pid);
                }
                if status.is_empty() {
                    return Err(format!(
                        "{when}: the kiosk's unit is active with no status text; READY=1 with a status was expected"
                    ));
                }
                // Active a moment ago, not now: the next look tells why.
            }
            if Instant::now() > deadline || state == "failed" {
                let log = why(vm);
                return Err(format!(
                    "{when}: the kiosk did not report ready (ActiveState={state}):\n{log}\n{}",
                    vm.console_tail(20)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// From the kiosk's process start (systemd's ExecMainStartTimestampMonotonic) to the
    /// agent first seeing a framebuffer of the kiosk's on the screen's plane.
    fn first_frame(&mut self, vm: &mut Vm, when: &str) -> Result<(), String> {
        let deadline = Instant::now() + self.config.within(Duration::from_secs(30));
        let frame = loop {
            if let Some(us) = vm.first_frame_us()? {
                break us;
            }
            if Instant::now() > deadline {
                let state = vm
                    .sh_status("cat /sys/kernel/debug/dri/0/state")
                    .map(|(_, o)| o)
                    .unwrap_or_default();
                return Err(format!(
                    "{when}: no frame of the kiosk's reached the screen through KMS; the DRM state:\n{state}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let start: u64 = vm
            .sh("systemctl show -p ExecMainStartTimestampMonotonic --value earshot.service")?
            .trim()
            .parse()
            .map_err(|e| format!("systemd's start time of the kiosk: {e}"))?;
        if frame < start {
            return Err(format!(
                "{when}: the first frame ({frame} µs) was seen before the kiosk started ({start} µs)"
            ));
        }
        self.figure(
            &format!("kiosk process start to its first frame through KMS ({when})"),
            format!("{:.0} ms", (frame - start) as f64 / 1000.0),
        );
        Ok(())
    }

    fn save(&self, picture: &Picture, name: &str) -> PathBuf {
        let path = self.config.dir.join(format!("{name}.png"));
        let _ = picture.write_png(&path);
        path
    }

    /// Waits for the guest's screen to look like `expected`; the picture when it does.
    fn wait_for_screen(
        &mut self,
        vm: &mut Vm,
        expected: &Picture,
        region: Option<screen::Rect>,
        threshold: f64,
        what: &str,
    ) -> Result<(Picture, f64), String> {
        let deadline = Instant::now() + self.config.within(Duration::from_secs(20));
        let mut best = (0.0, None);
        loop {
            let now = vm.screendump()?;
            let likeness = now.likeness(expected, region.unwrap_or(now.full()));
            if likeness >= threshold {
                return Ok((now, likeness));
            }
            if likeness >= best.0 {
                best = (likeness, Some(now));
            }
            if Instant::now() > deadline || !vm.alive() {
                let name = what.replace(' ', "-");
                let got = best
                    .1
                    .map(|p| self.save(&p, &format!("{name}-guest")))
                    .unwrap_or_default();
                let want = self.save(expected, &format!("{name}-expected"));
                return Err(format!(
                    "{what}: the guest's screen never looked as expected (at best {:.1} % of its pixels matched, {:.0} % needed); see {} and {}",
                    best.0 * 100.0,
                    threshold * 100.0,
                    got.display(),
                    want.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// QEMU's screen dump shows the attract screen: compared with the twin's, and its
    /// background colour checked on its own.
    fn shows_attract(&mut self, vm: &mut Vm, what: &str) -> Result<(), String> {
        let expected = self.attract.clone();
        let (got, likeness) = self.wait_for_screen(vm, &expected, None, SAME_SCREEN, what)?;
        let corner = screen::Rect {
            x: 300,
            y: 440,
            w: 80,
            h: 30,
        };
        let (a, b) = (got.main_colour(corner), expected.main_colour(corner));
        if a != b {
            return Err(format!("{what}: the background is {a}, the twin's {b}"));
        }
        self.save(&got, &format!("{}-guest", what.replace(' ', "-")));
        self.pass(&format!(
            "the screen dump shows the {what} ({:.1} % of pixels as the twin draws it)",
            likeness * 100.0
        ));
        Ok(())
    }

    /// systemd's own account of the boot, and what took longest.
    fn boot_analysis(&mut self, vm: &mut Vm) -> Result<(), String> {
        let (status, time) = vm.sh_status("systemd-analyze time 2>&1 | head -n 1")?;
        if status == 0 {
            self.figure(
                "guest boot (systemd-analyze)",
                time.trim().replace("Startup finished in ", ""),
            );
        }
        let (_, blame) = vm.sh_status(
            "systemd-analyze blame --no-pager 2>&1 | head -n 8; \
             systemd-analyze critical-chain --no-pager earshot.service 2>&1 | tail -n +2",
        )?;
        println!(
            "   slowest units, and what the kiosk waited for:\n{}",
            blame
                .lines()
                .map(|l| format!("     {}", l.trim_end()))
                .collect::<Vec<_>>()
                .join("\n")
        );
        Ok(())
    }

    fn memory(&mut self, vm: &mut Vm) -> Result<(), String> {
        std::thread::sleep(Duration::from_secs(1));
        let out = vm.sh("pid=$(systemctl show -p MainPID --value earshot.service); \
             grep -E '^VmRSS' /proc/$pid/status; grep -E '^Pss:' /proc/$pid/smaps_rollup")?;
        let kb = |key: &str| {
            out.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        self.figure(
            "kiosk resident memory on the attract screen (in the guest)",
            format!(
                "{:.1} MiB (Pss {:.1} MiB)",
                kb("VmRSS") / 1024.0,
                kb("Pss") / 1024.0
            ),
        );
        Ok(())
    }

    fn journal(&mut self, vm: &mut Vm) -> Result<(), String> {
        let log = vm.sh("journalctl -b -u earshot.service --no-pager -o cat")?;
        if !log.contains("survey in force") {
            return Err(format!(
                "`journalctl -u earshot` has not the kiosk's start-up lines:\n{log}"
            ));
        }
        let escapes = log.contains('\u{1b}');
        self.pass(&format!(
            "journalctl -u earshot is readable ({} lines{})",
            log.lines().count(),
            if escapes {
                "; note: they hold terminal escape codes"
            } else {
                ""
            }
        ));
        Ok(())
    }

    /// Enrols the kiosk with the collector in the guest, as a site would, and restarts it
    /// so that it uploads.
    fn provision(&mut self, vm: &mut Vm) -> Result<(), String> {
        let deadline = Instant::now() + self.config.within(Duration::from_secs(30));
        while vm
            .sh_status("systemctl is-active earshot-collector.service")?
            .0
            != 0
        {
            if Instant::now() > deadline {
                let status = vm
                    .sh_status("systemctl status --no-pager -l earshot-collector.service")
                    .map(|(_, o)| o)
                    .unwrap_or_default();
                return Err(format!(
                    "the collector did not start in the guest:\n{status}"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let out = vm.sh(
            "set -e; db=/var/lib/earshot-collector/collector.db; \
             code=$(runuser -u earshot-collector -- earshot-collector --db $db enroll-code --site vm-site | head -n 1); \
             earshot provision --server http://127.0.0.1:8080 --code \"$code\" && systemctl restart earshot.service",
        )?;
        if !out.contains("enrolled device vm-kiosk") {
            return Err(format!("provisioning said:\n{out}"));
        }
        let secret = vm.sh("cat /var/lib/earshot/receipt-secret")?;
        self.secret = Some(
            earshot::files::receipt_secret::parse(&secret)
                .map_err(|e| format!("the kiosk's receipt secret: {e}"))?,
        );
        self.pass(
            "the kiosk enrolled with the collector on the guest's 127.0.0.1 (earshot provision)",
        );
        self.kiosk_ready(vm, "after provisioning")?;
        self.shows_attract(vm, "attract screen after a restart")?;
        Ok(())
    }

    /// The one way in from this machine: QEMU's forward on 127.0.0.1.
    fn collector_from_host(&mut self) -> Result<(), String> {
        use std::io::{Read, Write};
        let address = format!("127.0.0.1:{}", self.config.host_port);
        let mut stream = std::net::TcpStream::connect(&address)
            .map_err(|e| format!("the collector's forward at {address}: {e}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        stream
            .write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .map_err(|e| format!("the collector's forward: {e}"))?;
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        if !reply.starts_with("HTTP/1.1 200") {
            return Err(format!(
                "GET /v1/health through the forward at {address} answered {:?}",
                reply.lines().next().unwrap_or("nothing")
            ));
        }
        self.pass(&format!(
            "the collector answers this machine through {address} only"
        ));
        Ok(())
    }

    // ---- Visits ---------------------------------------------------------------------------

    fn new_receipt(&mut self) -> String {
        self.next_txn += 1;
        common::receipt_url(&format!("VM{:04}{:05}", self.seed % 10_000, self.next_txn))
    }

    /// The keyed transaction the kiosk stores for a receipt.
    fn keyed(&self, code: &str) -> String {
        let today = receipt::day_of(std::time::SystemTime::now());
        match receipt::judge(code, &receipt::example_patterns(), today, 30) {
            receipt::ScanVerdict::Receipt(r) => format!(
                "hmac-sha256:{}",
                receipt::keyed_transaction(self.secret.as_deref().unwrap_or_default(), &r)
            ),
            other => panic!("the test's receipt {code} is not one: {other:?}"),
        }
    }

    /// Waits until the guest's screen changed from `before` and then holds still.
    fn settle(&mut self, vm: &mut Vm, before: &Picture, what: &str) -> Result<Picture, String> {
        let deadline = Instant::now() + self.config.within(Duration::from_secs(5));
        let mut last = vm.screendump()?;
        while last == *before || last.is_blank() {
            if !vm.alive() {
                return Err(format!("QEMU ended after {what}\n{}", vm.console_tail(20)));
            }
            if Instant::now() > deadline {
                let path = self.save(&last, "unchanged");
                return Err(format!(
                    "the guest's screen did not change after {what} (see {}); the twin shows {:?}",
                    path.display(),
                    self.twin.screen()
                ));
            }
            std::thread::sleep(Duration::from_millis(15));
            last = vm.screendump()?;
        }
        let still = Instant::now() + self.config.within(Duration::from_millis(1500));
        while Instant::now() < still {
            std::thread::sleep(Duration::from_millis(50));
            let now = vm.screendump()?;
            if now == last {
                break;
            }
            last = now;
        }
        Ok(last)
    }

    /// One tap on the guest where the twin has `label`, the same tap on the twin; waits for
    /// the guest's screen to change unless the twin went to saving or thanks (the caller
    /// watches for those).
    fn tap(&mut self, vm: &mut Vm, label: &str) -> Result<bool, String> {
        let (x, y) = self.twin.centre(label)?;
        let before = vm.screendump()?;
        self.twin.tap(label)?;
        vm.tap(x, y)?;
        let done = matches!(self.twin.screen(), Screen::Saving | Screen::Thanks { .. });
        if !done {
            self.settle(vm, &before, &format!("a tap on {label:?} at ({x}, {y})"))?;
        }
        Ok(done)
    }

    fn type_text(&mut self, vm: &mut Vm, text: &str) -> Result<(), String> {
        for c in text.chars() {
            let key = if c == ' ' {
                "Space".to_string()
            } else {
                c.to_string()
            };
            if !self.twin.has(&key) && c.is_uppercase() {
                self.tap(vm, "Shift")?;
            }
            self.tap(vm, &key)?;
        }
        Ok(())
    }

    /// A whole visit through the touchscreen (and the scanner), the twin in step. With
    /// `cut_after`, the power is cut that long after the last tap, watching the screen
    /// meanwhile; without, the visit ends at its thanks screen and "Done".
    fn visit(&mut self, vm: &mut Vm, plan: &Visit) -> Result<Visited, String> {
        let name = plan
            .receipt
            .as_deref()
            .map_or("a visit by taps", |_| "a visit after a scanned receipt");
        match &plan.receipt {
            Some(code) => {
                let before = vm.screendump()?;
                self.twin.scan(code);
                vm.scan(code)?;
                if !matches!(self.twin.screen(), Screen::Step(_)) {
                    return Err(format!(
                        "the twin did not start a visit on the scan: {:?}",
                        self.twin.screen()
                    ));
                }
                self.settle(
                    vm,
                    &before,
                    "a receipt written to the scanner's serial port",
                )?;
            }
            None => {
                self.tap(vm, "Start")?;
            }
        }
        let mut taps = 0;
        let finished = loop {
            taps += 1;
            if taps > 40 {
                return Err(format!("{name} did not end after 40 taps"));
            }
            let step = match self.twin.screen() {
                Screen::Step(i) => i,
                other => {
                    return Err(format!(
                        "{name}: the twin shows {other:?}, a step was expected"
                    ))
                }
            };
            let kind = self.twin.survey.steps[step].kind.clone();
            let id = self.twin.survey.steps[step].id.clone();
            let done = match kind {
                StepKind::Service { .. } | StepKind::Choice { .. } => {
                    let label = self.twin.option_labels(&id)[plan.option].clone();
                    self.tap(vm, &label)?
                }
                StepKind::Rating { .. } => self.tap(vm, plan.rating.0)?,
                StepKind::Reasons { .. } => {
                    let reasons = self.twin.reason_labels(&id, plan.rating.1);
                    if let Some(first) = reasons.first() {
                        self.tap(vm, first)?;
                    }
                    self.tap(vm, "Next")?
                }
                StepKind::Text { .. } => match plan.comment {
                    Some(text) => {
                        self.type_text(vm, text)?;
                        self.tap(vm, "Next")?
                    }
                    None => self.tap(vm, "Skip")?,
                },
                StepKind::Contact { .. } => self.tap(vm, "No thanks")?,
                StepKind::Receipt { .. } => self.tap(vm, "Skip")?,
                other => return Err(format!("{name}: no plan for a step like {other:?}")),
            };
            if done {
                break Instant::now();
            }
        };
        self.twin.wait_for("the thanks screen", |t| {
            matches!(t.screen(), Screen::Thanks { stored: true, .. })
        })?;
        let thanks = self.twin.picture();
        let transaction = plan.receipt.as_deref().map(|c| self.keyed(c));
        if let Some(t) = &transaction {
            self.tapped.insert(t.clone());
        }
        if let Some(cut) = plan.cut {
            // Watch the screen until the plug is pulled: only what a screen dump finished
            // before then showed counts as shown.
            let give_up = self.config.within(Duration::from_secs(20));
            let mut seen: Option<Instant> = None;
            loop {
                let due = match (cut, seen) {
                    (Cut::AfterTap(d), _) => finished.elapsed() >= d,
                    (Cut::AfterThanks(d), Some(at)) => at.elapsed() >= d,
                    (Cut::AfterThanks(_), None) => finished.elapsed() >= give_up,
                };
                if due {
                    break;
                }
                let now = vm.screendump()?;
                if seen.is_none() && now.likeness(&thanks, THANKS_REGION) >= SAME_THANKS {
                    seen = Some(Instant::now());
                }
            }
            let seen = seen.is_some();
            if seen {
                if let Some(t) = &transaction {
                    self.thanked.insert(t.clone());
                }
            }
            return Ok(Visited {
                id: String::new(),
                thanked: seen,
            });
        }
        let (got, likeness) = self.wait_for_screen(
            vm,
            &thanks,
            Some(THANKS_REGION),
            SAME_THANKS,
            "thanks screen",
        )?;
        self.thanks_after = self.thanks_after.min(finished.elapsed());
        self.save(&got, &format!("thanks-{}", self.next_txn));
        if let Some(t) = &transaction {
            self.thanked.insert(t.clone());
        }
        let expected = self
            .twin
            .records()
            .pop()
            .ok_or("the twin stored no response")?;
        let stored = self.kiosk_records(vm)?;
        let record = stored
            .last()
            .cloned()
            .ok_or("the kiosk in the guest stored no response")?;
        let answers = |r: &Value| -> Vec<(String, Value)> {
            r["answers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    (
                        a["step_id"].as_str().unwrap_or("").to_string(),
                        a["value"].clone(),
                    )
                })
                .collect()
        };
        let expected = serde_json::to_value(&expected).expect("records serialise");
        // The receipt answer is keyed with each kiosk's own secret; compared apart.
        let strip = |v: Vec<(String, Value)>| -> Vec<(String, Value)> {
            v.into_iter()
                .filter(|(_, a)| a["type"] != "receipt")
                .collect()
        };
        if strip(answers(&record)) != strip(answers(&expected)) || record["outcome"] != "completed"
        {
            return Err(format!(
                "{name}: the guest's kiosk stored {} with answers {:?}; the same taps on the twin stored {:?}",
                record["outcome"],
                answers(&record),
                answers(&expected)
            ));
        }
        self.pass(&format!(
            "{name} through the touchscreen ({taps} steps) was stored and thanked ({:.1} % like the twin's thanks screen)",
            likeness * 100.0
        ));
        // Back to the start, as a visitor who taps "Done".
        self.tap(vm, "Done")?;
        self.shows_attract(vm, "attract screen after a visit")?;
        Ok(Visited {
            id: record["id"].as_str().unwrap_or_default().to_string(),
            thanked: true,
        })
    }

    /// The kiosk's own response queue in the guest, read as the kiosk's user (so that
    /// SQLite's side files stay the kiosk's).
    fn kiosk_records(&mut self, vm: &mut Vm) -> Result<Vec<Value>, String> {
        let out = vm.sh(
            "runuser -u earshot -- earshot queue export --state all --format jsonl --out /tmp/vm-queue.jsonl >/dev/null \
             && cat /tmp/vm-queue.jsonl && rm -f /tmp/vm-queue.jsonl",
        )?;
        jsonl_records(&out)
    }

    fn collector_records(&mut self, vm: &mut Vm) -> Result<Vec<Value>, String> {
        Ok(self
            .collector_lines(vm)?
            .into_iter()
            .map(|mut line| line["record"].take())
            .collect())
    }

    /// The collector's export: each line the record with where the collector placed it
    /// (`started_at`, `finished_at`, `time_basis`).
    fn collector_lines(&mut self, vm: &mut Vm) -> Result<Vec<Value>, String> {
        let out = vm.sh(
            "runuser -u earshot-collector -- earshot-collector --db /var/lib/earshot-collector/collector.db \
             export --format jsonl --out /tmp/vm-collector.jsonl >/dev/null \
             && cat /tmp/vm-collector.jsonl && rm -f /tmp/vm-collector.jsonl",
        )?;
        jsonl_lines(&out)
    }

    fn receipt_attached(
        &mut self,
        vm: &mut Vm,
        first: &Visited,
        second: &Visited,
    ) -> Result<(), String> {
        let records = self.kiosk_records(vm)?;
        let by_id = |id: &str| records.iter().find(|r| r["id"] == id).cloned();
        let (Some(a), Some(b)) = (by_id(&first.id), by_id(&second.id)) else {
            return Err("the kiosk's queue lacks one of the two visits".into());
        };
        if receipt_of(&a).is_some() {
            return Err(format!(
                "the visit before the scan has a receipt: {:?}",
                receipt_of(&a)
            ));
        }
        let want = self.keyed(&common::receipt_url(&format!(
            "VM{:04}{:05}",
            self.seed % 10_000,
            1
        )));
        match receipt_of(&b) {
            Some(got) if got == want => {}
            other => {
                return Err(format!(
                    "the visit after the scan has receipt {other:?}; {want} was expected (the scanned code keyed with the deployment's secret)"
                ))
            }
        }
        self.pass("the receipt written into the scanner's serial pty is attached to the next visit (keyed)");
        Ok(())
    }

    fn reach_collector(&mut self, vm: &mut Vm, ids: &[&str]) -> Result<(), String> {
        let deadline = Instant::now() + self.config.within(Duration::from_secs(60));
        loop {
            let have: BTreeSet<String> = self
                .collector_records(vm)?
                .iter()
                .filter_map(|r| r["id"].as_str().map(str::to_string))
                .collect();
            let missing: Vec<&&str> = ids.iter().filter(|id| !have.contains(**id)).collect();
            if missing.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                let stats = vm
                    .sh_status("runuser -u earshot -- earshot queue stats; journalctl -b -u earshot --no-pager -n 30 -o cat")
                    .map(|(_, o)| o)
                    .unwrap_or_default();
                return Err(format!(
                    "responses {missing:?} did not reach the collector within a minute:\n{stats}"
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        self.pass(&format!(
            "the visits' responses reached the collector's database ({} of {})",
            ids.len(),
            ids.len()
        ));
        Ok(())
    }

    /// A hung kiosk (SIGSTOP: nothing drawn, nothing sent, no crash) is killed by systemd's
    /// watchdog and started again.
    fn watchdog(&mut self, vm: &mut Vm) -> Result<(), String> {
        let before = properties(&vm.sh("systemctl show -p MainPID,NRestarts earshot.service")?);
        let pid = before.get("MainPID").cloned().unwrap_or_default();
        let restarts: u32 = before
            .get("NRestarts")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        vm.arm_frame_watch()?;
        let stopped = Instant::now();
        vm.sh(&format!("kill -STOP {pid}"))?;
        // WatchdogSec=30s, then SIGABRT (held back from a stopped process), SIGKILL after
        // TimeoutAbortSec (= TimeoutStopSec, 15 s), RestartSec=5s.
        let deadline = Instant::now() + self.config.within(Duration::from_secs(120));
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let now = properties(
                &vm.sh("systemctl show -p MainPID,NRestarts,ActiveState earshot.service")?,
            );
            let n: u32 = now
                .get("NRestarts")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if n > restarts
                && now.get("ActiveState").map(String::as_str) == Some("active")
                && now.get("MainPID") != Some(&pid)
            {
                break;
            }
            if Instant::now() > deadline {
                let log = vm
                    .sh_status("journalctl -b -u earshot --no-pager -n 30")
                    .map(|(_, o)| o)
                    .unwrap_or_default();
                return Err(format!(
                    "the stopped kiosk (pid {pid}) was not restarted within {:?}: {now:?}\n{log}",
                    deadline - stopped
                ));
            }
        }
        let took = stopped.elapsed();
        let log = vm.sh("journalctl -b -u earshot.service --no-pager -o cat")?;
        if !log.to_lowercase().contains("watchdog timeout") {
            return Err(format!(
                "the kiosk was restarted, but the journal names no watchdog timeout:\n{log}"
            ));
        }
        self.pass(&format!(
            "a SIGSTOPped kiosk was restarted by the watchdog ({:.0} s after it stopped)",
            took.as_secs_f64()
        ));
        self.figure(
            "SIGSTOP to the kiosk running again (watchdog)",
            format!("{:.0} s", took.as_secs_f64()),
        );
        self.kiosk_ready(vm, "after the watchdog's restart")?;
        self.first_frame(vm, "after the watchdog's restart")?;
        self.shows_attract(vm, "attract screen after the watchdog's restart")?;
        Ok(())
    }

    // ---- The clock across a reboot -------------------------------------------------------

    /// A response recorded before the clock was set, with the collector out of reach; the
    /// clock set later in the same boot; then the power cut. Returns the guest to cut.
    ///
    /// The kiosk counts its clock as set while `CLOCK_MARKER` exists (the drop-in below
    /// names it in place of systemd-timesyncd's marker, which never appears here: the guest
    /// has no time server).
    fn clock_set_late(&mut self, mut vm: Vm) -> Result<Vm, String> {
        vm.sh(&format!(
            "set -e; systemctl stop earshot-collector.service; rm -f {CLOCK_MARKER}; \
             mkdir -p /etc/systemd/system/earshot.service.d; \
             printf '[Service]\\nEnvironment={}={CLOCK_MARKER}\\n' > /etc/systemd/system/earshot.service.d/vm-clock.conf; \
             systemctl daemon-reload; systemctl restart earshot.service",
            earshot::system::clock::TIME_SYNC_MARKER_ENV
        ))?;
        self.kiosk_ready(&mut vm, "with its clock not set")?;
        self.shows_attract(&mut vm, "attract screen with the clock not set")?;
        let boot = vm
            .sh("cat /proc/sys/kernel/random/boot_id")?
            .trim()
            .to_string();
        let tapped_at = std::time::SystemTime::now();
        let visited = self.visit(&mut vm, &Visit::unsynchronised())?;
        let records = self.kiosk_records(&mut vm)?;
        let Some(record) = records.iter().find(|r| r["id"] == visited.id.as_str()) else {
            return Err(format!("the kiosk's queue lacks the visit {}", visited.id));
        };
        let clock = &record["clock"];
        if clock["synchronized"] != false || clock["boot_id"] != boot.as_str() {
            return Err(format!(
                "the visit before the clock was set has clock {clock}; unsynchronised, of boot {boot}, was expected"
            ));
        }
        // Set: the kiosk keeps the boot's first synchronised reading at its next upload
        // attempt (failing: the collector is stopped), a second or two away.
        vm.sh(&format!("touch {CLOCK_MARKER}"))?;
        let deadline = Instant::now() + self.config.within(Duration::from_secs(90));
        let kept = "this boot's clock reading is kept";
        while !vm
            .sh("journalctl -b -u earshot.service --no-pager -o cat")?
            .contains(kept)
        {
            if Instant::now() > deadline {
                let log = vm
                    .sh_status("journalctl -b -u earshot.service --no-pager -o cat -n 30")
                    .map(|(_, o)| o)
                    .unwrap_or_default();
                return Err(format!(
                    "the kiosk did not keep its clock reading once the clock was set (no \"{kept}\" in its journal):\n{log}"
                ));
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        self.pass("a visit recorded before the clock was set is marked unsynchronised, and the boot's reading is kept once it is set");
        self.clock_visit = Some((visited.id, tapped_at));
        Ok(vm)
    }

    /// After the power cut, the next boot uploads the response with the earlier boot's
    /// reading, and the collector places it on true time.
    fn clock_placed_after_reboot(&mut self, vm: Vm) -> Result<(), String> {
        let (id, tapped_at) = self
            .clock_visit
            .clone()
            .ok_or("no visit before the clock was set")?;
        vm.power_cut();
        let mut vm = self.boot()?;
        self.kiosk_ready(&mut vm, "after the power cut with the clock set")?;
        self.reach_collector(&mut vm, &[&id])?;
        let lines = self.collector_lines(&mut vm)?;
        let stored = lines
            .iter()
            .find(|r| r["id"] == id.as_str())
            .ok_or_else(|| format!("the collector's export lacks {id}"))?;
        if stored["time_basis"] != "corrected" {
            return Err(format!(
                "the response from before the reboot is stored with time basis {} (\"corrected\" was expected: its boot's clock reading came with it): {stored}",
                stored["time_basis"]
            ));
        }
        // Placed from the boot's reading, the times must be the guest's own wall-clock times
        // at the visit: its clock was right all along (QEMU's RTC gives it this machine's
        // time at boot, and nothing set it since); only the kiosk did not count it as set.
        let time = |v: &Value, what: &str| {
            v.as_str()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .ok_or_else(|| format!("the collector's {what} is not a time: {stored}"))
        };
        let placed = time(&stored["finished_at"], "finished_at")?;
        let own = time(&stored["record"]["finished_at"], "record's finished_at")?;
        let off_ms = placed.duration_since(own).as_millis();
        if off_ms.abs() > 50 {
            return Err(format!(
                "the collector placed the response {off_ms} ms from the time the guest's own clock gave it (within 50 ms was expected): {stored}"
            ));
        }
        // And true time is this machine's time around the visit, give or take the second
        // the guest's clock was read from the RTC in.
        let tapped = jiff::Timestamp::try_from(tapped_at).map_err(|e| e.to_string())?;
        let after = placed.duration_since(tapped).as_secs_f64();
        if !(-2.0..=120.0).contains(&after) {
            return Err(format!(
                "the collector placed the response {after:.1} s after the visit's first tap by this machine's clock: {stored}"
            ));
        }
        self.pass(&format!(
            "after a power cut and a reboot, the collector placed the response recorded before the clock was set on true time (time basis corrected; {off_ms} ms from the guest's own clock, finished {after:.1} s after the first tap by this machine's clock)"
        ));
        vm.stop();
        Ok(())
    }

    // ---- Power cuts -----------------------------------------------------------------------

    fn power_cuts(&mut self, cuts: u32) -> Result<(), String> {
        let started = Instant::now();
        let mut boot_times = Vec::new();
        let mut thanked_before_cut = 0;
        let mut unthanked_before_cut = 0;
        for n in 1..=cuts {
            let booted = Instant::now();
            let mut vm = self.boot()?;
            self.kiosk_ready_quietly(&mut vm, n)?;
            boot_times.push(booted.elapsed().as_secs_f64());
            self.count(&mut vm, &format!("after power cut {}", n - 1), false)?;
            // The twin starts afresh with the guest's kiosk.
            self.twin = Twin::new(common::demo_survey("shop"), WIDTH, HEIGHT);
            self.wait_for_screen(
                &mut vm,
                &self.attract.clone(),
                None,
                SAME_SCREEN,
                "attract screen after a power cut",
            )?;
            let whole = self.rng.u32(0..=1);
            for _ in 0..whole {
                let plan = Visit::quick(self.new_receipt(), None);
                self.quiet_visit(&mut vm, &plan)?;
            }
            // The last visit's power cut: anywhere from the instant of the last tap (the
            // response not yet stored) to while its thanks shows (stored, perhaps being
            // uploaded: the upload waits a second after each response).
            let storing = self.thanks_after.min(Duration::from_secs(5));
            let cut = match self.rng.u32(0..10) {
                0..=4 => Cut::AfterTap(storing.mul_f64(self.rng.f64())),
                5..=6 => Cut::AfterThanks(Duration::from_millis(self.rng.u64(0..=100))),
                _ => Cut::AfterThanks(Duration::from_millis(self.rng.u64(100..=3000))),
            };
            let plan = Visit::quick(self.new_receipt(), Some(cut));
            let visited = self.visit(&mut vm, &plan)?;
            if visited.thanked {
                thanked_before_cut += 1;
            } else {
                unthanked_before_cut += 1;
            }
            vm.power_cut();
            println!(
                "   power cut {n}: {whole} visits thanked, then one cut short ({}): {}",
                match plan.cut {
                    Some(Cut::AfterTap(d)) => format!("{} ms after its last tap", d.as_millis()),
                    Some(Cut::AfterThanks(d)) =>
                        format!("{} ms after its thanks screen", d.as_millis()),
                    None => String::new(),
                },
                if visited.thanked {
                    "its thanks had shown"
                } else {
                    "before its thanks showed"
                }
            );
        }
        // The last boot: nothing lost, nothing doubled, on the kiosk and at the collector once
        // the kiosk has sent everything.
        let mut vm = self.boot()?;
        self.kiosk_ready_quietly(&mut vm, cuts + 1)?;
        let stored = self.count(&mut vm, &format!("after power cut {cuts}"), true)?;
        vm.stop();
        let mean = boot_times.iter().sum::<f64>() / boot_times.len().max(1) as f64;
        self.pass(&format!(
            "{cuts} power cuts while storing visits: none of the {} thanked responses lost, none doubled, on the kiosk or at the collector ({thanked_before_cut} cuts came after the thanks screen, {unthanked_before_cut} before it, of which {} had been stored already)",
            self.thanked.len(),
            stored.saturating_sub(self.thanked.len()),
        ));
        self.figure(
            "boot after a power cut to the kiosk ready (mean)",
            format!("{mean:.1} s"),
        );
        self.figure(
            &format!("{cuts} power cuts"),
            format!("{:.0} s", started.elapsed().as_secs_f64()),
        );
        Ok(())
    }

    fn kiosk_ready_quietly(&mut self, vm: &mut Vm, boot: u32) -> Result<(), String> {
        let passed = self.passed.len();
        self.kiosk_ready(vm, &format!("at boot {boot}"))?;
        self.passed.truncate(passed);
        let quarantine = vm.sh_status("ls /var/lib/earshot/quarantine 2>/dev/null")?;
        if quarantine.0 == 0 && !quarantine.1.trim().is_empty() {
            return Err(format!(
                "at boot {boot} the kiosk found its database damaged and set it aside: {}",
                quarantine.1.trim()
            ));
        }
        Ok(())
    }

    fn quiet_visit(&mut self, vm: &mut Vm, plan: &Visit) -> Result<(), String> {
        let passed = self.passed.len();
        self.visit(vm, plan)?;
        self.passed.truncate(passed);
        Ok(())
    }

    /// Counts the receipts' responses on the kiosk (and, at the end, at the collector once
    /// the kiosk's queue is empty): every one whose thanks screen was seen is there, none is
    /// there twice, and none is there that was never tapped to its end.
    /// How many receipts' responses are there (at the collector when asked, else on the kiosk).
    fn count(&mut self, vm: &mut Vm, when: &str, at_collector: bool) -> Result<usize, String> {
        let check = |what: &str, records: &[Value], run: &Run| -> Result<usize, String> {
            let mut counts = BTreeMap::<String, u32>::new();
            for r in records {
                if let Some(t) = receipt_of(r) {
                    *counts.entry(t).or_default() += 1;
                }
            }
            let ids: BTreeSet<&str> = records.iter().filter_map(|r| r["id"].as_str()).collect();
            if ids.len() != records.len() {
                return Err(format!("{when}: {what} holds a response id twice"));
            }
            let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
            if !doubled.is_empty() {
                return Err(format!("{when}: {what} holds responses twice: {doubled:?}"));
            }
            let lost: Vec<_> = run
                .thanked
                .iter()
                .filter(|t| !counts.contains_key(*t))
                .collect();
            if !lost.is_empty() {
                return Err(format!(
                    "{when}: {what} lacks {} responses whose thanks screen was shown: {lost:?}",
                    lost.len()
                ));
            }
            let unknown: Vec<_> = counts.keys().filter(|t| !run.tapped.contains(*t)).collect();
            if !unknown.is_empty() {
                return Err(format!(
                    "{when}: {what} holds responses never given: {unknown:?}"
                ));
            }
            Ok(counts.len())
        };
        let local = self.kiosk_records(vm)?;
        let on_kiosk = check("the kiosk's queue", &local, self)?;
        if !at_collector {
            return Ok(on_kiosk);
        }
        let deadline = Instant::now() + self.config.within(Duration::from_secs(90));
        loop {
            let stats = vm.sh("runuser -u earshot -- earshot queue stats --json")?;
            let stats: Value = serde_json::from_str(&stats).unwrap_or(Value::Null);
            if stats["pending"] == 0 {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{when}: the kiosk did not send its queue to the collector: {stats}"
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let remote = self.collector_records(vm)?;
        let at = check("the collector", &remote, self)?;
        println!(
            "   {when}: {on_kiosk} receipts' responses on the kiosk, {at} at the collector; {} tapped to the end, {} thanked",
            self.tapped.len(),
            self.thanked.len()
        );
        Ok(at)
    }
}

/// What a visit does.
struct Visit {
    receipt: Option<String>,
    /// Which option of a service or choice step.
    option: usize,
    /// The rating's label and value.
    rating: (&'static str, i32),
    comment: Option<&'static str>,
    cut: Option<Cut>,
}

/// When the plug is pulled in a visit's last moments.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// This long after the last tap, whatever the screen shows by then.
    AfterTap(Duration),
    /// This long after the thanks screen was first seen.
    AfterThanks(Duration),
}

impl Visit {
    /// The visit `tests/kiosk/real_window.rs` makes: every kind of step, a comment typed on the
    /// on-screen keyboard.
    fn by_taps() -> Visit {
        Visit {
            receipt: None,
            option: 2,
            rating: ("Very unhappy", 1),
            comment: Some("Slow"),
            cut: None,
        }
    }

    fn with_receipt(code: String) -> Visit {
        Visit {
            receipt: Some(code),
            option: 0,
            rating: ("Very happy", 5),
            comment: None,
            cut: None,
        }
    }

    /// A visit without a receipt (the power cuts' count is of receipts): a touchpoint, a
    /// middle rating, nothing typed.
    fn unsynchronised() -> Visit {
        Visit {
            receipt: None,
            option: 1,
            rating: ("Neutral", 3),
            comment: None,
            cut: None,
        }
    }

    /// The shortest visit: a scan, a touchpoint, a middle rating (no reasons asked), no
    /// comment, no contact.
    fn quick(code: String, cut: Option<Cut>) -> Visit {
        Visit {
            receipt: Some(code),
            option: 1,
            rating: ("Neutral", 3),
            comment: None,
            cut,
        }
    }
}

struct Visited {
    id: String,
    thanked: bool,
}

/// Whether KVM can run the guest: /dev/kvm opens, and it is the hardware-assisted KVM. A
/// machine that is itself a VM may offer KVM through PVM (kvm_pvm: shadow page tables, no
/// VT-x or AMD-V), which runs only kernels built as PVM guests; Debian's kernel stops there
/// with "KVM internal error ... emulation failure", so such a machine emulates instead.
fn kvm_works() -> bool {
    let opens = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    opens && !std::path::Path::new("/sys/module/kvm_pvm").exists()
}

fn properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The records of an export, one JSON line each.
fn jsonl_records(text: &str) -> Result<Vec<Value>, String> {
    Ok(jsonl_lines(text)?
        .into_iter()
        .map(|mut line| line["record"].take())
        .collect())
}

/// An export's lines whole: the record, and what the exporting side says of it.
fn jsonl_lines(text: &str) -> Result<Vec<Value>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| format!("an exported line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// The keyed transaction of a record's receipt answer, if it has one.
fn receipt_of(record: &Value) -> Option<String> {
    record["answers"]
        .as_array()?
        .iter()
        .find(|a| a["value"]["type"] == "receipt")
        .and_then(|a| a["value"]["transaction"].as_str())
        .map(str::to_string)
}
