//! What makes the kiosk an appliance, outside the program: the systemd unit, the user it runs
//! as and the udev rules. Each is checked with systemd's own tools (a unit that systemd only
//! warns about still "loads", with the setting silently ignored) and for the properties the
//! kiosk depends on: started again whatever happens, never waiting for a network or a clock,
//! and sandboxed without losing the screen, the touchscreen, the scanner or GPIO.
//!
//! The collector's unit, user and state directory are checked the same way, for what a
//! network service holding visitors' personal data needs: restarted whatever happens, private
//! files, enough file descriptors for a fleet's connections, and a sandbox that systemd itself
//! rates well.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNIT: &str = "systemd/earshot.service";
const SYSUSERS: &str = "systemd/earshot.sysusers";
const RULES: &str = "systemd/99-earshot.rules";

const COLLECTOR_UNIT: &str = "collector/systemd/earshot-collector.service";
const COLLECTOR_SYSUSERS: &str = "collector/systemd/earshot-collector.sysusers";
const COLLECTOR_TMPFILE: &str = "collector/systemd/earshot-collector.tmpfile";

/// The device groups the kiosk needs: screen, GPU, touch, serial scanner, GPIO.
const DEVICE_GROUPS: [&str; 5] = ["video", "render", "input", "dialout", "gpio"];
/// USB vendor ids of the scanner makes the udev rules know: Honeywell, Zebra (Symbol),
/// Datalogic, Newland.
const SCANNER_VENDORS: [&str; 4] = ["0c2e", "05e0", "05f9", "1eab"];

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> String {
    let path = repo_file(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs one of systemd's tools. A missing tool fails the test, saying how to get it: a check
/// that passes because it could not run would let a broken unit through.
fn run_tool(program: &str, args: &[&OsStr]) -> Output {
    match Command::new(program).args(args).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{program}` is not installed. Install the Debian package `systemd` \
             (`apt-get install systemd`; scripts/test does this) and run the test again."
        ),
        Err(e) => panic!("cannot run `{program}`: {e}"),
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---- The unit file ------------------------------------------------------------------------

/// A unit file as systemd reads it: sections of `Key=value` assignments in order, comments
/// (`#`, `;`) dropped, lines ending in a backslash joined to the next.
struct Unit {
    assignments: Vec<(String, String, String)>,
}

impl Unit {
    /// `name` is the file the text came from, for the messages.
    fn parse(name: &str, text: &str) -> Unit {
        let mut assignments = Vec::new();
        let mut section = String::new();
        let mut pending = String::new();
        for (number, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if pending.is_empty()
                && (line.is_empty() || line.starts_with('#') || line.starts_with(';'))
            {
                continue;
            }
            if let Some(continued) = line.strip_suffix('\\') {
                pending.push_str(continued);
                pending.push(' ');
                continue;
            }
            let line = std::mem::take(&mut pending) + line;
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_string();
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{name}:{}: not a Key=value line: {raw:?}", number + 1));
            assert!(
                !section.is_empty(),
                "{name}:{}: assignment before any section",
                number + 1
            );
            assignments.push((
                section.clone(),
                key.trim().to_string(),
                value.trim().to_string(),
            ));
        }
        Unit { assignments }
    }

    /// Every value assigned to `key` in `section`, in order.
    fn values(&self, section: &str, key: &str) -> Vec<&str> {
        self.assignments
            .iter()
            .filter(|(s, k, _)| s == section && k == key)
            .map(|(_, _, v)| v.as_str())
            .collect()
    }

    /// The value in force for a single-valued setting: the last one assigned.
    fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.values(section, key).last().copied()
    }

    /// The items of a list setting (After=, SupplementaryGroups=, ...): every assignment adds
    /// its space-separated items, and an empty assignment clears the list, as in systemd.
    fn list(&self, section: &str, key: &str) -> Vec<String> {
        let mut items = Vec::new();
        for value in self.values(section, key) {
            if value.is_empty() {
                items.clear();
            }
            items.extend(value.split_whitespace().map(str::to_string));
        }
        items
    }

    fn is_true(&self, section: &str, key: &str) -> bool {
        self.get(section, key)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "yes" | "true" | "on"))
    }
}

fn unit() -> Unit {
    Unit::parse(UNIT, &read(UNIT))
}

fn collector_unit() -> Unit {
    Unit::parse(COLLECTOR_UNIT, &read(COLLECTOR_UNIT))
}

/// A systemd time span ("30s", "3min", "1min 30s", "500ms", plain seconds) in milliseconds.
fn time_span_ms(value: &str) -> u64 {
    let mut total = 0;
    let mut rest = value.trim();
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u64 = rest[..digits]
            .parse()
            .unwrap_or_else(|_| panic!("{value:?} is not a time span"));
        rest = rest[digits..].trim_start();
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == ' ')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ms" | "msec" => 1,
            "" | "s" | "sec" | "second" | "seconds" => 1_000,
            "m" | "min" | "minute" | "minutes" => 60_000,
            "h" | "hr" | "hour" | "hours" => 3_600_000,
            other => panic!("unknown time unit {other:?} in {value:?}"),
        };
        total += number * factor;
        rest = rest[unit_end..].trim_start();
    }
    total
}

/// The unit's text with its one ExecStart= program replaced by `binary`, arguments kept:
/// systemd-analyze insists that the executable exists.
fn with_binary(name: &str, text: &str, binary: &Path) -> String {
    let binary = binary.to_str().expect("binary path is not UTF-8");
    assert!(
        !binary.contains(char::is_whitespace),
        "binary path with spaces: {binary}"
    );
    let mut replaced = 0;
    let installed: String = text
        .lines()
        .map(|line| match line.strip_prefix("ExecStart=") {
            Some(command) => {
                replaced += 1;
                let arguments = command.split_once(' ').map_or("", |(_, rest)| rest);
                format!("ExecStart={binary} {arguments}\n")
            }
            None => format!("{line}\n"),
        })
        .collect();
    assert_eq!(replaced, 1, "{name} must have exactly one ExecStart= line");
    installed
}

