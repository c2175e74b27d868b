//! The Debian package of the kiosk, made by cargo-deb from `[package.metadata.deb]` in
//! Cargo.toml and the maintainer scripts in debian/: the files it holds and their modes, its
//! control fields, what its maintainer scripts do on a running system, and a real
//! installation by dpkg into an empty scratch root with the maintainer scripts run as dpkg
//! runs them for another root (DPKG_ROOT): the user and its state directory created, the
//! unit enabled, the configuration kept through an upgrade and removal, gone on purge.
//!
//! The package is made from the binary this test run has already built, so no release build
//! (minutes) is needed; its Architecture is this machine's and its Depends are that binary's
//! libraries. Not tried here: systemd starting the unit and udev applying the rules (the
//! scratch root has neither running), apt resolving Depends (it has no base system).
//! `scripts/package --try-install` installs the package with apt into a debootstrapped Debian.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const CONFFILE: &str = "/etc/earshot/earshot.toml";
const UNIT: &str = "/usr/lib/systemd/system/earshot.service";
const WANTS: &str = "/etc/systemd/system/multi-user.target.wants/earshot.service";
const MASK: &str = "/etc/systemd/system/earshot.service";
/// The device groups the unit's SupplementaryGroups= names, and the kiosk's own.
const GROUPS: [&str; 6] = ["video", "render", "input", "dialout", "gpio", "earshot"];

const HOW_TO_GET_CARGO_DEB: &str = "Install it with `scripts/package`, or with \
    `bash -c '. scripts/lib/setup.sh && ensure_cargo_deb'` (scripts/test does this), and run \
    the test again.";
const HOW_TO_GET_TOOLS: &str = "Install the Debian packages dpkg-dev, binutils and systemd \
    (`bash -c '. scripts/lib/setup.sh && ensure_cargo_deb'` does), and run the test again.";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs a command with no input. A missing program fails the test, saying how to get it: a
