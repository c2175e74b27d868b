//! `earshot scanner listen`: what the scanner sends, frame by frame, for staff setting one up.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Subcommand;

use super::Loaded;
use crate::core::problem::Problem;
use crate::scanner::serial::{self, ScannerState, ScannerStatus};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Print each frame the scanner sends as it is decoded (non-printable bytes as <hex>)
    Listen(ListenArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// The port to read instead of the configured one
    #[arg(long)]
    pub port: Option<String>,
    /// Stop after this many frames [default: run until stopped]
    #[arg(long)]
    pub count: Option<u64>,
}

pub fn run(args: Args, loaded: &Loaded) -> Result<ExitCode, Problem> {
    match args.action {
        Action::Listen(listen) => self::listen(&listen, loaded),
    }
}

fn listen(args: &ListenArgs, loaded: &Loaded) -> Result<ExitCode, Problem> {
    let Loaded { config, alarms, .. } = loaded;
    let count = args.count;
    let settings = config
        .scanner
        .settings_on(args.port.as_deref())?
        .ok_or_else(|| {
            "no scanner is configured: pass --port /dev/ttyACM0 (or set [scanner] port)".to_string()
        })?;
    outln!(
        "listening on {} at {} baud; scan a code (Ctrl-C to stop)",
        settings.port,
        settings.baud
    );
    let status = Arc::new(Mutex::new(ScannerStatus {
        state: ScannerState::Missing,
        counts: Default::default(),
    }));
    let seen = std::cell::Cell::new(0u64);
    serial::read_forever(
        &settings,
        alarms,
        &status,
        |frame| {
            seen.set(seen.get() + 1);
            let verdict = if frame.text.is_some() {
                "code"
            } else {
                "not a code (NUL or not UTF-8)"
            };
            // A reader that went away (`| head -1`) ends the command here.
            outln!(
                "frame {}: {} ({} bytes, {verdict})",
                seen.get(),
                frame.shown(),
                frame.bytes.len()
            );
        },
        || count.is_some_and(|n| seen.get() >= n),
    );
    let counts = status.lock().map(|s| s.counts).unwrap_or_default();
    outln!(
        "{} codes, {} not codes, {} overlong frames discarded",
        counts.frames,
        counts.garbage,
        counts.overlong
    );
    Ok(ExitCode::SUCCESS)
}