/// `systemd-analyze verify` on `text` written as `dir/file_name`: it must succeed with no
/// message about the unit. Then the same with `broken` (a copy with one invalid setting),
/// which must be reported with `needle`: the check does look at this file.
fn assert_verify_accepts(dir: &Path, file_name: &str, text: &str, broken: &str, needle: &str) {
    let path = dir.join(file_name);
    std::fs::write(&path, text).unwrap();
    let output = run_tool(
        "systemd-analyze",
        &["verify".as_ref(), "--man=no".as_ref(), path.as_os_str()],
    );
    let stderr = lossy(&output.stderr);
    // Messages about other units (the container's own, say) are not ours to fix.
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains(file_name)).collect();
    assert!(
        output.status.success() && ours.is_empty(),
        "systemd-analyze verify {} failed ({}):\n{}{}",
        path.display(),
        output.status,
        lossy(&output.stdout),
        stderr
    );

    assert_ne!(broken, text, "the broken copy must differ from the unit");
    let broken_path = dir.join("broken").join(file_name);
    std::fs::create_dir_all(broken_path.parent().unwrap()).unwrap();
    std::fs::write(&broken_path, broken).unwrap();
    let output = run_tool(
        "systemd-analyze",
        &[
            "verify".as_ref(),
            "--man=no".as_ref(),
            broken_path.as_os_str(),
        ],
    );
    assert!(
        lossy(&output.stderr)
            .lines()
            .any(|l| l.contains(file_name) && l.contains(needle)),
        "systemd-analyze verify did not report {needle:?} in the broken copy; it is not \
         checking the unit:\n{}",
        lossy(&output.stderr)
    );
}

/// systemd's own check of the unit as it will be installed, with ExecStart= pointing at the
/// binary just built (verify insists that the executable exists).
#[test]
fn systemd_analyze_verify_accepts_the_unit_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let installed = with_binary(UNIT, &read(UNIT), Path::new(env!("CARGO_BIN_EXE_earshot")));
    let broken = installed.replace("Type=notify", "Type=notify-please");
    assert_verify_accepts(
        dir.path(),
        "earshot.service",
        &installed,
        &broken,
        "notify-please",
    );
}

#[test]
fn the_kiosk_tells_systemd_when_it_is_ready_and_alive() {
    let unit = unit();
    assert_eq!(
        unit.get("Service", "Type"),
        Some("notify"),
        "READY=1 after the database is open"
    );
    assert_eq!(unit.get("Service", "NotifyAccess"), Some("main"));
    let watchdog = unit
        .get("Service", "WatchdogSec")
        .expect("WatchdogSec= must be set");
    let watchdog_ms = time_span_ms(watchdog);
    assert!(
        (5_000..=120_000).contains(&watchdog_ms),
        "WatchdogSec={watchdog}: a hung kiosk must be restarted within minutes, and the pings \
         (every half period) must not be needed more often than every few seconds"
    );
}

#[test]
fn the_kiosk_is_always_started_again() {
    let unit = unit();
    assert_eq!(unit.get("Service", "Restart"), Some("always"));
    let restart = unit
        .get("Service", "RestartSec")
        .expect("RestartSec= must be set");
    assert!(
        time_span_ms(restart) >= 1_000,
        "RestartSec={restart}: a crash loop must not spin"
    );
    // The start limit lives in [Unit]; in [Service] it is the old name systemd ignores.
    assert_eq!(
        unit.get("Unit", "StartLimitIntervalSec"),
        Some("0"),
        "without StartLimitIntervalSec=0 in [Unit], a crash-looping kiosk is left dead"
    );
    assert!(unit.get("Service", "StartLimitIntervalSec").is_none());
    assert!(unit.get("Service", "StartLimitInterval").is_none());
    assert_eq!(unit.list("Install", "WantedBy"), ["multi-user.target"]);
}

#[test]
fn the_kiosk_starts_without_a_network_or_a_synchronised_clock() {
    let unit = unit();
    for key in [
        "After",
        "Wants",
        "Requires",
        "Requisite",
        "BindsTo",
        "Upholds",
    ] {
        let units = unit.list("Unit", key);
        assert!(
            !units.iter().any(|u| u == "time-sync.target"),
            "{key}=time-sync.target: with no network the clock is never synchronised, and the \
             kiosk would never start"
        );
        assert!(
            !units.iter().any(|u| u == "network-online.target"),
            "{key}=network-online.target: the kiosk works offline and must not wait for a network"
        );
    }
}

#[test]
fn the_kiosk_owns_tty1_instead_of_a_login_prompt() {
    let unit = unit();
    assert!(unit
        .list("Unit", "Conflicts")
        .contains(&"getty@tty1.service".to_string()));
    assert!(
        unit.list("Unit", "After")
            .contains(&"getty@tty1.service".to_string()),
        "the getty must have stopped before the kiosk takes the screen"
    );
    let input = unit.get("Service", "StandardInput").unwrap_or("null");
    assert!(
        !input.starts_with("tty"),
        "StandardInput={input}: Ctrl+C on a keyboard or a keyboard-mode scanner would reach the kiosk"
    );
}

#[test]
fn the_kiosk_runs_as_its_own_user_with_the_device_groups() {
    let unit = unit();
    assert_eq!(unit.get("Service", "User"), Some("earshot"));
    assert_eq!(unit.get("Service", "Group"), Some("earshot"));
    assert!(!unit.is_true("Service", "DynamicUser"));
    let groups = unit.list("Service", "SupplementaryGroups");
    for group in DEVICE_GROUPS {
        assert!(
            groups.iter().any(|g| g == group),
            "SupplementaryGroups= lacks {group}: {groups:?}"
        );
    }
    let exec = unit.get("Service", "ExecStart").expect("ExecStart=");
    let mut words = exec.split_whitespace();
    assert!(
        words
            .next()
            .is_some_and(|program| program.ends_with("/earshot")),
        "{exec}"
    );
    assert_eq!(
        words.collect::<Vec<_>>(),
        ["run"],
        "the kiosk is `earshot run`: {exec}"
    );
}

#[test]
fn the_kiosk_finds_its_configuration_and_keeps_its_data_in_the_state_directory() {
    let unit = unit();
    assert_eq!(unit.get("Service", "StateDirectory"), Some("earshot"));
    assert_eq!(
        unit.get("Service", "ConfigurationDirectory"),
        Some("earshot")
    );
    // The program reads /etc/<dir>/earshot.toml by default; the unit must agree with it.
    assert_eq!(
        Path::new(earshot::files::config::SYSTEM_CONFIG_PATH).parent(),
        Some(Path::new("/etc/earshot")),
        "ConfigurationDirectory=earshot no longer matches the program's default config path"
    );
    // systemd sets $STATE_DIRECTORY from StateDirectory=; a value set by hand would disagree.
    for assignment in unit.list("Service", "Environment") {
        assert!(
            !assignment.starts_with("STATE_DIRECTORY="),
            "Environment={assignment}"
        );
    }
    assert_eq!(
        unit.get("Service", "UMask"),
        Some("0077"),
        "the device token and responses are private"
    );
}

