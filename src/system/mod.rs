//! The operating system around the kiosk: systemd's readiness and watchdog (`service`), the
//! clocks and whether the wall clock is synchronised (`clock`), the display's rotation and the
//! udev rule that turns touch with it (`display`), and the fonts, built in or the system's
//! (`fonts`).

pub mod clock;
pub mod display;
pub mod fonts;
pub mod service;
