//! The device's configuration file (earshot.toml): who the device is, which survey it shows,
//! where responses are kept and how the screen behaves. Without a file the kiosk runs a built-in
//! demo configuration so that it can be tried straight away.
//!
//! The file is read once, at the edge: serde reads it into raw values (`raw`), and
//! [`Config::parse`] turns those into typed sections, each with its own file here: `upload`
//! (the collector's [`ServerUrl`], the [`TrackingUrl`], durations), `gpio` (each [`Pin`] a
//! BCM number, the pins distinct), `display` ([`Rotation`], the blanking
//! [`Night`](crate::core::blanking::Night), the window), `receipt` (patterns and storage
//! ready), `scanner` ([`Baud`], [`FrameLimit`], the framing), `storage`. Paths are resolved
//! against the state directory there too. Code after it never checks a setting again; each
//! adapter takes its own section.

pub mod display;
pub mod gpio;
mod raw;
pub mod receipt;
pub mod scanner;
pub mod storage;
pub mod upload;

use std::path::{Path, PathBuf};

use crate::core::problem::Problem;
pub use display::{DisplayConfig, KioskConfig, Rotation};
pub use gpio::{GpioConfig, GpioPins, Pin};
pub use receipt::ReceiptConfig;
pub use scanner::{Baud, FrameLimit, ScannerConfig};
pub use storage::StorageConfig;
pub use upload::{ServerUrl, TrackingUrl, UploadConfig};

/// Where the config is looked for when neither `--config` nor `EARSHOT_CONFIG` is given.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/earshot/earshot.toml";

/// The built-in demo surveys, also the examples in docs/survey-format.md.
pub const DEMO_SURVEYS: &[(&str, &str)] = &[
    ("shop", include_str!("../../../assets/surveys/shop.toml")),
    (
        "council",
        include_str!("../../../assets/surveys/council.toml"),
    ),
];

/// The configuration, read: every section typed and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub device: DeviceConfig,
    pub survey: SurveyConfig,
    pub kiosk: KioskConfig,
    pub storage: StorageConfig,
    pub upload: UploadConfig,
    pub scanner: ScannerConfig,
    pub receipt: ReceiptConfig,
    pub display: DisplayConfig,
    pub gpio: GpioConfig,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// This device's id, unique in the fleet, e.g. "library-lobby-1".
    pub id: String,
    /// The site it stands in, e.g. "central-library".
    pub site: String,
}

/// The survey the configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurveyConfig {
    /// A survey file (`[survey] path`).
    File(PathBuf),
    /// A built-in demo survey (`[survey] demo`), by name, with its text.
    Demo {
        name: &'static str,
        text: &'static str,
    },
}

