//! The device's configuration file (earshot.toml): who the device is, which survey it shows,
//! where responses are kept and how the screen behaves. Without a file the kiosk runs a built-in
//! demo configuration so that it can be tried straight away.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the config is looked for when neither `--config` nor `EARSHOT_CONFIG` is given.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/earshot/earshot.toml";

/// The built-in demo surveys, also the examples in docs/survey-format.md.
pub const DEMO_SURVEYS: &[(&str, &str)] = &[
    ("shop", include_str!("../../assets/surveys/shop.toml")),
    ("council", include_str!("../../assets/surveys/council.toml")),
];

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub device: DeviceConfig,
    #[serde(default)]
    pub survey: SurveyConfig,
    #[serde(default)]
    pub kiosk: KioskConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub upload: UploadConfig,
    #[serde(default)]
    pub scanner: ScannerConfig,
    #[serde(default)]
    pub receipt: ReceiptConfig,
    #[serde(default)]
    pub display: DisplayConfig,
    #[serde(default)]
    pub gpio: GpioConfig,
}

/// The screen of the device.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DisplayConfig {
    /// Turns the picture clockwise: 0, 90, 180 or 270 (on the device; a desktop window is
    /// not turned). Touch is turned by the udev rule `earshot touch-rotation` writes.
    #[serde(default)]
    pub rotation: u16,
    /// Darken the screen when nobody has used it for a while at night.
    pub blank: Option<BlankConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BlankConfig {
    /// Local time the night starts and ends, "HH:MM"; `from` after `until` spans midnight.
    pub from: String,
    pub until: String,
    /// Idle time on the start screen before the screen goes dark.
    #[serde(default = "default_blank_after_idle_s")]
    pub after_idle_s: u32,
}

fn default_blank_after_idle_s() -> u32 {
    300
}

/// GPIO pins (BCM numbers) on a Raspberry Pi. Without any, there is no GPIO.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GpioConfig {
    /// Not having the pins (not a Pi, none configured) is an alarm rather than a note.
    #[serde(default)]
    pub required: bool,
    /// Status lights: the one for the current state is lit.
    pub status_ok_pin: Option<u8>,
    pub status_backlog_pin: Option<u8>,
    pub status_alarm_pin: Option<u8>,
    /// A light or buzzer switched on when a visitor presses "I need help now".
    pub staff_call_pin: Option<u8>,
    #[serde(default = "default_staff_call_s")]
    pub staff_call_s: u32,
    /// A button or PIR motion sensor that wakes a darkened screen.
    pub wake_pin: Option<u8>,
    /// A button to ground (true: pulled up, fires on a falling edge) or a sensor driving
    /// the line high (false).
    #[serde(default)]
    pub wake_active_low: bool,
    #[serde(default = "default_wake_debounce_ms")]
    pub wake_debounce_ms: u32,
}

fn default_staff_call_s() -> u32 {
    60
}
fn default_wake_debounce_ms() -> u32 {
    50
}

impl Default for GpioConfig {
    fn default() -> Self {
        GpioConfig {
            required: false,
            status_ok_pin: None,
            status_backlog_pin: None,
            status_alarm_pin: None,
            staff_call_pin: None,
            staff_call_s: default_staff_call_s(),
            wake_pin: None,
            wake_active_low: false,
            wake_debounce_ms: default_wake_debounce_ms(),
        }
    }
}

