//! The configuration file as written: serde's reading of earshot.toml into raw values
//! (strings, numbers, paths), with the defaults for what is left out. Private to
//! `files::config`, whose one constructor turns it into the typed [`super::Config`].

use std::path::PathBuf;

use serde::Deserialize;

use super::TrackingUrl;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Config {
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeviceConfig {
    /// This device's id, unique in the fleet, e.g. "library-lobby-1".
    pub id: String,
    /// The site it stands in, e.g. "central-library".
    pub site: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SurveyConfig {
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KioskConfig {
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

fn default_window_size() -> [u32; 2] {
    [800, 480]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StorageConfig {
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UploadConfig {
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
    /// survey's own `[thanks] tracking_url`. Read (and so checked) here, so that a bad one
    /// names its line.
    pub tracking_url: Option<TrackingUrl>,
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

/// The receipt scanner on a serial port. Without `port`, there is none.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScannerConfig {
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

/// What counts as a receipt, and what is kept of one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReceiptConfig {
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReceiptPatternConfig {
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

/// The screen of the device.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DisplayConfig {
    /// Turns the picture clockwise: 0, 90, 180 or 270 (on the device; a desktop window is
    /// not turned). Touch is turned by the udev rule `earshot touch-rotation` writes.
    #[serde(default)]
    pub rotation: u16,
    /// Darken the screen when nobody has used it for a while at night.
    pub blank: Option<BlankConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BlankConfig {
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GpioConfig {
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