#[test]
fn the_sandbox_keeps_the_screen_touch_scanner_and_gpio() {
    let unit = unit();
    assert_eq!(unit.get("Service", "ProtectSystem"), Some("strict"));
    for key in [
        "ProtectHome",
        "PrivateTmp",
        "NoNewPrivileges",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectControlGroups",
        "RestrictNamespaces",
        "LockPersonality",
        "RestrictRealtime",
        "RestrictSUIDSGID",
    ] {
        assert!(unit.is_true("Service", key), "{key}=yes is missing");
    }
    assert_eq!(
        unit.get("Service", "SystemCallArchitectures"),
        Some("native")
    );
    assert_eq!(
        unit.get("Service", "CapabilityBoundingSet"),
        Some(""),
        "no capabilities at all"
    );
    assert_eq!(unit.get("Service", "AmbientCapabilities"), Some(""));
    assert!(
        unit.get("Service", "MemoryMax").is_some() || unit.get("Service", "MemoryHigh").is_some()
    );

    // /dev must stay as it is: a private /dev or a device allow list hides the DRM card, the
    // input devices, serial ports and GPIO chips (ProtectClock= adds an allow list entry).
    assert!(
        !unit.is_true("Service", "PrivateDevices"),
        "PrivateDevices= hides /dev/dri, /dev/input, /dev/ttyACM*"
    );
    assert!(
        !unit.is_true("Service", "ProtectClock"),
        "ProtectClock= implies DeviceAllow="
    );
    assert!(
        unit.list("Service", "DeviceAllow").is_empty(),
        "DeviceAllow= closes /dev"
    );
    let policy = unit.get("Service", "DevicePolicy").unwrap_or("auto");
    assert_eq!(policy, "auto", "DevicePolicy={policy} closes /dev");
    // rppal reads /proc/cpuinfo and /proc/device-tree to know the board.
    assert_ne!(unit.get("Service", "ProcSubset"), Some("pid"));
    assert!(
        !unit.is_true("Service", "PrivateUsers"),
        "PrivateUsers= drops the device groups"
    );
    assert!(
        !unit.is_true("Service", "PrivateNetwork"),
        "uploads need the network"
    );

    let families = unit.list("Service", "RestrictAddressFamilies");
    for family in ["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"] {
        assert!(
            families.iter().any(|f| f == family),
            "RestrictAddressFamilies= lacks {family} (AF_UNIX: notify socket and journal; \
             AF_INET/6: uploads; AF_NETLINK: udev hotplug): {families:?}"
        );
    }
    assert_eq!(unit.get("Service", "StandardOutput"), Some("journal"));
    assert_eq!(unit.get("Service", "SyslogIdentifier"), Some("earshot"));
}

#[test]
fn time_spans_are_read_as_systemd_reads_them() {
    assert_eq!(time_span_ms("30s"), 30_000);
    assert_eq!(time_span_ms("30"), 30_000);
    assert_eq!(time_span_ms("3min"), 180_000);
    assert_eq!(time_span_ms("1min 30s"), 90_000);
    assert_eq!(time_span_ms("500ms"), 500);
}

// ---- The user -----------------------------------------------------------------------------

/// Runs systemd-sysusers on `file` (a path in the repository) for an empty root, which it
/// fills with etc/passwd and etc/group. It must succeed without a word about the file.
fn sysusers_into(root: &Path, file: &str) {
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let path = repo_file(file);
    let mut root_arg = OsString::from("--root=");
    root_arg.push(root);
    let output = run_tool(
        "systemd-sysusers",
        &[root_arg.as_os_str(), path.as_os_str()],
    );
    let stderr = lossy(&output.stderr);
    assert!(
        output.status.success(),
        "systemd-sysusers {}: {}\n{stderr}",
        path.display(),
        output.status
    );
    let file_name = Path::new(file).file_name().unwrap().to_str().unwrap();
    assert!(
        !stderr.lines().any(|l| l.contains(file_name)),
        "systemd-sysusers complained about {file}:\n{stderr}"
    );
}

/// The fields of `name`'s line in the root's etc/passwd.
fn passwd_entry(root: &Path, name: &str) -> Vec<String> {
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} user created:\n{passwd}"));
    line.split(':').map(str::to_string).collect()
}

/// systemd-sysusers creates the user and every group the unit names, in an empty root.
#[test]
fn sysusers_creates_the_user_and_every_group_the_unit_needs() {
    let root = tempfile::tempdir().unwrap();
    sysusers_into(root.path(), SYSUSERS);
    let fields = passwd_entry(root.path(), "earshot");
    let unit = unit();
    let state = format!(
        "/var/lib/{}",
        unit.get("Service", "StateDirectory").unwrap()
    );
    assert_eq!(
        fields[5], state,
        "the user's home is the state directory: {fields:?}"
    );
    assert!(fields[6].ends_with("nologin"), "no login shell: {fields:?}");

    let group = std::fs::read_to_string(root.path().join("etc/group")).unwrap();
    let mut needed = unit.list("Service", "SupplementaryGroups");
    needed.push(unit.get("Service", "Group").unwrap().to_string());
    for name in needed {
        assert!(
            group.lines().any(|l| l.starts_with(&format!("{name}:"))),
            "group {name} is not created; a missing SupplementaryGroups= group stops the unit \
             from starting:\n{group}"
        );
    }
}

// ---- The collector ------------------------------------------------------------------------

/// The collector's database holds visitors' free text, contact details and the receipt secret.
const COLLECTOR_STATE: &str = "earshot-collector";
/// What systemd's own rating of the sandbox may be at most: "OK" ends at 3.9, and a
/// network service with no hardware can do much better than that.
const MAX_COLLECTOR_EXPOSURE: f64 = 2.5;

/// The collector is another package of the workspace: its binary is not built for this
/// package's tests (`CARGO_BIN_EXE_*` names only this package's). systemd-analyze only needs
/// an executable at ExecStart=, so a stand-in with the installed name takes its place.
fn collector_with_stand_in_binary(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let binary = bin.join("earshot-collector");
    std::fs::write(&binary, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    with_binary(COLLECTOR_UNIT, &read(COLLECTOR_UNIT), &binary)
}

#[test]
fn systemd_analyze_verify_accepts_the_collector_unit_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let installed = collector_with_stand_in_binary(dir.path());
    let broken = installed.replace("Type=exec", "Type=exec-please");
    assert_verify_accepts(
        dir.path(),
        "earshot-collector.service",
        &installed,
        &broken,
        "exec-please",
    );
}

