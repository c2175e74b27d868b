//! `[display]` and `[kiosk]`, read: the screen's turn and its night-time blanking, and the
//! window (full screen, pointer, size). The system and the UI take these sections.

use std::time::Duration;

use super::raw;
use crate::core::blanking::{parse_minute, Night};
use crate::core::problem::Problem;

/// How far the picture is turned clockwise: 0, 90, 180 or 270 degrees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation(u16);

impl Rotation {
    pub fn new(degrees: u16) -> Result<Rotation, Problem> {
        if ![0, 90, 180, 270].contains(&degrees) {
            return Err(Problem::new(format!(
                "[display] rotation = {degrees}: use 0, 90, 180 or 270 (degrees clockwise)"
            )));
        }
        Ok(Rotation(degrees))
    }

    pub fn degrees(self) -> u16 {
        self.0
    }
}

/// `[display]` as the system and the UI use it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisplayConfig {
    /// On the device; a desktop window is not turned. Touch is turned by the udev rule
    /// `earshot touch-rotation` writes.
    pub rotation: Rotation,
    /// When the screen darkens after being left alone, if it does.
    pub blank: Option<Night>,
}

impl DisplayConfig {
    pub(super) fn read(raw: raw::DisplayConfig) -> Result<DisplayConfig, Problem> {
        Ok(DisplayConfig {
            rotation: Rotation::new(raw.rotation)?,
            blank: raw.blank.map(night).transpose()?,
        })
    }
}

/// `[display.blank]`: the night as minutes of the local day, and the idle time.
fn night(raw: raw::BlankConfig) -> Result<Night, Problem> {
    let minute = |name: &str, text: &str| {
        parse_minute(text).ok_or_else(|| {
            Problem::new(format!(
                "[display.blank] {name} = {text:?}: write the local time as HH:MM, e.g. \"22:00\""
            ))
        })
    };
    Ok(Night {
        from_minute: minute("from", &raw.from)?,
        until_minute: minute("until", &raw.until)?,
        after_idle: Duration::from_secs(u64::from(raw.after_idle_s)),
    })
}

/// `[kiosk]`: the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskConfig {
    /// Fill the screen with no window frame (always on the device; off for desktop demos).
    pub fullscreen: bool,
    /// Hide the mouse pointer: as configured, else when full screen (a kiosk) and not in a
    /// window (a desktop demo).
    pub hide_cursor: bool,
    /// Window size when not full screen.
    pub window_size: [u32; 2],
}

impl Default for KioskConfig {
    fn default() -> Self {
        KioskConfig::read(raw::KioskConfig::default())
    }
}

impl KioskConfig {
    pub(super) fn read(raw: raw::KioskConfig) -> KioskConfig {
        KioskConfig {
            fullscreen: raw.fullscreen,
            hide_cursor: raw.hide_cursor.unwrap_or(raw.fullscreen),
            window_size: raw.window_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rotation_is_a_quarter_turn() {
        for degrees in [0, 90, 180, 270] {
            assert_eq!(Rotation::new(degrees).map(Rotation::degrees), Ok(degrees));
        }
        let e = Rotation::new(45).unwrap_err().to_string();
        assert_eq!(
            e,
            "[display] rotation = 45: use 0, 90, 180 or 270 (degrees clockwise)"
        );
    }

    #[test]
    fn the_night_is_written_as_local_times() {
        let blank = |from: &str, until: &str| {
            night(raw::BlankConfig {
                from: from.into(),
                until: until.into(),
                after_idle_s: 60,
            })
        };
        assert_eq!(
            blank("22:00", "07:30"),
            Ok(Night {
                from_minute: 22 * 60,
                until_minute: 7 * 60 + 30,
                after_idle: Duration::from_secs(60),
            })
        );
        let e = blank("22:00", "7").unwrap_err().to_string();
        assert_eq!(
            e,
            "[display.blank] until = \"7\": write the local time as HH:MM, e.g. \"22:00\""
        );
        assert!(blank("25:00", "07:00").is_err());
    }

    #[test]
    fn the_pointer_is_hidden_full_screen_unless_configured() {
        let kiosk = |fullscreen, hide_cursor| {
            KioskConfig::read(raw::KioskConfig {
                fullscreen,
                hide_cursor,
                window_size: [800, 480],
            })
            .hide_cursor
        };
        assert!(kiosk(true, None), "a full-screen kiosk hides the pointer");
        assert!(!kiosk(false, None), "a desktop demo shows it");
        assert!(!kiosk(true, Some(false)));
        assert!(kiosk(false, Some(true)));
    }
}