impl GpioConfig {
    fn pins(&self) -> [(&'static str, Option<u8>); 5] {
        [
            ("status_ok_pin", self.status_ok_pin),
            ("status_backlog_pin", self.status_backlog_pin),
            ("status_alarm_pin", self.status_alarm_pin),
            ("staff_call_pin", self.staff_call_pin),
            ("wake_pin", self.wake_pin),
        ]
    }

    pub fn any_pin(&self) -> bool {
        self.pins().iter().any(|(_, p)| p.is_some())
    }

    fn check(&self) -> Result<(), String> {
        let mut seen: Vec<(&str, u8)> = Vec::new();
        for (name, pin) in self.pins() {
            let Some(pin) = pin else { continue };
            if pin > 27 {
                return Err(format!("[gpio] {name} = {pin}: use a BCM GPIO number from 0 to 27 (not the physical pin number)"));
            }
            if let Some((other, _)) = seen.iter().find(|(_, p)| *p == pin) {
                return Err(format!(
                    "[gpio] {name} and {other} are both GPIO {pin}: each needs a pin of its own"
                ));
            }
            seen.push((name, pin));
        }
        if !(1..=3600).contains(&self.staff_call_s) {
            return Err(format!(
                "[gpio] staff_call_s = {}: use 1 to 3600 seconds",
                self.staff_call_s
            ));
        }
        if self.wake_debounce_ms > 10_000 {
            return Err(format!(
                "[gpio] wake_debounce_ms = {}: use 0 to 10000",
                self.wake_debounce_ms
            ));
        }
        Ok(())
    }
}

impl DisplayConfig {
    fn check(&self) -> Result<(), String> {
        if ![0, 90, 180, 270].contains(&self.rotation) {
            return Err(format!(
                "[display] rotation = {}: use 0, 90, 180 or 270 (degrees clockwise)",
                self.rotation
            ));
        }
        if let Some(blank) = &self.blank {
            blank.night()?;
        }
        Ok(())
    }
}

impl BlankConfig {
    /// The night as minutes of the local day, and the idle time.
    pub fn night(&self) -> Result<crate::core::blanking::Night, String> {
        let minute = |name: &str, text: &str| {
            crate::core::blanking::parse_minute(text).ok_or_else(|| {
                format!("[display.blank] {name} = {text:?}: write the local time as HH:MM, e.g. \"22:00\"")
            })
        };
        Ok(crate::core::blanking::Night {
            from_minute: minute("from", &self.from)?,
            until_minute: minute("until", &self.until)?,
            after_idle: std::time::Duration::from_secs(u64::from(self.after_idle_s)),
        })
    }
}

/// What counts as a receipt, and what is kept of one.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReceiptConfig {
    /// "hmac" (default): only a keyed hash of the transaction is kept and uploaded; "raw":
    /// the store, till, transaction and date as read.
    #[serde(default = "default_receipt_store")]
    pub store: String,
    /// Receipts older than this many days are politely refused.
    #[serde(default = "default_receipt_max_age_days")]
    pub max_age_days: u32,
    /// Tried in order; without any, the shipped examples (docs/receipts.md).
    #[serde(default)]
    pub patterns: Vec<ReceiptPatternConfig>,
    /// The file holding the deployment's receipt secret; default `receipt-secret` in the
    /// state directory. `earshot provision` writes it; without one the kiosk makes its own.
    pub secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReceiptPatternConfig {
    pub name: String,
    /// A regular expression with named groups: txn (required), store, till, date.
    pub regex: String,
    /// "luhn" or "gs1": the last digit of `check_group` is a check digit.
    pub check: Option<String>,
    /// The group the check digit covers; "whole" for the whole code.
    #[serde(default = "default_check_group")]
    pub check_group: String,
    /// How the date group is written: "yyyymmdd", "yymmdd" or "yyyy-mm-dd".
    #[serde(default = "default_date_format")]
    pub date_format: String,
}

impl Default for ReceiptConfig {
    fn default() -> Self {
        ReceiptConfig {
            store: default_receipt_store(),
            max_age_days: default_receipt_max_age_days(),
            patterns: Vec::new(),
            secret_file: None,
        }
    }
}

fn default_receipt_store() -> String {
    "hmac".into()
}
fn default_receipt_max_age_days() -> u32 {
    30
}
fn default_check_group() -> String {
    "whole".into()
}
fn default_date_format() -> String {
    "yyyymmdd".into()
}

impl ReceiptConfig {
    pub fn storage(&self) -> Result<crate::core::receipt::ReceiptStorage, String> {
        match self.store.as_str() {
            "hmac" => Ok(crate::core::receipt::ReceiptStorage::Hmac),
            "raw" => Ok(crate::core::receipt::ReceiptStorage::Raw),
            other => Err(format!(
                "[receipt] store = {other:?}: use \"hmac\" (keeps only a keyed hash) or \"raw\""
            )),
        }
    }