/// ExecStart= is `earshot-collector serve` from /usr/bin, on the loopback only (the reverse
/// proxy in front terminates TLS), with the database in the state directory.
#[test]
fn the_collector_serves_on_the_loopback_with_its_database_in_the_state_directory() {
    let unit = collector_unit();
    let kind = unit.get("Service", "Type").unwrap_or("simple");
    assert!(
        kind == "exec" || kind == "simple",
        "Type={kind}: the collector does not notify systemd or fork"
    );
    let exec = unit.get("Service", "ExecStart").expect("ExecStart=");
    let words: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(
        words.first().copied(),
        Some("/usr/bin/earshot-collector"),
        "{exec}"
    );
    // The one global option, --db, may come before the subcommand.
    let mut rest = words[1..].iter().copied();
    let subcommand = loop {
        match rest.next() {
            Some("--db") => {
                rest.next();
            }
            Some(w) if w.starts_with("--db=") => {}
            other => break other,
        }
    };
    assert_eq!(
        subcommand,
        Some("serve"),
        "the service is `earshot-collector serve`: {exec}"
    );
    let arguments: Vec<&str> = rest.collect();
    let listen = arguments
        .iter()
        .position(|w| *w == "--listen")
        .and_then(|i| arguments.get(i + 1).copied())
        .or_else(|| arguments.iter().find_map(|w| w.strip_prefix("--listen=")))
        .unwrap_or_else(|| panic!("ExecStart= gives no --listen address: {exec}"));
    let address: std::net::SocketAddr = listen
        .parse()
        .unwrap_or_else(|e| panic!("--listen {listen}: {e}"));
    assert_eq!(
        address.ip(),
        std::net::IpAddr::from([127, 0, 0, 1]),
        "plain HTTP belongs on the loopback, behind the TLS proxy: {exec}"
    );
    assert_ne!(
        address.port(),
        0,
        "a fixed port for the proxy to forward to"
    );

    assert_eq!(unit.get("Service", "StateDirectory"), Some(COLLECTOR_STATE));
    let db = unit
        .list("Service", "Environment")
        .into_iter()
        .find_map(|a| a.strip_prefix("EARSHOT_COLLECTOR_DB=").map(str::to_string))
        .expect("Environment=EARSHOT_COLLECTOR_DB= names the database");
    assert_eq!(
        Path::new(&db).parent(),
        Some(Path::new(&format!("/var/lib/{COLLECTOR_STATE}"))),
        "the database must be in the state directory, the one writable place: {db}"
    );
    assert_eq!(unit.get("Service", "StandardOutput"), Some("journal"));
    assert_eq!(unit.get("Service", "StandardError"), Some("journal"));
}

#[test]
fn the_collector_is_always_started_again() {
    let unit = collector_unit();
    assert_eq!(unit.get("Service", "Restart"), Some("always"));
    let restart = unit
        .get("Service", "RestartSec")
        .expect("RestartSec= must be set");
    assert!(
        time_span_ms(restart) >= 1_000,
        "RestartSec={restart}: a crash loop must not spin"
    );
    assert_eq!(
        unit.get("Unit", "StartLimitIntervalSec"),
        Some("0"),
        "without StartLimitIntervalSec=0 in [Unit], a crash-looping collector is left dead"
    );
    assert!(unit.get("Service", "StartLimitIntervalSec").is_none());
    assert!(unit.get("Service", "StartLimitInterval").is_none());
    assert!(unit
        .list("Unit", "After")
        .contains(&"network.target".to_string()));
    assert_eq!(unit.list("Install", "WantedBy"), ["multi-user.target"]);
}

/// systemd-sysusers makes the user the unit runs as, a system user whose home is the state
/// directory and who cannot log in.
#[test]
fn the_collector_user_comes_from_its_sysusers_file() {
    let unit = collector_unit();
    let user = unit.get("Service", "User").expect("User=");
    assert_eq!(user, "earshot-collector");
    assert_eq!(unit.get("Service", "Group"), Some(user));
    assert!(
        !unit.is_true("Service", "DynamicUser"),
        "the administrator runs the other commands as this user on the same database"
    );

    let root = tempfile::tempdir().unwrap();
    sysusers_into(root.path(), COLLECTOR_SYSUSERS);
    let fields = passwd_entry(root.path(), user);
    let uid: u32 = fields[2].parse().unwrap();
    assert!(
        (1..1000).contains(&uid),
        "a system user (uid below 1000): {fields:?}"
    );
    assert_eq!(
        fields[5],
        format!("/var/lib/{COLLECTOR_STATE}"),
        "the user's home is the state directory: {fields:?}"
    );
    assert!(fields[6].ends_with("nologin"), "no login shell: {fields:?}");
    let group = std::fs::read_to_string(root.path().join("etc/group")).unwrap();
    assert!(
        group.lines().any(|l| l.starts_with(&format!("{user}:"))),
        "group {user} is not created:\n{group}"
    );
}

/// The entries of a tmpfiles.d file, each as its fields (type, path, mode, user, group, age).
fn tmpfiles_lines(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// The state directory is the service user's alone, both as systemd makes it at start
/// (StateDirectoryMode=) and as the tmpfiles entry makes it at installation, and every file
/// the service creates is private (UMask=0077): the database holds phone numbers, free text
/// and the receipt secret.
#[test]
fn the_collector_state_directory_is_private_and_matches_the_tmpfiles_entry() {
    let unit = collector_unit();
    let user = unit.get("Service", "User").unwrap();
    let group = unit.get("Service", "Group").unwrap();
    assert_eq!(unit.get("Service", "StateDirectoryMode"), Some("0700"));
    assert_eq!(
        unit.get("Service", "UMask"),
        Some("0077"),
        "the database and its journal files must not be readable by others"
    );

    let lines = tmpfiles_lines(&read(COLLECTOR_TMPFILE));
    let state = format!(
        "/var/lib/{}",
        unit.get("Service", "StateDirectory").unwrap()
    );
    assert_eq!(
        lines,
        [vec!["d", state.as_str(), "0700", user, group, "-"]],
        "{COLLECTOR_TMPFILE} must make exactly the unit's state directory, 0700, owned by the \
         service's user"
    );

    // systemd-tmpfiles itself, into a scratch root that has the user from the sysusers file.
    // Changing the owner to that user needs root; as another user only the entry's text is
    // checked (above).
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| lossy(&o.stdout).trim() == "0");
    if !is_root {
        eprintln!(
            "not root: systemd-tmpfiles cannot give the directory to {user} here; checked the \
             entry in {COLLECTOR_TMPFILE} against the unit only"
        );
        return;
    }
    let root = tempfile::tempdir().unwrap();
    sysusers_into(root.path(), COLLECTOR_SYSUSERS);
    let fields = passwd_entry(root.path(), user);
    let mut root_arg = OsString::from("--root=");
    root_arg.push(root.path());
    let file = repo_file(COLLECTOR_TMPFILE);
    let output = run_tool(
        "systemd-tmpfiles",
        &[root_arg.as_os_str(), "--create".as_ref(), file.as_os_str()],
    );
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "systemd-tmpfiles --create {}: {}\n{}",
        file.display(),
        output.status,
        lossy(&output.stderr)
    );
    let made = root.path().join(state.trim_start_matches('/'));
    let meta = std::fs::metadata(&made)
        .unwrap_or_else(|e| panic!("systemd-tmpfiles did not make {state}: {e}"));
    assert!(meta.is_dir(), "{state} is not a directory");
    assert_eq!(
        meta.permissions().mode() & 0o7777,
        0o700,
        "{state} must be 0700"
    );
    assert_eq!(
        (meta.uid().to_string(), meta.gid().to_string()),
        (fields[2].clone(), fields[3].clone()),
        "{state} must belong to {user}"
    );
}

