//! The serial scanner: a reader thread that owns the port, reassembles frames, and reopens
//! the port with backoff when the scanner is unplugged, busy or not allowed. Its state is an
//! alarm for staff; the UI thread never waits on it.

use std::io::Read;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::frame::{Frame, FrameAssembler, FrameCounts, Framing};
use crate::core::problem::Problem;
use crate::seams::alarms::{AlarmKind, Alarms};

#[derive(Debug, Clone, PartialEq)]
pub struct SerialSettings {
    /// A device path, a /dev/serial/by-id/ name, or "auto".
    pub port: String,
    /// For "auto": the scanner's USB vendor and product id.
    pub usb_id: Option<(u16, u16)>,
    pub baud: u32,
    pub framing: Framing,
    pub max_frame_bytes: usize,
}

/// Where the scanner stands, for the status sent to the collector and for staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScannerState {
    Connected,
    Missing,
    PermissionDenied,
    Busy,
    Failed,
}

impl ScannerState {
    pub fn code(self) -> &'static str {
        match self {
            ScannerState::Connected => "connected",
            ScannerState::Missing => "missing",
            ScannerState::PermissionDenied => "permission_denied",
            ScannerState::Busy => "busy",
            ScannerState::Failed => "failed",
        }
    }
}

/// Reads "0c2e:0b61" (hex vendor:product).
pub fn parse_usb_id(text: &str) -> Result<(u16, u16), Problem> {
    let (v, p) = text
        .split_once(':')
        .ok_or_else(|| format!("usb_id {text:?} must be vendor:product in hex, e.g. 0c2e:0b61"))?;
    let hex = |s: &str| {
        u16::from_str_radix(s.trim(), 16)
            .map_err(|_| format!("usb_id {text:?} must be vendor:product in hex, e.g. 0c2e:0b61"))
    };
    Ok((hex(v)?, hex(p)?))
}

/// The port to open now: the configured path, or for "auto" the first USB serial port with
/// the configured ids.
fn resolve(settings: &SerialSettings) -> Result<String, (ScannerState, String)> {
    if settings.port != "auto" {
        return Ok(settings.port.clone());
    }
    let Some((vid, pid)) = settings.usb_id else {
        return Err((
            ScannerState::Failed,
            "port = \"auto\" needs usb_id = \"vvvv:pppp\"".into(),
        ));
    };
    let ports = serialport::available_ports().map_err(|e| {
        (
            ScannerState::Failed,
            format!("cannot list serial ports: {e}"),
        )
    })?;
    ports
        .into_iter()
        .find(|p| matches!(&p.port_type, serialport::SerialPortType::UsbPort(u) if u.vid == vid && u.pid == pid))
        .map(|p| p.port_name)
        .ok_or_else(|| (ScannerState::Missing, format!("no USB scanner {vid:04x}:{pid:04x} is plugged in")))
}

fn classify(e: &serialport::Error) -> ScannerState {
    use serialport::ErrorKind;
    let text = e.to_string().to_ascii_lowercase();
    match e.kind() {
        ErrorKind::NoDevice => ScannerState::Missing,
        ErrorKind::Io(std::io::ErrorKind::NotFound) => ScannerState::Missing,
        ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => ScannerState::PermissionDenied,
        _ if text.contains("busy") => ScannerState::Busy,
        _ if text.contains("permission") => ScannerState::PermissionDenied,
        _ if text.contains("no such file") || text.contains("not found") => ScannerState::Missing,
        _ => ScannerState::Failed,
    }
}

/// The fix for each state, in plain words.
fn fix(state: ScannerState, port: &str) -> String {
    match state {
        ScannerState::Connected => String::new(),
        ScannerState::Missing => format!("plug the receipt scanner in (expected at {port}); the kiosk finds it again by itself"),
        ScannerState::PermissionDenied => format!(
            "add the service user to the dialout group (`sudo usermod -aG dialout earshot`) and restart the kiosk; it may not open {port}"
        ),
        ScannerState::Busy => format!("another program holds {port} (often ModemManager: install the udev rule that keeps it off scanners)"),
        ScannerState::Failed => format!("check the [scanner] settings and the cable; the kiosk keeps retrying {port}"),
    }
}

