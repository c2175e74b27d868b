//! What makes the kiosk an appliance, outside the program: the systemd unit, the user it runs
//! as and the udev rules. Each is checked with systemd's own tools (a unit that systemd only
//! warns about still "loads", with the setting silently ignored) and for the properties the
//! kiosk depends on: started again whatever happens, never waiting for a network or a clock,
//! and sandboxed without losing the screen, the touchscreen, the scanner or GPIO.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNIT: &str = "systemd/earshot.service";
const SYSUSERS: &str = "systemd/earshot.sysusers";
const RULES: &str = "systemd/99-earshot.rules";

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
    fn parse(text: &str) -> Unit {
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
                .unwrap_or_else(|| panic!("{UNIT}:{}: not a Key=value line: {raw:?}", number + 1));
            assert!(
                !section.is_empty(),
                "{UNIT}:{}: assignment before any section",
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
    Unit::parse(&read(UNIT))
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

/// systemd's own check of the unit as it will be installed, with ExecStart= pointing at the
/// binary just built (verify insists that the executable exists).
#[test]
fn systemd_analyze_verify_accepts_the_unit_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let original = read(UNIT);
    let binary = env!("CARGO_BIN_EXE_earshot");
    assert!(
        !binary.contains(char::is_whitespace),
        "binary path with spaces: {binary}"
    );
    let mut replaced = 0;
    let installed: String = original
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
    assert_eq!(replaced, 1, "{UNIT} must have exactly one ExecStart= line");
    let path = dir.path().join("earshot.service");
    std::fs::write(&path, &installed).unwrap();

    let output = run_tool(
        "systemd-analyze",
        &["verify".as_ref(), "--man=no".as_ref(), path.as_os_str()],
    );
    let stderr = lossy(&output.stderr);
    // Messages about other units (the container's own, say) are not ours to fix.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("earshot.service"))
        .collect();
    assert!(
        output.status.success() && ours.is_empty(),
        "systemd-analyze verify {} failed ({}):\n{}{}",
        path.display(),
        output.status,
        lossy(&output.stdout),
        stderr
    );

    // The same check reports a broken copy: it does look at this file.
    let broken = installed.replace("Type=notify", "Type=notify-please");
    let broken_path = dir.path().join("broken").join("earshot.service");
    std::fs::create_dir(broken_path.parent().unwrap()).unwrap();
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
            .any(|l| l.contains("earshot.service") && l.contains("notify-please")),
        "systemd-analyze verify did not report an invalid Type=; it is not checking the unit:\n{}",
        lossy(&output.stderr)
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
        Path::new(earshot::config::SYSTEM_CONFIG_PATH).parent(),
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

/// systemd-sysusers creates the user and every group the unit names, in an empty root.
#[test]
fn sysusers_creates_the_user_and_every_group_the_unit_needs() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let file = repo_file(SYSUSERS);
    let mut root_arg = std::ffi::OsString::from("--root=");
    root_arg.push(root.path());
    let output = run_tool(
        "systemd-sysusers",
        &[root_arg.as_os_str(), file.as_os_str()],
    );
    let stderr = lossy(&output.stderr);
    assert!(
        output.status.success(),
        "systemd-sysusers {}: {}\n{stderr}",
        file.display(),
        output.status
    );
    assert!(
        !stderr.lines().any(|l| l.contains("earshot.sysusers")),
        "systemd-sysusers complained about {SYSUSERS}:\n{stderr}"
    );

    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let user = passwd
        .lines()
        .find(|l| l.starts_with("earshot:"))
        .unwrap_or_else(|| panic!("no earshot user created:\n{passwd}"));
    let fields: Vec<&str> = user.split(':').collect();
    let unit = unit();
    let state = format!(
        "/var/lib/{}",
        unit.get("Service", "StateDirectory").unwrap()
    );
    assert_eq!(
        fields[5], state,
        "the user's home is the state directory: {user}"
    );
    assert!(fields[6].ends_with("nologin"), "no login shell: {user}");

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