/// A systemd resource limit value: "N", "SOFT:HARD" or "infinity", as (soft, hard).
fn rlimit(value: &str) -> (u64, u64) {
    let one = |v: &str| match v.trim() {
        "infinity" => u64::MAX,
        n => n
            .parse()
            .unwrap_or_else(|_| panic!("{value:?} is not a resource limit")),
    };
    match value.split_once(':') {
        Some((soft, hard)) => (one(soft), one(hard)),
        None => (one(value), one(value)),
    }
}

/// systemd starts services with a soft limit of 1024 descriptors; about a thousand idle
/// connections would use them up, and then every kiosk gets connection errors.
#[test]
fn the_collector_has_descriptors_for_a_fleet_of_connections() {
    assert_eq!(rlimit("65536"), (65536, 65536));
    assert_eq!(rlimit("1024:524288"), (1024, 524288));
    assert_eq!(rlimit("infinity").1, u64::MAX);

    let unit = collector_unit();
    let value = unit
        .get("Service", "LimitNOFILE")
        .expect("LimitNOFILE= must be set: the default soft limit is 1024");
    let (soft, hard) = rlimit(value);
    assert!(
        soft >= 8192 && hard >= soft,
        "LimitNOFILE={value}: at least 8192 descriptors, so that a fleet's connections fit"
    );
}

/// A network service with no hardware gets the whole sandbox, unlike the kiosk.
#[test]
fn the_collector_sandbox_is_complete() {
    let unit = collector_unit();
    assert_eq!(unit.get("Service", "ProtectSystem"), Some("strict"));
    for key in [
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "NoNewPrivileges",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "ProtectHostname",
        "ProtectClock",
        "RestrictNamespaces",
        "LockPersonality",
        "MemoryDenyWriteExecute",
        "RestrictRealtime",
        "RestrictSUIDSGID",
        "RemoveIPC",
        "PrivateUsers",
    ] {
        assert!(unit.is_true("Service", key), "{key}=yes is missing");
    }
    assert_eq!(unit.get("Service", "ProtectProc"), Some("invisible"));
    assert_eq!(unit.get("Service", "ProcSubset"), Some("pid"));
    assert_eq!(
        unit.get("Service", "SystemCallArchitectures"),
        Some("native")
    );
    assert_eq!(unit.get("Service", "SystemCallErrorNumber"), Some("EPERM"));
    assert_eq!(
        unit.get("Service", "CapabilityBoundingSet"),
        Some(""),
        "no capabilities at all"
    );
    assert_eq!(unit.get("Service", "AmbientCapabilities"), Some(""));

    let families: BTreeSet<String> = unit
        .list("Service", "RestrictAddressFamilies")
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = ["AF_UNIX", "AF_INET", "AF_INET6"]
        .map(str::to_string)
        .into();
    assert_eq!(
        families, expected,
        "RestrictAddressFamilies=: IPv4/IPv6 to serve, AF_UNIX for the journal, nothing else"
    );
    // It serves kiosks on whatever networks the fleet is on.
    assert!(
        !unit.is_true("Service", "PrivateNetwork"),
        "the collector serves the network"
    );
    assert!(
        unit.list("Service", "IPAddressDeny").is_empty(),
        "no IPAddressDeny= by default: kiosks connect from anywhere the fleet is"
    );

    let filters = unit.values("Service", "SystemCallFilter");
    assert!(
        filters.contains(&"@system-service"),
        "SystemCallFilter=@system-service: {filters:?}"
    );
    let denied: BTreeSet<&str> = filters
        .iter()
        .filter_map(|f| f.strip_prefix('~'))
        .flat_map(str::split_whitespace)
        .collect();
    for group in ["@privileged", "@resources"] {
        assert!(
            denied.contains(group),
            "SystemCallFilter=~{group} is missing: {filters:?}"
        );
    }
}

/// Every system call group systemd knows, with its members (which may be other groups).
fn syscall_groups() -> BTreeMap<String, Vec<String>> {
    let output = run_tool("systemd-analyze", &["syscall-filter".as_ref()]);
    assert!(
        output.status.success(),
        "systemd-analyze syscall-filter: {}",
        output.status
    );
    let mut groups = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in lossy(&output.stdout).lines() {
        if line.starts_with('@') {
            current = Some(line.trim().to_string());
            groups.insert(line.trim().to_string(), Vec::new());
        } else if !line.starts_with(char::is_whitespace) {
            // A blank line or the "# Ungrouped ..." notes after the groups.
            current = None;
        } else if let Some(group) = &current {
            let item = line.trim();
            if !item.is_empty() && !item.starts_with('#') {
                groups.get_mut(group).unwrap().push(item.to_string());
            }
        }
    }
    assert!(
        groups.contains_key("@system-service") && groups.contains_key("@resources"),
        "systemd-analyze syscall-filter listed no groups:\n{}",
        lossy(&output.stdout)
    );
    groups
}

fn expand(groups: &BTreeMap<String, Vec<String>>, item: &str, into: &mut BTreeSet<String>) {
    match groups.get(item) {
        Some(members) => {
            for member in members {
                expand(groups, member, into);
            }
        }
        None => {
            assert!(!item.starts_with('@'), "unknown system call group {item}");
            into.insert(item.to_string());
        }
    }
}