impl SurveyConfig {
    fn read(raw: raw::SurveyConfig, origin: &Path) -> Result<SurveyConfig, ConfigError> {
        if let Some(path) = raw.path {
            return Ok(SurveyConfig::File(path));
        }
        DEMO_SURVEYS
            .iter()
            .find(|(name, _)| *name == raw.demo)
            .map(|&(name, text)| SurveyConfig::Demo { name, text })
            .ok_or_else(|| ConfigError::UnknownDemo {
                path: origin.display().to_string(),
                name: raw.demo,
                known: DEMO_SURVEYS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Where the configuration came from, for messages and `earshot status`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigSource {
    File(PathBuf),
    BuiltInDemo,
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigSource::File(p) => write!(f, "{}", p.display()),
            ConfigSource::BuiltInDemo => write!(f, "built-in demo configuration"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}. Fix: check that the file exists and that the earshot user may read it, or pass another file with --config")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}Fix: correct that line (see docs/configuration in the README), or remove the file to run the built-in demo")]
    Invalid { path: PathBuf, message: String },
    #[error("the configuration file {path} names an unknown demo survey \"{name}\". Fix: use one of: {known}, or set [survey] path to a survey file")]
    UnknownDemo {
        path: String,
        name: String,
        known: String,
    },
}

impl From<ConfigError> for Problem {
    fn from(e: ConfigError) -> Problem {
        Problem::new(e.to_string())
    }
}

impl Config {
    /// The configuration used when there is no file: a demo shop kiosk in a window.
    pub fn demo() -> Config {
        let raw = raw::Config {
            device: raw::DeviceConfig {
                id: "demo-kiosk".into(),
                site: "demo-site".into(),
            },
            survey: Default::default(),
            kiosk: Default::default(),
            storage: Default::default(),
            upload: Default::default(),
            scanner: Default::default(),
            receipt: Default::default(),
            display: Default::default(),
            gpio: Default::default(),
        };
        Config::read(raw, Path::new("built-in demo configuration"))
            .expect("the demo configuration is valid")
    }

    /// Reads the text of the file at `path` (named in every problem).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: raw::Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Config::read(raw, path)
    }

    /// The one way from the file's values to the typed configuration.
    fn read(raw: raw::Config, origin: &Path) -> Result<Config, ConfigError> {
        let invalid = |problem: Problem| ConfigError::Invalid {
            path: origin.to_path_buf(),
            message: format!("{problem}. "),
        };
        let upload = UploadConfig::read(raw.upload).map_err(invalid)?;
        let receipt = ReceiptConfig::read(raw.receipt).map_err(invalid)?;
        let gpio = GpioConfig::read(raw.gpio).map_err(invalid)?;
        let display = DisplayConfig::read(raw.display).map_err(invalid)?;
        let scanner = ScannerConfig::read(raw.scanner).map_err(invalid)?;
        let survey = SurveyConfig::read(raw.survey, origin)?;
        Ok(Config {
            device: DeviceConfig {
                id: raw.device.id,
                site: raw.device.site,
            },
            survey,
            kiosk: KioskConfig::read(raw.kiosk),
            storage: StorageConfig::read(raw.storage, receipt.memory()),
            upload,
            scanner,
            receipt,
            display,
            gpio,
        })
    }

    /// Finds and loads the configuration: an explicit path (from `--config` or
    /// `EARSHOT_CONFIG`) must work; otherwise the system file if present; otherwise the demo.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, ConfigSource), ConfigError> {
        Self::load_from(explicit, Path::new(SYSTEM_CONFIG_PATH))
    }

    pub fn load_from(
        explicit: Option<&Path>,
        system: &Path,
    ) -> Result<(Config, ConfigSource), ConfigError> {
        let path = match explicit {
            Some(p) => p,
            None if system.exists() => system,
            None => return Ok((Config::demo(), ConfigSource::BuiltInDemo)),
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok((
            Config::parse(&text, path)?,
            ConfigSource::File(path.to_path_buf()),
        ))
    }

    /// The tracking page the thanks screen links to, with `{ref}` where the reference goes:
    /// the provisioned collector's (`[upload] tracking_url`) when there is one, else the
    /// survey's own (`[thanks] tracking_url`), else none, and then the thanks screen shows
    /// neither a QR code nor a link.
    pub fn thanks_tracking_url<'a>(
        &'a self,
        survey: &'a crate::core::survey::Survey,
    ) -> Option<&'a str> {
        self.upload
            .tracking_url
            .as_ref()
            .map(TrackingUrl::as_str)
            .or(survey.thanks.tracking_url.as_deref())
    }
}

/// The directory for the kiosk's data: systemd's `$STATE_DIRECTORY`, else the device's
/// /var/lib/earshot if it exists, else the user's data directory (e.g.
/// ~/.local/share/earshot), else the current directory.
/// The state directory systemd gives the kiosk on a device (StateDirectory=earshot).
pub const DEVICE_STATE_DIR: &str = "/var/lib/earshot";

pub fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STATE_DIRECTORY").filter(|d| !d.is_empty()) {
        // systemd may pass several, separated by ':'; the first is ours.
        let first = dir
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        return PathBuf::from(first);
    }
    // On a device the package made this folder; commands run from a shell (`earshot
    // provision`, `earshot queue stats`) must find the kiosk's files there too.
    let device = Path::new(DEVICE_STATE_DIR);
    if device.is_dir() {
        return device.to_path_buf();
    }
    directories::ProjectDirs::from("", "", "earshot")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn demo_survey(name: &str) -> Option<&'static str> {
    DEMO_SURVEYS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Replaces the config file in one step, keeping its permissions (provisioning writes it).
