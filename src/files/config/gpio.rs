//! `[gpio]`, read: the Raspberry Pi's pins (BCM numbers, each used once), the staff call's
//! length and the wake input's debounce. The hardware takes this section alone.

use std::time::Duration;

use super::raw;
use crate::core::problem::Problem;

/// A BCM GPIO number on the Pi's header: 0 to 27 (not the physical pin number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin(u8);

impl Pin {
    pub const HIGHEST: u8 = 27;

    /// The pin called `name` in the file, for the problem.
    pub fn new(name: &str, number: u8) -> Result<Pin, Problem> {
        if number > Self::HIGHEST {
            return Err(Problem::new(format!(
                "[gpio] {name} = {number}: use a BCM GPIO number from 0 to 27 (not the physical pin number)"
            )));
        }
        Ok(Pin(number))
    }

    pub fn number(self) -> u8 {
        self.0
    }
}

/// The pins in use, each a pin of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GpioPins {
    status_ok: Option<Pin>,
    status_backlog: Option<Pin>,
    status_alarm: Option<Pin>,
    staff_call: Option<Pin>,
    wake: Option<Pin>,
}

impl GpioPins {
    /// The pins as numbered in the file: `[status_ok, status_backlog, status_alarm,
    /// staff_call, wake]`, each checked and no two the same.
    pub fn new(numbers: [Option<u8>; 5]) -> Result<GpioPins, Problem> {
        const NAMES: [&str; 5] = [
            "status_ok_pin",
            "status_backlog_pin",
            "status_alarm_pin",
            "staff_call_pin",
            "wake_pin",
        ];
        let mut pins = [None; 5];
        for (i, (name, number)) in NAMES.iter().zip(numbers).enumerate() {
            let Some(number) = number else { continue };
            let pin = Pin::new(name, number)?;
            if let Some(other) = pins[..i].iter().position(|p| *p == Some(pin)) {
                return Err(Problem::new(format!(
                    "[gpio] {name} and {} are both GPIO {number}: each needs a pin of its own",
                    NAMES[other]
                )));
            }
            pins[i] = Some(pin);
        }
        let [status_ok, status_backlog, status_alarm, staff_call, wake] = pins;
        Ok(GpioPins {
            status_ok,
            status_backlog,
            status_alarm,
            staff_call,
            wake,
        })
    }

    /// The status lights: ok, backlog, alarm.
    pub fn status_lights(&self) -> [Option<Pin>; 3] {
        [self.status_ok, self.status_backlog, self.status_alarm]
    }

    pub fn staff_call(&self) -> Option<Pin> {
        self.staff_call
    }

    pub fn wake(&self) -> Option<Pin> {
        self.wake
    }

    pub fn any(&self) -> bool {
        self.status_lights().iter().any(Option::is_some)
            || self.staff_call.is_some()
            || self.wake.is_some()
    }
}

/// `[gpio]` as the hardware uses it. Without any pin, there is no GPIO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpioConfig {
    /// Not having the pins (not a Pi, none configured) is an alarm rather than a note.
    pub required: bool,
    pub pins: GpioPins,
    /// How long the staff-call output stays on: 1 second to an hour.
    pub staff_call: Duration,
    /// A button to ground (pulled up, fires on a falling edge) rather than a sensor driving
    /// the line high.
    pub wake_active_low: bool,
    /// At most 10 seconds.
    pub wake_debounce: Duration,
}

impl Default for GpioConfig {
    fn default() -> Self {
        GpioConfig::read(raw::GpioConfig::default()).expect("the defaults are valid")
    }
}

impl GpioConfig {
    pub(super) fn read(raw: raw::GpioConfig) -> Result<GpioConfig, Problem> {
        let pins = GpioPins::new([
            raw.status_ok_pin,
            raw.status_backlog_pin,
            raw.status_alarm_pin,
            raw.staff_call_pin,
            raw.wake_pin,
        ])?;
        if !(1..=3600).contains(&raw.staff_call_s) {
            return Err(Problem::new(format!(
                "[gpio] staff_call_s = {}: use 1 to 3600 seconds",
                raw.staff_call_s
            )));
        }
        if raw.wake_debounce_ms > 10_000 {
            return Err(Problem::new(format!(
                "[gpio] wake_debounce_ms = {}: use 0 to 10000",
                raw.wake_debounce_ms
            )));
        }
        Ok(GpioConfig {
            required: raw.required,
            pins,
            staff_call: Duration::from_secs(u64::from(raw.staff_call_s)),
            wake_active_low: raw.wake_active_low,
            wake_debounce: Duration::from_millis(u64::from(raw.wake_debounce_ms)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_a_bcm_number_up_to_27() {
        assert_eq!(Pin::new("wake_pin", 27).map(Pin::number), Ok(27));
        let e = Pin::new("wake_pin", 28).unwrap_err().to_string();
        assert_eq!(
            e,
            "[gpio] wake_pin = 28: use a BCM GPIO number from 0 to 27 (not the physical pin number)"
        );
    }

    #[test]
    fn each_pin_is_used_once() {
        let e = GpioPins::new([Some(5), None, None, Some(5), None])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "[gpio] staff_call_pin and status_ok_pin are both GPIO 5: each needs a pin of its own"
        );
        let pins = GpioPins::new([Some(5), Some(6), Some(13), Some(23), Some(24)]).unwrap();
        assert_eq!(pins.staff_call().map(Pin::number), Some(23));
        assert!(pins.any());
        assert!(!GpioPins::default().any());
    }

    #[test]
    fn the_staff_call_lasts_a_second_to_an_hour() {
        let with = |staff_call_s| {
            GpioConfig::read(raw::GpioConfig {
                staff_call_s,
                ..raw::GpioConfig::default()
            })
        };
        assert_eq!(with(3600).unwrap().staff_call, Duration::from_secs(3600));
        for bad in [0, 3601] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.contains("use 1 to 3600 seconds"), "{e}");
        }
    }

    #[test]
    fn the_wake_debounce_is_at_most_ten_seconds() {
        let with = |wake_debounce_ms| {
            GpioConfig::read(raw::GpioConfig {
                wake_debounce_ms,
                ..raw::GpioConfig::default()
            })
        };
        assert_eq!(with(10_000).unwrap().wake_debounce, Duration::from_secs(10));
        let e = with(10_001).unwrap_err().to_string();
        assert_eq!(e, "[gpio] wake_debounce_ms = 10001: use 0 to 10000");
    }
}