/// The system calls the unit's SystemCallFilter= lets through, worked out as systemd does for
/// an allow list: the first assignment is a list to allow, later ones add to it, and those
/// starting with `~` take their calls out again.
fn allowed_syscalls(unit: &Unit, groups: &BTreeMap<String, Vec<String>>) -> BTreeSet<String> {
    let filters = unit.values("Service", "SystemCallFilter");
    assert!(
        filters.first().is_some_and(|f| !f.starts_with('~')),
        "SystemCallFilter= must start with an allow list: {filters:?}"
    );
    let mut allowed = BTreeSet::new();
    for filter in filters {
        match filter.strip_prefix('~') {
            None => {
                for item in filter.split_whitespace() {
                    expand(groups, item, &mut allowed);
                }
            }
            Some(denied) => {
                let mut out = BTreeSet::new();
                for item in denied.split_whitespace() {
                    expand(groups, item, &mut out);
                }
                allowed.retain(|call| !out.contains(call));
            }
        }
    }
    allowed
}

/// The collector raises its soft RLIMIT_NOFILE to the hard limit at start. @resources,
/// which the filter denies, holds the setrlimit system call; glibc's setrlimit() and
/// getrlimit() (which Rust's libc and rlimit crates call) use prlimit64, which must stay
/// allowed, with everything a tokio TCP server on SQLite calls.
#[test]
fn the_collector_system_call_filter_keeps_raising_its_file_limit_and_serving() {
    let groups = syscall_groups();
    let unit = collector_unit();
    let allowed = allowed_syscalls(&unit, &groups);
    assert!(
        !allowed.contains("setrlimit") && !allowed.contains("setpriority"),
        "setrlimit and setpriority are allowed: the filter no longer denies @resources, or \
         this evaluation of it is wrong"
    );
    for call in [
        // Raising the descriptor limit.
        "prlimit64",
        "getrlimit",
        // Serving: sockets, readiness, threads.
        "socket",
        "bind",
        "listen",
        "accept4",
        "setsockopt",
        "getsockname",
        "getpeername",
        "recvfrom",
        "sendto",
        "writev",
        "shutdown",
        "epoll_create1",
        "epoll_ctl",
        "epoll_wait",
        "eventfd2",
        "futex",
        "clone3",
        "sched_getaffinity",
        "rt_sigaction",
        "sigaltstack",
        "getrandom",
        // SQLite: the database and its journal files.
        "openat",
        "pread64",
        "pwrite64",
        "fcntl",
        "fsync",
        "fdatasync",
        "ftruncate",
        "unlink",
        "mmap",
        "munmap",
    ] {
        assert!(
            allowed.contains(call),
            "SystemCallFilter= refuses {call}, which the collector needs"
        );
    }

    // The same evaluation notices a filter that would refuse prlimit64.
    let strict = Unit::parse(
        "strict copy",
        "[Service]\nSystemCallFilter=@system-service\nSystemCallFilter=~@default\n",
    );
    assert!(!allowed_syscalls(&strict, &groups).contains("prlimit64"));
}

/// systemd's exposure level for the unit, from `systemd-analyze security --offline=yes`.
fn exposure(dir: &Path, file_name: &str, text: &str) -> f64 {
    let path = dir.join(file_name);
    std::fs::write(&path, text).unwrap();
    let output = run_tool(
        "systemd-analyze",
        &[
            "security".as_ref(),
            "--offline=yes".as_ref(),
            "--no-pager".as_ref(),
            path.as_os_str(),
        ],
    );
    let stdout = lossy(&output.stdout);
    assert!(
        output.status.success(),
        "systemd-analyze security --offline=yes {}: {}\n{stdout}{}",
        path.display(),
        output.status,
        lossy(&output.stderr)
    );
    let marker = format!("Overall exposure level for {file_name}:");
    stdout
        .lines()
        .find_map(|l| l.split_once(&marker).map(|(_, rest)| rest.to_string()))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{stdout}"))
}

/// systemd rates the sandbox "OK" or better, by its own measure.
#[test]
fn systemd_rates_the_collector_sandbox_ok() {
    let help = run_tool("systemd-analyze", &["--help".as_ref()]);
    if !lossy(&help.stdout).contains("--offline") {
        // `security --offline` (reading a unit file rather than asking the running systemd)
        // came with systemd 250; Debian bookworm has 252. On older systemd this one check
        // cannot run; every setting it weighs is also checked one by one above.
        eprintln!(
            "systemd-analyze has no --offline (systemd < 250): the collector's exposure level \
             is not rated here"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let installed = collector_with_stand_in_binary(dir.path());
    let level = exposure(dir.path(), "earshot-collector.service", &installed);
    assert!(
        level <= MAX_COLLECTOR_EXPOSURE,
        "systemd-analyze security rates the collector's sandbox {level}, more than \
         {MAX_COLLECTOR_EXPOSURE}"
    );

    // The same unit without its sandbox is rated far worse: the rating is of this file.
    let keep = [
        "Description",
        "After",
        "StartLimitIntervalSec",
        "Type",
        "ExecStart",
        "Environment",
        "StateDirectory",
        "Restart",
        "RestartSec",
        "User",
        "Group",
        "WantedBy",
    ];
    let bare: String = installed
        .lines()
        .filter(|l| {
            let key = l.split('=').next().unwrap_or("");
            !l.contains('=') || l.starts_with('#') || keep.contains(&key)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let bare_dir = dir.path().join("bare");
    std::fs::create_dir(&bare_dir).unwrap();
    let bare_level = exposure(&bare_dir, "earshot-collector.service", &bare);
    assert!(
        bare_level > MAX_COLLECTOR_EXPOSURE + 3.0,
        "without its sandbox the unit is still rated {bare_level}: the rating does not read it"
    );
}

// ---- The udev rules -----------------------------------------------------------------------

/// One `KEY{attribute}OP"value"` of a udev rule.
#[derive(Debug, Clone, PartialEq)]
struct Term {
    key: String,
    attribute: Option<String>,
    op: String,
    value: String,
}

impl Term {
    fn is_match(&self) -> bool {
        self.op == "==" || self.op == "!="
    }
}

type Rule = Vec<Term>;

const MATCH_KEYS: &[&str] = &[
    "ACTION",
    "DEVPATH",
    "KERNEL",
    "KERNELS",
    "NAME",
    "SYMLINK",
    "SUBSYSTEM",
    "SUBSYSTEMS",
    "DRIVER",
    "DRIVERS",
    "ATTR",
    "ATTRS",
    "SYSCTL",
    "TAG",
    "TAGS",
    "ENV",
    "CONST",
    "TEST",
    "PROGRAM",
    "RESULT",
];
const ASSIGN_KEYS: &[&str] = &[
    "NAME", "SYMLINK", "ATTR", "SYSCTL", "ENV", "TAG", "OWNER", "GROUP", "MODE", "SECLABEL", "RUN",
    "LABEL", "GOTO", "IMPORT", "OPTIONS",
];
const KEYS_WITH_ATTRIBUTE: &[&str] = &["ATTR", "ATTRS", "SYSCTL", "ENV", "CONST", "SECLABEL"];
const KEYS_WITH_OPTIONAL_ATTRIBUTE: &[&str] = &["IMPORT", "RUN", "TEST"];

/// Parses one rule line the way udev(7) describes it; an error names what is wrong.
fn parse_rule(line: &str) -> Result<Rule, String> {
    let mut terms = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .ok_or_else(|| format!("{rest:?}: no operator"))?;
        let key = &rest[..key_end];
        rest = &rest[key_end..];
        let attribute = match rest.strip_prefix('{') {
            Some(after) => {
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("{key}: unclosed {{"))?;
                rest = &after[end + 1..];
                Some(after[..end].to_string())
            }
            None => None,
        };
        let op = ["==", "!=", "+=", "-=", ":=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .ok_or_else(|| format!("{key}: no operator before {rest:?}"))?;
        rest = rest[op.len()..]
            .strip_prefix('"')
            .ok_or_else(|| format!("{key}: value not in double quotes"))?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err(format!("{key}: unterminated value")),
            }
        };
        rest = rest[end + 1..].trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
            if rest.is_empty() {
                return Err("trailing comma".into());
            }
        } else if !rest.is_empty() {
            return Err(format!("missing comma before {rest:?}"));
        }

        let term = Term {
            key: key.to_string(),
            attribute,
            op: op.to_string(),
            value,
        };
        let allowed = if term.is_match() {
            MATCH_KEYS
        } else {
            ASSIGN_KEYS
        };
        if !allowed.contains(&key) {
            return Err(format!(
                "{key}{op}: not a valid {} key",
                if term.is_match() {
                    "match"
                } else {
                    "assignment"
                }
            ));
        }
        let needs_attribute = KEYS_WITH_ATTRIBUTE.contains(&key);
        if needs_attribute && term.attribute.is_none() {
            return Err(format!("{key} needs {{attribute}}"));
        }
        if !needs_attribute
            && !KEYS_WITH_OPTIONAL_ATTRIBUTE.contains(&key)
            && term.attribute.is_some()
        {
            return Err(format!("{key} takes no {{attribute}}"));
        }
        if key == "MODE"
            && (term.value.is_empty()
                || u32::from_str_radix(&term.value, 8).map_or(true, |m| m > 0o7777))
        {
            return Err(format!("MODE={:?} is not an octal mode", term.value));
        }
        terms.push(term);
    }
    if terms.is_empty() {
        return Err("empty rule".into());
    }
    let is_label = terms.iter().any(|t| t.key == "LABEL");
    if is_label && terms.len() != 1 {
        return Err("LABEL must stand alone".into());
    }
    if !is_label && (!terms.iter().any(Term::is_match) || terms.iter().all(Term::is_match)) {
        return Err("a rule needs at least one match and one assignment".into());
    }
    Ok(terms)
}