    /// The patterns to try, checked: every problem names the pattern and the fix.
    pub fn patterns(&self) -> Result<Vec<crate::core::receipt::ReceiptPattern>, String> {
        use crate::core::receipt::{CheckRule, DateFormat, ReceiptPattern};
        if self.patterns.is_empty() {
            return Ok(crate::core::receipt::example_patterns());
        }
        self.patterns
            .iter()
            .map(|p| {
                let check = match p.check.as_deref() {
                    None => None,
                    Some("luhn") | Some("mod10") => Some((CheckRule::Luhn, p.check_group.as_str())),
                    Some("gs1") => Some((CheckRule::Gs1, p.check_group.as_str())),
                    Some(other) => {
                        return Err(format!("[[receipt.patterns]] {:?}: check = {other:?} is not \"luhn\" or \"gs1\"", p.name))
                    }
                };
                let date_format = match p.date_format.as_str() {
                    "yyyymmdd" => DateFormat::YearMonthDay,
                    "yymmdd" => DateFormat::ShortYearMonthDay,
                    "yyyy-mm-dd" => DateFormat::Iso,
                    other => {
                        return Err(format!(
                            "[[receipt.patterns]] {:?}: date_format = {other:?} is not yyyymmdd, yymmdd or yyyy-mm-dd",
                            p.name
                        ))
                    }
                };
                ReceiptPattern::new(&p.name, &p.regex, check, date_format)
                    .map_err(|e| format!("[[receipt.patterns]] {e}"))
            })
            .collect()
    }
}

/// The receipt scanner on a serial port. Without `port`, there is none.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    /// A device path (/dev/ttyACM0), a stable name (/dev/serial/by-id/…), or "auto": the
    /// first USB serial port with `usb_id`.
    pub port: Option<String>,
    /// For "auto": the scanner's USB vendor:product id in hex, e.g. "0c2e:0b61".
    pub usb_id: Option<String>,
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// "cr", "lf", "crlf" or "silence:50ms" (a pause ends the code).
    #[serde(default = "default_framing")]
    pub framing: String,
    /// Longer input is discarded up to the next terminator.
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: usize,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            port: None,
            usb_id: None,
            baud: default_baud(),
            framing: default_framing(),
            max_frame_bytes: default_max_frame_bytes(),
        }
    }
}

fn default_baud() -> u32 {
    9600
}
fn default_framing() -> String {
    "crlf".into()
}
fn default_max_frame_bytes() -> usize {
    512
}

