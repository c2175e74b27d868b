//! `[scanner]`, read: the serial port the receipt scanner is on (or "auto" and its USB id),
//! its speed, how it ends a code and the longest code it may send. The scanner takes this
//! section alone.

use super::raw;
use crate::core::problem::Problem;
use crate::scanner::frame::Framing;
use crate::scanner::serial::{parse_usb_id, SerialSettings};

/// A serial speed in baud: 300 to 4 000 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Baud(u32);

impl Baud {
    pub fn new(baud: u32) -> Result<Baud, Problem> {
        if !(300..=4_000_000).contains(&baud) {
            return Err(Problem::new(format!(
                "[scanner] baud = {baud} is not a serial speed; most scanners use 9600 or 115200"
            )));
        }
        Ok(Baud(baud))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// The longest code the scanner may send, in bytes: 8 to 65536.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimit(usize);

impl FrameLimit {
    pub fn new(bytes: usize) -> Result<FrameLimit, Problem> {
        if !(8..=65_536).contains(&bytes) {
            return Err(Problem::new(format!(
                "[scanner] max_frame_bytes = {bytes} is out of range; use 8 to 65536"
            )));
        }
        Ok(FrameLimit(bytes))
    }

    pub fn get(self) -> usize {
        self.0
    }
}

/// `[scanner]` as the scanner uses it. Without a port, there is none (but `earshot scanner
/// listen --port` may name one).
#[derive(Debug, Clone, PartialEq)]
pub struct ScannerConfig {
    port: Option<String>,
    usb_id: Option<(u16, u16)>,
    baud: Baud,
    framing: Framing,
    max_frame_bytes: FrameLimit,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig::read(raw::ScannerConfig::default()).expect("the defaults are valid")
    }
}

/// "auto" finds the port by its USB id, so it needs one.
fn check_port(port: &str, usb_id: Option<(u16, u16)>) -> Result<(), Problem> {
    if port == "auto" && usb_id.is_none() {
        return Err(Problem::new(
            "[scanner] port = \"auto\" needs usb_id = \"vvvv:pppp\" (see `lsusb`)",
        ));
    }
    Ok(())
}

impl ScannerConfig {
    pub(super) fn read(raw: raw::ScannerConfig) -> Result<ScannerConfig, Problem> {
        let usb_id = raw.usb_id.as_deref().map(parse_usb_id).transpose()?;
        if let Some(port) = &raw.port {
            check_port(port, usb_id)?;
        }
        let baud = Baud::new(raw.baud)?;
        let max_frame_bytes = FrameLimit::new(raw.max_frame_bytes)?;
        let framing = Framing::parse(&raw.framing).map_err(|e| e.within("[scanner] "))?;
        Ok(ScannerConfig {
            port: raw.port,
            usb_id,
            baud,
            framing,
            max_frame_bytes,
        })
    }

    /// The reader's settings, `None` when no scanner is configured.
    pub fn settings(&self) -> Option<SerialSettings> {
        self.port.as_deref().map(|port| self.on(port))
    }

    /// The reader's settings with `port` in place of the configured one, if given (for
    /// `earshot scanner listen --port`).
    pub fn settings_on(&self, port: Option<&str>) -> Result<Option<SerialSettings>, Problem> {
        match port {
            Some(port) => {
                check_port(port, self.usb_id)?;
                Ok(Some(self.on(port)))
            }
            None => Ok(self.settings()),
        }
    }

    fn on(&self, port: &str) -> SerialSettings {
        SerialSettings {
            port: port.to_string(),
            usb_id: self.usb_id,
            baud: self.baud.get(),
            framing: self.framing,
            max_frame_bytes: self.max_frame_bytes.get(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_baud_rate_is_a_serial_speed() {
        assert_eq!(Baud::new(115_200).map(Baud::get), Ok(115_200));
        for bad in [299, 4_000_001] {
            let e = Baud::new(bad).unwrap_err().to_string();
            assert!(e.contains("is not a serial speed"), "{e}");
        }
    }

    #[test]
    fn a_frame_limit_is_8_to_65536_bytes() {
        assert_eq!(FrameLimit::new(8).map(FrameLimit::get), Ok(8));
        assert!(FrameLimit::new(65_536).is_ok());
        for bad in [7, 65_537] {
            let e = FrameLimit::new(bad).unwrap_err().to_string();
            assert!(e.contains("use 8 to 65536"), "{e}");
        }
    }

    #[test]
    fn auto_needs_a_usb_id_configured_or_given() {
        let auto = raw::ScannerConfig {
            port: Some("auto".into()),
            ..raw::ScannerConfig::default()
        };
        let e = ScannerConfig::read(auto.clone()).unwrap_err().to_string();
        assert!(e.contains("needs usb_id"), "{e}");
        let found = ScannerConfig::read(raw::ScannerConfig {
            usb_id: Some("0c2e:0b61".into()),
            ..auto
        })
        .unwrap();
        assert_eq!(
            found.settings().map(|s| s.usb_id),
            Some(Some((0x0c2e, 0x0b61)))
        );
        let none = ScannerConfig::default();
        assert_eq!(none.settings(), None);
        assert!(none.settings_on(Some("auto")).is_err());
        let given = none.settings_on(Some("/dev/ttyUSB0")).unwrap().unwrap();
        assert_eq!(given.port, "/dev/ttyUSB0");
    }

    #[test]
    fn the_framing_is_read_and_named_in_its_problem() {
        let read = |framing: &str| {
            ScannerConfig::read(raw::ScannerConfig {
                port: Some("/dev/ttyACM0".into()),
                framing: framing.into(),
                ..raw::ScannerConfig::default()
            })
        };
        assert_eq!(
            read("cr").unwrap().settings().map(|s| s.framing),
            Some(Framing::Cr)
        );
        let e = read("tab").unwrap_err().to_string();
        assert!(e.starts_with("[scanner] framing \"tab\""), "{e}");
    }
}
