//! The Raspberry Pi's GPIO through rppal: up to three status lights (one per state), a
//! staff-call output (a light or buzzer) and a debounced wake input (a button or a PIR
//! motion sensor). Pins are BCM numbers.

use std::time::Duration;

use rppal::gpio::{Gpio, InputPin, Level, OutputPin, Trigger};

use super::{Hardware, HardwareError, StatusLight, WakeHandler};
use crate::files::config::{GpioConfig, Pin};

pub struct PiHardware {
    /// ok, backlog, alarm: the one for the current state is lit.
    lights: [Option<OutputPin>; 3],
    staff_call: Option<OutputPin>,
    wake: Option<InputPin>,
    wake_active_low: bool,
    wake_debounce: Duration,
    model: String,
}

/// Why the GPIO could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// Not a Raspberry Pi (or a model rppal does not know).
    NotAPi(HardwareError),
    Other(HardwareError),
}

/// A problem in words a facilities person can act on.
fn explain(e: rppal::gpio::Error) -> OpenError {
    use rppal::gpio::Error;
    match e {
        Error::UnknownModel => OpenError::NotAPi(HardwareError {
            problem: "GPIO pins are configured but this is not a Raspberry Pi (or a model the kiosk does not know)".into(),
            fix: "run the kiosk on a Raspberry Pi 3, 4, 5 or Zero 2 W, or remove the pins from [gpio]".into(),
        }),
        Error::PinUsed(pin) => OpenError::Other(HardwareError {
            problem: format!("GPIO {pin} is already in use"),
            fix: format!("free GPIO {pin} (another program, or an overlay in /boot/firmware/config.txt, uses it) or choose another pin in [gpio]"),
        }),
        Error::PinNotAvailable(pin) => OpenError::Other(HardwareError {
            problem: format!("GPIO {pin} does not exist on this board"),
            fix: "use BCM GPIO numbers (2 to 27 on the 40-pin header), not physical pin numbers".into(),
        }),
        Error::PermissionDenied(path) => OpenError::Other(HardwareError {
            problem: format!("no permission to use the GPIO ({path})"),
            fix: "add the service user to the gpio group (`sudo usermod -aG gpio earshot`; the package does this) and restart the kiosk".into(),
        }),
        other => OpenError::Other(HardwareError {
            problem: format!("the GPIO cannot be used: {other}"),
            fix: "check the [gpio] pins and the wiring, then restart the kiosk".into(),
        }),
    }
}

impl PiHardware {
    pub fn open(config: &GpioConfig) -> Result<PiHardware, OpenError> {
        let gpio = Gpio::new().map_err(explain)?;
        let output = |pin: Option<Pin>| -> Result<Option<OutputPin>, OpenError> {
            pin.map(|p| gpio.get(p.number()).map(|p| p.into_output_low()))
                .transpose()
                .map_err(explain)
        };
        let [ok, backlog, alarm] = config.pins.status_lights();
        let lights = [output(ok)?, output(backlog)?, output(alarm)?];
        let staff_call = output(config.pins.staff_call())?;
        let wake = config
            .pins
            .wake()
            .map(|p| {
                gpio.get(p.number()).map(|pin| {
                    // A button to ground needs the pull-up; a PIR sensor drives the line high.
                    if config.wake_active_low {
                        pin.into_input_pullup()
                    } else {
                        pin.into_input_pulldown()
                    }
                })
            })
            .transpose()
            .map_err(explain)?;
        let model = rppal::system::DeviceInfo::new()
            .map(|d| d.model().to_string())
            .unwrap_or_else(|_| "Raspberry Pi".into());
        Ok(PiHardware {
            lights,
            staff_call,
            wake,
            wake_active_low: config.wake_active_low,
            wake_debounce: config.wake_debounce,
            model,
        })
    }
}

impl Hardware for PiHardware {
    fn set_status_light(&mut self, state: StatusLight) -> Result<(), HardwareError> {
        let lit = match state {
            StatusLight::Ok => 0,
            StatusLight::Backlog => 1,
            StatusLight::Alarm => 2,
        };
        for (i, pin) in self.lights.iter_mut().enumerate() {
            if let Some(pin) = pin {
                pin.write(if i == lit { Level::High } else { Level::Low });
            }
        }
        Ok(())
    }

    fn set_staff_call(&mut self, on: bool) -> Result<(), HardwareError> {
        if let Some(pin) = &mut self.staff_call {
            pin.write(if on { Level::High } else { Level::Low });
        }
        Ok(())
    }

    fn has_staff_call(&self) -> bool {
        self.staff_call.is_some()
    }

    fn watch_wake(&mut self, on_wake: WakeHandler) -> Result<(), HardwareError> {
        let Some(pin) = &mut self.wake else {
            return Ok(());
        };
        let trigger = if self.wake_active_low {
            Trigger::FallingEdge
        } else {
            Trigger::RisingEdge
        };
        pin.set_async_interrupt(trigger, Some(self.wake_debounce), move |_| on_wake())
            .map_err(|e| match explain(e) {
                OpenError::NotAPi(e) | OpenError::Other(e) => e,
            })
    }

    fn describe(&self) -> String {
        let pin = |p: Option<u8>| p.map_or("-".to_string(), |p| p.to_string());
        let lights: Vec<String> = self
            .lights
            .iter()
            .map(|l| pin(l.as_ref().map(OutputPin::pin)))
            .collect();
        format!(
            "{}: GPIO status lights {} (ok/backlog/alarm), staff call {}, wake {}",
            self.model,
            lights.join("/"),
            pin(self.staff_call.as_ref().map(OutputPin::pin)),
            pin(self.wake.as_ref().map(InputPin::pin))
        )
    }
}