impl ScannerConfig {
    /// The reader's settings, `None` when no scanner is configured; `port` overrides the
    /// configured port (for `earshot scanner listen --port`).
    pub fn settings(
        &self,
        port: Option<&str>,
    ) -> Result<Option<crate::scanner::serial::SerialSettings>, String> {
        let Some(port) = port.map(str::to_string).or_else(|| self.port.clone()) else {
            return Ok(None);
        };
        let usb_id = self
            .usb_id
            .as_deref()
            .map(crate::scanner::serial::parse_usb_id)
            .transpose()?;
        if port == "auto" && usb_id.is_none() {
            return Err(
                "[scanner] port = \"auto\" needs usb_id = \"vvvv:pppp\" (see `lsusb`)".into(),
            );
        }
        if !(300..=4_000_000).contains(&self.baud) {
            return Err(format!(
                "[scanner] baud = {} is not a serial speed; most scanners use 9600 or 115200",
                self.baud
            ));
        }
        if !(8..=65_536).contains(&self.max_frame_bytes) {
            return Err(format!(
                "[scanner] max_frame_bytes = {} is out of range; use 8 to 65536",
                self.max_frame_bytes
            ));
        }
        Ok(Some(crate::scanner::serial::SerialSettings {
            port,
            usb_id,
            baud: self.baud,
            framing: crate::scanner::frame::Framing::parse(&self.framing)
                .map_err(|e| format!("[scanner] {e}"))?,
            max_frame_bytes: self.max_frame_bytes,
        }))
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// This device's id, unique in the fleet, e.g. "library-lobby-1".
    pub id: String,
    /// The site it stands in, e.g. "central-library".
    pub site: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SurveyConfig {
    /// A survey file; when absent, the built-in demo named by `demo`.
    pub path: Option<PathBuf>,
    /// "shop" or "council".
    #[serde(default = "default_demo")]
    pub demo: String,
}

impl Default for SurveyConfig {
    fn default() -> Self {
        SurveyConfig {
            path: None,
            demo: default_demo(),
        }
    }
}

fn default_demo() -> String {
    "shop".into()
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KioskConfig {
    /// Fill the screen with no window frame (always on the device; off for desktop demos).
    #[serde(default)]
    pub fullscreen: bool,
    /// Hide the mouse pointer, which a touchscreen never needs. Default: hidden when full
    /// screen (a kiosk), shown in a window (a desktop demo).
    #[serde(default)]
    pub hide_cursor: Option<bool>,
    /// Window size when not full screen, e.g. [800, 480].
    #[serde(default = "default_window_size")]
    pub window_size: [u32; 2],
}

impl Default for KioskConfig {
    fn default() -> Self {
        KioskConfig {
            fullscreen: false,
            hide_cursor: None,
            window_size: default_window_size(),
        }
    }
}

impl KioskConfig {
    pub fn cursor_hidden(&self) -> bool {
        self.hide_cursor.unwrap_or(self.fullscreen)
    }
}

fn default_window_size() -> [u32; 2] {
    [800, 480]
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// The response database. Default: `responses.db` in the state directory
    /// (`$STATE_DIRECTORY` under systemd, else the user's data directory).
    pub path: Option<PathBuf>,
    /// Largest the database may grow, in megabytes; staff are alarmed as it nears this.
    #[serde(default = "default_max_db_mb")]
    pub max_db_mb: u64,
    /// Acknowledged (uploaded) responses are purged after this many days.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: None,
            max_db_mb: default_max_db_mb(),
            retention_days: default_retention_days(),
        }
    }
}

fn default_max_db_mb() -> u64 {
    1024
}

fn default_retention_days() -> u32 {
    30
}

/// Where responses are sent. Written by `earshot provision`; without a server the kiosk keeps
/// everything in its queue (for `earshot queue export`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UploadConfig {
    /// The collector, e.g. "https://feedback.example.org". Plain http only to loopback.
    pub server: Option<String>,
    /// Extra CA certificates (PEM) to trust, for a collector with a private CA.
    pub ca_file: Option<PathBuf>,
    /// The device token file. Default: `device-token` in the state directory. Never put
    /// the token itself in this file.
    pub token_path: Option<PathBuf>,
    /// Most responses in one upload.
    #[serde(default = "default_batch_max_responses")]
    pub batch_max_responses: usize,
    /// Most bytes of responses (uncompressed) in one upload, in KiB.
    #[serde(default = "default_batch_max_kb")]
    pub batch_max_kb: u64,
    /// Seconds to wait for a connection to the collector.
    #[serde(default = "default_connect_timeout_s")]
    pub connect_timeout_s: u64,
    /// Seconds one upload may take in all.
    #[serde(default = "default_request_timeout_s")]
    pub request_timeout_s: u64,
    /// Seconds between uploads when nothing prompts one, and between heartbeats when there
    /// is nothing to send.
    #[serde(default = "default_heartbeat_s")]
    pub heartbeat_s: u64,
    /// Seconds to wait after a new response before uploading, so that a busy hour's
    /// responses go in a few batches instead of one request each.
    #[serde(default = "default_debounce_s")]
    pub debounce_s: u64,
    /// The collector's tracking page for visitors, e.g.
    /// "https://feedback.example.org/t/{ref}". Written by `earshot provision` from the
    /// collector's enrolment reply; the thanks screen links to it in preference to the
    /// survey's own `[thanks] tracking_url`.
    pub tracking_url: Option<TrackingUrl>,
}

/// The address of a page where a visitor follows up their response: https, with `{ref}`
/// where the reference code goes, no spaces or control characters, at most
/// [`TrackingUrl::MAX_CHARS`] characters. Checked when it is read, so a value of this type
/// is always one the thanks screen can show.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TrackingUrl(String);

impl TrackingUrl {
    /// Longer addresses make a QR code too dense to scan from a small screen.
    pub const MAX_CHARS: usize = 500;

