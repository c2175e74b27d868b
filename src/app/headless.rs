//! The kiosk drawn without a display: a Slint platform whose only window is a software-rendered
//! pixel buffer. `earshot screenshot` uses it to write a picture of the attract screen (for
//! staff checking a survey on a machine with no screen) and to time start-up and full-frame
//! rendering with the renderer the device uses.

use std::path::Path;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize, PlatformError, Rgb8Pixel};

use crate::core::problem::Problem;
use crate::core::record::ResponseRecord;
use crate::core::survey::Survey;
use crate::core::visit::DeviceIds;
use crate::hardware::SimulatedHardware;
use crate::seams::alarms::Alarms;
use crate::seams::sink::{ResponseSink, StoreCallback, StoreError};
use crate::ui::{KioskParts, KioskUi};

/// How many full frames are drawn to time one.
const TIMED_FRAMES: u32 = 50;

/// A picture size in pixels, written `WxH` on the command line (e.g. `1280x800`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenSize {
    pub width: u32,
    pub height: u32,
}

impl std::str::FromStr for ScreenSize {
    type Err = Problem;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("\"{s}\" is not a size: write width x height in pixels, e.g. 800x480");
        let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let width: u32 = w.trim().parse().map_err(|_| bad())?;
        let height: u32 = h.trim().parse().map_err(|_| bad())?;
        // Beyond 16384 px a side the picture alone would take hundreds of megabytes.
        if !(1..=16384).contains(&width) || !(1..=16384).contains(&height) {
            return Err(Problem::new(format!(
                "\"{s}\": each side must be between 1 and 16384 pixels"
            )));
        }
        Ok(ScreenSize { width, height })
    }
}

impl std::fmt::Display for ScreenSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// The platform of a headless run: every window is the one pixel buffer.
struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }
}

/// No visit happens in a picture, so nothing is ever stored; a record arriving anyway is
/// refused rather than silently dropped.
struct NoResponses;

impl ResponseSink for NoResponses {
    fn submit(&self, _record: ResponseRecord, done: StoreCallback) {
        done(Err(StoreError {
            message: "a headless picture keeps no responses".into(),
        }));
    }

    fn describe(&self) -> String {
        "nowhere (headless picture)".into()
    }
}