/// check that passes because it could not run would let a broken package through.
fn run(cmd: &mut Command) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    match cmd.stdin(Stdio::null()).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{program}` is not installed. {HOW_TO_GET_TOOLS}")
        }
        Err(e) => panic!("cannot run `{program}`: {e}"),
    }
}

/// Runs a command that must succeed; its standard output.
fn succeed(cmd: &mut Command) -> String {
    let described = format!("{cmd:?}");
    let output = run(cmd);
    assert!(
        output.status.success(),
        "{described} failed ({}):\n{}{}",
        output.status,
        lossy(&output.stdout),
        lossy(&output.stderr)
    );
    lossy(&output.stdout)
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Makes the package from this run's binary, in `work`.
fn make_package(work: &Path) -> PathBuf {
    let version = run(cargo().args(["deb", "--version"]));
    assert!(
        version.status.success(),
        "cargo-deb is not installed (`cargo deb --version`: {}). {HOW_TO_GET_CARGO_DEB}",
        lossy(&version.stderr).trim()
    );
    // cargo-deb takes the binary from <target dir>/release/ (it means to refuse debug builds
    // in future versions): a target directory holding only this run's binary there.
    let target = work.join("target");
    std::fs::create_dir_all(target.join("release")).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_earshot"),
        target.join("release/earshot"),
    )
    .unwrap();
    let deb = work.join("earshot.deb");
    // Stripped (as always) and gzip at its fastest: this debug binary is some 70 MB without
    // its symbols, which xz takes half a minute over.
    let output = run(cargo()
        .current_dir(repo())
        .env("CARGO_TARGET_DIR", &target)
        .args(["deb", "-p", "earshot", "--no-build", "--offline", "--fast"])
        .args(["--compress-type", "gz", "--compress-system", "--output"])
        .arg(&deb));
    assert!(
        output.status.success() && deb.is_file(),
        "cargo deb ({}) failed ({}):\n{}{}",
        lossy(&version.stdout).trim(),
        output.status,
        lossy(&output.stdout),
        lossy(&output.stderr)
    );
    deb
}

// ---- What the package holds ---------------------------------------------------------------

/// One entry of `dpkg-deb --contents`.
#[derive(Debug)]
struct Entry {
    mode: String,
    owner: String,
}

fn contents(deb: &Path) -> BTreeMap<String, Entry> {
    let listing = succeed(Command::new("dpkg-deb").arg("--contents").arg(deb));
    listing
        .lines()
        .map(|line| {
            // -rw-r--r-- 0/0   13243 2026-11-23 00:00 ./usr/share/doc/earshot/README.md
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert!(
                fields.len() >= 6,
                "unexpected dpkg-deb --contents line: {line:?}"
            );
            let path = fields[5..].join(" ");
            let path = path.trim_start_matches('.').trim_end_matches('/');
            let entry = Entry {
                mode: fields[0].to_string(),
                owner: fields[1].to_string(),
            };
            (if path.is_empty() { "/" } else { path }.to_string(), entry)
        })
        .collect()
}

/// Every file the package must hold, with its mode and, where it is shipped as it is in the
/// repository, that file.
fn expected_files() -> BTreeMap<String, (u32, Option<PathBuf>)> {
    let mut files: BTreeMap<String, (u32, Option<PathBuf>)> = [
        ("/usr/bin/earshot", 0o755, None),
        (UNIT, 0o644, Some("systemd/earshot.service")),
        (
            "/usr/lib/udev/rules.d/99-earshot.rules",
            0o644,
            Some("systemd/99-earshot.rules"),
        ),
        (
            "/usr/lib/tmpfiles.d/earshot.conf",
            0o644,
            Some("systemd/earshot.tmpfile"),
        ),
        (
            "/usr/lib/sysusers.d/earshot.conf",
            0o644,
            Some("systemd/earshot.sysusers"),
        ),
        (CONFFILE, 0o644, Some("assets/earshot.toml")),
        ("/usr/share/doc/earshot/copyright", 0o644, None),
        ("/usr/share/doc/earshot/README.md", 0o644, Some("README.md")),
    ]
    .into_iter()
    .map(|(path, mode, source)| (path.to_string(), (mode, source.map(|s| repo().join(s)))))
    .collect();
    for doc in std::fs::read_dir(repo().join("docs")).unwrap() {
        let doc = doc.unwrap().path();
        if doc.extension() == Some(OsStr::new("md")) {
            let name = doc.file_name().unwrap().to_string_lossy().into_owned();
            files.insert(format!("/usr/share/doc/earshot/{name}"), (0o644, Some(doc)));
        }
    }
    files
}

/// `-rwxr-xr-x` as 0o755.
fn mode_bits(listed: &str) -> u32 {
    listed[1..]
        .chars()
        .enumerate()
        .filter(|(_, c)| *c != '-')
        .map(|(i, _)| 1 << (8 - i))
        .sum()
}

fn check_contents(deb: &Path) {
    let listing = contents(deb);
    let expected = expected_files();
    let files: BTreeSet<&String> = listing
        .iter()
        .filter(|(_, e)| !e.mode.starts_with('d'))
        .map(|(p, _)| p)
        .collect();
    let wanted: BTreeSet<&String> = expected.keys().collect();
    assert_eq!(
        files, wanted,
        "the package holds other files than the kiosk's (left: in the package)"
    );
    for (path, entry) in &listing {
        assert!(
            ["0/0", "root/root"].contains(&entry.owner.as_str()),
            "{path} must belong to root: {entry:?}"
        );
        if entry.mode.starts_with('d') {
            assert_eq!(entry.mode, "drwxr-xr-x", "directory {path}");
        } else {
            assert!(
                entry.mode.starts_with('-') && mode_bits(&entry.mode) == expected[path].0,
                "{path} is {}, not a file of mode {:o}",
                entry.mode,
                expected[path].0
            );
        }
    }
}

// ---- The control fields -------------------------------------------------------------------

fn field(deb: &Path, name: &str) -> String {
    succeed(Command::new("dpkg-deb").arg("--field").arg(deb).arg(name))
        .trim()
        .to_string()
}

fn check_control(deb: &Path) {
    assert_eq!(field(deb, "Package"), "earshot");
    let version = field(deb, "Version");
    assert!(
        version.starts_with(&format!("{}-", env!("CARGO_PKG_VERSION"))),
        "Version {version} is not the crate's {} with a Debian revision",
        env!("CARGO_PKG_VERSION")
    );
    let arch = succeed(Command::new("dpkg").arg("--print-architecture"));
    assert_eq!(
        field(deb, "Architecture"),
        arch.trim(),
        "made from this machine's binary"
    );
    assert_eq!(field(deb, "Section"), "misc");
    assert_eq!(field(deb, "Priority"), "optional");
    let maintainer = field(deb, "Maintainer");
    assert!(
        maintainer.contains(" <") && maintainer.ends_with('>'),
        "Maintainer must be `Name <address>`: {maintainer:?}"
    );
    let description = field(deb, "Description");
    assert!(
        description.lines().count() > 2,
        "Description needs the extended description: {description:?}"
    );

    let depends = field(deb, "Depends");
    let names: Vec<&str> = depends
        .split(',')
        .map(|d| d.split_whitespace().next().unwrap_or(""))
        .collect();
    // The fonts: the device build draws with Debian's (src/system/fonts.rs).
    for needed in ["systemd", "udev", "fonts-noto-core", "fonts-droid-fallback"] {
        assert!(names.contains(&needed), "Depends lacks {needed}: {depends}");
    }
    // Only dpkg-shlibdeps ($auto) puts the libraries the binary links in, with the version
    // it needs.
    assert!(
        depends.split(", ").any(|d| d.starts_with("libudev1 (>= ")),
        "Depends lacks the binary's libraries ($auto): {depends}. {HOW_TO_GET_TOOLS}"
    );
    // The loader of bookworm or later, which reads packed relocations.
    assert!(
        depends.split(", ").any(|d| d == "libc6 (>= 2.36)"),
        "Depends lacks glibc 2.36: {depends}"
    );

    let conffiles = succeed(
        Command::new("dpkg-deb")
            .arg("--info")
            .arg(deb)
            .arg("conffiles"),
    );
    assert_eq!(conffiles.trim(), CONFFILE, "Conffiles");
}

// ---- The maintainer scripts on a running system -------------------------------------------

/// The maintainer scripts: executable, valid shell, every debhelper token replaced; and what
/// they do on a running system, which the scratch root below cannot show: it has no systemd
/// or udev running, so the scripts skip starting, stopping and udev there.
fn check_scripts(deb: &Path, work: &Path) {
    let control = work.join("control");
    succeed(
        Command::new("dpkg-deb")
            .arg("--control")
            .arg(deb)
            .arg(&control),
    );
    for name in ["postinst", "prerm", "postrm"] {
        let path = control.join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("the package has no {name}: {e}"));
        // As extracted (under the umask): dpkg runs a script only if it is executable.
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert!(mode & 0o111 == 0o111, "{name} must be executable: {mode:o}");
        succeed(Command::new("sh").arg("-n").arg(&path));
        assert!(
            !text.contains("#DEBHELPER#"),
            "{name} still has the debhelper token"
        );
    }

    let calls = |script: &str, args: &[&str]| script_calls(&control.join(script), args, work);
    let install = calls("postinst", &["configure"]);
    let position = |line: &str| {
        install
            .iter()
            .position(|c| c == line)
            .unwrap_or_else(|| panic!("postinst configure did not run `{line}`:\n{install:#?}"))
    };
    let sysusers = position("systemd-sysusers earshot.conf");
    let tmpfiles = position("systemd-tmpfiles --create earshot.conf");
    let enable = position("deb-systemd-helper enable earshot.service");
    let reload = position("udevadm control --reload");
    assert!(
        sysusers < tmpfiles && sysusers < enable && sysusers < reload,
        "the user and groups must exist before the state directory is made theirs, the unit \
         is enabled and the udev rules (which name the groups) apply:\n{install:#?}"
    );
    assert!(
        install.iter().any(|c| c.starts_with("udevadm trigger ")),
        "the udev rules must apply to devices already plugged in:\n{install:#?}"
    );
    assert!(
        !install.iter().any(|c| c.starts_with("deb-systemd-invoke ")),
        "a first installation must not start the kiosk (it takes over tty1):\n{install:#?}"
    );

    let upgrade = calls("postinst", &["configure", "0.0.1-1"]);
    let invoked: Vec<&String> = upgrade
        .iter()
        .filter(|c| c.starts_with("deb-systemd-invoke "))
        .collect();
    assert_eq!(
        invoked,
        ["deb-systemd-invoke try-restart earshot.service"],
        "an upgrade restarts the kiosk on the new binary if, and only if, it was running"
    );
    let before_upgrade = calls("prerm", &["upgrade", "0.1.0-1"]);
    assert!(
        !before_upgrade
            .iter()
            .any(|c| c.starts_with("deb-systemd-invoke ")),
        "an upgrade leaves the kiosk running until postinst restarts it:\n{before_upgrade:#?}"
    );
    let removal = calls("prerm", &["remove"]);
    assert!(
        removal
            .iter()
            .any(|c| c == "deb-systemd-invoke stop earshot.service"),
        "removal must stop the kiosk:\n{removal:#?}"
    );
    let removed = calls("postrm", &["remove"]);
    assert!(
        removed.iter().any(|c| c == "udevadm control --reload"),
        "after removal udev must forget the rules:\n{removed:#?}"
    );
}

/// Runs a maintainer script as dpkg would on a running system: in a mount namespace whose
/// /run carries systemd's and udev's marks, with the programs the script calls replaced by
/// ones that only record how they were called. The calls, in order.
fn script_calls(script: &Path, args: &[&str], work: &Path) -> Vec<String> {
    let fake = work.join("fake-bin");
    let log = work.join("calls");
    if !fake.exists() {
        std::fs::create_dir(&fake).unwrap();
        let programs = [
            "systemd-sysusers",
            "systemd-tmpfiles",
            "deb-systemd-helper",
            "deb-systemd-invoke",
            "systemctl",
            "udevadm",
        ];
        for program in programs {
            let path = fake.join(program);
            let body = format!("#!/bin/sh\necho \"{program} $*\" >> \"$EARSHOT_CALLS\"\n");
            std::fs::write(&path, body).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    std::fs::write(&log, "").unwrap();
    let mut cmd = Command::new("unshare");
    if !is_root() {
        // A user namespace in which this user is root, and so may mount.
        cmd.arg("--map-root-user");
    }
    let path = format!(
        "{}:{}",
        fake.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = run(cmd
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system /run/udev && \
             exec sh \"$@\"",
        )
        .arg("sh")
        .arg(script)
        .args(args)
        .env_remove("DPKG_ROOT")
        .env("PATH", path)
        .env("EARSHOT_CALLS", &log));
    assert!(
        output.status.success(),
        "{} {} failed ({}):\n{}{}",
        script.display(),
        args.join(" "),
        output.status,
        lossy(&output.stdout),
        lossy(&output.stderr)
    );
    read(&log).lines().map(str::to_string).collect()
}

fn is_root() -> bool {
    succeed(Command::new("id").arg("-u")).trim() == "0"
}

// ---- Installation into a scratch root -----------------------------------------------------

/// An empty root with just what dpkg needs, and this machine's systemd units standing in for
/// the device's base system, so that `systemd-analyze verify` can load the unit's
/// dependencies.
fn scratch_root(work: &Path) -> PathBuf {
    let root = work.join("root");
    for dir in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "etc",
        "lib/systemd/system",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    for file in ["var/lib/dpkg/status", "var/lib/dpkg/available"] {
        std::fs::write(root.join(file), "").unwrap();
    }
    let units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|d| d.join("sysinit.target").exists())
        .unwrap_or_else(|| panic!("no systemd units on this machine. {HOW_TO_GET_TOOLS}"));
    succeed(
        Command::new("cp")
            .arg("-a")
            .arg(units.join("."))
            .arg(root.join("lib/systemd/system")),
    );
    // An earshot unit installed on this machine is not the package's.
    let _ = std::fs::remove_file(root.join("lib/systemd/system/earshot.service"));
    root
}

/// dpkg acting on `root`, running the maintainer scripts outside it with DPKG_ROOT set, as
/// for an installation into another root. --force-depends: the scratch root has no base
/// system to satisfy Depends.
fn dpkg(root: &Path) -> Command {
    let mut cmd = Command::new("dpkg");
    cmd.arg(format!("--root={}", root.display()))
        .args([
            "--force-script-chrootless",
            "--force-depends",
            "--force-not-root",
        ])
        .arg("--log=/dev/null");
    cmd
}

/// `${db:Status-Abbrev}` of the package in `root` ("ii", "rc"), or "" when dpkg knows none.
fn status(root: &Path) -> String {
    let output = run(Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            root.join("var/lib/dpkg").display()
        ))
        .args(["--show", "--showformat=${db:Status-Abbrev}", "earshot"]));
    lossy(&output.stdout).trim().to_string()
}

fn inside(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

fn link(root: &Path, path: &str) -> Option<PathBuf> {
    std::fs::read_link(inside(root, path)).ok()
}

fn earshot_users(root: &Path) -> Vec<String> {
    read(&inside(root, "/etc/passwd"))
        .lines()
        .filter(|l| l.starts_with("earshot:"))
        .map(str::to_string)
        .collect()
}

fn install(root: &Path, deb: &Path) {
    succeed(dpkg(root).arg("--install").arg(deb));
}

fn check_installed(root: &Path, work: &Path) {
    assert_eq!(status(root), "ii", "dpkg does not have earshot installed");

    for (path, (mode, source)) in expected_files() {
        let installed = inside(root, &path);
        let meta = std::fs::metadata(&installed)
            .unwrap_or_else(|e| panic!("{path} is not installed: {e}"));
        let installed_mode = meta.permissions().mode() & 0o7777;
        assert!(
            installed_mode == mode,
            "installed {path} has mode {installed_mode:o}, not {mode:o}"
        );
        if let Some(source) = source {
            assert!(
                read(&installed) == read(&source),
                "installed {path} differs from {}",
                source.display()
            );
        }
    }

    // postinst ran systemd-sysusers on the installed file, for this root.
    let users = earshot_users(root);
    assert_eq!(users.len(), 1, "the earshot user, once: {users:?}");
    let fields: Vec<&str> = users[0].split(':').collect();
    assert_eq!(
        fields[5], "/var/lib/earshot",
        "the user's home is the state directory"
    );
    assert!(
        fields[6].ends_with("nologin"),
        "no login shell: {}",
        users[0]
    );
    let groups = read(&inside(root, "/etc/group"));
    for group in GROUPS {
        assert!(
            groups.lines().any(|l| l.starts_with(&format!("{group}:"))),
            "postinst did not create the group {group}:\n{groups}"
        );
    }

    // postinst made the state directory, the earshot user's alone, so that `earshot
    // provision` can put the device token there before the kiosk first starts.
    let state = inside(root, "/var/lib/earshot");
    let meta = std::fs::metadata(&state)
        .unwrap_or_else(|e| panic!("postinst did not make /var/lib/earshot: {e}"));
    let uid: u32 = fields[2].parse().unwrap();
    assert!(
        meta.is_dir() && meta.uid() == uid && meta.permissions().mode() & 0o7777 == 0o700,
        "/var/lib/earshot must be a directory of the earshot user's ({uid}) with mode 700: \
         owner {}, mode {:o}",
        meta.uid(),
        meta.permissions().mode() & 0o7777
    );

    // Enabled: started at every boot by multi-user.target.
    assert_eq!(
        link(root, WANTS).as_deref(),
        Some(Path::new(UNIT)),
        "the unit is not enabled ({WANTS})"
    );

    // systemd's own check of the unit as installed: among other things, its ExecStart= must
    // be the installed binary.
    let output = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", root.display()))
        .arg(UNIT));
    let stderr = lossy(&output.stderr);
    assert!(
        output.status.success() && !stderr.lines().any(|l| l.contains("earshot.service")),
        "systemd-analyze verify --root {UNIT} failed ({}):\n{stderr}",
        output.status
    );

    // The installed binary runs, and reads the installed configuration without complaint.
    let binary = inside(root, "/usr/bin/earshot");
    let version = succeed(Command::new(&binary).arg("--version"));
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    succeed(
        Command::new(&binary)
            .arg("--config")
            .arg(inside(root, CONFFILE))
            .args(["queue", "stats"])
            .env_remove("EARSHOT_CONFIG")
            .env("STATE_DIRECTORY", work.join("state"))
            .env("HOME", work),
    );

    // Every kiosk gets this file: a [device] id in it would be every kiosk's, and enrolling
    // a second kiosk under an id takes the id over from the first. Empty, the collector
    // refuses to enrol it until someone sets it.
    let config: toml::Table = toml::from_str(&read(&inside(root, CONFFILE))).unwrap();
    assert_eq!(
        config["device"]["id"].as_str(),
        Some(""),
        "the shipped [device] id must be empty"
    );
}