    /// Checks `text`; the error says what is wrong, showing the text safely for a terminal.
    pub fn parse(text: &str) -> Result<TrackingUrl, String> {
        let shown = || earshot_protocol::text::visible(text);
        let chars = text.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(format!(
                "the tracking address is {chars} characters long; at most {} are allowed",
                Self::MAX_CHARS
            ));
        }
        if let Some(c) = text
            .chars()
            .find(|&c| c.is_whitespace() || earshot_protocol::text::is_invisible_or_active(c))
        {
            return Err(format!(
                "the tracking address \"{}\" contains {}, which an address cannot",
                shown(),
                earshot_protocol::text::describe_char(c)
            ));
        }
        if !text.starts_with("https://") || text.len() == "https://".len() {
            return Err(format!(
                "the tracking address \"{}\" does not start with https:// (visitors' phones open it from a QR code)",
                shown()
            ));
        }
        if !text.contains("{ref}") {
            return Err(format!(
                "the tracking address \"{}\" has no {{ref}} where the reference code goes",
                shown()
            ));
        }
        Ok(TrackingUrl(text.to_string()))
    }

    /// The template, with `{ref}` in it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TrackingUrl {
    type Error = String;

    fn try_from(text: String) -> Result<TrackingUrl, String> {
        TrackingUrl::parse(&text).map_err(|problem| {
            format!(
                "[upload] tracking_url: {problem}. `earshot provision` writes the collector's \
                 own address here; provision the device again, or delete the line to use the \
                 survey's [thanks] tracking_url"
            )
        })
    }
}

impl Default for UploadConfig {
    fn default() -> Self {
        UploadConfig {
            server: None,
            ca_file: None,
            token_path: None,
            batch_max_responses: default_batch_max_responses(),
            batch_max_kb: default_batch_max_kb(),
            connect_timeout_s: default_connect_timeout_s(),
            request_timeout_s: default_request_timeout_s(),
            heartbeat_s: default_heartbeat_s(),
            debounce_s: default_debounce_s(),
            tracking_url: None,
        }
    }
}

