//! The kiosk itself, in one test binary: its screens on Slint's testing backend, the real
//! binary in real windows under Xvfb and on the command line, with real collectors, real
//! pseudo-terminals for scanners and real kills. They are one binary because their fixtures
//! are shared: the real windows are tapped where a twin on the testing backend shows each
//! button, the end-to-end tracking page needs both a real window and a real collector, and the
//! command line's tests read the same response files and measure processes as the upload's do.
//!
//! Slint's platform can be set up only once per process, on one thread: every test here that
//! draws on the testing backend runs on that thread (`common::on_slint_thread`), one after
//! another, while the others go on alongside.

// Fixtures.
/// The kiosk on Slint's testing backend, and the Slint thread.
mod common;
/// Xvfb displays, and child processes ended when dropped.
mod display;
/// A real collector process, a kiosk configured for it, and a faulty proxy between them.
mod net;
/// A real `earshot` process watched as a whole: its exit, output, time and peak memory.
mod process;
/// A scanner cable made of a pseudo-terminal pair.
mod serial;
/// The real kiosk in a real X window, tapped with xdotool where its twin shows each button.
mod window;

// Through Slint's testing backend.
/// Every screen at every size, and docs/screenshots/.
mod screenshots;
/// The system's fonts draw what the built-in ones draw.
mod system_fonts;
/// Every interface string translated, with its placeholders.
mod translations;
/// Whole visits through the touchscreen.
mod visits;

// The real binary in a real window under Xvfb.
/// A visit by taps in a real window.
mod real_window;
/// READY=1 and the watchdog, to a notification socket standing in for systemd's.
mod service;
/// From a contact request in the real window to its case's tracking page on a real collector.
mod tracking_page;

// The real binary as a process.
/// The command line as staff use it.
mod cli;
/// Responses recorded before the clock was set, placed on true time.
mod clock_correction;
/// 150 SIGKILLs while saving and uploading, and nothing confirmed lost.
mod crash;
/// Where the log goes: a pipe, a file, a terminal, the journal.
mod logging;
/// `earshot queue …` against real store files.
mod queue_cli;
/// The serial scanner reader against a real pseudo-terminal pair.
mod scanner;
/// Upload to a real collector under every delivery fault.
mod upload;