#[test]
fn the_package_installs_upgrades_and_purges_cleanly() {
    let work = tempfile::Builder::new()
        .prefix("package-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let work = work.path();
    let deb = make_package(work);

    check_contents(&deb);
    check_control(&deb);
    check_scripts(&deb, work);

    // A first installation.
    let root = scratch_root(work);
    install(&root, &deb);
    check_installed(&root, work);

    // An upgrade (the same version again, as dpkg does it) keeps a changed configuration
    // without asking: with no input, a question would fail the installation.
    let config = inside(&root, CONFFILE);
    let shipped = read(&config);
    let changed = shipped.replacen("\nid = \"\"\n", "\nid = \"package-test-kiosk\"\n", 1);
    assert_ne!(
        changed, shipped,
        "the shipped configuration has no `id = \"\"` line"
    );
    std::fs::write(&config, &changed).unwrap();
    install(&root, &deb);
    assert!(
        read(&config) == changed,
        "the upgrade replaced the changed configuration"
    );
    assert_eq!(status(&root), "ii");
    assert_eq!(
        earshot_users(&root).len(),
        1,
        "the upgrade added a second earshot user"
    );
    assert_eq!(
        link(&root, WANTS).as_deref(),
        Some(Path::new(UNIT)),
        "the upgrade disabled it"
    );

    // Removal: the program goes; the configuration stays; the unit is masked, its file being
    // gone while its enablement stays until purge.
    let state = inside(&root, "/var/lib/earshot");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("responses.db"), "not yet uploaded").unwrap();
    std::fs::create_dir_all(inside(&root, "/var/cache/earshot/fontconfig")).unwrap();
    succeed(dpkg(&root).args(["--remove", "earshot"]));
    assert_eq!(status(&root), "rc", "removed, configuration kept");
    for path in expected_files().into_keys().filter(|p| p != CONFFILE) {
        assert!(
            !inside(&root, &path).exists(),
            "{path} is left after removal"
        );
    }
    assert!(
        config.exists() && read(&config) == changed,
        "removal must keep the configuration"
    );
    assert_eq!(
        link(&root, MASK).as_deref(),
        Some(Path::new("/dev/null")),
        "not masked"
    );

    // Purge: the configuration, the enablement and the cache go; the responses (perhaps not
    // uploaded yet) and the user stay.
    let output = run(dpkg(&root).args(["--purge", "earshot"]));
    assert!(
        output.status.success(),
        "dpkg --purge: {}",
        lossy(&output.stderr)
    );
    assert_eq!(status(&root), "", "dpkg still knows earshot after purge");
    assert!(!config.exists(), "purge must delete {CONFFILE}");
    assert_eq!(
        link(&root, WANTS),
        None,
        "purge must remove the enablement {WANTS}"
    );
    assert_eq!(link(&root, MASK), None, "purge must remove the mask {MASK}");
    assert!(
        !inside(&root, "/var/cache/earshot").exists(),
        "purge must delete the cache"
    );
    assert!(
        state.join("responses.db").exists(),
        "purge must keep responses that may not have been uploaded"
    );
    assert!(
        lossy(&output.stderr).contains("kept /var/lib/earshot"),
        "purge must say that /var/lib/earshot is kept: {}",
        lossy(&output.stderr)
    );
    assert_eq!(
        earshot_users(&root).len(),
        1,
        "the system user stays after purge"
    );
}