/// The rules of a file (continuation lines joined, comments skipped), with their line numbers.
fn parse_rules(text: &str) -> Result<Vec<(usize, Rule)>, String> {
    let mut rules = Vec::new();
    let mut pending = String::new();
    let mut first_line = 0;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        // udev skips comment lines even in the middle of a continued rule.
        if line.starts_with('#') {
            continue;
        }
        if pending.is_empty() {
            if line.is_empty() {
                continue;
            }
            first_line = index + 1;
        }
        if let Some(continued) = line.strip_suffix('\\') {
            pending.push_str(continued);
            continue;
        }
        pending.push_str(line);
        let rule =
            parse_rule(&pending).map_err(|e| format!("line {first_line}: {e}: {pending}"))?;
        rules.push((first_line, rule));
        pending.clear();
    }
    if !pending.is_empty() {
        return Err(format!(
            "line {first_line}: continued past the end of the file"
        ));
    }
    let labels: Vec<&str> = rules
        .iter()
        .flat_map(|(_, r)| {
            r.iter()
                .filter(|t| t.key == "LABEL")
                .map(|t| t.value.as_str())
        })
        .collect();
    for (line, rule) in &rules {
        for goto in rule.iter().filter(|t| t.key == "GOTO") {
            if !labels.contains(&goto.value.as_str()) {
                return Err(format!("line {line}: GOTO=\"{}\" has no LABEL", goto.value));
            }
        }
    }
    Ok(rules)
}

fn has(rule: &Rule, key: &str, attribute: Option<&str>, op: &str, value: &str) -> bool {
    rule.iter().any(|t| {
        t.key == key && t.attribute.as_deref() == attribute && t.op == op && t.value == value
    })
}