fn default_batch_max_responses() -> usize {
    500
}
fn default_batch_max_kb() -> u64 {
    1024
}
fn default_connect_timeout_s() -> u64 {
    10
}
fn default_request_timeout_s() -> u64 {
    60
}
fn default_heartbeat_s() -> u64 {
    300
}
fn default_debounce_s() -> u64 {
    5
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

impl Config {
    /// The configuration used when there is no file: a demo shop kiosk in a window.
    pub fn demo() -> Config {
        Config {
            device: DeviceConfig {
                id: "demo-kiosk".into(),
                site: "demo-site".into(),
            },
            survey: SurveyConfig::default(),
            kiosk: KioskConfig::default(),
            storage: StorageConfig::default(),
            upload: UploadConfig::default(),
            scanner: ScannerConfig::default(),
            receipt: ReceiptConfig::default(),
            display: DisplayConfig::default(),
            gpio: GpioConfig::default(),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        config.check(&path.display().to_string())?;
        Ok(config)
    }

    fn check(&self, origin: &str) -> Result<(), ConfigError> {
        if let Some(server) = &self.upload.server {
            if let Err(message) = crate::upload::client::check_server_url(server) {
                return Err(ConfigError::Invalid {
                    path: PathBuf::from(origin),
                    message: format!("[upload] server: {message}. "),
                });
            }
        }
        let u = &self.upload;
        for (name, value, range) in [
            (
                "batch_max_responses",
                u.batch_max_responses as u64,
                1..=earshot_protocol::MAX_BATCH_RESPONSES as u64,
            ),
            ("batch_max_kb", u.batch_max_kb, 1..=64 * 1024),
            ("connect_timeout_s", u.connect_timeout_s, 1..=600),
            ("request_timeout_s", u.request_timeout_s, 1..=3600),
            ("heartbeat_s", u.heartbeat_s, 5..=24 * 3600),
            ("debounce_s", u.debounce_s, 0..=3600),
        ] {
            if !range.contains(&value) {
                return Err(ConfigError::Invalid {
                    path: PathBuf::from(origin),
                    message: format!(
                        "[upload] {name} = {value} is out of range; use {} to {}. ",
                        range.start(),
                        range.end()
                    ),
                });
            }
        }
        if let Err(message) = self
            .receipt
            .storage()
            .and_then(|_| self.receipt.patterns().map(|_| ()))
        {
            return Err(ConfigError::Invalid {
                path: PathBuf::from(origin),
                message: format!("{message}. "),
            });
        }
        if let Err(message) = self.gpio.check().and_then(|()| self.display.check()) {
            return Err(ConfigError::Invalid {
                path: PathBuf::from(origin),
                message: format!("{message}. "),
            });
        }
        if let Err(message) = self.scanner.settings(None) {
            return Err(ConfigError::Invalid {
                path: PathBuf::from(origin),
                message: format!("{message}. "),
            });
        }
        if self.survey.path.is_none() && demo_survey(&self.survey.demo).is_none() {
            return Err(ConfigError::UnknownDemo {
                path: origin.to_string(),
                name: self.survey.demo.clone(),
                known: DEMO_SURVEYS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(())
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

    /// The response database, resolved against the state directory when not configured.
    pub fn storage_path(&self) -> PathBuf {
        if let Some(p) = &self.storage.path {
            return p.clone();
        }
        state_dir().join("responses.db")
    }
}

impl Config {
    /// Where the receipt secret is kept.
    pub fn receipt_secret_path(&self) -> PathBuf {
        self.receipt
            .secret_file
            .clone()
            .unwrap_or_else(|| state_dir().join("receipt-secret"))
    }

    /// How scans are understood, under the given secret.
    pub fn receipt_rules(
        &self,
        secret: Vec<u8>,
    ) -> Result<crate::core::receipt::ReceiptRules, String> {
        Ok(crate::core::receipt::ReceiptRules {
            patterns: self.receipt.patterns()?,
            max_age_days: i64::from(self.receipt.max_age_days),
            storage: self.receipt.storage()?,
            secret,
        })
    }

    /// How long a used receipt is remembered: its whole age window, counted from the day it
    /// was used (never earlier than its own date), plus a day for time zones.
    pub fn receipt_memory(&self) -> std::time::Duration {
        std::time::Duration::from_secs((u64::from(self.receipt.max_age_days) + 1) * 86_400)
    }

    /// Where the device token is kept.
    pub fn token_path(&self) -> PathBuf {
        self.upload
            .token_path
            .clone()
            .unwrap_or_else(|| state_dir().join("device-token"))
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
pub fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    super::replace_atomically(path, text.as_bytes(), None)
        .map_err(|e| format!("cannot {} {}: {}", e.step, path.display(), e.error))
}

#[cfg(test)]
mod receipt_config_tests {
    use super::*;

    fn parse(extra: &str) -> Result<Config, String> {
        Config::parse(
            &format!("[device]\nid = \"k\"\nsite = \"s\"\n{extra}"),
            Path::new("earshot.toml"),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn receipt_patterns_from_the_config_are_checked_and_used() {
        let c = parse("").unwrap();
        assert_eq!(
            c.receipt.storage(),
            Ok(crate::core::receipt::ReceiptStorage::Hmac)
        );
        assert_eq!(c.receipt.patterns().unwrap().len(), 3);
        let c = parse(
            "[receipt]\nstore = \"raw\"\nmax_age_days = 7\n[[receipt.patterns]]\nname = \"till\"\nregex = '^T(?P<txn>\\d{6})(?P<date>\\d{8})\\d$'\ncheck = \"luhn\"\n",
        )
        .unwrap();
        let patterns = c.receipt.patterns().unwrap();
        assert_eq!(patterns.len(), 1);
        assert_eq!(patterns[0].name, "till");
        let e = parse("[receipt]\n[[receipt.patterns]]\nname = \"bad\"\nregex = '^(?P<txn>\\d+'\n")
            .unwrap_err();
        assert!(e.contains("\"bad\"") && e.contains("not valid"), "{e}");
        let e = parse("[receipt]\nstore = \"plain\"\n").unwrap_err();
        assert!(e.contains("hmac"), "{e}");
        let e = parse("[receipt]\n[[receipt.patterns]]\nname = \"n\"\nregex = '^(?P<txn>\\d+)$'\ncheck = \"crc\"\n").unwrap_err();
        assert!(e.contains("luhn"), "{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_means_the_demo() {
        let (config, source) =
            Config::load_from(None, Path::new("/nonexistent/earshot.toml")).unwrap();
        assert_eq!(source, ConfigSource::BuiltInDemo);
        assert_eq!(config, Config::demo());
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
        assert_eq!(config.survey.demo, "council");
        assert!(config.kiosk.fullscreen);
        assert!(
            config.kiosk.cursor_hidden(),
            "a full-screen kiosk hides the pointer"
        );
        assert!(
            !Config::demo().kiosk.cursor_hidden(),
            "a desktop demo shows it"
        );
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