/// Renders the attract screen of `survey` at `size` into a PNG at `out`. With `timings`,
/// prints to stdout how long after the process started the first frame was complete, the
/// mean time of a full repaint, and whether anything keeps the idle screen busy.
pub fn screenshot(
    survey: Arc<Survey>,
    ids: DeviceIds,
    alarms: Alarms,
    out: &Path,
    size: ScreenSize,
    timings: bool,
) -> Result<ExitCode, Problem> {
    crate::system::fonts::check_before_start().map_err(|p| p.to_string())?;
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(HeadlessPlatform {
        window: window.clone(),
    }))
    .map_err(|e| format!("cannot set up headless drawing: {e}"))?;
    crate::system::fonts::install().map_err(|p| p.to_string())?;
    let ui = KioskUi::new(KioskParts {
        survey,
        ids,
        sink: Arc::new(NoResponses),
        alarms,
        hardware: Box::new(SimulatedHardware::default()),
        seed: 0,
        hide_cursor: true,
        clock: None,
        receipts: None,
        used_receipts: Vec::new(),
        staff_call: Duration::ZERO,
        blank: None,
        // A picture of the attract screen never reaches the thanks screen.
        tracking_url: None,
    })
    .map_err(|e| format!("cannot create the kiosk's screen: {e}"))?;
    window.set_size(PhysicalSize::new(size.width, size.height));
    ui.window
        .show()
        .map_err(|e| format!("cannot show the kiosk's screen: {e}"))?;

    let mut buffer = slint::SharedPixelBuffer::<Rgb8Pixel>::new(size.width, size.height);
    slint::platform::update_timers_and_animations();
    draw_full_frame(&window, &mut buffer);
    let first_frame = process_age();

    let mut spent = Duration::ZERO;
    for _ in 0..TIMED_FRAMES {
        let started = Instant::now();
        draw_full_frame(&window, &mut buffer);
        spent += started.elapsed();
    }
    let frame = spent / TIMED_FRAMES;

    // What would wake an event loop while the attract screen just sits there.
    slint::platform::update_timers_and_animations();
    let next_timer = slint::platform::duration_until_next_timer_update();
    let animating = window.has_active_animations();

    write_png(out, &buffer).map_err(|e| {
        Problem::with_fix(
            format!("cannot write the picture to {}: {e}", out.display()),
            "check that the folder exists and may be written",
        )
    })?;
    tracing::info!(path = %out.display(), %size, "attract screen written");

    if timings {
        match first_frame {
            Ok(age) => outln!("first_frame_ms={}", age.as_millis()),
            Err(e) => {
                tracing::warn!(error = %e, "the process start time is unknown");
                outln!("first_frame_ms=unknown");
            }
        }
        // The start time comes from /proc in clock ticks, so the figure is only that fine.
        outln!(
            "first_frame_resolution_ms={}",
            1000 / clock_ticks_per_second()
        );
        outln!("frame_ms={:.2}", frame.as_secs_f64() * 1000.0);
        outln!("frame_size={size}");
        outln!(
            "idle_next_timer_ms={}",
            next_timer.map_or_else(|| "none".to_string(), |d| d.as_millis().to_string())
        );
        outln!("idle_animations={animating}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Repaints the whole window: with a new-buffer repaint type the renderer draws every pixel,
/// as it would for a frame nothing is known about.
fn draw_full_frame(
    window: &MinimalSoftwareWindow,
    buffer: &mut slint::SharedPixelBuffer<Rgb8Pixel>,
) {
    window.request_redraw();
    let stride = buffer.width() as usize;
    window.draw_if_needed(|renderer| {
        renderer.render(buffer.make_mut_slice(), stride);
    });
}

fn write_png(
    path: &Path,
    buffer: &slint::SharedPixelBuffer<Rgb8Pixel>,
) -> Result<(), png::EncodingError> {
    let file = std::fs::File::create(path)?;
    let mut encoder = png::Encoder::new(
        std::io::BufWriter::new(file),
        buffer.width(),
        buffer.height(),
    );
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(buffer.as_bytes())?;
    writer.finish()
}

/// How long ago the process started, from the kernel's record of its start (which includes
/// loading the program, unlike a clock read in `main`).
fn process_age() -> Result<Duration, Problem> {
    let stat =
        std::fs::read_to_string("/proc/self/stat").map_err(|e| format!("/proc/self/stat: {e}"))?;
    // The command name (field 2) may hold spaces and parentheses; the fields after it don't.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("/proc/self/stat has no command name")?;
    // Field 22, `starttime`, counted from field 3 just after the name.
    let start_ticks: u64 = after_name
        .split_whitespace()
        .nth(22 - 3)
        .and_then(|t| t.parse().ok())
        .ok_or("/proc/self/stat has no start time")?;
    let uptime =
        std::fs::read_to_string("/proc/uptime").map_err(|e| format!("/proc/uptime: {e}"))?;
    let uptime: f64 = uptime
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .ok_or("/proc/uptime has no uptime")?;
    let started = start_ticks as f64 / clock_ticks_per_second() as f64;
    Ok(Duration::from_secs_f64((uptime - started).max(0.0)))
}

/// The kernel's clock tick for process times (`getconf CLK_TCK`), read from the auxiliary
/// vector the kernel hands every process; 100 on every Linux the kiosk runs on.
fn clock_ticks_per_second() -> u64 {
    const AT_CLKTCK: usize = 17;
    const WORD: usize = std::mem::size_of::<usize>();
    let from_auxv = std::fs::read("/proc/self/auxv").ok().and_then(|auxv| {
        let word = |chunk: &[u8]| usize::from_ne_bytes(chunk.try_into().expect("a whole word"));
        auxv.chunks_exact(2 * WORD)
            .map(|pair| (word(&pair[..WORD]), word(&pair[WORD..])))
            .find(|&(key, _)| key == AT_CLKTCK)
            .map(|(_, value)| value as u64)
    });
    from_auxv.filter(|&t| t > 0).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_as_width_x_height() {
        assert_eq!(
            "1280x800".parse(),
            Ok(ScreenSize {
                width: 1280,
                height: 800
            })
        );
        assert_eq!(
            "800X480".parse(),
            Ok(ScreenSize {
                width: 800,
                height: 480
            })
        );
        assert!("800".parse::<ScreenSize>().is_err());
        assert!("0x480".parse::<ScreenSize>().is_err());
        assert!("axb".parse::<ScreenSize>().is_err());
    }

    #[test]
    fn the_process_start_is_known_and_recent() {
        let age = process_age().unwrap();
        // Test binaries run well within an hour of starting.
        assert!(age < Duration::from_secs(3600), "{age:?}");
        assert!(clock_ticks_per_second() >= 100);
    }
}
