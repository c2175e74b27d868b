//! The real kiosk binary in a real X window on a virtual display (Xvfb), tapped with
//! xdotool. Where each button is comes from the same visit run alongside on Slint's testing
//! backend at the same size (the twin): with no window manager and no decorations the
//! window's pixels are Slint's logical pixels, so an element's centre there is the place to
//! tap here.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, advance, TestKiosk};
use crate::display::{start_xvfb, Running};
use earshot::core::record::ResponseRecord;

pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 480;

/// The answers without their timings, which differ between any two runs.
pub fn answers(record: &ResponseRecord) -> Vec<(String, serde_json::Value)> {
    record
        .answers
        .iter()
        .map(|a| {
            (
                a.step_id.clone(),
                serde_json::to_value(&a.value).expect("answers serialise"),
            )
        })
        .collect()
}

/// The kiosk binary on its own display, with its files in a folder of their own.
pub struct RealKiosk {
    // Dropped in this order: the kiosk before its display.
    kiosk: Running,
    xvfb: Running,
    display: String,
    window: String,
    dir: Option<tempfile::TempDir>,
    pub config: PathBuf,
    pub responses: PathBuf,
    log: PathBuf,
}

/// The kiosk's files before it starts: its folder (also its state directory, where the
/// device token and receipt secret go) and its configuration.
pub struct KioskFiles<'a> {
    pub dir: &'a Path,
    pub config: &'a Path,
}

impl KioskFiles<'_> {
    /// `earshot` with this kiosk's configuration and state directory, e.g. for `provision`.
    pub fn earshot(&self, args: &[&str]) -> Command {
        earshot_command(self.config, self.dir, args)
    }
}