pub fn write(path: &Path, text: &str) -> Result<(), Problem> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    super::replace_atomically(path, text.as_bytes(), None)
        .map_err(|e| Problem::new(format!("cannot {} {}: {}", e.step, path.display(), e.error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_means_the_demo() {
        let (config, source) =
            Config::load_from(None, Path::new("/nonexistent/earshot.toml")).unwrap();
        assert_eq!(source, ConfigSource::BuiltInDemo);
        let demo = Config::demo();
        assert_eq!(
            (&config.device, &config.survey, &config.storage),
            (&demo.device, &demo.survey, &demo.storage)
        );
    }

    #[test]
    fn the_system_file_is_used_when_present_and_an_explicit_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let system = dir.path().join("system.toml");
        std::fs::write(&system, "[device]\nid = \"sys\"\nsite = \"s\"\n").unwrap();
        let (config, source) = Config::load_from(None, &system).unwrap();
        assert_eq!(
            (config.device.id.as_str(), source),
            ("sys", ConfigSource::File(system.clone()))
        );

        let explicit = dir.path().join("mine.toml");
        std::fs::write(
            &explicit,
            "[device]\nid = \"mine\"\nsite = \"s\"\n[survey]\ndemo = \"council\"\n[kiosk]\nfullscreen = true\n",
        )
        .unwrap();
        let (config, _) = Config::load_from(Some(&explicit), &system).unwrap();
        assert_eq!(config.device.id, "mine");
        assert!(matches!(
            config.survey,
            SurveyConfig::Demo {
                name: "council",
                ..
            }
        ));
        assert!(config.kiosk.fullscreen);
        assert!(
            config.kiosk.hide_cursor,
            "a full-screen kiosk hides the pointer"
        );
        assert!(!Config::demo().kiosk.hide_cursor, "a desktop demo shows it");
    }

    #[test]
    fn a_missing_explicit_file_is_an_error_not_the_demo() {
        let err = Config::load_from(Some(Path::new("/nonexistent/x.toml")), Path::new("/nope"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/x.toml") && err.contains("Fix:"),
            "{err}"
        );
    }

    #[test]
    fn typos_are_reported_with_the_line() {
        let err = Config::parse(
            "[device]\nid = \"a\"\nsite = \"b\"\n\n[kiosk]\nfulscreen = true\n",
            Path::new("e.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("e.toml") && err.contains("line 6") && err.contains("fulscreen"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_demo_lists_the_known_ones() {
        let err = Config::parse(
            "[device]\nid = \"a\"\nsite = \"b\"\n[survey]\ndemo = \"zoo\"\n",
            Path::new("e.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("zoo") && err.contains("shop, council"),
            "{err}"
        );
    }

    #[test]
    fn a_problem_in_a_section_names_the_file_and_the_fix() {
        for (section, problem) in [
            (
                "[upload]\nserver = \"http://example.org\"\n",
                "[upload] server: server URL",
            ),
            (
                "[upload]\nheartbeat_s = 1\n",
                "[upload] heartbeat_s = 1 is out of range; use 5 to 86400. Fix:",
            ),
            (
                "[receipt]\nstore = \"plain\"\n",
                "[receipt] store = \"plain\"",
            ),
            ("[gpio]\nwake_pin = 40\n", "[gpio] wake_pin = 40"),
            ("[display]\nrotation = 45\n", "[display] rotation = 45"),
            (
                "[display.blank]\nfrom = \"late\"\nuntil = \"07:00\"\n",
                "[display.blank] from = \"late\"",
            ),
            (
                "[scanner]\nport = \"auto\"\n",
                "[scanner] port = \"auto\" needs usb_id",
            ),
        ] {
            let err = Config::parse(
                &format!("[device]\nid = \"a\"\nsite = \"b\"\n{section}"),
                Path::new("e.toml"),
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.starts_with("the configuration file e.toml is not valid: ")
                    && err.contains(problem)
                    && err.ends_with("or remove the file to run the built-in demo"),
                "{err}"
            );
        }
    }

    #[test]
    fn paths_left_out_are_in_the_state_directory() {
        let demo = Config::demo();
        assert_eq!(demo.storage.path, state_dir().join("responses.db"));
        assert_eq!(demo.upload.token_path, state_dir().join("device-token"));
        assert_eq!(demo.receipt.secret_file, state_dir().join("receipt-secret"));
        assert_eq!(demo.storage.receipt_memory, demo.receipt.memory());
    }
}

#[cfg(test)]
mod tracking_url_tests {
    use super::*;

    const DEVICE: &str = "[device]\nid = \"k\"\nsite = \"s\"\n";

    fn parse(upload: &str) -> Result<Config, String> {
        Config::parse(
            &format!("{DEVICE}[upload]\n{upload}"),
            Path::new("/etc/earshot/earshot.toml"),
        )
        .map_err(|e| e.to_string())
    }

    fn shop(tracking_url: Option<&str>) -> crate::core::survey::Survey {
        let mut survey =
            crate::core::survey::parse(demo_survey("shop").unwrap(), "shop.toml").unwrap();
        survey.thanks.tracking_url = tracking_url.map(str::to_string);
        survey
    }

    #[test]
    fn the_collectors_page_wins_over_the_surveys_and_without_either_there_is_none() {
        let provisioned =
            parse("tracking_url = \"https://feedback.example.org/t/{ref}\"\n").unwrap();
        assert_eq!(
            provisioned
                .upload
                .tracking_url
                .as_ref()
                .map(TrackingUrl::as_str),
            Some("https://feedback.example.org/t/{ref}")
        );
        let standalone = parse("").unwrap();
        assert_eq!(standalone.upload.tracking_url, None);
        let own = shop(Some("https://shop.example.com/r/{ref}"));
        let none = shop(None);
        assert_eq!(
            provisioned.thanks_tracking_url(&own),
            Some("https://feedback.example.org/t/{ref}")
        );
        assert_eq!(
            provisioned.thanks_tracking_url(&none),
            Some("https://feedback.example.org/t/{ref}")
        );
        assert_eq!(
            standalone.thanks_tracking_url(&own),
            Some("https://shop.example.com/r/{ref}")
        );
        assert_eq!(standalone.thanks_tracking_url(&none), None);
        assert_eq!(Config::demo().thanks_tracking_url(&none), None);
    }

    #[test]
    fn a_bad_tracking_url_in_the_file_names_the_file_the_line_and_the_fix() {
        let prefix = "https://feedback.example.org/t/{ref}?q=";
        let long = format!("{prefix}{}", "a".repeat(501 - prefix.len()));
        for (value, problem) in [
            (
                "http://feedback.example.org/t/{ref}",
                "does not start with https://",
            ),
            ("https://", "does not start with https://"),
            ("https://feedback.example.org/t/", "has no {ref}"),
            ("https://feedback.example.org/t/ {ref}", "contains a space"),
            (
                "https://feedback.example.org/t/\\u001b[2J{ref}",
                "contains the character U+001B",
            ),
            (
                "https://feedback.example.org/t/\\u202e{ref}",
                "contains the character U+202E",
            ),
            (long.as_str(), "is 501 characters long; at most 500"),
        ] {
            let e = parse(&format!("tracking_url = \"{value}\"\n")).unwrap_err();
            assert!(
                e.contains("/etc/earshot/earshot.toml")
                    && e.contains("line 5")
                    && e.contains("[upload] tracking_url")
                    && e.contains(problem)
                    && e.contains("earshot provision"),
                "{value}: {e}"
            );
            assert!(!e.contains('\u{1b}') && !e.contains('\u{202e}'), "{e:?}");
        }
        // 500 characters are allowed.
        let most = format!("{prefix}{}", "a".repeat(500 - prefix.len()));
        assert_eq!(most.chars().count(), 500);
        assert!(parse(&format!("tracking_url = \"{most}\"\n")).is_ok());
    }
}