/// `udevadm verify` (systemd 254 and later) where it exists; the same rules through the
/// parser above in any case, so the check means the same on every machine.
#[test]
fn the_udev_rules_are_valid() {
    let path = repo_file(RULES);
    let text = read(RULES);
    parse_rules(&text).unwrap_or_else(|e| panic!("{RULES}: {e}"));

    // The rotation examples must be valid once uncommented, too.
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("#SUBSYSTEM") {
            Some(rest) => format!("SUBSYSTEM{rest}\n"),
            None => format!("{l}\n"),
        })
        .collect();
    assert_ne!(uncommented, text, "the touch rotation examples are missing");
    parse_rules(&uncommented)
        .unwrap_or_else(|e| panic!("{RULES} with the examples uncommented: {e}"));

    let has_verify = Command::new("udevadm")
        .args(["verify", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_verify {
        eprintln!("udevadm verify is not available here (systemd < 254): checked {RULES} with the built-in parser only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let examples = dir.path().join("99-earshot.rules");
    std::fs::write(&examples, &uncommented).unwrap();
    for file in [path.as_path(), examples.as_path()] {
        // Group names are resolved on the device, not on the machine running the tests.
        let output = run_tool(
            "udevadm",
            &[
                "verify".as_ref(),
                "--resolve-names=never".as_ref(),
                file.as_os_str(),
            ],
        );
        assert!(
            output.status.success(),
            "udevadm verify {}: {}\n{}{}",
            file.display(),
            output.status,
            lossy(&output.stdout),
            lossy(&output.stderr)
        );
    }
}

#[test]
fn the_parser_refuses_broken_rules() {
    for broken in [
        r#"SUBSYSTEM=="tty", GROUP="dialout""#.replace("==\"tty\"", "==tty"),
        r#"SUBSYSTEM=="tty" GROUP="dialout""#.to_string(),
        r#"SUBSYSTEM=="tty", MODE="0968""#.to_string(),
        r#"SUBSYSTEM=="tty", ATTRS=="x", GROUP="dialout""#.to_string(),
        r#"SUBSYSTEM=="tty", GROUP=="dialout""#.to_string(),
        r#"GROUP="dialout""#.to_string(),
        r#"SUBSYSTEM=="tty""#.to_string(),
        r#"SUBSYSTEM=="tty", GOTO="nowhere""#.to_string(),
    ] {
        assert!(parse_rules(&broken).is_err(), "accepted: {broken}");
    }
    assert!(
        parse_rules(r#"SUBSYSTEM=="tty", ATTRS{idVendor}=="0c2e", SYMLINK+="x", MODE="0660""#)
            .is_ok()
    );
}

#[test]
fn modem_manager_leaves_the_scanners_alone_but_not_real_modems() {
    let rules = parse_rules(&read(RULES)).unwrap();
    for vendor in SCANNER_VENDORS {
        assert!(
            rules
                .iter()
                .any(|(_, r)| has(r, "ATTRS", Some("idVendor"), "==", vendor)
                    && has(r, "ENV", Some("ID_MM_DEVICE_IGNORE"), "=", "1")),
            "no ID_MM_DEVICE_IGNORE rule for USB vendor {vendor}"
        );
    }
    // Other makes: CDC-ACM ports that declare no AT command set. A blanket rule for every
    // ttyACM would also hide a 4G modem that provides the kiosk's uplink.
    let generic: Vec<&Rule> = rules
        .iter()
        .map(|(_, r)| r)
        .filter(|r| {
            has(r, "ENV", Some("ID_MM_DEVICE_IGNORE"), "=", "1")
                && !r.iter().any(|t| t.attribute.as_deref() == Some("idVendor"))
        })
        .collect();
    assert!(
        !generic.is_empty(),
        "no ID_MM_DEVICE_IGNORE rule for CDC-ACM scanners of other makes"
    );
    for rule in generic {
        assert!(
            has(rule, "ATTRS", Some("bInterfaceProtocol"), "==", "00"),
            "an ID_MM_DEVICE_IGNORE rule without a vendor must be limited to ports with no AT \
             command protocol: {rule:?}"
        );
    }
}

#[test]
fn the_scanner_has_a_stable_name_the_kiosk_can_open() {
    let rules = parse_rules(&read(RULES)).unwrap();
    for vendor in SCANNER_VENDORS {
        assert!(
            rules
                .iter()
                .any(|(_, r)| has(r, "SUBSYSTEM", None, "==", "tty")
                    && has(r, "ATTRS", Some("idVendor"), "==", vendor)
                    && has(r, "SYMLINK", None, "+=", "earshot-scanner")
                    && has(r, "GROUP", None, "=", "dialout")
                    && has(r, "MODE", None, "=", "0660")),
            "no /dev/earshot-scanner rule (tty, group dialout, mode 0660) for USB vendor {vendor}"
        );
    }
}

#[test]
fn gpio_devices_belong_to_the_gpio_group() {
    let rules = parse_rules(&read(RULES)).unwrap();
    for kernel in ["gpiochip", "gpiomem"] {
        assert!(
            rules.iter().any(|(_, r)| r
                .iter()
                .any(|t| t.key == "KERNEL" && t.op == "==" && t.value.starts_with(kernel))
                && has(r, "GROUP", None, "=", "gpio")
                && has(r, "MODE", None, "=", "0660")),
            "no rule giving /dev/{kernel}* to the gpio group"
        );
    }
}

/// Where the picture's point (x, y) (0..1, top left at 0, 0) lands on the panel when the
/// kiosk turns the picture `degrees` clockwise: Slint's software renderer turns the picture
/// "to the right" for 90 and "to the left" for 270 (i-slint-renderer-software's
/// RenderingRotation).
fn picture_to_panel(degrees: u32, (x, y): (f64, f64)) -> (f64, f64) {
    match degrees {
        90 => (1.0 - y, x),
        180 => (1.0 - x, 1.0 - y),
        270 => (y, 1.0 - x),
        _ => unreachable!(),
    }
}

/// Touch stays unrotated by default, and each shipped example matrix (for a picture turned
/// 90, 180 or 270 degrees) sends a touch on the panel to the point of the picture under the
/// finger. libinput applies [a b c; d e f] to the panel's normalised coordinates.
#[test]
fn the_touch_rotation_examples_match_the_turned_picture() {
    let text = read(RULES);
    let active = parse_rules(&text).unwrap();
    assert!(
        !active.iter().any(|(_, r)| r
            .iter()
            .any(|t| t.attribute.as_deref() == Some("LIBINPUT_CALIBRATION_MATRIX"))),
        "the shipped rules must leave touch unrotated (0 degrees)"
    );

    let mut found = Vec::new();
    let mut degrees = None;
    for line in text.lines() {
        if let Some(angle) = line
            .strip_prefix("# rotation = ")
            .and_then(|l| l.strip_suffix(':'))
        {
            degrees = Some(angle.parse::<u32>().unwrap());
        } else if let Some(rule) = line
            .strip_prefix('#')
            .filter(|l| l.contains("LIBINPUT_CALIBRATION_MATRIX"))
        {
            let Ok(rule) = parse_rule(rule) else { continue };
            let angle = degrees
                .take()
                .unwrap_or_else(|| panic!("no \"# rotation = N:\" line above {line}"));
            assert!(
                has(&rule, "ENV", Some("ID_INPUT_TOUCHSCREEN"), "==", "1"),
                "{line}"
            );
            let matrix: Vec<f64> = rule
                .iter()
                .find(|t| t.attribute.as_deref() == Some("LIBINPUT_CALIBRATION_MATRIX"))
                .unwrap()
                .value
                .split(' ')
                .map(|n| {
                    n.parse()
                        .unwrap_or_else(|_| panic!("not six numbers: {line}"))
                })
                .collect();
            assert_eq!(
                matrix.len(),
                6,
                "libinput wants six numbers separated by single spaces: {line}"
            );
            for point in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.25, 0.1)] {
                let (px, py) = picture_to_panel(angle, point);
                let touched = (
                    matrix[0] * px + matrix[1] * py + matrix[2],
                    matrix[3] * px + matrix[4] * py + matrix[5],
                );
                assert!(
                    (touched.0 - point.0).abs() < 1e-9 && (touched.1 - point.1).abs() < 1e-9,
                    "rotation = {angle}: a touch on the picture's {point:?} reaches {touched:?}: {line}"
                );
            }
            found.push(angle);
        }
    }
    assert_eq!(found, [90, 180, 270], "one example for each turned picture");
}