fn earshot_command(config: &Path, state: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_earshot"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env("STATE_DIRECTORY", state)
        .env("EARSHOT_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("EARSHOT_CONFIG")
        .stdin(Stdio::null());
    command
}

impl RealKiosk {
    /// A standalone kiosk showing the shop survey.
    pub fn start() -> RealKiosk {
        Self::start_with("", |_| {})
    }

    /// A kiosk showing the shop survey, with `extra` added to its configuration, and
    /// `before` run once its files are written and before it starts (to provision it).
    pub fn start_with(extra: &str, before: impl FnOnce(&KioskFiles)) -> RealKiosk {
        let (xvfb, display) = start_xvfb();
        // Under the build's own scratch folder, so that a failed run's log and pictures can be
        // looked at afterwards.
        let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&scratch).expect("the target folder is writable");
        let dir = tempfile::Builder::new()
            .prefix("real-window-")
            .tempdir_in(&scratch)
            .expect("a scratch folder");
        let responses = dir.path().join("responses.db");
        let log = dir.path().join("kiosk.log");
        let config = dir.path().join("earshot.toml");
        std::fs::write(
            &config,
            format!(
                "[device]\nid = \"window-test-kiosk\"\nsite = \"window-test-site\"\n\
                 [survey]\ndemo = \"shop\"\n\
                 [kiosk]\nfullscreen = false\nhide_cursor = true\nwindow_size = [{WIDTH}, {HEIGHT}]\n\
                 [storage]\npath = {}\n{extra}",
                toml_string(&responses)
            ),
        )
        .expect("the config is written");
        before(&KioskFiles {
            dir: dir.path(),
            config: &config,
        });
        let child = earshot_command(&config, dir.path(), &["run"])
            .env("DISPLAY", &display)
            // Logical pixels are window pixels only at scale 1, whatever the display's DPI.
            .env("WINIT_X11_SCALE_FACTOR", "1")
            .env("SLINT_SCALE_FACTOR", "1")
            .env("SLINT_BACKEND", "winit-software")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("the log file is created"))
            .spawn()
            .expect("the kiosk binary starts");
        let mut kiosk = RealKiosk {
            kiosk: Running {
                name: "the kiosk",
                child,
                ended: false,
            },
            xvfb,
            display,
            window: String::new(),
            dir: Some(dir),
            config,
            responses,
            log,
        };
        kiosk.window = kiosk.find_window();
        kiosk.settle(None, "the kiosk started");
        kiosk
    }

    fn xdotool(&self) -> Command {
        let mut command = Command::new("xdotool");
        command.env("DISPLAY", &self.display).stdin(Stdio::null());
        command
    }

    fn find_window(&mut self) -> String {
        let mut search = self
            .xdotool()
            .args(["search", "--sync", "--onlyvisible", "--name", "Earshot"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run xdotool ({e}): run scripts/test, which installs it")
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(_)) = search.try_wait() {
                break;
            }
            if let Ok(Some(status)) = self.kiosk.child.try_wait() {
                let _ = search.kill();
                let _ = search.wait();
                panic!(
                    "the kiosk exited ({status}) before showing its window:\n{}",
                    self.log_text()
                );
            }
            if Instant::now() > deadline {
                let _ = search.kill();
                let _ = search.wait();
                panic!(
                    "no window named Earshot appeared within 20 s:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut ids = String::new();
        std::io::Read::read_to_string(&mut search.stdout.take().expect("piped"), &mut ids)
            .expect("xdotool's output");
        ids.lines()
            .next()
            .map(str::to_string)
            .filter(|id| !id.is_empty())
            .expect("xdotool names the window")
    }

    /// `earshot` with this kiosk's configuration and state directory, e.g. for `queue stats`.
    pub fn earshot(&self, args: &[&str]) -> Command {
        let dir = self.dir.as_ref().expect("the scratch folder").path();
        earshot_command(&self.config, dir, args)
    }

    /// The window's pixels as raw RGB, `WIDTH` × `HEIGHT`, straight from the X server.
    pub fn capture(&self) -> Vec<u8> {
        let out = Command::new("import")
            .env("DISPLAY", &self.display)
            .args(["-window", &self.window, "-depth", "8", "rgb:-"])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run import ({e}): run scripts/test, which installs imagemagick")
            });
        assert!(
            out.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Waits until the window shows something other than `before` (when given) and other
    /// than one flat colour, then until it holds still: a screen change, a highlight or a
    /// typed letter has been drawn and any transition has finished. A picture that never
    /// holds still (a blinking caret) is accepted after a while.
    fn settle(&mut self, before: Option<&[u8]>, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(if before.is_some() { 5 } else { 20 });
        let mut last = self.capture();
        while before.is_some_and(|b| b == last) || is_blank(&last) {
            assert!(
                self.kiosk_alive(),
                "the kiosk exited after {what}:\n{}",
                self.log_text()
            );
            assert!(
                Instant::now() < deadline,
                "the window did not change after {what}"
            );
            std::thread::sleep(Duration::from_millis(15));
            last = self.capture();
        }
        let still_deadline = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < still_deadline {
            std::thread::sleep(Duration::from_millis(40));
            let now = self.capture();
            if now == last {
                return;
            }
            last = now;
        }
    }

    pub fn kiosk_alive(&mut self) -> bool {
        matches!(self.kiosk.child.try_wait(), Ok(None))
    }

    /// Taps `label` in the real window where the in-process twin shows it, then in the twin.
    pub fn tap(&mut self, twin: &TestKiosk, label: &str) {
        let found = twin.find(label);
        // The same element that `TestKiosk::tap` chooses: the topmost.
        let element = found.last().unwrap_or_else(|| {
            panic!(
                "nothing labelled {label:?} on screen {:?}",
                twin.ui.screen()
            )
        });
        let position = element.absolute_position();
        let size = element.size();
        let x = (position.x + size.width / 2.0).round() as i32;
        let y = (position.y + size.height / 2.0).round() as i32;
        assert!(
            (0..WIDTH as i32).contains(&x) && (0..HEIGHT as i32).contains(&y),
            "{label:?} is outside the window at ({x}, {y})"
        );
        let before = self.capture();
        let status = self
            .xdotool()
            .args([
                "mousemove",
                "--window",
                &self.window,
                &x.to_string(),
                &y.to_string(),
                "click",
                "1",
            ])
            .status()
            .expect("xdotool runs");
        assert!(
            status.success(),
            "xdotool could not tap {label:?} at ({x}, {y})"
        );
        twin.tap(label);
        // Lets the twin's transitions finish, so the next element's centre is where it comes to
        // rest, as it will in the real window.
        advance(Duration::from_millis(800));
        self.settle(Some(&before), &format!("tapping {label:?} at ({x}, {y})"));
    }

    /// Types on the on-screen keyboard as `TestKiosk::type_text` does.
    pub fn type_text(&mut self, twin: &TestKiosk, text: &str) {
        for c in text.chars() {
            let key = if c == ' ' {
                "Space".to_string()
            } else {
                c.to_string()
            };
            if !twin.has(&key) && c.is_uppercase() {
                self.tap(twin, "Shift");
            }
            self.tap(twin, &key);
        }
    }

    pub fn the_one_record(&mut self) -> ResponseRecord {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let records = common::read_records(&self.responses);
            if !records.is_empty() {
                // Anything written twice would be there by the time the log says it was stored.
                self.wait_for_log("response stored");
                let records = common::read_records(&self.responses);
                assert_eq!(
                    records.len(),
                    1,
                    "exactly one response for one visit: {records:#?}"
                );
                return records.into_iter().next().expect("one record");
            }
            assert!(self.kiosk_alive(), "the kiosk exited:\n{}", self.log_text());
            assert!(
                Instant::now() < deadline,
                "no response stored within 10 s:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        strip_ansi(&text)
    }

    pub fn wait_for_log(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.log_text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "the kiosk's log never said {needle:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A PNG of the window as the X server has it: the size the config asks for and not blank.
    pub fn check_screenshot(&self) {
        let path = self
            .dir
            .as_ref()
            .expect("the scratch folder")
            .path()
            .join("window.png");
        let status = Command::new("import")
            .env("DISPLAY", &self.display)
            .args(["-window", &self.window])
            .arg(format!("png:{}", path.display()))
            .stdin(Stdio::null())
            .status()
            .expect("import runs");
        assert!(status.success(), "import could not photograph the window");
        let (width, height, rgb) = read_png_rgb(&path);
        assert_eq!(
            (width, height),
            (WIDTH, HEIGHT),
            "the window has the configured size"
        );
        assert!(!is_blank(&rgb), "the window shows something");
        let colours: std::collections::HashSet<&[u8]> = rgb.chunks_exact(3).collect();
        assert!(
            colours.len() > 16,
            "a drawn screen has text and shapes, not {} colours",
            colours.len()
        );
    }

    pub fn stop(&mut self) {
        assert!(
            self.kiosk_alive(),
            "the kiosk is still running at the end:\n{}",
            self.log_text()
        );
        self.kiosk.end();
        self.xvfb.end();
    }
}

impl Drop for RealKiosk {
    fn drop(&mut self) {
        self.kiosk.end();
        self.xvfb.end();
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                eprintln!(
                    "the kiosk's files (config, log, responses, pictures) are kept in {}",
                    dir.keep().display()
                );
            }
        }
    }
}

pub fn toml_string(path: &Path) -> String {
    toml::Value::String(path.display().to_string()).to_string()
}

pub fn is_blank(rgb: &[u8]) -> bool {
    rgb.chunks_exact(3).all(|p| p == &rgb[..3])
}

pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequences end at their first letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn read_png_rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).expect("the picture was written");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut buffer).expect("the picture decodes");
    let bytes = &buffer[..info.buffer_size()];
    let rgb = match info.color_type {
        png::ColorType::Rgb => bytes.to_vec(),
        png::ColorType::Rgba => bytes
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        png::ColorType::Grayscale => bytes.iter().flat_map(|&v| [v, v, v]).collect(),
        png::ColorType::GrayscaleAlpha => bytes
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0]])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (info.width, info.height, rgb)
}