/// Shared view of the reader for status and staff.
#[derive(Debug, Clone)]
pub struct ScannerStatus {
    pub state: ScannerState,
    pub counts: FrameCounts,
}

pub type StatusCell = Arc<Mutex<ScannerStatus>>;

/// Runs the reader on the current thread until `stop` returns true: opens the port, calls
/// `on_frame` for every frame (good or garbage), reopens with backoff after any failure.
pub fn read_forever(
    settings: &SerialSettings,
    alarms: &Alarms,
    status: &StatusCell,
    mut on_frame: impl FnMut(Frame),
    stop: impl Fn() -> bool,
) {
    let mut assembler = FrameAssembler::new(settings.framing, settings.max_frame_bytes);
    let mut delay = Duration::from_millis(200);
    let mut last_state = None;
    let timeout = match settings.framing {
        Framing::Silence(gap) => gap,
        _ => Duration::from_millis(200),
    };
    let mut set_state = |state: ScannerState, detail: &str, port: &str, counts: FrameCounts| {
        *status.lock().unwrap_or_else(PoisonError::into_inner) = ScannerStatus { state, counts };
        if last_state == Some(state) {
            return;
        }
        last_state = Some(state);
        if state == ScannerState::Connected {
            tracing::info!(%port, "receipt scanner connected");
            alarms.clear(AlarmKind::ScannerUnavailable);
        } else {
            tracing::warn!(%port, state = state.code(), %detail, "receipt scanner unavailable");
            alarms.raise(
                AlarmKind::ScannerUnavailable,
                format!(
                    "receipt scanner {}: {detail}",
                    state.code().replace('_', " ")
                ),
                fix(state, port),
            );
        }
    };
    while !stop() {
        let port_name = match resolve(settings) {
            Ok(p) => p,
            Err((state, detail)) => {
                set_state(state, &detail, &settings.port, assembler.counts());
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let opened = serialport::new(&port_name, settings.baud)
            .timeout(timeout)
            .open_native();
        let mut port = match opened {
            Ok(p) => p,
            Err(e) => {
                set_state(classify(&e), &e.to_string(), &port_name, assembler.counts());
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        set_state(ScannerState::Connected, "", &port_name, assembler.counts());
        delay = Duration::from_millis(200);
        let mut buf = [0u8; 256];
        loop {
            if stop() {
                return;
            }
            match port.read(&mut buf) {
                Ok(0) => {
                    // The other end hung up (unplugged).
                    set_state(
                        ScannerState::Missing,
                        "the scanner went away",
                        &port_name,
                        assembler.counts(),
                    );
                    break;
                }
                Ok(n) => {
                    for frame in assembler.push(&buf[..n]) {
                        on_frame(frame);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    if let Some(frame) = assembler.pause() {
                        on_frame(frame);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    set_state(
                        ScannerState::Missing,
                        &format!("the scanner went away: {e}"),
                        &port_name,
                        assembler.counts(),
                    );
                    break;
                }
            }
            status.lock().unwrap_or_else(PoisonError::into_inner).counts = assembler.counts();
        }
        assembler.reset();
        std::thread::sleep(delay);
    }
}

/// The kiosk's scanner: reads on its own thread and hands each code to the kiosk.
pub struct SerialScanner {
    pub settings: SerialSettings,
    pub alarms: Alarms,
    pub status: StatusCell,
}

impl SerialScanner {
    pub fn new(settings: SerialSettings, alarms: Alarms) -> SerialScanner {
        SerialScanner {
            settings,
            alarms,
            status: Arc::new(Mutex::new(ScannerStatus {
                state: ScannerState::Missing,
                counts: FrameCounts::default(),
            })),
        }
    }
}

impl crate::seams::scan::ScanSource for SerialScanner {
    fn start(self: Box<Self>, on_scan: crate::seams::scan::ScanHandler) {
        let spawned = std::thread::Builder::new()
            .name("scanner".into())
            .spawn(move || {
                read_forever(
                    &self.settings,
                    &self.alarms,
                    &self.status,
                    |frame| {
                        if let Some(text) = frame.text {
                            on_scan(text);
                        }
                    },
                    || false,
                )
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the scanner thread; scans are off");
        }
    }

    fn describe(&self) -> String {
        self.settings.port.clone()
    }
}
